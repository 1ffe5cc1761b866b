//! Record reads and writes for the generated API. Every write is one
//! transaction; reads batch by relation level, never by row.

use std::collections::HashMap;
use std::sync::Arc;

use rapport_meta::{FieldDef, FieldType, ObjectDef, OnDelete, RecordValidator, RelationKind};
use rapport_query::{
    AggregateRequest, ChildLink, ConnectionQuery, GroupByQuery, Layout, Scalar, Sql, WriteSet,
    aggregate_sql, children_sql, connection_sql, count_sql, delete_sql, encode, encode_cursor,
    field_columns, insert_sql, records_by_ids_sql, soft_delete_sql, update_sql,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde_json::{Map, Value};

use crate::db::{Db, StatementCounter, execute, query};
use crate::decode::{record, value_at};
use crate::error::StoreError;
use crate::metadata::{WorkspaceMeta, is_unique_violation};

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
    /// Records with their cursors, in the requested order.
    pub edges: Vec<(Record, String)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChildPage {
    pub page: Page,
    pub total_count: i64,
}

/// One row of a page: the record, its cursor, and for child lists its parent and the parent's total.
struct Row {
    record: Record,
    cursor: String,
    parent: Option<String>,
    total: i64,
}

/// Reads and writes records of one workspace at one metadata version.
pub struct RecordStore {
    pub db: Db,
    pub meta: Arc<WorkspaceMeta>,
    validators: HashMap<String, RecordValidator>,
}

fn now_value() -> Value {
    Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

impl RecordStore {
    /// Compiles each object's input validator once for this metadata version.
    pub fn new(db: Db, meta: Arc<WorkspaceMeta>) -> RecordStore {
        let validators = meta
            .catalog
            .objects()
            .iter()
            .map(|o| (o.name.clone(), RecordValidator::new(o)))
            .collect();
        RecordStore {
            db,
            meta,
            validators,
        }
    }

    fn layout(&self) -> &Layout {
        &self.meta.layout
    }

    /// Statements carry the metadata version: PostgreSQL drivers cache
    /// prepared statements by text, and a plan cached before a column changed
    /// type must not be reused after it.
    fn tagged(&self, mut sql: Sql) -> Sql {
        sql.text
            .insert_str(0, &format!("/* rapport v{} */ ", self.meta.version));
        sql
    }

    pub fn object(&self, name: &str) -> Result<&ObjectDef, StoreError> {
        self.meta.object(name)
    }

    fn encode(
        &self,
        scalar: Scalar,
        v: &Value,
        field: &str,
    ) -> Result<sea_query::Value, StoreError> {
        encode(self.db.backend, scalar, v).map_err(|r| StoreError::bad(field, r))
    }

    /// Records, cursors and, for child lists, each row's parent id and total.
    fn page_from_rows(
        &self,
        rows: &[sea_orm::QueryResult],
        plan: &rapport_query::SelectPlan,
        child_list: bool,
    ) -> Result<Vec<Row>, StoreError> {
        let n = plan.columns.len();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let rec = record(row, &plan.columns, self.db.backend)?;
            let mut keys = Vec::with_capacity(plan.key_scalars.len());
            for (i, s) in plan.key_scalars.iter().enumerate() {
                keys.push(value_at(row, n + i, *s, self.db.backend)?);
            }
            let extra = n + plan.key_scalars.len();
            let (parent, total) = if child_list {
                let parent = value_at(row, extra, Scalar::Uuid, self.db.backend)?
                    .as_str()
                    .map(str::to_string);
                (parent, row.try_get_by_index::<i64>(extra + 1)?)
            } else {
                (None, 0)
            };
            out.push(Row {
                record: rec,
                cursor: encode_cursor(&keys),
                parent,
                total,
            });
        }
        Ok(out)
    }

    /// A root connection page: one statement.
    pub async fn connection(
        &self,
        counter: &StatementCounter,
        object: &str,
        q: &ConnectionQuery,
    ) -> Result<Page, StoreError> {
        let obj = self.object(object)?;
        let plan = connection_sql(&self.meta.catalog, self.layout(), obj, q)?;
        let limit = plan.limit as usize;
        let backward = plan.backward;
        let has_cursor = if backward {
            q.before.is_some()
        } else {
            q.after.is_some()
        };
        let rows = query(&self.db.conn, counter, self.tagged(plan.sql.clone())).await?;
        let mut edges: Vec<(Record, String)> = self
            .page_from_rows(&rows, &plan, false)?
            .into_iter()
            .map(|r| (r.record, r.cursor))
            .collect();
        let more = edges.len() > limit;
        edges.truncate(limit);
        if backward {
            edges.reverse();
        }
        Ok(Page {
            edges,
            has_next_page: if backward { has_cursor } else { more },
            has_previous_page: if backward { more } else { has_cursor },
        })
    }

    pub async fn count(
        &self,
        counter: &StatementCounter,
        object: &str,
        q: &ConnectionQuery,
    ) -> Result<i64, StoreError> {
        let obj = self.object(object)?;
        let sql = count_sql(
            &self.meta.catalog,
            self.layout(),
            obj,
            q.filter.as_ref(),
            q.search.as_deref(),
            q.with_deleted,
        )?;
        let rows = query(&self.db.conn, counter, self.tagged(sql)).await?;
        Ok(rows
            .first()
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// Live records by id (many-to-one parents of a whole level at once).
    pub async fn by_ids(
        &self,
        counter: &StatementCounter,
        object: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Record>, StoreError> {
        self.by_ids_in(&self.db.conn, counter, object, ids, false)
            .await
    }

    async fn by_ids_in(
        &self,
        conn: &impl ConnectionTrait,
        counter: &StatementCounter,
        object: &str,
        ids: &[String],
        with_deleted: bool,
    ) -> Result<HashMap<String, Record>, StoreError> {
        let obj = self.object(object)?;
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let (sql, columns) = records_by_ids_sql(self.layout(), obj, chunk, with_deleted)?;
            for row in query(conn, counter, self.tagged(sql)).await? {
                let r = record(&row, &columns, self.db.backend)?;
                if let Some(id) = r.get("id").and_then(Value::as_str) {
                    out.insert(id.to_string(), r.clone());
                }
            }
        }
        Ok(out)
    }

    /// One child list for many parents: one statement, paged per parent.
    pub async fn children(
        &self,
        counter: &StatementCounter,
        parent: &str,
        field: &str,
        parent_ids: &[String],
        q: &ConnectionQuery,
    ) -> Result<HashMap<String, ChildPage>, StoreError> {
        let parent_obj = self.object(parent)?;
        let f = parent_obj
            .field(field)
            .ok_or_else(|| StoreError::bad(field, "no such list"))?;
        let (link, child) = ChildLink::of(&self.meta.catalog, self.layout(), parent_obj, f)
            .ok_or_else(|| StoreError::bad(field, "not a list relation"))?;
        let child_obj = self.object(&child)?;
        let plan = children_sql(
            &self.meta.catalog,
            self.layout(),
            child_obj,
            &link,
            parent_ids,
            q,
        )?;
        let limit = plan.limit as usize;
        let rows = query(&self.db.conn, counter, self.tagged(plan.sql.clone())).await?;
        let mut out: HashMap<String, ChildPage> = HashMap::new();
        for row in self.page_from_rows(&rows, &plan, true)? {
            let Some(parent_id) = row.parent else {
                continue;
            };
            let page = out.entry(parent_id).or_default();
            page.total_count = row.total;
            if page.page.edges.len() < limit {
                page.page.edges.push((row.record, row.cursor));
            } else {
                page.page.has_next_page = true;
            }
        }
        for page in out.values_mut() {
            page.page.has_previous_page = q.after.is_some();
        }
        Ok(out)
    }

    pub async fn aggregate(
        &self,
        counter: &StatementCounter,
        object: &str,
        filter: Option<&Value>,
        search: Option<&str>,
        requests: &[AggregateRequest],
    ) -> Result<Vec<Value>, StoreError> {
        let obj = self.object(object)?;
        let (sql, scalars) = aggregate_sql(
            &self.meta.catalog,
            self.layout(),
            obj,
            filter,
            search,
            requests,
        )?;
        let rows = query(&self.db.conn, counter, self.tagged(sql)).await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Internal("aggregate returned no row".into()))?;
        scalars
            .iter()
            .enumerate()
            .map(|(i, s)| value_at(row, i, *s, self.db.backend))
            .collect()
    }

    /// Groups as (key values, count, aggregate values).
    pub async fn group_by(
        &self,
        counter: &StatementCounter,
        object: &str,
        q: &GroupByQuery,
    ) -> Result<Vec<(Vec<Value>, i64, Vec<Value>)>, StoreError> {
        let obj = self.object(object)?;
        let (sql, keys, scalars) =
            rapport_query::group_by_sql(&self.meta.catalog, self.layout(), obj, q)?;
        let rows = query(&self.db.conn, counter, self.tagged(sql)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut key_values = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                key_values.push(value_at(row, i, k.scalar, self.db.backend)?);
            }
            let count: i64 = row.try_get_by_index(keys.len())?;
            let mut aggs = Vec::new();
            for (i, s) in scalars.iter().enumerate() {
                aggs.push(value_at(row, keys.len() + 1 + i, *s, self.db.backend)?);
            }
            out.push((key_values, count, aggs));
        }
        Ok(out)
    }

    /// Turns GraphQL-shaped input into column values, after JSON Schema validation.
    fn write_set(
        &self,
        obj: &ObjectDef,
        input: &Record,
        creating: bool,
        path: &str,
    ) -> Result<WriteSet, StoreError> {
        let validator = self
            .validators
            .get(&obj.name)
            .ok_or_else(|| StoreError::Internal("validator missing".into()))?;
        let mut input = input.clone();
        if creating {
            for f in obj
                .stored_fields()
                .filter(|f| f.default.is_some() && !f.read_only)
            {
                if !input.contains_key(&f.name) {
                    input.insert(f.name.clone(), f.default.clone().unwrap_or(Value::Null));
                }
            }
        }
        validator
            .validate(&input, creating)
            .map_err(|e| StoreError::bad(format!("{path}{}", e.field), e.reason))?;
        let mut set = WriteSet::default();
        if let Some(owner) = input.get("ownerId") {
            set.set(
                "ownerId",
                self.encode(Scalar::Uuid, owner, &format!("{path}ownerId"))?,
            );
        }
        for f in obj.stored_fields() {
            for c in field_columns(f) {
                let value = match c.part {
                    Some(part) => match input.get(&c.key) {
                        None => continue,
                        Some(Value::Null) => Value::Null,
                        Some(v) => v.get(part).cloned().unwrap_or(Value::Null),
                    },
                    None => match input.get(&c.key) {
                        None => continue,
                        Some(v) => v.clone(),
                    },
                };
                if f.read_only && !value.is_null() {
                    return Err(StoreError::bad(format!("{path}{}", c.key), "is read-only"));
                }
                let field = format!("{path}{}", c.key);
                set.set(c.name.clone(), self.encode(c.scalar, &value, &field)?);
            }
        }
        Ok(set)
    }

    /// Every `…Id` in the inputs must name a live record of its target.
    async fn check_references(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        obj: &ObjectDef,
        inputs: &[Record],
    ) -> Result<(), StoreError> {
        for f in obj.fields.iter().filter(|f| {
            matches!(
                f.relation_kind(),
                Some(RelationKind::ManyToOne) | Some(RelationKind::Polymorphic)
            )
        }) {
            let rel = f.relation.as_ref().expect("relation");
            let key = format!("{}Id", f.name);
            let mut wanted: HashMap<String, Vec<String>> = HashMap::new();
            for input in inputs {
                let Some(id) = input.get(&key).and_then(Value::as_str) else {
                    continue;
                };
                let target = if rel.kind == RelationKind::Polymorphic {
                    let object_key = format!("{}Object", f.name);
                    let t = input
                        .get(&object_key)
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            StoreError::bad(&object_key, "names the object of the related record")
                        })?;
                    let allowed = rel.targets.iter().any(|x| x == "*" || x == t);
                    if !allowed || self.meta.catalog.object(t).is_none() {
                        return Err(StoreError::bad(
                            &object_key,
                            format!("`{t}` is not a target of `{}`", f.name),
                        ));
                    }
                    t.to_string()
                } else {
                    rel.target.clone()
                };
                wanted.entry(target).or_default().push(id.to_string());
            }
            for (target, ids) in wanted {
                let found = self.by_ids_in(txn, counter, &target, &ids, false).await?;
                if let Some(missing) = ids.iter().find(|id| !found.contains_key(*id)) {
                    return Err(StoreError::bad(
                        &key,
                        format!("no {target} with id {missing}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates records in one transaction; with `upsert_on`, a record whose
    /// values of those fields match an existing one updates it instead.
    pub async fn create(
        &self,
        counter: &StatementCounter,
        actor: &Actor,
        object: &str,
        inputs: &[Record],
        upsert_on: Option<&[String]>,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        if inputs.len() > MAX_BATCH {
            return Err(StoreError::bad(
                "data",
                format!("at most {MAX_BATCH} records per batch"),
            ));
        }
        if let Some(keys) = upsert_on {
            if keys.is_empty() {
                return Err(StoreError::bad("upsertOn", "name at least one field"));
            }
            for k in keys {
                let ok = obj.field(k).is_some_and(|f| {
                    f.is_stored() && f.field_type.composite().is_none() && f.relation.is_none()
                });
                if !ok {
                    return Err(StoreError::bad(
                        "upsertOn",
                        format!("`{k}` is not a plain field of `{object}`"),
                    ));
                }
            }
        }
        let txn = self.db.conn.begin().await?;
        self.check_references(&txn, counter, obj, inputs).await?;
        let now = now_value();
        let mut out = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let path = if inputs.len() > 1 {
                format!("data[{i}].")
            } else {
                String::new()
            };
            if let Some(keys) = upsert_on {
                let mut filter = Map::new();
                for k in keys {
                    let v = input.get(k).cloned().unwrap_or(Value::Null);
                    if v.is_null() {
                        return Err(StoreError::bad(
                            format!("{path}{k}"),
                            "an upsert key needs a value",
                        ));
                    }
                    filter.insert(k.clone(), serde_json::json!({ "eq": v }));
                }
                let q = ConnectionQuery {
                    filter: Some(Value::Object(filter)),
                    first: Some(1),
                    ..Default::default()
                };
                let plan = connection_sql(&self.meta.catalog, self.layout(), obj, &q)?;
                let rows = query(&txn, counter, self.tagged(plan.sql.clone())).await?;
                if let Some(row) = rows.first() {
                    let existing = record(row, &plan.columns, self.db.backend)?;
                    let id = existing["id"].as_str().unwrap_or_default().to_string();
                    out.push(
                        self.update_in(&txn, counter, obj, &id, input, None, &path)
                            .await?,
                    );
                    continue;
                }
            }
            let mut set = self.write_set(obj, input, true, &path)?;
            let id = uuid::Uuid::now_v7().to_string();
            set.set("id", self.encode(Scalar::Uuid, &Value::String(id), "id")?);
            set.set(
                "createdAt",
                self.encode(Scalar::DateTime, &now, "createdAt")?,
            );
            set.set(
                "updatedAt",
                self.encode(Scalar::DateTime, &now, "updatedAt")?,
            );
            set.set("version", sea_query::Value::BigInt(Some(1)));
            set.set(
                "createdBy",
                sea_query::Value::String(Some(format!("{}:{}", actor.kind, actor.name))),
            );
            let (sql, columns) = insert_sql(self.layout(), obj, &set);
            let rows = query(&txn, counter, self.tagged(sql))
                .await
                .map_err(|e| unique_conflict(e, obj))?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::Internal("insert returned nothing".into()))?;
            let created = record(row, &columns, self.db.backend)?;
            let id = created["id"].as_str().unwrap_or_default().to_string();
            self.write_links(&txn, counter, obj, &id, input).await?;
            out.push(created);
        }
        txn.commit().await?;
        Ok(out)
    }

    /// The ids among `ids` that name live records of `object`.
    pub(crate) async fn live_ids(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        object: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(self.by_ids_in(txn, counter, object, ids, false).await?.into_keys().collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn update_in(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        obj: &ObjectDef,
        id: &str,
        input: &Record,
        expected_version: Option<i64>,
        path: &str,
    ) -> Result<Record, StoreError> {
        let mut set = self.write_set(obj, input, false, path)?;
        set.set(
            "updatedAt",
            self.encode(Scalar::DateTime, &now_value(), "updatedAt")?,
        );
        let (sql, columns) = update_sql(self.layout(), obj, id, &set, expected_version);
        let rows = query(txn, counter, self.tagged(sql))
            .await
            .map_err(|e| unique_conflict(e, obj))?;
        match rows.first() {
            Some(row) => {
                self.write_links(txn, counter, obj, id, input).await?;
                record(row, &columns, self.db.backend)
            }
            None => {
                let exists = self
                    .by_ids_in(txn, counter, &obj.name, &[id.to_string()], true)
                    .await?;
                match exists.get(id) {
                    None => Err(StoreError::NotFound(format!(
                        "no {} with id {id}",
                        obj.name
                    ))),
                    Some(r) => Err(StoreError::Conflict(format!(
                        "version is {}, not {}: reload and try again",
                        r.get("version").cloned().unwrap_or(Value::Null),
                        expected_version.unwrap_or_default()
                    ))),
                }
            }
        }
    }

    pub async fn update(
        &self,
        counter: &StatementCounter,
        object: &str,
        id: &str,
        input: &Record,
        expected_version: Option<i64>,
    ) -> Result<Record, StoreError> {
        let obj = self.object(object)?;
        check_uuid(id)?;
        let txn = self.db.conn.begin().await?;
        self.check_references(&txn, counter, obj, std::slice::from_ref(input))
            .await?;
        let r = self
            .update_in(&txn, counter, obj, id, input, expected_version, "")
            .await?;
        txn.commit().await?;
        Ok(r)
    }

    /// Ids of the live records matching a filter, refusing more than [`MAX_BATCH`].
    async fn matching_ids(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        obj: &ObjectDef,
        filter: &Value,
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
            let page = self.page_from_rows(&rows, &plan, false)?;
            let more = page.len() > 500;
            for row in page.into_iter().take(500) {
                ids.push(row.record["id"].as_str().unwrap_or_default().to_string());
                after = Some(row.cursor);
            }
            if !more {
                break;
            }
        }
        Ok(ids)
    }

    pub async fn update_many(
        &self,
        counter: &StatementCounter,
        object: &str,
        filter: &Value,
        input: &Record,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        let txn = self.db.conn.begin().await?;
        self.check_references(&txn, counter, obj, std::slice::from_ref(input))
            .await?;
        let ids = self.matching_ids(&txn, counter, obj, filter, false).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(
                self.update_in(&txn, counter, obj, id, input, None, "")
                    .await?,
            );
        }
        txn.commit().await?;
        Ok(out)
    }

    /// Soft delete (or restore) by ids or by filter, cascading per `onDelete`.
    pub async fn soft_delete(
        &self,
        counter: &StatementCounter,
        object: &str,
        ids: Option<Vec<String>>,
        filter: Option<&Value>,
        restoring: bool,
    ) -> Result<Vec<Record>, StoreError> {
        let obj = self.object(object)?;
        let txn = self.db.conn.begin().await?;
        let ids = match (ids, filter) {
            (Some(ids), _) => {
                for id in &ids {
                    check_uuid(id)?;
                }
                let found = self.by_ids_in(&txn, counter, object, &ids, true).await?;
                if let Some(missing) = ids.iter().find(|id| !found.contains_key(*id)) {
                    return Err(StoreError::NotFound(format!(
                        "no {object} with id {missing}"
                    )));
                }
                ids
            }
            (None, Some(f)) => {
                let f = if restoring {
                    serde_json::json!({"and": [f, {"deletedAt": {"isNull": false}}]})
                } else {
                    f.clone()
                };
                self.matching_ids(&txn, counter, obj, &f, restoring).await?
            }
            (None, None) => Vec::new(),
        };
        let out = self
            .soft_delete_in(&txn, counter, obj, &ids, restoring, &now_value(), 0)
            .await?;
        txn.commit().await?;
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn soft_delete_in<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        counter: &'a StatementCounter,
        obj: &'a ObjectDef,
        ids: &'a [String],
        restoring: bool,
        stamp: &'a Value,
        depth: usize,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<Record>, StoreError>> + Send + 'a>,
    > {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            if depth > 8 {
                return Err(StoreError::Conflict("cascade deeper than 8 levels".into()));
            }
            let now = now_value();
            // A cascade stamps children with their parent's `deletedAt`, so a
            // restore brings back exactly what went with it.
            let deleted_at: HashMap<String, Value> = if restoring {
                self.by_ids_in(txn, counter, &obj.name, ids, true)
                    .await?
                    .into_iter()
                    .map(|(id, r)| (id, r.get("deletedAt").cloned().unwrap_or(Value::Null)))
                    .collect()
            } else {
                self.on_delete(txn, counter, obj, ids, Some(stamp), depth)
                    .await?;
                HashMap::new()
            };
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
            for row in &rows {
                out.push(record(row, &columns, self.db.backend)?);
            }
            if restoring {
                let mut by_stamp: HashMap<String, Vec<String>> = HashMap::new();
                for (id, at) in deleted_at {
                    if let Some(at) = at.as_str() {
                        by_stamp.entry(at.to_string()).or_default().push(id);
                    }
                }
                for (at, ids) in by_stamp {
                    self.restore_cascaded(txn, counter, obj, &ids, &at, depth)
                        .await?;
                }
            }
            Ok(out)
        })
    }

    /// Children soft-deleted by the parent's cascade come back with it.
    async fn restore_cascaded(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        obj: &ObjectDef,
        ids: &[String],
        deleted_at: &str,
        depth: usize,
    ) -> Result<(), StoreError> {
        for (child, f) in self.meta.catalog.relations_to(&obj.name) {
            let rel = f.relation.as_ref().expect("relation");
            if rel.on_delete != OnDelete::Cascade {
                continue;
            }
            let filter = serde_json::json!({ format!("{}Id", f.name): { "in": ids }, "deletedAt": { "eq": deleted_at } });
            let child_ids = self
                .matching_ids(txn, counter, child, &filter, true)
                .await?;
            self.soft_delete_in(
                txn,
                counter,
                child,
                &child_ids,
                true,
                &Value::Null,
                depth + 1,
            )
            .await?;
        }
        Ok(())
    }

    /// Applies `onDelete` of every relation pointing at the records.
    /// `soft_delete` carries the parent's stamp; `None` means a destroy.
    async fn on_delete(
        &self,
        txn: &DatabaseTransaction,
        counter: &StatementCounter,
        obj: &ObjectDef,
        ids: &[String],
        soft_delete: Option<&Value>,
        depth: usize,
    ) -> Result<(), StoreError> {
        let destroying = soft_delete.is_none();
        for (child, f) in self.meta.catalog.relations_to(&obj.name) {
            let rel = f.relation.as_ref().expect("relation");
            let mut filter = serde_json::json!({ format!("{}Id", f.name): { "in": ids } });
            if rel.kind == RelationKind::Polymorphic {
                filter[format!("{}Object", f.name)] = serde_json::json!({ "eq": obj.name });
            }
            let child_ids = self
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
                    self.destroy_in(txn, counter, child, &child_ids, depth + 1)
                        .await?
                }
                OnDelete::Cascade => {
                    let stamp = soft_delete.unwrap_or(&Value::Null);
                    self.soft_delete_in(txn, counter, child, &child_ids, false, stamp, depth + 1)
                        .await?;
                }
                OnDelete::SetNull if destroying => {
                    let mut set = WriteSet::default();
                    for c in field_columns(f) {
                        set.set(c.name.clone(), self.encode(c.scalar, &Value::Null, &c.key)?);
                    }
                    for id in &child_ids {
                        let (sql, _) = update_sql(self.layout(), child, id, &set, None);
                        query(txn, counter, self.tagged(sql)).await?;
                    }
                }
                // A soft delete keeps links, so a restore brings them back.
                OnDelete::SetNull => {}
            }
        }
        Ok(())
    }

    fn destroy_in<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        counter: &'a StatementCounter,
        obj: &'a ObjectDef,
        ids: &'a [String],
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>
    {
        Box::pin(async move {
            if depth > 8 {
                return Err(StoreError::Conflict("cascade deeper than 8 levels".into()));
            }
            self.on_delete(txn, counter, obj, ids, None, depth).await?;
            for f in obj
                .fields
                .iter()
                .filter(|f| f.relation_kind() == Some(RelationKind::ManyToMany))
            {
                let rel = f.relation.as_ref().expect("relation");
                let (owner, field, column) = if f.generated {
                    (
                        rel.target.clone(),
                        rel.inverse.clone().unwrap_or_default(),
                        "targetId",
                    )
                } else {
                    (obj.name.clone(), f.name.clone(), "sourceId")
                };
                let mut sql = Sql::new(self.db.backend);
                sql.push("DELETE FROM ")
                    .push(&self.layout().table(&Layout::junction_name(&owner, &field)));
                sql.push(" WHERE ").ident(column).push(" IN (");
                let values = ids
                    .iter()
                    .map(|id| self.encode(Scalar::Uuid, &Value::String(id.clone()), "id"))
                    .collect::<Result<Vec<_>, _>>()?;
                sql.params_list(values).push(")");
                execute(txn, counter, self.tagged(sql)).await?;
            }
            execute(
                txn,
                counter,
                self.tagged(delete_sql(self.layout(), obj, ids)),
            )
            .await?;
            Ok(())
        })
    }

    /// Hard delete of one record, applying `onDelete` as a destroy.
    pub async fn destroy(
        &self,
        counter: &StatementCounter,
        object: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let obj = self.object(object)?;
        check_uuid(id)?;
        let txn = self.db.conn.begin().await?;
        let found = self
            .by_ids_in(&txn, counter, object, &[id.to_string()], true)
            .await?;
        if !found.contains_key(id) {
            return Err(StoreError::NotFound(format!("no {object} with id {id}")));
        }
        self.destroy_in(&txn, counter, obj, &[id.to_string()], 0)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}

fn check_uuid(id: &str) -> Result<(), StoreError> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| StoreError::bad("id", format!("`{id}` is not a UUID")))
}

/// A unique index refused the write: say which field, never the SQL.
fn unique_conflict(e: StoreError, obj: &ObjectDef) -> StoreError {
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
    let mut converted = Vec::with_capacity(rows.len());
    let mut failures = 0usize;
    for row in &rows {
        let id = value_at(row, 0, Scalar::Uuid, backend)?;
        let v = value_at(row, 1, old_col.scalar, backend)?;
        let c = convert_value(&v, old.field_type, new.field_type);
        let ok = c.as_ref().is_some_and(|c| {
            let mut m = Map::new();
            m.insert(new.name.clone(), c.clone());
            validator.validate(&m, false).is_ok() && encode(backend, new_col.scalar, c).is_ok()
        });
        match (ok, c) {
            (true, Some(c)) => converted.push((id, c)),
            _ => failures += 1,
        }
    }
    if failures > 0 {
        return Err(StoreError::bad(
            format!("/properties/{}", new.name),
            format!(
                "{failures} of {} records would not convert from {} to {}; fix or clear them first",
                rows.len(),
                old.field_type.as_str(),
                new.field_type.as_str()
            ),
        ));
    }
    if old_col.scalar == new_col.scalar {
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
        t if t.is_textual() => as_text().map(Value::String),
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
