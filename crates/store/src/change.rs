//! Every change to a record, as one [`RecordChange`] per record, made in the
//! transaction of the change. A record's history is written from these
//! values and from nothing else, in one format: whatever wrote a record
//! (a mutation, a cascade, a business operation, an import), its history
//! reads the same.

use std::borrow::Borrow;

use rapport_meta::{FieldType, ObjectDef};
use rapport_query::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value, json};

use crate::db::StatementCounter;
use crate::error::StoreError;
use crate::records::{Actor, Record};

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Created,
    Updated,
    /// Moved to the trash.
    Deleted,
    /// Taken out of the trash.
    Restored,
    /// Removed for good.
    Destroyed,
    Shared,
    Unshared,
    /// Other records were merged into this one.
    Merged,
    /// This record was merged into another.
    MergedInto,
}

impl ChangeKind {
    /// As the history stores it and the timeline shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "CREATED",
            ChangeKind::Updated => "UPDATED",
            ChangeKind::Deleted => "DELETED",
            ChangeKind::Restored => "RESTORED",
            ChangeKind::Destroyed => "DESTROYED",
            ChangeKind::Shared => "SHARED",
            ChangeKind::Unshared => "UNSHARED",
            ChangeKind::Merged => "MERGED",
            ChangeKind::MergedInto => "MERGED_INTO",
        }
    }
}

/// One record's change.
#[derive(Debug, Clone)]
pub struct RecordChange {
    pub object: String,
    pub record_id: String,
    pub kind: ChangeKind,
    /// As JSON text: `{ field: [old, new] }` for the fields that changed (a
    /// creation's: `[null, value]` for each value set), encrypted values
    /// told as changed but not shown; for a change no field tells (a share,
    /// a merge), what it is about (`{ "sharedWith": … }`, `{ "merged": […] }`).
    /// Written out when the change is made, so an import does it on the
    /// blocking pool, ahead of its writes.
    pub changes: String,
}

impl RecordChange {
    pub fn new(object: &str, record_id: &str, kind: ChangeKind, changes: Value) -> Self {
        RecordChange {
            object: object.to_string(),
            record_id: record_id.to_string(),
            kind,
            changes: changes.to_string(),
        }
    }

    /// A change no field value tells (a delete, a restore, a destroy).
    pub fn bare(object: &str, record_id: &str, kind: ChangeKind) -> Self {
        Self::new(object, record_id, kind, Value::Object(Map::new()))
    }

    /// A creation (`before` is `None`) or an update, told by the record's
    /// values before and after.
    pub fn between(obj: &ObjectDef, before: Option<&Record>, after: &Record) -> Self {
        let id = after.get("id").and_then(Value::as_str).unwrap_or_default();
        let kind = match before {
            None => ChangeKind::Created,
            Some(_) => ChangeKind::Updated,
        };
        Self::new(&obj.name, id, kind, diff(obj, before, after))
    }
}

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
fn diff(obj: &ObjectDef, old: Option<&Record>, new: &Record) -> Value {
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

/// History rows per statement (five parameters each: SQLite takes 32,766).
const ENTRIES_PER_INSERT: usize = 1000;

/// Writes the history of `changes`, made by `actor`, in the caller's
/// transaction: one statement per thousand changes.
pub(crate) async fn write_history<C: Borrow<RecordChange>>(
    conn: &impl ConnectionTrait,
    backend: Backend,
    workspace_id: &str,
    actor: &Actor,
    counter: &StatementCounter,
    changes: &[C],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let actor = format!("{}:{}", actor.kind, actor.name);
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let columns = "INSERT INTO rapport_audit (id, workspace_id, object, record_id, action, actor, at, changes)";
    for chunk in changes.chunks(ENTRIES_PER_INSERT) {
        let chunk: Vec<&RecordChange> = chunk.iter().map(Borrow::borrow).collect();
        let ids: Vec<String> = chunk
            .iter()
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let mut values: Vec<sea_orm::Value> =
            vec![workspace_id.into(), actor.clone().into(), at.clone().into()];
        // PostgreSQL takes the entries as text arrays, sent in binary:
        // nothing to parse on its side (against one JSON document, about 40%
        // less statement time on 50,000 people; docs/performance.md). SQLite
        // takes them as rows of `VALUES`. $1–$3 (the first three `?` on
        // SQLite) are the same for every entry; the entries follow.
        let text = match backend {
            Backend::Postgres => {
                let array = |texts: Vec<sea_orm::Value>| {
                    sea_orm::Value::Array(sea_query::ArrayType::String, Some(Box::new(texts)))
                };
                values.extend([
                    array(ids.iter().map(|id| id.clone().into()).collect()),
                    array(chunk.iter().map(|c| c.object.clone().into()).collect()),
                    array(chunk.iter().map(|c| c.record_id.clone().into()).collect()),
                    array(chunk.iter().map(|c| c.kind.as_str().into()).collect()),
                    array(chunk.iter().map(|c| c.changes.clone().into()).collect()),
                ]);
                format!(
                    "{columns} SELECT x.id, $1, x.object, x.record_id, x.action, $2, $3, x.changes \
                     FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) \
                     AS x(id, object, record_id, action, changes)"
                )
            }
            Backend::Sqlite => {
                let mut text = format!(
                    "{columns} SELECT column1, ?, column2, column3, column4, ?, ?, column5 FROM (VALUES "
                );
                for (i, (c, id)) in chunk.iter().zip(ids).enumerate() {
                    text.push_str(if i > 0 {
                        ", (?, ?, ?, ?, ?)"
                    } else {
                        "(?, ?, ?, ?, ?)"
                    });
                    values.extend([
                        id.into(),
                        c.object.clone().into(),
                        c.record_id.clone().into(),
                        c.kind.as_str().into(),
                        c.changes.clone().into(),
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
