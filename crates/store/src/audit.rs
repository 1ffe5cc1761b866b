//! Record history, written in the same transaction as the change it tells of.

use rapport_meta::{FieldType, ObjectDef};
use rapport_query::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value, json};

use crate::db::{sys_execute, sys_query};
use crate::error::StoreError;
use crate::records::{Actor, Record};

/// Keys every record has that are the platform's, not the user's.
const BOOKKEEPING: &[&str] = &[
    "id",
    "version",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "createdBy",
];

/// Stands in the history for a value of an `encryptedText` field: the
/// change is told, the text is not.
pub(crate) const SEALED: &str = "[encrypted]";

/// `{ field: [old, new] }` for the keys that differ.
pub(crate) fn diff(obj: &ObjectDef, old: Option<&Record>, new: &Record) -> Value {
    let sealed = |k: &str, v: Value| match v {
        Value::Null => Value::Null,
        _ if obj
            .field(k)
            .is_some_and(|f| f.field_type == FieldType::EncryptedText) =>
        {
            Value::String(SEALED.into())
        }
        v => v,
    };
    let mut out = Map::new();
    for (k, v) in new {
        if BOOKKEEPING.contains(&k.as_str()) {
            continue;
        }
        let before = old.and_then(|o| o.get(k)).cloned().unwrap_or(Value::Null);
        if before != *v && !(old.is_none() && v.is_null()) {
            out.insert(k.clone(), json!([sealed(k, before), sealed(k, v.clone())]));
        }
    }
    Value::Object(out)
}

/// A `CREATED` entry of a bulk import, as [`record_creations`] takes it.
#[derive(Clone)]
pub(crate) struct Creation {
    pub id: String,
    pub record_id: String,
    /// The entry's changes as JSON text.
    pub changes: String,
}

impl Creation {
    pub(crate) fn new(record_id: &str, changes: String) -> Self {
        Creation {
            id: uuid::Uuid::now_v7().to_string(),
            record_id: record_id.to_string(),
            changes,
        }
    }
}

/// Entries per statement.
const CREATIONS_PER_INSERT: usize = 1000;

/// `CREATED` entries for many records of one object (bulk import), many
/// rows per statement.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_creations(
    conn: &impl ConnectionTrait,
    backend: Backend,
    workspace_id: &str,
    object: &str,
    actor: &Actor,
    at: &str,
    entries: &[Creation],
    counter: &crate::db::StatementCounter,
) -> Result<(), StoreError> {
    let actor = format!("{}:{}", actor.kind, actor.name);
    // PostgreSQL takes the entries as three text arrays, sent in binary:
    // nothing to parse on its side (against a JSON document, about 40% less
    // statement time on 50,000 people; docs/performance.md). SQLite takes
    // them as rows of `VALUES`, three anonymous parameters each (reading
    // them from one JSON array cost a third more). $1–$4 (the first four
    // `?` on SQLite) are the same for every entry; the entries follow.
    let columns = "INSERT INTO rapport_audit (id, workspace_id, object, record_id, action, actor, at, changes)";
    for chunk in entries.chunks(CREATIONS_PER_INSERT) {
        let mut values: Vec<sea_orm::Value> = vec![
            workspace_id.into(),
            object.into(),
            actor.clone().into(),
            at.into(),
        ];
        let text = match backend {
            Backend::Postgres => {
                let column = |get: fn(&Creation) -> &String| {
                    let texts = chunk.iter().map(|e| get(e).clone().into()).collect();
                    sea_orm::Value::Array(sea_query::ArrayType::String, Some(Box::new(texts)))
                };
                values.extend([
                    column(|e| &e.id),
                    column(|e| &e.record_id),
                    column(|e| &e.changes),
                ]);
                format!(
                    "{columns} SELECT x.id, $1, $2, x.record_id, 'CREATED', $3, $4, x.changes \
                     FROM unnest($5::text[], $6::text[], $7::text[]) AS x(id, record_id, changes)"
                )
            }
            Backend::Sqlite => {
                let mut text = format!(
                    "{columns} SELECT column1, ?, ?, column2, 'CREATED', ?, ?, column3 FROM (VALUES "
                );
                for (i, e) in chunk.iter().enumerate() {
                    text.push_str(if i > 0 { ", (?, ?, ?)" } else { "(?, ?, ?)" });
                    values.extend([
                        e.id.clone().into(),
                        e.record_id.clone().into(),
                        e.changes.clone().into(),
                    ]);
                }
                text.push(')');
                text
            }
        };
        let stmt =
            sea_orm::Statement::from_sql_and_values(crate::db::db_backend(backend), text, values);
        conn.execute_raw(stmt).await?;
        counter.bump();
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_change(
    conn: &impl ConnectionTrait,
    backend: Backend,
    workspace_id: &str,
    object: &str,
    record_id: &str,
    action: &str,
    actor: &Actor,
    changes: Value,
) -> Result<(), StoreError> {
    sys_execute(
        conn,
        backend,
        "INSERT INTO rapport_audit (id, workspace_id, object, record_id, action, actor, at, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            uuid::Uuid::now_v7().to_string().into(),
            workspace_id.into(),
            object.into(),
            record_id.into(),
            action.into(),
            format!("{}:{}", actor.kind, actor.name).into(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
            changes.to_string().into(),
        ],
    )
    .await?;
    Ok(())
}

/// One entry of a record's history.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: String,
    pub action: String,
    pub actor: String,
    pub changes: Value,
}

pub(crate) async fn history(
    conn: &impl ConnectionTrait,
    backend: Backend,
    workspace_id: &str,
    object: &str,
    record_id: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sys_query(
        conn,
        backend,
        &format!(
            "SELECT at, action, actor, changes FROM rapport_audit WHERE workspace_id = $1 AND object = $2 AND record_id = $3 ORDER BY at DESC, id DESC LIMIT {}",
            limit.clamp(1, 500)
        ),
        vec![workspace_id.into(), object.into(), record_id.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let changes: String = r.try_get_by_index(3)?;
        out.push(AuditEntry {
            at: r.try_get_by_index(0)?,
            action: r.try_get_by_index(1)?,
            actor: r.try_get_by_index(2)?,
            changes: serde_json::from_str(&changes).unwrap_or(Value::Null),
        });
    }
    Ok(out)
}

/// A workspace's history: metadata changes (`_metadata`), access changes
/// (`_access`: roles, keys, members) or one object's records, newest first.
pub async fn audit_log(
    db: &crate::Db,
    workspace_id: &str,
    object: &str,
    record_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, AuditEntry)>, StoreError> {
    let limit = limit.clamp(1, 500);
    let (text, mut values): (String, Vec<sea_orm::Value>) = (
        "SELECT record_id, at, action, actor, changes FROM rapport_audit WHERE workspace_id = $1 AND object = $2".into(),
        vec![workspace_id.into(), object.into()],
    );
    let mut text = text;
    if let Some(id) = record_id {
        text.push_str(" AND record_id = $3");
        values.push(id.into());
    }
    text.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {limit}"));
    let rows = sys_query(&db.conn, db.backend, &text, values).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let changes: String = r.try_get_by_index(4)?;
        out.push((
            r.try_get_by_index(0)?,
            AuditEntry {
                at: r.try_get_by_index(1)?,
                action: r.try_get_by_index(2)?,
                actor: r.try_get_by_index(3)?,
                changes: serde_json::from_str(&changes).unwrap_or(Value::Null),
            },
        ));
    }
    Ok(out)
}
