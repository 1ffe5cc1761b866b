//! A workspace's objects seen together: relation targets resolved and inverse
//! sides generated, so every layer above reads one consistent picture.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::error::MetaError;
use crate::formula::{self, ValueType};
use crate::model::{
    AggregateFn, Computed, FieldDef, FieldType, ObjectDef, OnDelete, Relation, RelationKind,
};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    objects: Vec<ObjectDef>,
    by_name: HashMap<String, usize>,
    /// (object, field) positions of the `masked` fields: per-request access
    /// checks look at these, not at every field of a big catalog.
    masked: Vec<(usize, usize)>,
}

impl Catalog {
    /// Checks the objects against each other and adds generated inverse sides.
    pub fn build(mut objects: Vec<ObjectDef>) -> Result<Catalog, MetaError> {
        let by_name = index_names(&objects)?;
        let mut inverses: Vec<(usize, FieldDef)> = Vec::new();
        for o in &objects {
            for f in &o.fields {
                if let Some(rel) = &f.relation {
                    inverses.extend(check_relation(&objects, &by_name, o, f, rel)?);
                }
            }
        }
        for (ti, field) in inverses {
            let target = &mut objects[ti];
            if target.field(&field.name).is_some() {
                return Err(MetaError::Conflict(format!(
                    "two relations generate the inverse `{}.{}`",
                    target.name, field.name
                )));
            }
            target.fields.push(field);
        }
        check_computed(&mut objects, &by_name)?;
        let masked = objects
            .iter()
            .enumerate()
            .flat_map(|(o, object)| {
                object
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.masked)
                    .map(move |(f, _)| (o, f))
            })
            .collect();
        Ok(Catalog {
            objects,
            by_name,
            masked,
        })
    }

    /// The `masked` fields, with their objects.
    pub fn masked_fields(&self) -> impl Iterator<Item = (&ObjectDef, &FieldDef)> {
        self.masked
            .iter()
            .map(|&(o, f)| (&self.objects[o], &self.objects[o].fields[f]))
    }

    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.by_name.get(name).map(|&i| &self.objects[i])
    }

    /// Objects whose relation fields point at `target` (for onDelete and merges).
    pub fn relations_to<'a>(
        &'a self,
        target: &'a str,
    ) -> impl Iterator<Item = (&'a ObjectDef, &'a FieldDef)> + 'a {
        self.objects.iter().flat_map(move |o| {
            o.fields.iter().filter_map(move |f| {
                let r = f.relation.as_ref()?;
                let points = match r.kind {
                    RelationKind::ManyToOne => r.target == target,
                    RelationKind::Polymorphic => r.targets.iter().any(|t| t == "*" || t == target),
                    _ => false,
                };
                (points && !f.generated).then_some((o, f))
            })
        })
    }
}

fn inverse_field(owner: &ObjectDef, field: &FieldDef, rel: &Relation, name: &str) -> FieldDef {
    let kind = match rel.kind {
        RelationKind::ManyToMany => RelationKind::ManyToMany,
        _ => RelationKind::OneToMany,
    };
    FieldDef {
        name: name.to_string(),
        label: owner.label_plural.clone(),
        description: None,
        field_type: FieldType::Relation,
        required: false,
        unique: false,
        indexed: false,
        searchable: false,
        masked: false,
        read_only: true,
        is_system: field.is_system,
        default: None,
        options: Vec::new(),
        rating_max: 0,
        relation: Some(Relation {
            kind,
            target: owner.name.clone(),
            targets: Vec::new(),
            inverse: Some(field.name.clone()),
            on_delete: OnDelete::SetNull,
        }),
        generated: true,
        filterable: true,
        computed: None,
        property: json!({ "x-rapport-field": { "type": "relation", "kind": kind.as_str(),
            "target": owner.name, "inverse": field.name } }),
    }
}

fn value_type_of(t: FieldType) -> Option<ValueType> {
    Some(match t {
        FieldType::Integer
        | FieldType::Number
        | FieldType::Percent
        | FieldType::Decimal
        | FieldType::Rating => ValueType::Number,
        FieldType::Boolean => ValueType::Bool,
        FieldType::Date => ValueType::Date,
        FieldType::DateTime => ValueType::DateTime,
        FieldType::Text
        | FieldType::LongText
        | FieldType::RichText
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url
        | FieldType::Select
        | FieldType::AutoNumber => ValueType::Text,
        _ => return None,
    })
}

