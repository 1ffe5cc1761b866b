//! Soft delete, restore and destroy, with `onDelete` cascades.

use std::collections::HashMap;

use rapport_meta::{ObjectDef, OnDelete, RelationKind};
use rapport_query::{
    Comparison, Cond, Delete, Filter, Scalar, Statement, WriteSet, delete_sql, field_columns,
    junction_columns, junction_of, soft_delete_sql, update_sql,
};
use sea_orm::DatabaseTransaction;
use serde_json::Value;

use crate::change::{ChangeKind, RecordChange};
use crate::db::{StatementCounter, execute, query};
use crate::error::StoreError;
use crate::records::read::ByIds;
use crate::records::{Actor, Record, RecordStore, Writing, check_uuid, now_value, pointing_at};

impl RecordStore {
    /// Soft delete (or restore) by ids or by filter, cascading per `onDelete`.
    pub async fn soft_delete(
        &self,
        counter: &StatementCounter,
        actor: &Actor,
        object: &str,
        ids: Option<Vec<String>>,
        filter: Option<&Filter>,
        restoring: bool,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        let txn = self.db.begin_write().await?;
        let ids = match (ids, filter) {
            (Some(ids), _) => {
                for id in &ids {
                    check_uuid(id)?;
                }
                let found = self
                    .by_ids_in(&txn, counter, object, &ids, ByIds::WITH_DELETED)
                    .await?;
                if let Some(missing) = ids.iter().find(|id| !found.contains_key(*id)) {
                    return Err(StoreError::NotFound(format!(
                        "no {object} with id {missing}"
                    )));
                }
                ids
            }
            (None, Some(f)) => {
                let f = if restoring {
                    Filter::all([
                        f.clone(),
                        Filter::compare("deletedAt", Comparison::IsNull(false)),
                    ])
                } else {
                    f.clone()
                };
                self.matching_ids(&txn, counter, obj, &f, restoring).await?
            }
            (None, None) => Vec::new(),
        };
        let out = self
            .soft_delete_in(
                Writing {
                    txn: &txn,
                    counter,
                    actor,
                },
                obj,
                &ids,
                restoring,
                &now_value(),
                0,
            )
            .await?;
        let out = self.with_computed(&txn, counter, obj, out).await?;
        txn.commit().await?;
        Ok(out)
    }

