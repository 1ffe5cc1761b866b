//! API keys: random, shown once, stored as SHA-256 hashes (they carry enough
//! entropy that a slow hash would add nothing but latency).

use sea_orm::{ConnectionTrait, Statement};
use sha2::{Digest, Sha256};

use crate::db::{Db, sys_sql};
use crate::error::StoreError;

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub role: String,
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores a key; `secret` is given (RAPPORT_ADMIN_KEY) or generated. Returns the secret.
pub async fn create_api_key(
    db: &Db,
    workspace_id: &str,
    name: &str,
    role: &str,
    secret: Option<String>,
) -> Result<String, StoreError> {
    let secret = secret.unwrap_or_else(|| {
        format!(
            "rk_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    let h = hash(&secret);
    let exists = db
        .conn
        .query_one_raw(Statement::from_sql_and_values(
            db.db_backend(),
            sys_sql(
                db.backend,
                "SELECT id FROM rapport_api_key WHERE key_hash = $1",
            ),
            [h.clone().into()],
        ))
        .await?;
    if exists.is_none() {
        db.conn
            .execute_raw(Statement::from_sql_and_values(
                db.db_backend(),
                sys_sql(db.backend, "INSERT INTO rapport_api_key (id, workspace_id, name, key_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)"),
                [
                    uuid::Uuid::new_v4().to_string().into(),
                    workspace_id.into(),
                    name.into(),
                    h.into(),
                    role.into(),
                    chrono::Utc::now().to_rfc3339().into(),
                ],
            ))
            .await?;
    }
    Ok(secret)
}

pub async fn find_api_key(db: &Db, secret: &str) -> Result<Option<ApiKey>, StoreError> {
    let row = db
        .conn
        .query_one_raw(Statement::from_sql_and_values(
            db.db_backend(),
            sys_sql(db.backend, "SELECT id, workspace_id, name, role FROM rapport_api_key WHERE key_hash = $1 AND revoked_at IS NULL"),
            [hash(secret).into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => Some(ApiKey {
            id: r.try_get_by_index(0)?,
            workspace_id: r.try_get_by_index(1)?,
            name: r.try_get_by_index(2)?,
            role: r.try_get_by_index(3)?,
        }),
        None => None,
    })
}

/// A new named key for a workspace with a role; returns (id, secret). The
/// secret is shown once and stored hashed.
pub async fn issue_api_key(
    db: &Db,
    actor: &crate::Actor,
    workspace_id: &str,
    name: &str,
    role: &str,
) -> Result<(String, String), StoreError> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(StoreError::bad("name", "1 to 100 characters"));
    }
    if crate::roles::find_role(db, workspace_id, role)
        .await?
        .is_none()
    {
        return Err(StoreError::bad("role", format!("no role `{role}`")));
    }
    let secret = format!(
        "rk_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let id = uuid::Uuid::now_v7().to_string();
    let txn = db.begin_write().await?;
    txn.execute_raw(Statement::from_sql_and_values(
            db.db_backend(),
            sys_sql(db.backend, "INSERT INTO rapport_api_key (id, workspace_id, name, key_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)"),
            [id.clone().into(), workspace_id.into(), name.trim().into(), hash(&secret).into(), role.into(), chrono::Utc::now().to_rfc3339().into()],
        ))
        .await?;
    crate::audit::admin_entry(
        &txn,
        db.backend,
        actor,
        crate::audit::AdminEntry {
            workspace_id,
            object: "_access",
            subject: &id,
            action: "KEY_CREATED",
            detail: serde_json::json!({ "name": name.trim(), "role": role }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((id, secret))
}

/// Revokes a key of the workspace; `NOT_FOUND` for another workspace's key.
pub async fn revoke_api_key(
    db: &Db,
    actor: &crate::Actor,
    workspace_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    let txn = db.begin_write().await?;
    let done = txn
        .execute_raw(Statement::from_sql_and_values(
            db.db_backend(),
            sys_sql(db.backend, "UPDATE rapport_api_key SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 AND revoked_at IS NULL"),
            [chrono::Utc::now().to_rfc3339().into(), id.into(), workspace_id.into()],
        ))
        .await?
        .rows_affected();
    if done == 0 {
        return Err(StoreError::NotFound(format!("no active API key {id}")));
    }
    crate::audit::admin_entry(
        &txn,
        db.backend,
        actor,
        crate::audit::AdminEntry {
            workspace_id,
            object: "_access",
            subject: id,
            action: "KEY_REVOKED",
            detail: serde_json::json!({}),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub async fn list_api_keys(db: &Db, workspace_id: &str) -> Result<Vec<ApiKeyInfo>, StoreError> {
    let rows = db
        .conn
        .query_all_raw(Statement::from_sql_and_values(
            db.db_backend(),
            sys_sql(db.backend, "SELECT id, name, role, created_at, last_used_at, revoked_at FROM rapport_api_key WHERE workspace_id = $1 ORDER BY created_at"),
            [workspace_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiKeyInfo {
                id: r.try_get_by_index(0)?,
                name: r.try_get_by_index(1)?,
                role: r.try_get_by_index(2)?,
                created_at: r.try_get_by_index(3)?,
                last_used_at: r.try_get_by_index(4)?,
                revoked_at: r.try_get_by_index(5)?,
            })
        })
        .collect()
}
