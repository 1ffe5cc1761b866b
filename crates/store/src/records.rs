//! Record reads and writes for the generated API. Every write is one
//! transaction; reads batch by relation level, never by row.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rapport_meta::{FieldType, ObjectDef, RecordValidator};
use rapport_query::{
    ConnectionQuery, Filter, Layout, Scalar, Sql, connection_sql, count_sql, encode, encode_cursor,
    field_columns,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde_json::{Map, Value};

use crate::change::RecordChange;
use crate::db::{Db, StatementCounter, query};
use crate::decode::record;
use crate::error::StoreError;
use crate::metadata::{WorkspaceMeta, is_unique_violation};

mod delete;
pub use delete::{file_removed, files_to_remove};
mod import;
mod read;
use read::ByIds;
mod tx;
mod write;

pub use import::{Import, ImportReport, LineError};
pub use tx::{Tx, WriteGuard, WriteRule};

pub type Record = Map<String, Value>;

/// Most rows one batch or filter mutation may touch.
pub const MAX_BATCH: usize = 1000;

/// Who is writing: stored in `createdBy`.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: String,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Records with their cursors, in the requested order (shared, so the
    /// API layer hands them on without copying).
    pub edges: Vec<(Arc<Record>, String)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChildPage {
    pub page: Page,
    pub total_count: i64,
}

/// Reads and writes records of one workspace at one metadata version.
#[derive(Clone)]
pub struct RecordStore {
    pub db: Db,
    pub meta: Arc<WorkspaceMeta>,
    /// Each object's validator, compiled on its first write: a workspace
    /// of hundreds of objects would otherwise compile them all on every
    /// metadata change, most of them never used before the next.
    validators: Arc<HashMap<String, OnceLock<RecordValidator>>>,
    /// The workspace's layout, with the caller's record scopes when scoped.
    layout: Layout,
    /// Whether reads outside a transaction may go to the read replica.
    replica_reads: bool,
    /// Each object's stored fields' columns, in `stored_fields()` order:
    /// worked out once per metadata version, not once per record written.
    write_columns: Arc<HashMap<String, Vec<Vec<rapport_query::Column>>>>,
}

pub(crate) fn now_value() -> Value {
    Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// A write in progress: the transaction it runs in, the statement counter
/// and who makes it. The record writes below the public methods take one.
#[derive(Clone, Copy)]
pub(crate) struct Writing<'a> {
    pub txn: &'a DatabaseTransaction,
    pub counter: &'a StatementCounter,
    pub actor: &'a Actor,
}

impl RecordStore {
    /// Compiles each object's input validator once for this metadata version.
    pub fn new(db: Db, meta: Arc<WorkspaceMeta>) -> RecordStore {
        let validators = meta
            .catalog
            .objects()
            .iter()
            .map(|o| (o.name.clone(), OnceLock::new()))
            .collect();
        let write_columns = meta
            .catalog
            .objects()
            .iter()
            .map(|o| {
                let columns = o.stored_fields().map(field_columns).collect();
                (o.name.clone(), columns)
            })
            .collect();
        RecordStore {
            db,
            layout: meta.layout.clone(),
            meta,
            validators: Arc::new(validators),
            replica_reads: false,
            write_columns: Arc::new(write_columns),
        }
    }

    /// The same store seeing only what `scopes` allow: every read and every
    /// filter, nested or not, carries them.
    pub fn scoped(&self, scopes: rapport_query::Scopes) -> RecordStore {
        RecordStore {
            db: self.db.clone(),
            meta: self.meta.clone(),
            validators: self.validators.clone(),
            layout: self.meta.layout.scoped(scopes),
            replica_reads: self.replica_reads,
            write_columns: self.write_columns.clone(),
        }
    }

    /// The same store with its reads on the read replica (when there is
    /// one): for a request whose caller the replica has caught up with.
    pub fn reading_replica(mut self) -> RecordStore {
        self.replica_reads = self.db.replica.is_some();
        self
    }

    /// Runs a read on the replica when this store may, else (or when the
    /// replica fails) on the primary.
    async fn routed<'s, T, Fut>(
        &'s self,
        read: impl Fn(&'s crate::ReadConn) -> Fut,
    ) -> Result<T, StoreError>
    where
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        if self.replica_reads
            && let Some(replica) = &self.db.replica
        {
            match read(&replica.reads).await {
                Err(StoreError::Database(e)) if crate::replica::unavailable(&e) => {
                    tracing::warn!(error = %e, "read replica failed; reading from the primary");
                    replica.failed();
                }
                done => return done,
            }
        }
        read(&self.db.reads).await
    }

    /// The whole workspace, for what the platform does on its own account
    /// (cascades and `restrict` checks must see every record).
    pub(crate) fn unscoped(&self) -> RecordStore {
        RecordStore {
            db: self.db.clone(),
            meta: self.meta.clone(),
            validators: self.validators.clone(),
            layout: self.meta.layout.clone(),
            replica_reads: false,
            write_columns: self.write_columns.clone(),
        }
    }

    /// The columns of `obj`'s stored fields, in `stored_fields()` order.
    pub(crate) fn write_columns(&self, obj: &ObjectDef) -> &[Vec<rapport_query::Column>] {
        self.write_columns
            .get(&obj.name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Where the workspace's tables are, with the caller's record scopes.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Runs a statement whose one row and column is a JSON document (a
    /// whole response's data, built by the database), as a read.
    pub async fn read_json(
        &self,
        counter: &StatementCounter,
        sql: Sql,
    ) -> Result<Option<String>, StoreError> {
        let sql = self.tagged(sql);
        let rows = self.routed(|c| query(c, counter, sql.clone())).await?;
        Ok(rows
            .first()
            .map(|r| r.try_get_by_index::<Option<String>>(0))
            .transpose()?
            .flatten())
    }

    /// The rows of a read whose response the caller writes straight from
    /// them, through the same replica routing as every read.
    pub async fn read_rows(
        &self,
        counter: &StatementCounter,
        sql: Sql,
    ) -> Result<crate::decode::Rows, StoreError> {
        let sql = self.tagged(sql);
        let rows = self.routed(|c| query(c, counter, sql.clone())).await?;
        Ok(crate::decode::rows(rows, self.db.backend))
    }

    /// Statements carry the metadata version: PostgreSQL drivers cache
    /// prepared statements by text, and a plan cached before a column changed
    /// type must not be reused after it.
    pub(crate) fn tagged(&self, mut sql: Sql) -> Sql {
        sql.text
            .insert_str(0, &format!("/* rapport v{} */ ", self.meta.version));
        sql
    }

    pub fn object(&self, name: &str) -> Result<&ObjectDef, StoreError> {
        self.meta.object(name)
    }

    pub(crate) fn encode(
        &self,
        scalar: Scalar,
        v: &Value,
        field: &str,
    ) -> Result<sea_query::Value, StoreError> {
        encode(self.db.backend, scalar, v).map_err(|r| StoreError::bad(field, r))
    }

    /// Writes to teams and members change who reaches which records.
    pub(crate) fn touched(&self, obj: &ObjectDef) {
        if matches!(obj.name.as_str(), "team" | "workspaceMember") {
            self.db.access_changed();
        }
    }

    /// A row's record, its `encryptedText` values opened.
    pub(crate) fn decode(
        &self,
        obj: &ObjectDef,
        row: &sea_orm::QueryResult,
        columns: &[rapport_query::Column],
    ) -> Result<Record, StoreError> {
        let mut rec = record(row, columns, self.db.backend)?;
        for f in obj
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::EncryptedText)
        {
            if let Some(Value::String(sealed)) = rec.get(&f.name) {
                let clear = self.db.keys()?.open(self.seal_context(obj, f)?, sealed)?;
                rec.insert(f.name.clone(), Value::String(clear));
            }
        }
        Ok(rec)
    }

    /// What a sealed value is bound to: its field's id, stable across renames
    /// and unique across workspaces.
    pub(crate) fn seal_context<'a>(
        &'a self,
        obj: &ObjectDef,
        f: &rapport_meta::FieldDef,
    ) -> Result<&'a str, StoreError> {
        self.meta
            .field_ids
            .get(&(obj.name.clone(), f.name.clone()))
            .map(String::as_str)
            .ok_or_else(|| StoreError::Internal(format!("no id for field {}", f.name)))
    }

    /// Writes the history of these changes in the caller's transaction.
    pub(crate) async fn changed<C: std::borrow::Borrow<RecordChange>>(
        &self,
        conn: &impl ConnectionTrait,
        counter: &StatementCounter,
        actor: &Actor,
        changes: &[C],
    ) -> Result<(), StoreError> {
        crate::change::write_history(
            conn,
            self.db.backend,
            &self.meta.workspace.id,
            actor,
            counter,
            changes,
        )
        .await
    }

    /// A record's history, newest first.
    pub async fn history(
        &self,
        object: &str,
        id: &str,
        limit: i64,
    ) -> Result<Vec<crate::audit::AuditEntry>, StoreError> {
        crate::audit::history(
            &self.db.conn,
            self.db.backend,
            &self.meta.workspace.id,
            object,
            id,
            limit,
        )
        .await
    }

    /// Writes return the stored columns; formulas and rollups are read back
    /// in the same transaction (one statement) when the object has any.
    pub(crate) async fn with_computed(
        &self,
        conn: &impl ConnectionTrait,
        counter: &StatementCounter,
        obj: &ObjectDef,
        mut records: Vec<Record>,
    ) -> Result<Vec<Record>, StoreError> {
        if !obj.fields.iter().any(|f| f.is_virtual()) || records.is_empty() {
            return Ok(records);
        }
        let ids: Vec<String> = records
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let fresh = self
            .by_ids_in(conn, counter, &obj.name, &ids, ByIds::WITH_DELETED)
            .await?;
        for r in records.iter_mut() {
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(f) = fresh.get(&id) {
                for field in obj.fields.iter().filter(|f| f.is_virtual()) {
                    r.insert(
                        field.name.clone(),
                        f.get(&field.name).cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
        Ok(records)
    }

    /// Ids of the live records matching a filter, refusing more than [`MAX_BATCH`].
    pub(crate) async fn matching_ids(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        obj: &ObjectDef,
        filter: &Filter,
        with_deleted: bool,
    ) -> Result<Vec<String>, StoreError> {
        let sql = count_sql(
            &self.meta.catalog,
            self.layout(),
            obj,
            Some(filter),
            None,
            with_deleted,
        )?;
        let n: i64 = query(txn, counter, self.tagged(sql))
            .await?
            .first()
            .map(|r| r.try_get_by_index(0))
            .transpose()?
            .unwrap_or(0);
        if n as usize > MAX_BATCH {
            return Err(StoreError::bad(
                "filter",
                format!("matches {n} records; at most {MAX_BATCH} per mutation"),
            ));
        }
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let q = ConnectionQuery {
                filter: Some(filter.clone()),
                with_deleted,
                first: Some(500),
                after: after.clone(),
                ..Default::default()
            };
            let plan = connection_sql(&self.meta.catalog, self.layout(), obj, &q)?;
            let rows = query(txn, counter, self.tagged(plan.sql.clone())).await?;
            let page = self.page_from_rows(obj, &rows, &plan, false)?;
            let more = page.len() > 500;
            for row in page.into_iter().take(500) {
                ids.push(row.record["id"].as_str().unwrap_or_default().to_string());
                after = Some(encode_cursor(&row.keys));
            }
            if !more {
                break;
            }
        }
        Ok(ids)
    }
}

pub(crate) fn check_uuid(id: &str) -> Result<(), StoreError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| StoreError::bad("id", format!("`{id}` is not a UUID")))
}

/// A unique index refused the write: say which field, never the SQL.
pub(crate) fn unique_conflict(e: StoreError, obj: &ObjectDef) -> StoreError {
    match e {
        StoreError::Database(db) if is_unique_violation(&db) => {
            let text = db.to_string();
            let field = obj
                .fields
                .iter()
                .find(|f| f.unique && text.contains(&f.name))
                .map(|f| f.name.clone());
            StoreError::Conflict(match field {
                Some(f) => format!("another {} has the same `{f}`", obj.name),
                None => format!("another {} has the same value of a unique field", obj.name),
            })
        }
        other => other,
    }
}

/// The records whose relation `f` points at one of `ids` of `object`.
pub(crate) fn pointing_at(f: &rapport_meta::FieldDef, object: &str, ids: &[String]) -> Filter {
    let pointing = Filter::one_of(rapport_query::id_column(f), ids.iter().cloned());
    if f.relation_kind() == Some(rapport_meta::RelationKind::Polymorphic) {
        return pointing.and(Filter::eq(rapport_query::object_column(f), object));
    }
    pointing
}
