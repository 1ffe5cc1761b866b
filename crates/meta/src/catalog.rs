//! A workspace's objects seen together: relation targets resolved and inverse
//! sides generated, so every layer above reads one consistent picture.

use std::collections::HashMap;

use serde_json::json;

use crate::error::MetaError;
use crate::model::{FieldDef, FieldType, ObjectDef, OnDelete, Relation, RelationKind};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    objects: Vec<ObjectDef>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    /// Checks the objects against each other and adds generated inverse sides.
    pub fn build(mut objects: Vec<ObjectDef>) -> Result<Catalog, MetaError> {
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
        let names: Vec<String> = objects.iter().map(|o| o.name.clone()).collect();
        let mut inverses: Vec<(usize, FieldDef)> = Vec::new();
        for o in &objects {
            for f in &o.fields {
                let Some(rel) = &f.relation else { continue };
                let path = format!("{}/properties/{}/x-rapport-field", o.name, f.name);
                let targets: Vec<String> = match rel.kind {
                    RelationKind::Polymorphic if rel.targets.iter().any(|t| t == "*") => {
                        names.clone()
                    }
                    RelationKind::Polymorphic => rel.targets.clone(),
                    _ => vec![rel.target.clone()],
                };
                for t in &targets {
                    if !by_name.contains_key(t) {
                        return Err(MetaError::invalid(
                            format!("{path}/target"),
                            format!("no object named `{t}`"),
                        ));
                    }
                }
                match rel.kind {
                    RelationKind::OneToMany => {
                        // Declared inverse side: the target must hold the matching manyToOne.
                        let target = &objects[by_name[&rel.target]];
                        let inverse = rel.inverse.as_deref().unwrap_or_default();
                        let ok = target.field(inverse).is_some_and(|m| {
                            m.relation.as_ref().is_some_and(|r| {
                                r.kind == RelationKind::ManyToOne && r.target == o.name
                            })
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
                    }
                    _ => {
                        let Some(inverse) = &rel.inverse else {
                            continue;
                        };
                        for t in &targets {
                            let ti = by_name[t];
                            let declared = objects[ti].field(inverse);
                            match declared {
                                Some(d)
                                    if d.relation.as_ref().is_some_and(|r| {
                                        r.target == o.name && r.inverse.as_deref() == Some(&f.name)
                                    }) => {}
                                Some(_) => {
                                    return Err(MetaError::Conflict(format!(
                                        "inverse `{inverse}` of `{}.{}` clashes with field `{t}.{inverse}`",
                                        o.name, f.name
                                    )));
                                }
                                None => inverses.push((ti, inverse_field(o, f, rel, inverse))),
                            }
                        }
                    }
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
        Ok(Catalog { objects, by_name })
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
        property: json!({ "x-rapport-field": { "type": "relation", "kind": kind.as_str(),
            "target": owner.name, "inverse": field.name } }),
    }
}
