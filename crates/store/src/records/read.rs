//! Reads of records: root pages, child lists of many parents, look-ups
//! by ids, counts and aggregates, each one statement.

use std::collections::HashMap;
use std::sync::Arc;

use rapport_query::{
    AggregateRequest, ChildLink, ConnectionQuery, Filter, GroupByQuery, Scalar, aggregate_sql,
    children_sql, connection_sql, count_sql, encode_cursor, records_by_ids_sql,
};
use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::db::{StatementCounter, query};
use crate::decode::value_at;
use crate::error::StoreError;
use crate::records::{ChildPage, Page, Record, RecordStore};
use rapport_meta::ObjectDef;

/// One row of a page: the record, its cursor, and for child lists its parent and the parent's total.
pub(crate) struct Row {
    pub record: Record,
    /// The row's ordering values, which its cursor encodes.
    pub keys: Vec<Value>,
    pub parent: Option<String>,
    pub total: i64,
    /// A child row before the cursor, read only for its parent's total.
    pub total_only: bool,
}

impl RecordStore {
    /// Records, cursors and, for child lists, each row's parent id and total.
    pub(crate) fn page_from_rows(
        &self,
        obj: &ObjectDef,
        rows: &[sea_orm::QueryResult],
        plan: &rapport_query::SelectPlan,
        child_list: bool,
    ) -> Result<Vec<Row>, StoreError> {
        let n = plan.columns.len();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let rec = self.decode(obj, row, &plan.columns)?;
            let mut keys = Vec::with_capacity(plan.key_scalars.len());
            for (i, s) in plan.key_scalars.iter().enumerate() {
                keys.push(value_at(row, n + i, *s, self.db.backend)?);
            }
            let extra = n + plan.key_scalars.len();
            let (parent, total, total_only) = if child_list {
                let parent = value_at(row, extra, Scalar::Uuid, self.db.backend)?
                    .as_str()
                    .map(str::to_string);
                // After `__after`: the row's number in its page, 0 for a
                // row before the cursor sent only for its parent's total.
                let number = row.try_get_by_index::<i64>(extra + 3)?;
                (parent, row.try_get_by_index::<i64>(extra + 1)?, number == 0)
            } else {
                (None, 0, false)
            };
            out.push(Row {
                record: rec,
                keys,
                parent,
                total,
                total_only,
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
        let sql = self.tagged(plan.sql.clone());
        let rows = self.routed(|c| query(c, counter, sql.clone())).await?;
        let mut rows = self.page_from_rows(obj, &rows, &plan, false)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        if backward {
            rows.reverse();
        }
        let edges = with_cursors(
            rows.into_iter().map(|r| (r.record, r.keys)).collect(),
            q.ends_only,
        );
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
        self.routed(|c| self.count_in(c, counter, object, q)).await
    }

    pub(crate) async fn count_in(
        &self,
        conn: &impl ConnectionTrait,
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
        let rows = query(conn, counter, self.tagged(sql)).await?;
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
        self.routed(|c| self.by_ids_in(c, counter, object, ids, ByIds::default()))
            .await
    }

    /// As [`RecordStore::by_ids`], reading only the stored values and
    /// computed fields named (see `ConnectionQuery::stored`).
    pub async fn by_ids_showing(
        &self,
        counter: &StatementCounter,
        object: &str,
        ids: &[String],
        computed: &[String],
        stored: &[String],
    ) -> Result<HashMap<String, Record>, StoreError> {
        self.routed(|c| {
            self.by_ids_in(
                c,
                counter,
                object,
                ids,
                ByIds {
                    computed: Some(computed),
                    stored: Some(stored),
                    ..Default::default()
                },
            )
        })
        .await
    }

    pub(crate) async fn by_ids_in(
        &self,
        conn: &impl ConnectionTrait,
        counter: &StatementCounter,
        object: &str,
        ids: &[String],
        reading: ByIds<'_>,
    ) -> Result<HashMap<String, Record>, StoreError> {
        let ByIds {
            with_deleted,
            computed,
            stored,
        } = reading;
        let obj = self.object(object)?;
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let (sql, columns) = records_by_ids_sql(
                &self.meta.catalog,
                self.layout(),
                obj,
                chunk,
                with_deleted,
                computed,
                stored,
            )?;
            for row in query(conn, counter, self.tagged(sql)).await? {
                let r = self.decode(obj, &row, &columns)?;
                if let Some(id) = r.get("id").and_then(Value::as_str) {
                    out.insert(id.to_string(), r);
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
        let sql = self.tagged(plan.sql.clone());
        let rows = self.routed(|c| query(c, counter, sql.clone())).await?;
        let mut pages: HashMap<String, (ChildPage, Vec<KeyedRecord>)> = HashMap::new();
        for row in self.page_from_rows(child_obj, &rows, &plan, true)? {
            let Some(parent_id) = row.parent else {
                continue;
            };
            let (page, rows) = pages.entry(parent_id).or_default();
            page.total_count = row.total;
            if row.total_only {
                continue;
            }
            if rows.len() < limit {
                rows.push((row.record, row.keys));
            } else {
                page.page.has_next_page = true;
            }
        }
        // Every parent asked gets its page, an empty one too: after a
        // cursor, a page has a previous one whether or not it holds rows.
        let mut out: HashMap<String, ChildPage> = pages
            .into_iter()
            .map(|(parent, (mut page, rows))| {
                page.page.edges = with_cursors(rows, q.ends_only);
                (parent, page)
            })
            .collect();
        for id in parent_ids {
            let page = out.entry(id.clone()).or_default();
            page.page.has_previous_page = q.after.is_some();
        }
        Ok(out)
    }

    pub async fn aggregate(
        &self,
        counter: &StatementCounter,
        object: &str,
        filter: Option<&Filter>,
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
        let sql = self.tagged(sql);
        let rows = self.routed(|c| query(c, counter, sql.clone())).await?;
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
        let sql = self.tagged(sql);
        let rows = self.routed(|c| query(c, counter, sql.clone())).await?;
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
}

/// A record and the ordering values its cursor encodes.
type KeyedRecord = (Record, Vec<Value>);

/// A page's edges with their cursors. With `ends_only`, only the first and
/// last are encoded (for `pageInfo`), the others left empty: a page whose
/// edges' cursors are not shown need not encode fifty of them.
fn with_cursors(rows: Vec<KeyedRecord>, ends_only: bool) -> Vec<(Arc<Record>, String)> {
    let last = rows.len().saturating_sub(1);
    rows.into_iter()
        .enumerate()
        .map(|(i, (record, keys))| {
            let cursor = match ends_only && i != 0 && i != last {
                true => String::new(),
                false => encode_cursor(&keys),
            };
            (Arc::new(record), cursor)
        })
        .collect()
}

/// Which records [`RecordStore::by_ids_in`] reads, and which of their values.
#[derive(Clone, Copy, Default)]
pub(crate) struct ByIds<'a> {
    /// Deleted records too.
    pub with_deleted: bool,
    /// The computed fields to compute (all when `None`).
    pub computed: Option<&'a [String]>,
    /// The stored values to read (all when `None`).
    pub stored: Option<&'a [String]>,
}

impl ByIds<'_> {
    /// Every value of live and deleted records.
    pub(crate) const WITH_DELETED: ByIds<'static> = ByIds {
        with_deleted: true,
        computed: None,
        stored: None,
    };
}