    pub(crate) fn soft_delete_in<'a>(
        &'a self,
        w: Writing<'a>,
        obj: &'a ObjectDef,
        ids: &'a [String],
        restoring: bool,
        stamp: &'a Value,
        depth: usize,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Record>, StoreError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let Writing {
                txn,
                counter,
                actor,
            } = w;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            self.touched(obj);
            if depth > 8 {
                return Err(StoreError::Conflict("cascade deeper than 8 levels".into()));
            }
            let now = now_value();
            // A cascade stamps children with their parent's `deletedAt`, so a
            // restore brings back exactly what went with it.
            let deleted_at: HashMap<String, Value> = if restoring {
                self.by_ids_in(txn, counter, &obj.name, ids, ByIds::WITH_DELETED)
                    .await?
                    .into_iter()
                    .map(|(id, r)| (id, r.get("deletedAt").cloned().unwrap_or(Value::Null)))
                    .collect()
            } else {
                self.on_delete(w, obj, ids, Some(stamp), depth).await?;
                HashMap::new()
            };
            if !restoring {
                self.end_memberships(txn, obj, ids).await?;
            }
            let stamp = if restoring { &Value::Null } else { stamp };
            let (sql, columns) = soft_delete_sql(
                self.layout(),
                obj,
                ids,
                self.encode(Scalar::DateTime, stamp, "deletedAt")?,
                self.encode(Scalar::DateTime, &now, "updatedAt")?,
                restoring,
            );
            let rows = query(txn, counter, self.tagged(sql)).await?;
            let mut out = Vec::with_capacity(rows.len());
            let kind = if restoring {
                ChangeKind::Restored
            } else {
                ChangeKind::Deleted
            };
            let mut changes = Vec::with_capacity(rows.len());
            for row in &rows {
                let r = self.decode(obj, row, &columns)?;
                let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
                changes.push(RecordChange::bare(&obj.name, id, kind));
                out.push(r);
            }
            self.changed(txn, counter, actor, &changes).await?;
            if restoring {
                let mut by_stamp: HashMap<String, Vec<String>> = HashMap::new();
                for (id, at) in deleted_at {
                    if let Some(at) = at.as_str() {
                        by_stamp.entry(at.to_string()).or_default().push(id);
                    }
                }
                for (at, ids) in by_stamp {
                    self.restore_cascaded(w, obj, &ids, &at, depth).await?;
                }
            }
            Ok(out)
        })
    }

    /// A deleted or destroyed `workspaceMember` record ends that member's
    /// access as deactivation does, in the same transaction: no login into
    /// the workspace, no session, no pending invitation. Restoring the
    /// record does not give access back; an admin invites again.
    async fn end_memberships(
        &self,
        txn: &DatabaseTransaction,
        obj: &ObjectDef,
        ids: &[String],
    ) -> Result<(), StoreError> {
        if obj.name != "workspaceMember" {
            return Ok(());
        }
        crate::accounts::end_access_in(txn, &self.db, &self.meta.workspace.id, ids).await?;
        Ok(())
    }

    /// A destroyed attachment's file is noted for removal in the same
    /// transaction (`files_to_remove`); a soft-deleted one keeps its file.
    async fn orphan_files(
        &self,
        txn: &DatabaseTransaction,
        obj: &ObjectDef,
        ids: &[String],
    ) -> Result<(), StoreError> {
        if obj.name != "attachment" {
            return Ok(());
        }
        for id in ids {
            crate::db::sys_execute(
                txn,
                self.db.backend,
                "INSERT INTO rapport_file_orphan (workspace_id, attachment_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                vec![
                    self.meta.workspace.id.clone().into(),
                    id.clone().into(),
                    chrono::Utc::now().to_rfc3339().into(),
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// Children soft-deleted by the parent's cascade come back with it.
    async fn restore_cascaded(
        &self,
        w: Writing<'_>,
        obj: &ObjectDef,
        ids: &[String],
        deleted_at: &str,
        depth: usize,
    ) -> Result<(), StoreError> {
        let Writing { txn, counter, .. } = w;
        // The platform acts on every record here, whatever the caller may see.
        let all = self.unscoped();
        for (child, f) in self.meta.catalog.relations_to(&obj.name) {
            let rel = f.relation.as_ref().expect("relation");
            if rel.on_delete != OnDelete::Cascade {
                continue;
            }
            let filter = pointing_at(f, &obj.name, ids).and(Filter::eq("deletedAt", deleted_at));
            let child_ids = all.matching_ids(txn, counter, child, &filter, true).await?;
            all.soft_delete_in(w, child, &child_ids, true, &Value::Null, depth + 1)
                .await?;
        }
        Ok(())
    }

    /// Applies `onDelete` of every relation pointing at the records.
    /// `soft_delete` carries the parent's stamp; `None` means a destroy.
    async fn on_delete(
        &self,
        w: Writing<'_>,
        obj: &ObjectDef,
        ids: &[String],
        soft_delete: Option<&Value>,
        depth: usize,
    ) -> Result<(), StoreError> {
        let Writing {
            txn,
            counter,
            actor,
        } = w;
        // The platform acts on every record here, whatever the caller may see.
        let all = self.unscoped();
        let destroying = soft_delete.is_none();
        for (child, f) in self.meta.catalog.relations_to(&obj.name) {
            let rel = f.relation.as_ref().expect("relation");
            let filter = pointing_at(f, &obj.name, ids);
            let child_ids = all
                .matching_ids(txn, counter, child, &filter, destroying)
                .await?;
            if child_ids.is_empty() {
                continue;
            }
            match rel.on_delete {
                OnDelete::Restrict => {
                    return Err(StoreError::Conflict(format!(
                        "{} {} record(s) still point at it through `{}`",
                        child_ids.len(),
                        child.name,
                        f.name
                    )));
                }
                OnDelete::Cascade if destroying => {
                    all.destroy_in(w, child, &child_ids, depth + 1).await?
                }
                OnDelete::Cascade => {
                    let stamp = soft_delete.unwrap_or(&Value::Null);
                    all.soft_delete_in(w, child, &child_ids, false, stamp, depth + 1)
                        .await?;
                }
                OnDelete::SetNull if destroying => {
                    let mut set = WriteSet::default();
                    for c in field_columns(f) {
                        set.set(c.name.clone(), self.encode(c.scalar, &Value::Null, &c.key)?);
                    }
                    let before = all
                        .by_ids_in(
                            txn,
                            counter,
                            &child.name,
                            &child_ids,
                            ByIds {
                                with_deleted: true,
                                computed: Some(&[]),
                                ..Default::default()
                            },
                        )
                        .await?;
                    let mut changes = Vec::with_capacity(child_ids.len());
                    for id in &child_ids {
                        let (sql, _) = update_sql(self.layout(), child, id, &set, None);
                        query(txn, counter, self.tagged(sql)).await?;
                        // The child changed: its history says so.
                        let mut fields = serde_json::Map::new();
                        for c in field_columns(f) {
                            let old = before
                                .get(id)
                                .and_then(|r| r.get(&c.key))
                                .cloned()
                                .unwrap_or(Value::Null);
                            fields.insert(c.key, serde_json::json!([old, Value::Null]));
                        }
                        let fields = Value::Object(fields);
                        changes.push(RecordChange::new(
                            &child.name,
                            id,
                            ChangeKind::Updated,
                            fields,
                        ));
                    }
                    self.changed(txn, counter, actor, &changes).await?;
                }
                // A soft delete keeps links, so a restore brings them back.
                OnDelete::SetNull => {}
            }
        }
        Ok(())
    }

    fn destroy_in<'a>(
        &'a self,
        w: Writing<'a>,
        obj: &'a ObjectDef,
        ids: &'a [String],
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>
    {
        Box::pin(async move {
            let Writing {
                txn,
                counter,
                actor,
            } = w;
            if depth > 8 {
                return Err(StoreError::Conflict("cascade deeper than 8 levels".into()));
            }
            self.on_delete(w, obj, ids, None, depth).await?;
            self.end_memberships(txn, obj, ids).await?;
            self.orphan_files(txn, obj, ids).await?;
            for f in obj
                .fields
                .iter()
                .filter(|f| f.relation_kind() == Some(RelationKind::ManyToMany))
            {
                let (mine, _) = junction_columns(f);
                let values = ids
                    .iter()
                    .map(|id| self.encode(Scalar::Uuid, &Value::String(id.clone()), "id"))
                    .collect::<Result<Vec<_>, _>>()?;
                let unlink = Statement::Delete(Delete {
                    table: self.layout().table(&junction_of(&obj.name, f)),
                    filter: vec![Cond::In(mine.into(), values)],
                });
                execute(txn, counter, self.tagged(unlink.print(self.db.backend))).await?;
            }
            execute(
                txn,
                counter,
                self.tagged(delete_sql(self.layout(), obj, ids)),
            )
            .await?;
            let changes: Vec<RecordChange> = ids
                .iter()
                .map(|id| RecordChange::bare(&obj.name, id, ChangeKind::Destroyed))
                .collect();
            self.changed(txn, counter, actor, &changes).await?;
            Ok(())
        })
    }

    /// Hard delete of one record, applying `onDelete` as a destroy.
    pub async fn destroy(
        &self,
        counter: &StatementCounter,
        actor: &Actor,
        object: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let obj = self.object(object)?;
        check_uuid(id)?;
        self.touched(obj);
        let txn = self.db.begin_write().await?;
        let found = self
            .by_ids_in(
                &txn,
                counter,
                object,
                &[id.to_string()],
                ByIds::WITH_DELETED,
            )
            .await?;
        if !found.contains_key(id) {
            return Err(StoreError::NotFound(format!("no {object} with id {id}")));
        }
        self.destroy_in(
            Writing {
                txn: &txn,
                counter,
                actor,
            },
            obj,
            &[id.to_string()],
            0,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Files of destroyed attachments still to remove: (workspace, attachment).
pub async fn files_to_remove(
    db: &crate::Db,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    crate::db::sys_query(
        &db.conn,
        db.backend,
        "SELECT workspace_id, attachment_id FROM rapport_file_orphan ORDER BY created_at LIMIT $1",
        vec![limit.into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
    .collect()
}

/// Forgets a file once it is removed.
pub async fn file_removed(
    db: &crate::Db,
    workspace: &str,
    attachment: &str,
) -> Result<(), StoreError> {
    crate::db::sys_execute(
        &db.conn,
        db.backend,
        "DELETE FROM rapport_file_orphan WHERE workspace_id = $1 AND attachment_id = $2",
        vec![workspace.into(), attachment.into()],
    )
    .await?;
    Ok(())
}
