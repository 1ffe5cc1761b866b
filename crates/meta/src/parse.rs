//! Reading object documents into the model and writing them back.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::error::MetaError;
use crate::formula::parse_formula;
use crate::model::{
    AggregateFn, Computed, FieldDef, FieldType, ObjectDef, OnDelete, Relation, RelationKind,
    SYSTEM_FIELDS, SelectOption, words,
};

const META_SCHEMA: &str = include_str!("../../../schema/meta/object.schema.json");

static META_VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(META_SCHEMA).expect("meta-schema is valid JSON");
    jsonschema::validator_for(&schema).expect("meta-schema compiles")
});

static NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z][a-zA-Z0-9]{1,62}$").expect("valid regex"));

/// Names that would clash with GraphQL's own or the generated API's.
const RESERVED_NAMES: &[&str] = &[
    "query",
    "mutation",
    "subscription",
    "node",
    "nodes",
    "edges",
    "pageInfo",
    "totalCount",
    "filter",
    "orderBy",
    "and",
    "or",
    "not",
    "object",
    "objects",
    "field",
    "fields",
    "metadata",
    "workspace",
    "actor",
    "currency",
    "address",
    "fullName",
    "boolean",
    "string",
    "int",
    "float",
    "date",
    "dateTime",
    "decimal",
    "json",
    "upload",
    "cursor",
    "schema",
    "iD",
    "orderDirection",
    "dateGranularity",
    "changeKind",
];

/// Object names may not end like the types generated for another object
/// (`companyFilter` would clash with `company`'s `CompanyFilter`).
const RESERVED_OBJECT_SUFFIXES: &[&str] = &[
    "Filter",
    "Connection",
    "Edge",
    "OrderBy",
    "Input",
    "Aggregate",
    "Group",
    "Field",
    "Key",
    "Sum",
    "Avg",
    "Min",
    "Max",
    "Distinct",
    "Event",
];

/// A schema error in words. The validator quotes the offending value;
/// a large one (a document of 500 properties) is named, not echoed.
pub(crate) fn error_reason(err: &jsonschema::ValidationError<'_>) -> String {
    let full = err.to_string();
    if full.len() <= 300 {
        return full;
    }
    err.masked().to_string()
}

/// Checks an object or field name against the API's naming rule.
pub fn check_name(path: &str, name: &str) -> Result<(), MetaError> {
    if !NAME_RE.is_match(name) {
        return Err(MetaError::invalid(
            path,
            format!("`{name}` must match ^[a-z][a-zA-Z0-9]{{1,62}}$"),
        ));
    }
    // Field names share filter inputs with `and`/`or`/`not`; PostgreSQL
    // keeps system columns under the others in every table (refused on
    // SQLite too, so a workspace moves between the two).
    if matches!(
        name,
        "and" | "or" | "not" | "ctid" | "xmin" | "xmax" | "cmin" | "cmax" | "tableoid" | "oid"
    ) {
        return Err(MetaError::invalid(
            path,
            format!("`{name}` is a reserved name"),
        ));
    }
    Ok(())
}

fn check_object_name(path: &str, name: &str) -> Result<(), MetaError> {
    check_name(path, name)?;
    if RESERVED_NAMES.contains(&name) {
        return Err(MetaError::invalid(
            path,
            format!("`{name}` is a reserved name"),
        ));
    }
    Ok(())
}