/// The type a formula path reads, with the computed fields it depends on.
fn path_type(
    objects: &[ObjectDef],
    by_name: &HashMap<String, usize>,
    object: &ObjectDef,
    path: &[String],
    deps: &mut Vec<(String, String)>,
) -> Result<ValueType, String> {
    let unknown = || format!("`{}` has no field `{}`", object.name, path[0]);
    let Some(f) = object.field(&path[0]) else {
        return match (path[0].as_str(), path.len()) {
            ("id" | "ownerId", 1) => Ok(ValueType::Text),
            ("createdAt" | "updatedAt", 1) => Ok(ValueType::DateTime),
            ("version", 1) => Ok(ValueType::Number),
            _ => Err(unknown()),
        };
    };
    if f.computed.is_some() {
        deps.push((object.name.clone(), f.name.clone()));
    }
    let rest = &path[1..];
    if let Some(rel) = &f.relation {
        if rel.kind != RelationKind::ManyToOne || rest.is_empty() {
            return Err(format!(
                "`{}` is a relation: read a field of its {} (`{}.name`)",
                f.name, rel.target, f.name
            ));
        }
        let target = &objects[by_name[&rel.target]];
        return path_type(objects, by_name, target, rest, deps);
    }
    if let Some(c) = f.field_type.composite() {
        let [part] = rest else {
            return Err(format!(
                "`{}` has parts: read one, such as `{}.{}`",
                f.name,
                f.name,
                c.parts()[0].0
            ));
        };
        let (_, t) = c
            .parts()
            .iter()
            .find(|(p, _)| p == part)
            .ok_or_else(|| format!("`{}` has no part `{part}`", f.name))?;
        return value_type_of(*t).ok_or_else(|| "unsupported part".to_string());
    }
    if f.field_type == FieldType::Select && rest.len() == 1 {
        let attr = &rest[0];
        let values: Vec<&Value> = f.options.iter().filter_map(|o| o.raw.get(attr)).collect();
        if values.is_empty() {
            return Err(format!("no option of `{}` has `{attr}`", f.name));
        }
        return Ok(if values.iter().all(|v| v.is_number()) {
            ValueType::Number
        } else {
            ValueType::Text
        });
    }
    if !rest.is_empty() {
        return Err(format!("`{}` has no part `{}`", f.name, rest.join(".")));
    }
    value_type_of(f.value_type()).ok_or_else(|| {
        format!(
            "a formula cannot read `{}` ({})",
            f.name,
            f.field_type.as_str()
        )
    })
}

fn result_fits(declared: FieldType, got: ValueType) -> bool {
    got == ValueType::Null || value_type_of(declared) == Some(got)
}

/// Checks formulas and rollups against the catalog, settles rollup result
/// types, and refuses cycles between computed fields.
/// Objects by name; a name or plural name used twice is a conflict.
fn index_names(objects: &[ObjectDef]) -> Result<HashMap<String, usize>, MetaError> {
    let mut by_name = HashMap::new();
    let mut plural_names = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        if by_name.insert(o.name.clone(), i).is_some() {
            return Err(MetaError::Conflict(format!(
                "object `{}` is defined twice",
                o.name
            )));
        }
        for n in [&o.name, &o.plural_name] {
            if let Some(other) = plural_names.insert(n.clone(), o.name.clone())
                && other != o.name
            {
                return Err(MetaError::Conflict(format!(
                    "`{n}` is used by objects `{other}` and `{}`",
                    o.name
                )));
            }
        }
    }
    Ok(by_name)
}

