//! Converting a field's stored values when its type changes.

use rapport_meta::{FieldDef, FieldType, ObjectDef, RecordValidator};
use rapport_query::{Scalar, Sql, encode, field_columns};
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value};

use crate::db::{StatementCounter, execute, query};
use crate::decode::value_at;
use crate::error::StoreError;
use crate::metadata::WorkspaceMeta;

/// Converts every stored value of a field to its new definition, or refuses
/// saying how many would not convert. Runs in the metadata transaction.
pub(crate) async fn convert_column(
    txn: &DatabaseTransaction,
    meta: &WorkspaceMeta,
    object: &ObjectDef,
    old: &FieldDef,
    new: &FieldDef,
) -> Result<(), StoreError> {
    let layout = &meta.layout;
    let backend = layout.backend;
    let counter = StatementCounter::default();
    let old_col = &field_columns(old)[0];
    let new_col = &field_columns(new)[0];
    let mut sql = Sql::new(backend);
    // Tagged so a driver's statement cache never reuses a plan of another column type.
    sql.push(&format!("/* rapport convert v{} */ ", meta.version));
    sql.push("SELECT \"id\", ")
        .ident(&old_col.name)
        .push(" FROM ")
        .push(&layout.table(&object.name));
    sql.push(" WHERE ")
        .ident(&old_col.name)
        .push(" IS NOT NULL");
    let rows = query(txn, &counter, sql).await?;
    let mut probe = object.clone();
    if let Some(slot) = probe.fields.iter_mut().find(|f| f.name == new.name) {
        *slot = new.clone();
    }
    let validator = RecordValidator::new(&probe);
    let sealed_before = old.field_type == FieldType::EncryptedText;
    let sealed_after = new.field_type == FieldType::EncryptedText;
    let sealing = match (sealed_before || sealed_after, &meta.keyring) {
        (false, _) => None,
        (true, Some(keys)) => {
            let context = meta
                .field_ids
                .get(&(object.name.clone(), old.name.clone()))
                .ok_or_else(|| StoreError::Internal(format!("no id for field {}", old.name)))?;
            Some((keys.as_ref(), context.as_str()))
        }
        (true, None) => {
            return Err(StoreError::bad(
                format!("/properties/{}", new.name),
                "converting to or from encryptedText needs the server's encryption key",
            ));
        }
    };
    let mut converted = Vec::with_capacity(rows.len());
    let mut failures = 0usize;
    for row in &rows {
        let id = value_at(row, 0, Scalar::Uuid, backend)?;
        let mut v = value_at(row, 1, old_col.scalar, backend)?;
        if let (Some((keys, context)), Value::String(sealed)) = (sealing, &v)
            && sealed_before
        {
            v = Value::String(keys.open(context, sealed)?);
        }
        let c = convert_value(&v, old.field_type, new.field_type);
        let ok = c.as_ref().is_some_and(|c| {
            let mut m = Map::new();
            m.insert(new.name.clone(), c.clone());
            validator.validate(&m, false).is_ok() && encode(backend, new_col.scalar, c).is_ok()
        });
        match (ok, c) {
            (true, Some(Value::String(clear))) if sealed_after => {
                let (keys, context) =
                    sealing.ok_or_else(|| StoreError::Internal("no keys".into()))?;
                converted.push((id, Value::String(keys.seal(context, &clear)?)));
            }
            (true, Some(c)) => converted.push((id, c)),
            _ => failures += 1,
        }
    }
    if failures > 0 {
        return Err(StoreError::bad(
            format!("/properties/{}", new.name),
            format!(
                "{failures} of {} records of `{}` would not convert its `{}` from {} to {}; fix or clear them first",
                rows.len(),
                object.name,
                new.name,
                old.field_type.as_str(),
                new.field_type.as_str()
            ),
        ));
    }
    if old_col.scalar == new_col.scalar && sealed_before == sealed_after {
        return Ok(());
    }
    // New column beside the old, filled, then swapped in under the field's name.
    let temp = rapport_query::Column {
        name: format!("{}__new", new_col.name),
        ..new_col.clone()
    };
    crate::db::execute_text(
        txn,
        backend,
        &crate::ddl::add_column(layout, &object.name, &temp),
    )
    .await?;
    for (id, v) in converted {
        let mut sql = Sql::new(backend);
        sql.push(&format!("/* rapport convert v{} */ ", meta.version));
        sql.push("UPDATE ")
            .push(&layout.table(&object.name))
            .push(" SET ")
            .ident(&temp.name)
            .push(" = ");
        sql.param(encode(backend, new_col.scalar, &v).map_err(|r| StoreError::bad(&new.name, r))?);
        sql.push(" WHERE \"id\" = ")
            .param(encode(backend, Scalar::Uuid, &id).map_err(StoreError::Internal)?);
        execute(txn, &counter, sql).await?;
    }
    crate::db::execute_text(
        txn,
        backend,
        &crate::ddl::drop_column(layout, &object.name, &old_col.name),
    )
    .await?;
    crate::db::execute_text(
        txn,
        backend,
        &crate::ddl::rename_column(layout, &object.name, &temp.name, &new_col.name),
    )
    .await?;
    Ok(())
}

/// One value from one field type to another; `None` when it does not convert.
fn convert_value(v: &Value, from: FieldType, to: FieldType) -> Option<Value> {
    let as_text = || match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(_) | Value::Object(_) => Some(v.to_string()),
        Value::Null => None,
    };
    let _ = from;
    match to {
        t if t.is_textual() || t == FieldType::EncryptedText => as_text().map(Value::String),
        FieldType::Integer | FieldType::Rating => match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Value::from),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| {
                    s.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0)
                        .map(|f| f as i64)
                })
                .map(Value::from),
            Value::Bool(b) => Some(Value::from(*b as i64)),
            _ => None,
        },
        FieldType::Number | FieldType::Percent => match v {
            Value::Number(n) => n.as_f64().map(Value::from),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::from),
            _ => None,
        },
        FieldType::Decimal => match v {
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::String(s) => s
                .trim()
                .parse::<rust_decimal::Decimal>()
                .ok()
                .map(|d| Value::String(d.normalize().to_string())),
            _ => None,
        },
        FieldType::Boolean => match v {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::Number(n) => n
                .as_i64()
                .filter(|i| *i == 0 || *i == 1)
                .map(|i| Value::Bool(i == 1)),
            Value::String(s) => match s.trim().to_lowercase().as_str() {
                "true" | "yes" | "1" => Some(Value::Bool(true)),
                "false" | "no" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        },
        FieldType::Date => v.as_str().and_then(|s| {
            let day = s.get(..10)?;
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .map(|d| Value::String(d.to_string()))
        }),
        FieldType::DateTime => v.as_str().and_then(|s| {
            if s.len() == 10 {
                return chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .map(|d| Value::String(format!("{d}T00:00:00Z")));
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|_| Value::String(s.to_string()))
        }),
        FieldType::Select => as_text().map(Value::String),
        FieldType::MultiSelect => match v {
            Value::Array(_) => Some(v.clone()),
            _ => as_text().map(|s| Value::Array(vec![Value::String(s)])),
        },
        FieldType::Json => Some(v.clone()),
        _ => None,
    }
}