/// Parses and checks one object document (METADATA.md). Cross-object checks
/// (relation targets, inverse names) happen in [`crate::Catalog`].
pub fn parse_document(doc: &Value) -> Result<ObjectDef, MetaError> {
    if let Some(err) = META_VALIDATOR.iter_errors(doc).next() {
        let path = err.instance_path().to_string();
        return Err(MetaError::invalid(
            if path.is_empty() {
                "/".to_string()
            } else {
                path
            },
            error_reason(&err),
        ));
    }
    let head = &doc["x-rapport-object"];
    let name = head["name"].as_str().unwrap_or_default().to_string();
    check_object_name("/x-rapport-object/name", &name)?;
    let plural_name = head["pluralName"].as_str().unwrap_or_default().to_string();
    check_object_name("/x-rapport-object/pluralName", &plural_name)?;
    if let Some(suffix) = RESERVED_OBJECT_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return Err(MetaError::invalid(
            "/x-rapport-object/name",
            format!("object names may not end with `{suffix}`"),
        ));
    }
    if plural_name == name {
        return Err(MetaError::invalid(
            "/x-rapport-object/pluralName",
            "pluralName must differ from name",
        ));
    }
    let label = head["label"]
        .as_str()
        .or(doc["title"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| words(&name));
    let label_plural = head["labelPlural"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| words(&plural_name));
    let required: Vec<&str> = doc["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    let mut fields = Vec::new();
    let properties = doc["properties"].as_object().cloned().unwrap_or_default();
    for (field_name, property) in &properties {
        let required = required.contains(&field_name.as_str());
        fields.push(parse_field_property(field_name, property, required)?);
    }
    for r in &required {
        if !properties.contains_key(*r) {
            return Err(MetaError::invalid(
                "/required",
                format!("`{r}` is required but is not a property"),
            ));
        }
    }
    let search_fields: Vec<String> = head["searchFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let object = ObjectDef {
        name,
        plural_name,
        label,
        label_plural,
        description: doc["description"].as_str().map(str::to_string),
        module: head["module"].as_str().map(str::to_string),
        is_system: head["isSystem"].as_bool().unwrap_or(false),
        title_field: head["titleField"].as_str().map(str::to_string),
        search_fields,
        fields,
        extra: head
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| matches!(k.as_str(), "duplicateCriteria" | "openFilter"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    check_object(&object)?;
    Ok(object)
}

fn check_object(object: &ObjectDef) -> Result<(), MetaError> {
    if let Some(title) = &object.title_field {
        let ok = object
            .field(title)
            .is_some_and(|f| f.value_type().is_textual() || f.field_type == FieldType::FullName);
        if !ok {
            return Err(MetaError::invalid(
                "/x-rapport-object/titleField",
                format!("`{title}` is not a text field of this object"),
            ));
        }
    }
    for (i, s) in object.search_fields.iter().enumerate() {
        let ok = object
            .field(s)
            .is_some_and(|f| f.value_type().is_textual() || f.field_type == FieldType::FullName);
        if !ok {
            return Err(MetaError::invalid(
                format!("/x-rapport-object/searchFields/{i}"),
                format!("`{s}` is not a text field of this object"),
            ));
        }
    }
    // `companyId` is generated for relation `company` (and `relatedObject`
    // for a polymorphic one); a field of that name would clash.
    for f in &object.fields {
        let generated: &[&str] = match f.relation_kind() {
            Some(RelationKind::ManyToOne) => &["Id"],
            Some(RelationKind::Polymorphic) => &["Id", "Object"],
            _ => &[],
        };
        for suffix in generated {
            let name = format!("{}{suffix}", f.name);
            if object.field(&name).is_some() {
                return Err(MetaError::invalid(
                    format!("/properties/{name}"),
                    format!(
                        "`{name}` clashes with a field generated for relation `{}`",
                        f.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Parses one property schema into a field.
pub fn parse_field_property(
    name: &str,
    property: &Value,
    required: bool,
) -> Result<FieldDef, MetaError> {
    let path = format!("/properties/{name}");
    check_name(&path, name)?;
    if SYSTEM_FIELDS.contains(&name) {
        return Err(MetaError::invalid(
            &path,
            format!("`{name}` is a system field name"),
        ));
    }
    let Some(prop) = property.as_object() else {
        return Err(MetaError::invalid(&path, "a property must be an object"));
    };
    let x = prop
        .get("x-rapport-field")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let field_type = match x.get("type").and_then(Value::as_str) {
        Some(t) => FieldType::parse(t).ok_or_else(|| {
            MetaError::invalid(format!("{path}/x-rapport-field/type"), "unknown field type")
        })?,
        None => infer_type(prop).ok_or_else(|| {
            MetaError::invalid(
                &path,
                "cannot infer the field type: give `type` or `x-rapport-field.type`",
            )
        })?,
    };
    check_json_type(&path, prop, field_type)?;
    let flag = |k: &str| x.get(k).and_then(Value::as_bool).unwrap_or(false);
    let options = parse_options(&path, prop, &x, field_type)?;
    let relation = if field_type == FieldType::Relation {
        Some(parse_relation(&path, &x)?)
    } else {
        None
    };
    let rating_max = x.get("max").and_then(Value::as_i64).unwrap_or(5);
    let computed = parse_computed(&path, &x, field_type)?;
    if computed.is_some() && required {
        return Err(MetaError::invalid(
            &path,
            "a computed field cannot be required",
        ));
    }
    let field = FieldDef {
        name: name.to_string(),
        label: prop
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| words(name)),
        description: prop
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        field_type,
        required,
        unique: flag("isUnique"),
        indexed: flag("isIndexed"),
        searchable: flag("isSearchable"),
        // Sealed values show masked to roles without clear read, like `masked`.
        masked: flag("masked") || field_type == FieldType::EncryptedText,
        read_only: computed.is_some()
            || prop
                .get("readOnly")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        is_system: flag("isSystem"),
        default: prop.get("default").cloned(),
        options,
        rating_max,
        relation,
        generated: false,
        // Ciphertext is random: comparing it to anything means nothing.
        filterable: field_type != FieldType::EncryptedText,
        property: property.clone(),
        computed,
    };
    if field.unique && (field_type.composite().is_some() || field_type == FieldType::Json) {
        return Err(MetaError::invalid(
            format!("{path}/x-rapport-field/isUnique"),
            "composite and json fields cannot be unique",
        ));
    }
    if field_type == FieldType::EncryptedText {
        for (key, set) in [
            ("isUnique", field.unique),
            ("isIndexed", field.indexed),
            ("isSearchable", field.searchable),
            ("default", field.default.is_some()),
        ] {
            if set {
                return Err(MetaError::invalid(
                    format!("{path}/{key}"),
                    "an encryptedText field is stored sealed: it cannot be unique, indexed, searched or given a default",
                ));
            }
        }
    }
    if let Some(r) = &field.relation {
        if r.kind == RelationKind::OneToMany && field.required {
            return Err(MetaError::invalid(
                &path,
                "a oneToMany side cannot be required",
            ));
        }
        if field.unique && r.kind != RelationKind::ManyToOne {
            return Err(MetaError::invalid(
                &path,
                "only a manyToOne relation can be unique",
            ));
        }
    }
    Ok(field)
}

/// Result types a formula or rollup may declare.
fn result_type(path: &str, x: &Map<String, Value>) -> Result<Option<FieldType>, MetaError> {
    let Some(name) = x.get("resultType").and_then(Value::as_str) else {
        return Ok(None);
    };
    match FieldType::parse(name) {
        Some(
            t @ (FieldType::Text
            | FieldType::Number
            | FieldType::Integer
            | FieldType::Decimal
            | FieldType::Percent
            | FieldType::Boolean
            | FieldType::Date
            | FieldType::DateTime),
        ) => Ok(Some(t)),
        _ => Err(MetaError::invalid(
            format!("{path}/x-rapport-field/resultType"),
            "one of text, number, integer, decimal, percent, boolean, date, dateTime",
        )),
    }
}

fn parse_computed(
    path: &str,
    x: &Map<String, Value>,
    t: FieldType,
) -> Result<Option<Computed>, MetaError> {
    let xp = format!("{path}/x-rapport-field");
    let text = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(match t {
        FieldType::Formula => {
            let src = text("expression").ok_or_else(|| {
                MetaError::invalid(format!("{xp}/expression"), "a formula needs `expression`")
            })?;
            let expression = parse_formula(&src)
                .map_err(|e| MetaError::invalid(format!("{xp}/expression"), e))?;
            let result = result_type(path, x)?.ok_or_else(|| {
                MetaError::invalid(format!("{xp}/resultType"), "a formula needs `resultType`")
            })?;
            Some(Computed::Formula { expression, result })
        }
        FieldType::Rollup => {
            let relation = text("relation").ok_or_else(|| {
                MetaError::invalid(format!("{xp}/relation"), "a rollup needs `relation`")
            })?;
            let function = text("function").ok_or_else(|| {
                MetaError::invalid(format!("{xp}/function"), "a rollup needs `function`")
            })?;
            let function = AggregateFn::parse(&function).ok_or_else(|| {
                MetaError::invalid(
                    format!("{xp}/function"),
                    format!("`{function}` is not count, countDistinct, sum, avg, min or max"),
                )
            })?;
            let field = text("field");
            if function != AggregateFn::Count && field.is_none() {
                return Err(MetaError::invalid(
                    format!("{xp}/field"),
                    format!("`{function}` needs `field`"),
                ));
            }
            // The result type is settled against the related field in the catalog.
            let result = result_type(path, x)?.unwrap_or(FieldType::Number);
            Some(Computed::Rollup {
                relation,
                function,
                field,
                filter: x.get("filter").cloned(),
                result,
            })
        }
        FieldType::AutoNumber => Some(Computed::AutoNumber {
            prefix: text("prefix").unwrap_or_default(),
            digits: x.get("digits").and_then(Value::as_u64).unwrap_or(6) as u32,
        }),
        _ => None,
    })
}

fn infer_type(prop: &Map<String, Value>) -> Option<FieldType> {
    if prop.contains_key("enum") {
        return Some(FieldType::Select);
    }
    match prop.get("type").and_then(Value::as_str)? {
        "string" => Some(match prop.get("format").and_then(Value::as_str) {
            Some("date") => FieldType::Date,
            Some("date-time") => FieldType::DateTime,
            Some("email") => FieldType::Email,
            Some("uri") => FieldType::Url,
            _ => FieldType::Text,
        }),
        "integer" => Some(FieldType::Integer),
        "number" => Some(FieldType::Number),
        "boolean" => Some(FieldType::Boolean),
        "array" if prop.get("items").and_then(|i| i.get("enum")).is_some() => {
            Some(FieldType::MultiSelect)
        }
        _ => None,
    }
}

/// A declared JSON `type` must agree with the field type.
fn check_json_type(path: &str, prop: &Map<String, Value>, t: FieldType) -> Result<(), MetaError> {
    let Some(json_type) = prop.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let expected = match t {
        FieldType::Integer | FieldType::Rating => "integer",
        FieldType::Number | FieldType::Percent => "number",
        FieldType::Boolean => "boolean",
        FieldType::MultiSelect => "array",
        FieldType::Currency | FieldType::Address | FieldType::FullName => "object",
        FieldType::Json | FieldType::Relation => return Ok(()),
        _ => "string",
    };
    if json_type != expected {
        return Err(MetaError::invalid(
            format!("{path}/type"),
            format!(
                "a {} field has JSON type `{expected}`, not `{json_type}`",
                t.as_str()
            ),
        ));
    }
    Ok(())
}

fn parse_options(
    path: &str,
    prop: &Map<String, Value>,
    x: &Map<String, Value>,
    t: FieldType,
) -> Result<Vec<SelectOption>, MetaError> {
    if !matches!(t, FieldType::Select | FieldType::MultiSelect) {
        return Ok(Vec::new());
    }
    let enum_values: Vec<String> = match t {
        FieldType::Select => prop.get("enum"),
        _ => prop.get("items").and_then(|i| i.get("enum")),
    }
    .and_then(Value::as_array)
    .map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default();
    let mut options: Vec<SelectOption> = Vec::new();
    if let Some(list) = x.get("options").and_then(Value::as_array) {
        for (i, o) in list.iter().enumerate() {
            let value = o["value"].as_str().unwrap_or_default().to_string();
            if options.iter().any(|p| p.value == value) {
                return Err(MetaError::invalid(
                    format!("{path}/x-rapport-field/options/{i}/value"),
                    format!("option `{value}` appears twice"),
                ));
            }
            options.push(SelectOption {
                label: o["label"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| words(&value)),
                value,
                raw: o.clone(),
            });
        }
    }
    // Values listed in `enum` but not in `options` get a label from their value.
    for v in &enum_values {
        if !options.iter().any(|o| &o.value == v) {
            let label = words(v);
            options.push(SelectOption {
                value: v.clone(),
                raw: json!({ "value": v, "label": label }),
                label,
            });
        }
    }
    if !enum_values.is_empty()
        && let Some(o) = options.iter().find(|o| !enum_values.contains(&o.value))
    {
        return Err(MetaError::invalid(
            format!("{path}/x-rapport-field/options"),
            format!("option `{}` is not in the property's `enum`", o.value),
        ));
    }
    if options.is_empty() {
        return Err(MetaError::invalid(
            path,
            "a select field needs `enum` or `x-rapport-field.options`",
        ));
    }
    Ok(options)
}

fn parse_relation(path: &str, x: &Map<String, Value>) -> Result<Relation, MetaError> {
    let xp = format!("{path}/x-rapport-field");
    let kind = match x.get("kind").and_then(Value::as_str) {
        Some("manyToOne") => RelationKind::ManyToOne,
        Some("oneToMany") => RelationKind::OneToMany,
        Some("manyToMany") => RelationKind::ManyToMany,
        Some("polymorphic") => RelationKind::Polymorphic,
        _ => {
            return Err(MetaError::invalid(
                format!("{xp}/kind"),
                "a relation needs `kind`",
            ));
        }
    };
    let targets: Vec<String> = x
        .get("targets")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let target = x.get("target").and_then(Value::as_str).map(str::to_string);
    let target = match kind {
        RelationKind::Polymorphic => {
            if targets.is_empty() {
                return Err(MetaError::invalid(
                    format!("{xp}/targets"),
                    "a polymorphic relation needs `targets`",
                ));
            }
            String::new()
        }
        _ => target.ok_or_else(|| {
            MetaError::invalid(format!("{xp}/target"), "a relation needs `target`")
        })?,
    };
    let inverse = x.get("inverse").and_then(Value::as_str).map(str::to_string);
    if matches!(kind, RelationKind::OneToMany) && inverse.is_none() {
        return Err(MetaError::invalid(
            format!("{xp}/inverse"),
            "a oneToMany relation names the manyToOne field of its target in `inverse`",
        ));
    }
    if matches!(kind, RelationKind::Polymorphic) && inverse.is_none() {
        return Err(MetaError::invalid(
            format!("{xp}/inverse"),
            "a polymorphic relation names the list its targets get in `inverse`",
        ));
    }
    let on_delete = match x.get("onDelete").and_then(Value::as_str) {
        Some("cascade") => OnDelete::Cascade,
        Some("restrict") => OnDelete::Restrict,
        _ => OnDelete::SetNull,
    };
    Ok(Relation {
        kind,
        target,
        targets,
        inverse,
        on_delete,
    })
}

/// The document of an object: applied to an empty workspace it recreates the
/// same object (round trip).
pub fn export_document(object: &ObjectDef) -> Value {
    let mut head = Map::new();
    head.insert("name".into(), json!(object.name));
    head.insert("pluralName".into(), json!(object.plural_name));
    head.insert("label".into(), json!(object.label));
    head.insert("labelPlural".into(), json!(object.label_plural));
    if let Some(m) = &object.module {
        head.insert("module".into(), json!(m));
    }
    if let Some(t) = &object.title_field {
        head.insert("titleField".into(), json!(t));
    }
    if !object.search_fields.is_empty() {
        head.insert("searchFields".into(), json!(object.search_fields));
    }
    if object.is_system {
        head.insert("isSystem".into(), json!(true));
    }
    for (k, v) in &object.extra {
        head.insert(k.clone(), v.clone());
    }
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in object.fields.iter().filter(|f| !f.generated) {
        properties.insert(f.name.clone(), f.property.clone());
        if f.required {
            required.push(json!(f.name));
        }
    }
    let mut doc = Map::new();
    doc.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    doc.insert(
        "$id".into(),
        json!(format!("urn:rapport:object:{}", object.name)),
    );
    doc.insert("title".into(), json!(object.label));
    if let Some(d) = &object.description {
        doc.insert("description".into(), json!(d));
    }
    doc.insert("type".into(), json!("object"));
    doc.insert("x-rapport-object".into(), Value::Object(head));
    doc.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        doc.insert("required".into(), Value::Array(required));
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(props: Value) -> Value {
        json!({"type": "object", "x-rapport-object": {"name": "vehicle", "pluralName": "vehicles"},
               "properties": props})
    }

    #[test]
    fn infers_types_from_json_schema_keywords() {
        let o = parse_document(&doc(json!({
            "plate": {"type": "string"}, "built": {"type": "string", "format": "date"},
            "seats": {"type": "integer"}, "color": {"type": "string", "enum": ["RED", "BLUE"]},
            "tags": {"type": "array", "items": {"enum": ["A", "B"]}}
        })))
        .unwrap();
        let types: Vec<_> = o.fields.iter().map(|f| f.field_type).collect();
        assert_eq!(
            types,
            [
                FieldType::Text,
                FieldType::Date,
                FieldType::Integer,
                FieldType::Select,
                FieldType::MultiSelect
            ]
        );
    }

    #[test]
    fn names_the_offending_path() {
        let err = parse_document(&doc(json!({"Bad": {"type": "string"}}))).unwrap_err();
        assert!(
            matches!(err, MetaError::Invalid { ref path, .. } if path.starts_with("/properties")),
            "{err:?}"
        );
        let err =
            parse_document(&doc(json!({"a1": {"x-rapport-field": {"type": "nope"}}}))).unwrap_err();
        assert!(
            matches!(err, MetaError::Invalid { ref path, .. } if path.contains("a1")),
            "{err:?}"
        );
    }

    #[test]
    fn encrypted_text_is_masked_and_never_compared() {
        let parsed = parse_document(&doc(
            json!({"secret": {"type": "string", "x-rapport-field": {"type": "encryptedText"}}}),
        ))
        .unwrap();
        let f = parsed.field("secret").unwrap();
        assert!(f.masked && !f.filterable);
        let err = parse_document(&doc(
            json!({"secret": {"x-rapport-field": {"type": "encryptedText", "isUnique": true}}}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("sealed"), "{err}");
    }

    #[test]
    fn refuses_reserved_names() {
        let err = parse_document(&doc(json!({"version": {"type": "integer"}}))).unwrap_err();
        assert!(err.to_string().contains("system field"));
    }

    #[test]
    fn export_round_trips() {
        let original = doc(json!({
            "plate": {"type": "string", "title": "Plate", "x-rapport-field": {"isUnique": true}},
            "company": {"x-rapport-field": {"type": "relation", "kind": "manyToOne", "target": "company", "inverse": "vehicles"}}
        }));
        let parsed = parse_document(&original).unwrap();
        let again = parse_document(&export_document(&parsed)).unwrap();
        assert_eq!(parsed, again);
    }
}
