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
    let mut implied = |k: &str, v: Value| {
        schema.entry(k.to_string()).or_insert(v);
    };
    match f.field_type {
        FieldType::Email => {
            implied("type", json!("string"));
            implied("format", json!("email"));
        }
        FieldType::Phone => {
            implied("type", json!("string"));
            implied("pattern", json!("^\\+[1-9][0-9]{1,14}$"));
        }
        FieldType::Url => {
            implied("type", json!("string"));
            implied("format", json!("uri"));
        }
        FieldType::Date => {
            implied("type", json!("string"));
            implied("format", json!("date"));
        }
        FieldType::DateTime => {
            implied("type", json!("string"));
            implied("format", json!("date-time"));
        }
        FieldType::Decimal => {
            implied("type", json!("string"));
            implied("pattern", json!(DECIMAL_PATTERN));
        }
        FieldType::Percent | FieldType::Number => implied("type", json!("number")),
        FieldType::Integer => implied("type", json!("integer")),
        FieldType::Rating => {
            implied("type", json!("integer"));
            implied("minimum", json!(1));
            implied("maximum", json!(f.rating_max));
        }
        FieldType::Select => {
            implied("type", json!("string"));
            implied(
                "enum",
                json!(
                    f.options
                        .iter()
                        .map(|o| o.value.clone())
                        .collect::<Vec<_>>()
                ),
            );
        }
        FieldType::MultiSelect => {
            implied("type", json!("array"));
            implied("uniqueItems", json!(true));
            implied(
                "items",
                json!({"enum": f.options.iter().map(|o| o.value.clone()).collect::<Vec<_>>()}),
            );
        }
        FieldType::Currency => {
            implied(
                "properties",
                json!({"amount": {"type": "string", "pattern": DECIMAL_PATTERN},
                       "currencyCode": {"type": "string", "pattern": "^[A-Z]{3}$"}}),
            );
            // An amount means nothing without its currency, nor a currency
            // without an amount: the API answers both parts, non-null.
            implied("required", json!(["amount", "currencyCode"]));
        }
        FieldType::Address => {
            let parts = composite_part_schemas(Composite::Address);
            implied("properties", parts);
            schema.entry("properties".to_string()).and_modify(|p| {
                p["latitude"] = json!({"type": "number", "minimum": -90, "maximum": 90});
                p["longitude"] = json!({"type": "number", "minimum": -180, "maximum": 180});
            });
        }
        FieldType::FullName => implied("properties", composite_part_schemas(Composite::FullName)),
        FieldType::Boolean => implied("type", json!("boolean")),
        FieldType::Text | FieldType::LongText | FieldType::RichText => {
            implied("type", json!("string"))
        }
        _ => {}
    }
    (f.name.clone(), Value::Object(schema))
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
