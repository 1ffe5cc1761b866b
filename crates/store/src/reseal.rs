//! Key rotation: every `encryptedText` value re-sealed under the keyring's
//! first key, so older keys can leave the keyring.

use rapport_meta::{FieldDef, FieldType};
use rapport_query::{Scalar, Sql, encode};
use serde_json::Value;

use crate::crypto::Keyring;
use crate::db::{Db, StatementCounter, execute, query};
use crate::decode::value_at;
use crate::error::StoreError;
use crate::metadata::WorkspaceMeta;

/// Re-seals, in one transaction, the workspace's values sealed with any key
/// but the first, hidden fields and objects included (they may come back).
/// Returns how many values were re-sealed.
pub async fn reseal_workspace(db: &Db, meta: &WorkspaceMeta) -> Result<u64, StoreError> {
    let keys = db.keys()?;
    let sealed = |f: &&FieldDef| f.field_type == FieldType::EncryptedText;
    let mut targets: Vec<(&str, &FieldDef)> = Vec::new();
    for o in meta.catalog.objects().iter().chain(&meta.deleted_objects) {
        targets.extend(o.fields.iter().filter(sealed).map(|f| (o.name.as_str(), f)));
    }
    for (object, fields) in &meta.deleted_fields {
        targets.extend(fields.iter().filter(sealed).map(|f| (object.as_str(), f)));
    }
    let txn = db.begin_write().await?;
    let counter = StatementCounter::default();
    let backend = db.backend;
    let mut resealed = 0u64;
    for (object, f) in targets {
        let context = meta
            .field_ids
            .get(&(object.to_string(), f.name.clone()))
            .ok_or_else(|| StoreError::Internal(format!("no id for field {}", f.name)))?;
        let table = meta.layout.table(object);
        let mut select = Sql::new(backend);
        select
            .push("SELECT \"id\", ")
            .ident(&f.name)
            .push(" FROM ")
            .push(&table)
            .push(" WHERE ")
            .ident(&f.name)
            .push(" IS NOT NULL");
        for row in query(&txn, &counter, select).await? {
            let id = value_at(&row, 0, Scalar::Uuid, backend)?;
            let Value::String(value) = value_at(&row, 1, Scalar::Text, backend)? else {
                continue;
            };
            if Keyring::key_id(&value) == Some(keys.primary_id()) {
                continue;
            }
            let fresh = keys.seal(context, &keys.open(context, &value)?)?;
            let mut update = Sql::new(backend);
            update
                .push("UPDATE ")
                .push(&table)
                .push(" SET ")
                .ident(&f.name)
                .push(" = ")
                .param(sea_query::Value::String(Some(fresh)))
                .push(" WHERE \"id\" = ")
                .param(encode(backend, Scalar::Uuid, &id).map_err(StoreError::Internal)?);
            execute(&txn, &counter, update).await?;
            resealed += 1;
        }
    }
    txn.commit().await?;
    Ok(resealed)
}
