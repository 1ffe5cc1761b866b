//! The history: reading records' entries (written from `RecordChange`s,
//! `change.rs`) and writing admins' entries, each in the transaction of
//! the change it tells of.

use rapport_query::Backend;
use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::db::{sys_execute, sys_query};
use crate::error::StoreError;
use crate::records::Actor;

/// What an admin did to the workspace, not to a record: `object` is
/// `_metadata` (a schema change) or `_access` (roles, keys, members).
pub(crate) struct AdminEntry<'a> {
    pub workspace_id: &'a str,
    pub object: &'a str,
    pub subject: &'a str,
    pub action: &'a str,
    pub detail: Value,
}

/// Writes an admin's entry in the caller's transaction.
pub(crate) async fn admin_entry(
    conn: &impl ConnectionTrait,
    backend: Backend,
    actor: &Actor,
    entry: AdminEntry<'_>,
) -> Result<(), StoreError> {
    let AdminEntry {
        workspace_id,
        object,
        subject,
        action,
        detail,
    } = entry;
    sys_execute(
        conn,
        backend,
        "INSERT INTO rapport_audit (id, workspace_id, object, record_id, action, actor, at, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            uuid::Uuid::now_v7().to_string().into(),
            workspace_id.into(),
            object.into(),
            subject.into(),
            action.into(),
            format!("{}:{}", actor.kind, actor.name).into(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
            detail.to_string().into(),
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