/// Checks relation `f` of `o` against its targets; the inverse fields it
/// generates on them, by target index.
fn check_relation(
    objects: &[ObjectDef],
    by_name: &HashMap<String, usize>,
    o: &ObjectDef,
    f: &FieldDef,
    rel: &Relation,
) -> Result<Vec<(usize, FieldDef)>, MetaError> {
    let path = format!("{}/properties/{}/x-rapport-field", o.name, f.name);
    let targets: Vec<String> = match rel.kind {
        RelationKind::Polymorphic if rel.targets.iter().any(|t| t == "*") => {
            objects.iter().map(|o| o.name.clone()).collect()
        }
        RelationKind::Polymorphic => rel.targets.clone(),
        _ => vec![rel.target.clone()],
    };
    if let Some(t) = targets.iter().find(|t| !by_name.contains_key(*t)) {
        return Err(MetaError::invalid(
            format!("{path}/target"),
            format!("no object named `{t}`"),
        ));
    }
    if rel.kind == RelationKind::OneToMany {
        // Declared inverse side: the target must hold the matching manyToOne.
        let target = &objects[by_name[&rel.target]];
        let inverse = rel.inverse.as_deref().unwrap_or_default();
        let ok = target.field(inverse).is_some_and(|m| {
            m.relation
                .as_ref()
                .is_some_and(|r| r.kind == RelationKind::ManyToOne && r.target == o.name)
        });
        if !ok {
            return Err(MetaError::invalid(
                format!("{path}/inverse"),
                format!(
                    "`{}.{inverse}` is not a manyToOne relation to `{}`",
                    rel.target, o.name
                ),
            ));
        }
        return Ok(Vec::new());
    }
    let Some(inverse) = &rel.inverse else {
        return Ok(Vec::new());
    };
    let mut generated = Vec::new();
    for t in &targets {
        let ti = by_name[t];
        match objects[ti].field(inverse) {
            Some(d)
                if d.relation.as_ref().is_some_and(|r| {
                    r.target == o.name && r.inverse.as_deref() == Some(&f.name)
                }) => {}
            // A relation to any object (`["*"]`) yields to an object's own
            // field of that name: admins keep their `notes`, and reach the
            // notes by filter.
            Some(_) if rel.targets.iter().any(|t| t == "*") => {}
            Some(_) => {
                return Err(MetaError::Conflict(format!(
                    "inverse `{inverse}` of `{}.{}` clashes with field `{t}.{inverse}`",
                    o.name, f.name
                )));
            }
            None => generated.push((ti, inverse_field(o, f, rel, inverse))),
        }
    }
    Ok(generated)
}

fn check_computed(
    objects: &mut [ObjectDef],
    by_name: &HashMap<String, usize>,
) -> Result<(), MetaError> {
    let mut edges: Vec<(FieldKey, FieldKey)> = Vec::new();
    let mut settled: Vec<(usize, usize, FieldType)> = Vec::new();
    for (oi, o) in objects.iter().enumerate() {
        for (fi, f) in o.fields.iter().enumerate() {
            let at = Computing {
                objects,
                by_name,
                object: o,
                xp: format!("{}/properties/{}/x-rapport-field", o.name, f.name),
                me: (o.name.clone(), f.name.clone()),
            };
            match &f.computed {
                Some(Computed::Formula { expression, result }) => {
                    edges.extend(at.formula(expression, *result)?);
                }
                Some(Computed::Rollup {
                    relation,
                    function,
                    field,
                    result,
                    ..
                }) => {
                    let (t, measured) = at.rollup(relation, *function, field.as_deref())?;
                    edges.extend(measured);
                    let declared = f.property.pointer("/x-rapport-field/resultType").is_some();
                    if declared && value_type_of(*result) != value_type_of(t) {
                        return Err(MetaError::invalid(
                            format!("{}/resultType", at.xp),
                            format!("`{function}` gives a {}", t.as_str()),
                        ));
                    }
                    if !declared {
                        settled.push((oi, fi, t));
                    }
                }
                _ => {}
            }
        }
    }
    for (oi, fi, t) in settled {
        if let Some(Computed::Rollup { result, .. }) = &mut objects[oi].fields[fi].computed {
            *result = t;
        }
    }
    check_cycles(&edges)
}

/// `(object, field)`.
type FieldKey = (String, String);

/// A computed field being checked: the catalog, its object, where its
/// definition is in the document, and its key as a dependency.
struct Computing<'a> {
    objects: &'a [ObjectDef],
    by_name: &'a HashMap<String, usize>,
    object: &'a ObjectDef,
    xp: String,
    me: FieldKey,
}

