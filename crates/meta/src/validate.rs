//! Validation of record input against an object's JSON Schema, compiled once
//! per metadata version.

use serde_json::{Map, Value, json};

use crate::model::{Composite, FieldDef, FieldType, ObjectDef, RelationKind};

/// Why one input value was refused, in the shape the API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub field: String,
    pub reason: String,
}

pub struct RecordValidator {
    validator: jsonschema::Validator,
    /// Input names of required fields.
    required: Vec<String>,
}

const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const DECIMAL_PATTERN: &str = "^-?[0-9]{1,28}(\\.[0-9]{1,18})?$";

impl RecordValidator {
    pub fn new(object: &ObjectDef) -> RecordValidator {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for f in object
            .fields
            .iter()
            .filter(|f| f.is_stored() && !f.read_only)
        {
            let (name, schema) = input_schema(f);
            if f.required {
                required.push(name.clone());
            }
            properties.insert(name, schema);
        }
        let schema = json!({ "type": "object", "properties": properties });
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            // Property schemas passed the meta-schema; a failure here is a bug
            // we want loudly, but we fall back to a validator that accepts
            // any object so one odd pattern cannot take the workspace down.
            .unwrap_or_else(|_| {
                jsonschema::validator_for(&json!({"type": "object"})).expect("trivial schema")
            });
        RecordValidator {
            validator,
            required,
        }
    }

    /// Checks GraphQL-shaped input (`companyId`, `amount: {amount, currencyCode}`).
    /// `creating` enforces required fields being present; on update only
    /// setting one to null is refused.
    pub fn validate(&self, input: &Map<String, Value>, creating: bool) -> Result<(), InputError> {
        for name in &self.required {
            let missing = match input.get(name) {
                None => creating,
                Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            };
            if missing {
                return Err(InputError {
                    field: name.clone(),
                    reason: "is required".into(),
                });
            }
        }
        // PostgreSQL text cannot hold NUL; refused on every database alike.
        for (name, value) in input {
            if contains_nul(value) {
                return Err(InputError {
                    field: name.clone(),
                    reason: "text may not contain NUL characters".into(),
                });
            }
        }
        // Null clears a value; JSON Schema types describe present values only.
        let present: Map<String, Value> = input
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), strip_nulls(v)))
            .collect();
        let instance = Value::Object(present);
        if let Some(err) = self.validator.iter_errors(&instance).next() {
            let path = err.instance_path().to_string();
            let mut segments = path.trim_start_matches('/').split('/');
            let field = segments.next().unwrap_or_default().to_string();
            let sub: Vec<&str> = segments.collect();
            let field = if sub.is_empty() || sub[0].parse::<usize>().is_ok() {
                field
            } else {
                format!("{field}.{}", sub[0])
            };
            return Err(InputError {
                field,
                reason: crate::parse::error_reason(&err),
            });
        }
        Ok(())
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The input key and JSON Schema of one stored field.
fn input_schema(f: &FieldDef) -> (String, Value) {
    if let Some(rel) = &f.relation {
        if rel.kind == RelationKind::ManyToOne {
            return (
                format!("{}Id", f.name),
                json!({"type": "string", "pattern": UUID_PATTERN}),
            );
        }
        return (
            f.name.clone(),
            json!({"type": "object", "properties": {
                "object": {"type": "string"}, "id": {"type": "string", "pattern": UUID_PATTERN}}}),
        );
    }
    let mut schema: Map<String, Value> = f
        .property
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "x-rapport-field" | "default" | "readOnly" | "title" | "description"
                    )
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    // What the field's type implies, where the document does not say.
    for (keyword, value) in implied_keywords(f) {
        schema.entry(keyword.to_string()).or_insert(value);
    }
    if f.field_type == FieldType::Address {
        schema.entry("properties".to_string()).and_modify(|p| {
            p["latitude"] = json!({"type": "number", "minimum": -90, "maximum": 90});
            p["longitude"] = json!({"type": "number", "minimum": -180, "maximum": 180});
        });
    }
    (f.name.clone(), Value::Object(schema))
}

