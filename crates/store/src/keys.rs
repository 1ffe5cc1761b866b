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
