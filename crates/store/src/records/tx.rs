//! A transaction for business operations: several reads and writes that
//! commit together or not at all, through the same validation as the API.

use std::collections::HashMap;

use rapport_meta::{Catalog, ObjectDef, RelationKind};
use rapport_query::{
    Assign, Cond, ConnectionQuery, Delete, Filter, Scalar, Select, Statement, Update, WriteOp,
    connection_sql, id_column, junction_columns, junction_of, object_column,
};
use sea_orm::DatabaseTransaction;
use serde_json::Value;

use crate::change::{ChangeKind, RecordChange};
use crate::db::{StatementCounter, execute, query};
use crate::decode::value_at;
use crate::error::StoreError;
use crate::records::read::ByIds;
use crate::records::{Actor, Record, RecordStore, Writing, check_uuid, now_value, pointing_at};

pub struct Tx<'a> {
    pub(crate) store: &'a RecordStore,
    pub(crate) txn: DatabaseTransaction,
    pub(crate) counter: &'a StatementCounter,
    pub(crate) actor: Actor,
    guard: Option<WriteGuard>,
}

/// What a caller's role allows one kind of write on one object.
#[derive(Debug, Clone)]
pub enum WriteRule {
    /// Not at all; the reason is shown.
    Denied(String),
    /// Only to records matching this filter (the role's record scope).
    Within(Filter),
}

/// The caller's write rights, checked by every write a business operation
/// makes: `(object, operation)` → rule; absent: allowed.
#[derive(Debug, Clone, Default)]
pub struct WriteGuard {
    pub rules: HashMap<(String, WriteOp), WriteRule>,
    /// The member new records belong to when the operation names no owner.
    pub owner: Option<String>,
}

impl RecordStore {
    pub async fn begin<'a>(
        &'a self,
        counter: &'a StatementCounter,
        actor: &Actor,
    ) -> Result<Tx<'a>, StoreError> {
        Ok(Tx {
            store: self,
            txn: self.db.begin_write().await?,
            counter,
            actor: actor.clone(),
            guard: None,
        })
    }
}

