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

/// The rows of a read whose response is written straight from them (see
/// [`crate::RecordStore::read_rows`]).
pub struct Rows {
    rows: Vec<QueryResult>,
    backend: Backend,
}

/// One value of a row, to be written into a response as the decoder would
/// write it. Text is borrowed from the row on PostgreSQL, so a list read
/// copies no string on its way to the response.
#[derive(Debug, PartialEq)]
pub enum Cell<'r> {
    Null,
    /// A string, to be written JSON-escaped.
    Str(&'r str),
    /// A string formatted from the stored value (ids, decimals, dates).
    String(String),
    /// Numbers, booleans, JSON documents.
    Value(Value),
    /// An id (PostgreSQL `uuid`), written hyphenated in lower case with no
    /// string made for it.
    Uuid(uuid::Uuid),
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Column `i` of row `row`, stored as `scalar`.
    pub fn cell(&self, row: usize, i: usize, scalar: Scalar) -> Result<Cell<'_>, StoreError> {
        use sea_orm::sqlx::Row;
        let r = &self.rows[row];
        match (r.try_as_pg_row(), scalar) {
            (Some(pg), Scalar::Text) => {
                return Ok(pg
                    .try_get::<Option<&str>, usize>(i)
                    .map_err(|e| StoreError::Internal(e.to_string()))?
                    .map_or(Cell::Null, Cell::Str));
            }
            (Some(pg), Scalar::Uuid) => {
                return Ok(pg
                    .try_get::<Option<uuid::Uuid>, usize>(i)
                    .map_err(|e| StoreError::Internal(e.to_string()))?
                    .map_or(Cell::Null, Cell::Uuid));
            }
            _ => {}
        }
        Ok(match value_at(r, i, scalar, self.backend)? {
            Value::Null => Cell::Null,
            Value::String(s) => Cell::String(s),
            v => Cell::Value(v),
        })
    }

    /// Column `i` of row `row` as text (a JSON document the statement wrote).
    pub fn text(&self, row: usize, i: usize) -> Result<Option<&str>, StoreError> {
        use sea_orm::sqlx::Row;
        let r = &self.rows[row];
        let text = match (r.try_as_pg_row(), r.try_as_sqlite_row()) {
            (Some(pg), _) => pg.try_get::<Option<&str>, usize>(i),
            (_, Some(lite)) => lite.try_get::<Option<&str>, usize>(i),
            _ => return Err(StoreError::Internal("rows of an unknown backend".into())),
        };
        text.map_err(|e| StoreError::Internal(e.to_string()))
    }
}

pub(crate) fn rows(rows: Vec<QueryResult>, backend: Backend) -> Rows {
    Rows { rows, backend }
}
