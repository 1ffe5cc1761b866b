//! Rows back to GraphQL-shaped JSON records.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rapport_query::{Backend, Column, Scalar};
use rust_decimal::Decimal;
use sea_orm::QueryResult;
use serde_json::{Map, Value};

use crate::error::StoreError;

pub(crate) fn value_at(
    row: &QueryResult,
    i: usize,
    scalar: Scalar,
    backend: Backend,
) -> Result<Value, StoreError> {
    let pg = backend == Backend::Postgres;
    let v = match scalar {
        Scalar::Text => row
            .try_get_by_index::<Option<String>>(i)?
            .map(Value::String),
        Scalar::Int => row.try_get_by_index::<Option<i64>>(i)?.map(Value::from),
        Scalar::Float => row.try_get_by_index::<Option<f64>>(i)?.map(Value::from),
        Scalar::Bool => row.try_get_by_index::<Option<bool>>(i)?.map(Value::Bool),
        Scalar::Decimal if pg => row
            .try_get_by_index::<Option<Decimal>>(i)?
            .map(|d| Value::String(d.normalize().to_string())),
        Scalar::Date if pg => row
            .try_get_by_index::<Option<NaiveDate>>(i)?
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
        Scalar::DateTime if pg => row
            .try_get_by_index::<Option<DateTime<Utc>>>(i)?
            .map(|d| Value::String(d.to_rfc3339_opts(SecondsFormat::Micros, true))),
        Scalar::Json if pg => row.try_get_by_index::<Option<Value>>(i)?,
        Scalar::Uuid if pg => row
            .try_get_by_index::<Option<uuid::Uuid>>(i)?
            .map(|u| Value::String(u.to_string())),
        Scalar::Json => match row.try_get_by_index::<Option<String>>(i)? {
            Some(s) => {
                Some(serde_json::from_str(&s).map_err(|e| StoreError::Internal(e.to_string()))?)
            }
            None => None,
        },
        // SQLite keeps decimals as text; computed ones arrive as REAL turned text.
        Scalar::Decimal => row.try_get_by_index::<Option<String>>(i)?.map(|s| {
            Value::String(
                s.parse::<Decimal>()
                    .map(|d| d.normalize().to_string())
                    .unwrap_or(s),
            )
        }),
        // Dates, date-times and ids are text on SQLite.
        _ => row
            .try_get_by_index::<Option<String>>(i)?
            .map(Value::String),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// The record in a row's first `columns.len()` columns.
pub(crate) fn record(
    row: &QueryResult,
    columns: &[Column],
    backend: Backend,
) -> Result<Map<String, Value>, StoreError> {
    // Sized up front: growing the map (and its index) was a tenth of a
    // list read's CPU.
    let mut out = Map::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        place(&mut out, c, value_at(row, i, c.scalar, backend)?);
    }
    close_composites(&mut out);
    Ok(out)
}

/// Puts a column's value in its record: under its key, or for a
/// composite's part, in the composite's object.
pub(crate) fn place(out: &mut Map<String, Value>, c: &Column, v: Value) {
    match c.part {
        None => {
            out.insert(c.key.clone(), v);
        }
        Some(part) => {
            let slot = out
                .entry(c.key.clone())
                .or_insert_with(|| Value::Object(Map::with_capacity(2)));
            if let Value::Object(m) = slot {
                m.insert(part.to_string(), v);
            }
        }
    }
}

/// A composite whose parts are all null is itself null.
pub(crate) fn close_composites(out: &mut Map<String, Value>) {
    for v in out.values_mut() {
        if let Value::Object(m) = v
            && m.values().all(Value::is_null)
        {
            *v = Value::Null;
        }
    }
}