/// The JSON Schema keywords a field's type implies for its input.
fn implied_keywords(f: &FieldDef) -> Vec<(&'static str, Value)> {
    let string = || ("type", json!("string"));
    let options = || {
        f.options
            .iter()
            .map(|o| o.value.clone())
            .collect::<Vec<_>>()
    };
    match f.field_type {
        FieldType::Email => vec![string(), ("format", json!("email"))],
        FieldType::Phone => vec![string(), ("pattern", json!("^\\+[1-9][0-9]{1,14}$"))],
        FieldType::Url => vec![string(), ("format", json!("uri"))],
        FieldType::Date => vec![string(), ("format", json!("date"))],
        FieldType::DateTime => vec![string(), ("format", json!("date-time"))],
        FieldType::Decimal => vec![string(), ("pattern", json!(DECIMAL_PATTERN))],
        FieldType::Percent | FieldType::Number => vec![("type", json!("number"))],
        FieldType::Integer => vec![("type", json!("integer"))],
        FieldType::Rating => vec![
            ("type", json!("integer")),
            ("minimum", json!(1)),
            ("maximum", json!(f.rating_max)),
        ],
        FieldType::Select => vec![string(), ("enum", json!(options()))],
        FieldType::MultiSelect => vec![
            ("type", json!("array")),
            ("uniqueItems", json!(true)),
            ("items", json!({ "enum": options() })),
        ],
        FieldType::Currency => vec![
            (
                "properties",
                json!({"amount": {"type": "string", "pattern": DECIMAL_PATTERN},
                       "currencyCode": {"type": "string", "pattern": "^[A-Z]{3}$"}}),
            ),
            // An amount means nothing without its currency, nor a currency
            // without an amount: the API answers both parts, non-null.
            ("required", json!(["amount", "currencyCode"])),
        ],
        FieldType::Address => vec![("properties", composite_part_schemas(Composite::Address))],
        FieldType::FullName => vec![("properties", composite_part_schemas(Composite::FullName))],
        FieldType::Boolean => vec![("type", json!("boolean"))],
        FieldType::Text | FieldType::LongText | FieldType::RichText => vec![string()],
        _ => Vec::new(),
    }
}

fn composite_part_schemas(c: Composite) -> Value {
    let mut m = Map::new();
    for (name, t) in c.parts() {
        let ty = if *t == FieldType::Number {
            "number"
        } else {
            "string"
        };
        m.insert((*name).to_string(), json!({ "type": ty }));
    }
    Value::Object(m)
}

fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_document;

    #[test]
    fn reports_field_and_reason() {
        let o = parse_document(&json!({"type": "object",
            "x-rapport-object": {"name": "vehicle", "pluralName": "vehicles"},
            "properties": {"plate": {"type": "string", "minLength": 3},
                           "email": {"x-rapport-field": {"type": "email"}},
                           "price": {"x-rapport-field": {"type": "currency"}}},
            "required": ["plate"]}))
        .unwrap();
        let v = RecordValidator::new(&o);
        let input = |j: Value| j.as_object().cloned().unwrap();
        assert_eq!(
            v.validate(&input(json!({})), true).unwrap_err().field,
            "plate"
        );
        assert!(v.validate(&input(json!({})), false).is_ok());
        assert_eq!(
            v.validate(&input(json!({"plate": "ab"})), true)
                .unwrap_err()
                .field,
            "plate"
        );
        let e = v
            .validate(&input(json!({"plate": "abc", "email": "nope"})), true)
            .unwrap_err();
        assert_eq!(e.field, "email");
        let e = v
            .validate(
                &input(json!({"plate": "abc", "price": {"amount": "1x", "currencyCode": "EUR"}})),
                true,
            )
            .unwrap_err();
        assert_eq!(e.field, "price.amount");
        assert!(
            v.validate(
                &input(
                    json!({"plate": "abc", "price": {"amount": "10.50", "currencyCode": "EUR"}})
                ),
                true
            )
            .is_ok()
        );
    }
}