impl Tx<'_> {
    /// From here on, writes stay within the caller's rights.
    pub fn guarded(mut self, guard: WriteGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// `FORBIDDEN` unless the role may `op` every record `filter` selects
    /// (records the caller cannot see at all were refused earlier as not found).
    pub(crate) async fn check(
        &self,
        object: &str,
        op: WriteOp,
        filter: Filter,
    ) -> Result<(), StoreError> {
        let Some(rule) = self
            .guard
            .as_ref()
            .and_then(|g| g.rules.get(&(object.to_string(), op)))
        else {
            return Ok(());
        };
        let scope = match rule {
            WriteRule::Denied(reason) => return Err(StoreError::Forbidden(reason.clone())),
            WriteRule::Within(scope) => scope,
        };
        if op == WriteOp::Create {
            return Ok(());
        }
        let count = |filter: Filter| {
            let q = ConnectionQuery {
                filter: Some(filter),
                ..Default::default()
            };
            async move {
                self.store
                    .unscoped()
                    .count_in(&self.txn, self.counter, object, &q)
                    .await
            }
        };
        let all = count(filter.clone()).await?;
        let allowed = count(Filter::all([filter, scope.clone()])).await?;
        if allowed < all {
            return Err(StoreError::Forbidden(format!(
                "{} {object} record(s) are outside what this role may {op}",
                all - allowed
            )));
        }
        Ok(())
    }

    /// `FORBIDDEN` unless the caller may `op` the record: for operations
    /// that check before they start writing.
    pub async fn ensure_may(&self, object: &str, op: WriteOp, id: &str) -> Result<(), StoreError> {
        self.check(object, op, Filter::eq("id", id)).await
    }

    fn writing(&self) -> Writing<'_> {
        Writing {
            txn: &self.txn,
            counter: self.counter,
            actor: &self.actor,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.store.meta.catalog
    }

    pub fn object(&self, name: &str) -> Result<&ObjectDef, StoreError> {
        self.store.object(name)
    }

    /// A record's history, newest first.
    pub async fn history(
        &self,
        object: &str,
        id: &str,
        limit: i64,
    ) -> Result<Vec<crate::AuditEntry>, StoreError> {
        crate::audit::history(
            &self.txn,
            self.store.db.backend,
            &self.store.meta.workspace.id,
            object,
            id,
            limit,
        )
        .await
    }

    /// Writes the history of a change no field value makes (a merge: which
    /// records went into this one), as this transaction's actor.
    pub async fn note(&self, change: RecordChange) -> Result<(), StoreError> {
        self.store
            .changed(&self.txn, self.counter, &self.actor, &[change])
            .await
    }

    /// Empties the recorded values of a record's history, keeping that it
    /// changed and when (the right to be forgotten reaches the audit too).
    pub async fn scrub_history(&self, object: &str, id: &str) -> Result<u64, StoreError> {
        crate::db::sys_execute(
            &self.txn,
            self.store.db.backend,
            "UPDATE rapport_audit SET changes = '{}' WHERE workspace_id = $1 AND object = $2 AND record_id = $3",
            vec![self.store.meta.workspace.id.clone().into(), object.into(), id.into()],
        )
        .await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.txn.commit().await?)
    }

    /// A live record, or `NOT_FOUND`.
    pub async fn get(&self, object: &str, id: &str) -> Result<Record, StoreError> {
        self.get_where(object, id, false).await
    }

    /// A record, live or in the trash (soft-deleted), or `NOT_FOUND`.
    pub async fn get_with_deleted(&self, object: &str, id: &str) -> Result<Record, StoreError> {
        self.get_where(object, id, true).await
    }

    async fn get_where(
        &self,
        object: &str,
        id: &str,
        with_deleted: bool,
    ) -> Result<Record, StoreError> {
        check_uuid(id)?;
        self.store
            .by_ids_in(
                &self.txn,
                self.counter,
                object,
                &[id.to_string()],
                ByIds {
                    with_deleted,
                    ..Default::default()
                },
            )
            .await?
            .remove(id)
            .ok_or_else(|| StoreError::NotFound(format!("no {object} with id {id}")))
    }

    /// Live records by id (missing ones are left out).
    pub async fn get_many(&self, object: &str, ids: &[String]) -> Result<Vec<Record>, StoreError> {
        for id in ids {
            check_uuid(id)?;
        }
        let mut found = self
            .store
            .by_ids_in(&self.txn, self.counter, object, ids, ByIds::default())
            .await?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Live records matching a GraphQL filter, in id order, at most `limit`.
    pub async fn find(
        &self,
        object: &str,
        filter: Filter,
        limit: i64,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        let q = ConnectionQuery {
            filter: Some(filter),
            first: Some(limit.clamp(1, 500)),
            ..Default::default()
        };
        let plan = connection_sql(self.catalog(), self.store.layout(), obj, &q)?;
        let rows = query(&self.txn, self.counter, self.store.tagged(plan.sql.clone())).await?;
        let mut out = Vec::new();
        for row in rows.iter().take(plan.limit as usize) {
            out.push(self.store.decode(obj, row, &plan.columns)?);
        }
        Ok(out)
    }

    /// Ids of every live record matching a filter (up to the batch limit).
    pub async fn find_ids(&self, object: &str, filter: Filter) -> Result<Vec<String>, StoreError> {
        let obj = self.object(object)?;
        self.store
            .matching_ids(&self.txn, self.counter, obj, &filter, false)
            .await
    }

    pub async fn create(&self, object: &str, mut input: Record) -> Result<Record, StoreError> {
        let obj = self.object(object)?;
        self.check(object, WriteOp::Create, Filter::everything())
            .await?;
        if let Some(owner) = self.guard.as_ref().and_then(|g| g.owner.as_ref())
            && !input.contains_key("ownerId")
        {
            input.insert("ownerId".into(), Value::String(owner.clone()));
        }
        let mut created = self
            .store
            .create_in(self.writing(), obj, &[input], None)
            .await?;
        created
            .pop()
            .ok_or_else(|| StoreError::Internal("create returned nothing".into()))
    }

    pub async fn update(
        &self,
        object: &str,
        id: &str,
        input: Record,
    ) -> Result<Record, StoreError> {
        let obj = self.object(object)?;
        check_uuid(id)?;
        self.check(object, WriteOp::Update, Filter::eq("id", id))
            .await?;
        self.store
            .check_references(&self.txn, self.counter, obj, std::slice::from_ref(&input))
            .await?;
        let r = self
            .store
            .update_in(self.writing(), obj, id, &input, None, "")
            .await?;
        let mut r = self
            .store
            .with_computed(&self.txn, self.counter, obj, vec![r])
            .await?;
        r.pop()
            .ok_or_else(|| StoreError::Internal("update lost its record".into()))
    }

    /// Soft-deletes records, applying `onDelete` as the API does.
    pub async fn soft_delete(
        &self,
        object: &str,
        ids: &[String],
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        self.check(
            object,
            WriteOp::Delete,
            Filter::one_of("id", ids.iter().cloned()),
        )
        .await?;
        self.store
            .soft_delete_in(self.writing(), obj, ids, false, &now_value(), 0)
            .await
    }

    /// Points every relation to the `from` records of `object` at `to`
    /// instead: many-to-one and polymorphic columns, and many-to-many links.
    /// Returns how many references moved.
    pub async fn repoint(
        &self,
        object: &str,
        from: &[String],
        to: &str,
    ) -> Result<u64, StoreError> {
        let store = self.store;
        let backend = store.db.backend;
        let layout = store.layout();
        let uuid = |id: &str| store.encode(Scalar::Uuid, &Value::String(id.to_string()), "id");
        let from_ids = from
            .iter()
            .map(|id| uuid(id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut moved = 0;
        for (child, f) in self.catalog().relations_to(object) {
            self.check(&child.name, WriteOp::Update, pointing_at(f, object, from))
                .await?;
            let fk = id_column(f);
            let mut pointing = vec![Cond::In(fk.clone(), from_ids.clone())];
            if f.relation_kind() == Some(RelationKind::Polymorphic) {
                let named = sea_query::Value::String(Some(object.to_string()));
                pointing.push(Cond::Eq(object_column(f), named));
            }
            // Which children move, and from where, for their history.
            let mut which = Select::new(layout.table(&child.name), &["id", &fk]);
            which.filter = pointing.clone();
            let moving = query(
                &self.txn,
                self.counter,
                Statement::Select(which).print(backend),
            )
            .await?;
            let repoint = Statement::Update(Update {
                table: layout.table(&child.name),
                set: vec![
                    (fk.clone(), Assign::Value(uuid(to)?)),
                    ("version".into(), Assign::Increment),
                ],
                filter: pointing,
            });
            moved += execute(&self.txn, self.counter, repoint.print(backend)).await?;
            let mut changes = Vec::with_capacity(moving.len());
            for row in &moving {
                let id = value_at(row, 0, Scalar::Uuid, backend)?;
                let old = value_at(row, 1, Scalar::Uuid, backend)?;
                changes.push(RecordChange::new(
                    &child.name,
                    id.as_str().unwrap_or_default(),
                    ChangeKind::Updated,
                    serde_json::json!({ fk.clone(): [old, to] }),
                ));
            }
            store
                .changed(&self.txn, self.counter, &self.actor, &changes)
                .await?;
        }
        let obj = self.object(object)?;
        for f in obj
            .fields
            .iter()
            .filter(|f| f.relation_kind() == Some(RelationKind::ManyToMany))
        {
            let table = layout.table(&junction_of(&obj.name, f));
            let (mine, theirs) = junction_columns(f);
            // Links the kept record already has would collide: drop those first.
            let kept =
                Select::new(table.clone(), &[theirs]).filter(Cond::Eq(mine.into(), uuid(to)?));
            let drop = Statement::Delete(Delete {
                table: table.clone(),
                filter: vec![
                    Cond::In(mine.into(), from_ids.clone()),
                    Cond::InSelect(theirs.into(), Box::new(kept)),
                ],
            });
            execute(&self.txn, self.counter, drop.print(backend)).await?;
            let relink = Statement::Update(Update {
                table,
                set: vec![(mine.into(), Assign::Value(uuid(to)?))],
                filter: vec![Cond::In(mine.into(), from_ids.clone())],
            });
            moved += execute(&self.txn, self.counter, relink.print(backend)).await?;
        }
        Ok(moved)
    }
}