impl Computing<'_> {
    /// Checks a formula's type against its declared result; the fields it
    /// reads, as dependency edges.
    fn formula(
        &self,
        expression: &formula::Expr,
        result: FieldType,
    ) -> Result<Vec<(FieldKey, FieldKey)>, MetaError> {
        let (objects, by_name, o) = (self.objects, self.by_name, self.object);
        let resolve = |p: &[String]| path_type(objects, by_name, o, p, &mut Vec::new());
        let got = formula::type_of(expression, &resolve)
            .map_err(|e| MetaError::invalid(format!("{}/expression", self.xp), e))?;
        if !result_fits(result, got) {
            return Err(MetaError::invalid(
                format!("{}/resultType", self.xp),
                format!("the expression gives a {got}, not a {}", result.as_str()),
            ));
        }
        let mut paths = Vec::new();
        formula::paths(expression, &mut paths);
        let mut deps = Vec::new();
        for p in paths {
            let _ = path_type(objects, by_name, o, &p, &mut deps);
        }
        Ok(deps.into_iter().map(|d| (self.me.clone(), d)).collect())
    }

    /// A rollup's result type, and the computed field it measures (if it
    /// is one) as a dependency edge.
    fn rollup(
        &self,
        relation: &str,
        function: AggregateFn,
        field: Option<&str>,
    ) -> Result<(FieldType, Option<(FieldKey, FieldKey)>), MetaError> {
        let rel = self
            .object
            .field(relation)
            .and_then(|r| r.relation.as_ref())
            .filter(|r| matches!(r.kind, RelationKind::OneToMany | RelationKind::ManyToMany))
            .ok_or_else(|| {
                MetaError::invalid(
                    format!("{}/relation", self.xp),
                    format!(
                        "`{relation}` is not a list relation of `{}`",
                        self.object.name
                    ),
                )
            })?;
        let child = &self.objects[self.by_name[&rel.target]];
        let Some(name) = field else {
            return Ok((FieldType::Integer, None));
        };
        let cf = child.field(name).ok_or_else(|| {
            MetaError::invalid(
                format!("{}/field", self.xp),
                format!("`{}` has no field `{name}`", child.name),
            )
        })?;
        let edge = cf
            .computed
            .is_some()
            .then(|| (self.me.clone(), (child.name.clone(), cf.name.clone())));
        let vt = match cf.value_type() {
            FieldType::Currency => FieldType::Decimal,
            FieldType::Rating => FieldType::Integer,
            t => t,
        };
        let numeric = matches!(
            vt,
            FieldType::Integer | FieldType::Number | FieldType::Percent | FieldType::Decimal
        );
        let ordered = numeric || matches!(vt, FieldType::Date | FieldType::DateTime);
        let t = match function {
            AggregateFn::Sum if numeric => vt,
            AggregateFn::Avg if vt == FieldType::Decimal => FieldType::Decimal,
            AggregateFn::Avg if numeric => FieldType::Number,
            AggregateFn::Min | AggregateFn::Max if ordered => vt,
            AggregateFn::Count => FieldType::Integer,
            _ => {
                return Err(MetaError::invalid(
                    format!("{}/field", self.xp),
                    format!(
                        "cannot take `{function}` of `{}.{name}` ({})",
                        child.name,
                        cf.field_type.as_str()
                    ),
                ));
            }
        };
        Ok((t, edge))
    }
}

/// A computed field may not depend on itself through others.
fn check_cycles(edges: &[(FieldKey, FieldKey)]) -> Result<(), MetaError> {
    for start in edges.iter().map(|(a, _)| a) {
        let mut stack = vec![start.clone()];
        let mut seen: Vec<FieldKey> = Vec::new();
        while let Some(n) = stack.pop() {
            for (_, next) in edges.iter().filter(|(a, _)| *a == n) {
                if next == start {
                    return Err(MetaError::invalid(
                        format!("{}/properties/{}", start.0, start.1),
                        format!(
                            "`{}.{}` depends on itself through `{}.{}`",
                            start.0, start.1, n.0, n.1
                        ),
                    ));
                }
                if !seen.contains(next) {
                    seen.push(next.clone());
                    stack.push(next.clone());
                }
            }
        }
    }
    Ok(())
}
