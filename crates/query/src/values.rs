//! JSON input values to bound SQL values, per backend.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sea_query::Value;
use serde_json::Value as Json;

use crate::columns::Scalar;
use crate::sql::Backend;

/// DateTimes are kept in UTC; on SQLite as fixed-width RFC 3339 text so
/// that text order is time order.
pub fn normalize_datetime(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("`{s}` is not an RFC 3339 date-time"))
}

pub(crate) fn datetime_text(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Encodes one JSON value for a column of the given scalar kind. `Null`
/// gives a typed SQL NULL.
pub fn encode(backend: Backend, scalar: Scalar, v: &Json) -> Result<Value, String> {
    let pg = backend == Backend::Postgres;
    if v.is_null() {
        return Ok(match scalar {
            Scalar::Text => Value::String(None),
            Scalar::Int => Value::BigInt(None),
            Scalar::Float => Value::Double(None),
            Scalar::Bool => Value::Bool(None),
            Scalar::Decimal if pg => Value::Decimal(None),
            Scalar::Date if pg => Value::ChronoDate(None),
            Scalar::DateTime if pg => Value::ChronoDateTimeUtc(None),
            Scalar::Json if pg => Value::Json(None),
            Scalar::Uuid if pg => Value::Uuid(None),
            _ => Value::String(None),
        });
    }
    let text = || {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("expected a string, got {v}"))
    };
    Ok(match scalar {
        Scalar::Text => Value::String(Some(text()?)),
        Scalar::Int => Value::BigInt(Some(
            v.as_i64()
                .ok_or_else(|| format!("expected an integer, got {v}"))?,
        )),
        Scalar::Float => Value::Double(Some(
            v.as_f64()
                .ok_or_else(|| format!("expected a number, got {v}"))?,
        )),
        Scalar::Bool => Value::Bool(Some(
            v.as_bool()
                .ok_or_else(|| format!("expected a boolean, got {v}"))?,
        )),
        Scalar::Decimal => {
            let raw = match v {
                Json::Number(n) => n.to_string(),
                _ => text()?,
            };
            let d = Decimal::from_str(&raw).map_err(|_| format!("`{raw}` is not a decimal"))?;
            if pg {
                Value::Decimal(Some(d))
            } else {
                Value::String(Some(d.normalize().to_string()))
            }
        }
        Scalar::Date => {
            let s = text()?;
            let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))?;
            if pg {
                Value::ChronoDate(Some(d))
            } else {
                Value::String(Some(d.format("%Y-%m-%d").to_string()))
            }
        }
        Scalar::DateTime => {
            let d = normalize_datetime(&text()?)?;
            if pg {
                Value::ChronoDateTimeUtc(Some(d))
            } else {
                Value::String(Some(datetime_text(&d)))
            }
        }
        Scalar::Json => {
            if pg {
                Value::Json(Some(Box::new(v.clone())))
            } else {
                Value::String(Some(v.to_string()))
            }
        }
        Scalar::Uuid => {
            let s = text()?;
            let u = uuid::Uuid::parse_str(&s).map_err(|_| format!("`{s}` is not a UUID"))?;
            if pg {
                Value::Uuid(Some(u))
            } else {
                Value::String(Some(u.hyphenated().to_string()))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqlite_keeps_sortable_text() {
        let v = encode(
            Backend::Sqlite,
            Scalar::DateTime,
            &json!("2024-03-01T10:00:00+02:00"),
        )
        .unwrap();
        assert_eq!(v, Value::String(Some("2024-03-01T08:00:00.000000Z".into())));
        let v = encode(Backend::Sqlite, Scalar::Decimal, &json!("10.500")).unwrap();
        assert_eq!(v, Value::String(Some("10.5".into())));
        assert!(encode(Backend::Postgres, Scalar::Uuid, &json!("nope")).is_err());
    }
}
