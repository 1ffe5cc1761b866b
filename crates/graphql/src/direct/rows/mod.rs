//! A read of one root field (a list, or a record by id) on PostgreSQL: the
//! statement returns the root records as rows of their stored columns, and
//! each child list as an array of arrays of values (one per child record,
//! `array_to_json(ARRAY(SELECT json_build_array(…) …))`), and each related
//! record (to-one) of a row as more columns of that row, from a
//! `LEFT JOIN LATERAL`; the server writes the response's JSON from them
//! ([`json`]). Related records inside child arrays, and child lists the
//! arrays cannot carry (counts, cursors), are built as JSON by the
//! database, in sub-queries as in [`super::statement`].
//!
//! Why: PostgreSQL's JSON functions look up each value's type on every call
//! (`json_agg` of a row, `to_json`), which made Q1's statement twice as
//! costly to the database as the same rows returned plainly (`pgbench`:
//! 0.36 against 0.17 ms), and Q2's child lists a quarter dearer as objects
//! than as arrays of values; writing them costs the server about a
//! microsecond per value. Anything else (several root fields, counts,
//! cursors at the root) goes to [`super::statement`].

mod arrays;
mod json;

use async_graphql::Name;
use rapport_meta::{Catalog, ObjectDef};
use rapport_query::{
    Backend, ChildLink, Column, ConnectionQuery, Layout, ParentRow, RowId, Scalar, Sql, json_value,
    page_into, record_into,
};

use super::plan::{ConnItem, ConnSel, EdgeItem, Info, Item, RecordSel, Root};
use super::statement::{Statement, order_by, sealed};

pub(crate) use json::write;

/// PostgreSQL takes at most 100 arguments per function call.
const MAX_VALUES: usize = 100;

/// How to write a page's records back: per record selection (a look-up's,
/// or each `nodes` and `edges { node }` of a list, in the order of the
/// plan), where each of its items is in a record's row or array.
pub(crate) struct RowPlan {
    records: Vec<Vec<Out>>,
    /// A list's page size and direction; one record more than `limit`
    /// tells that more exist.
    limit: usize,
    backward: bool,
}

/// Where one item of a record selection is in a row (or array).
enum Out {
    /// Written from the plan (`__typename`).
    Plan,
    Value {
        col: usize,
        scalar: Scalar,
    },
    Members {
        parts: Vec<(&'static str, usize, Scalar)>,
    },
    /// A related record or child list built as JSON by the database.
    Json {
        col: usize,
    },
    /// A related record read from columns of the same row: `present` (its
    /// id's column) is null when there is none.
    Joined {
        present: (usize, Scalar),
        outs: Vec<Out>,
    },
    /// A child list as an array of its records' arrays of values.
    Array {
        col: usize,
        plan: RowPlan,
    },
}

/// The statement and how to write its rows, for a read of one root list
/// or look-up on PostgreSQL; `None` for anything else.
pub(crate) fn compile(
    catalog: &Catalog,
    layout: &Layout,
    roots: &[(Name, Root<'_>)],
    constants: bool,
) -> Option<(Sql, RowPlan)> {
    if layout.backend != Backend::Postgres {
        return None;
    }
    let root = data_root(roots)?;
    let mut s = Statement::new(catalog, layout, constants);
    match root {
        Root::Get {
            object,
            id: Some(id),
            sel,
        } => {
            if !sel.computed.is_empty() {
                return None;
            }
            let alias = s.alias();
            let mut columns = Columns {
                at: 0,
                alias: &alias,
                as_json: false,
                joins: String::new(),
            };
            let (from, stored) = s.aside(|sql| {
                record_into(sql, catalog, layout, object, RowId::Value(id), &sel.stored).ok()
            })?;
            s.sql.push("SELECT ");
            let outs = columns.record(&mut s, sel, &stored)?;
            if columns.at == 0 {
                s.sql.push("1");
            }
            s.sql.push(" FROM (").push(&from).push(") ").push(&alias);
            s.sql.push(&columns.joins);
            Some((
                s.sql,
                RowPlan {
                    records: vec![outs],
                    limit: 1,
                    backward: false,
                },
            ))
        }
        Root::List {
            object,
            query,
            conn,
        } => {
            let plan = list(&mut s, object, query, conn, None)?;
            Some((s.sql, plan))
        }
        _ => None,
    }
}

/// A page of `object`'s records: the root list's rows (no `parent`), or
/// one parent's child list as a JSON array of arrays. Declines counts and
/// cursors.
fn list(
    s: &mut Statement<'_>,
    object: &ObjectDef,
    query: &ConnectionQuery,
    conn: &ConnSel<'_>,
    parent: Option<&ParentRow>,
) -> Option<RowPlan> {
    if query.computed.as_ref().is_some_and(|c| !c.is_empty()) {
        return None;
    }
    let more_asked = rows_shape(conn, query.backward())?;
    let (catalog, layout) = (s.catalog, s.layout);
    // One record more than the page tells whether more exist, when asked.
    let (page_text, page) =
        s.aside(|sql| page_into(sql, catalog, layout, object, query, parent, more_asked).ok())?;
    let alias = s.alias();
    let mut columns = Columns {
        at: 0,
        alias: &alias,
        as_json: parent.is_some(),
        joins: String::new(),
    };
    // A child list is an array built from its page in the page's order:
    // `ARRAY(… ORDER BY)` keeps the order the page was sorted in, where an
    // aggregate's own `ORDER BY` sorts it again (PostgreSQL 15), and that
    // second sort's memory, per list and per request, was enough to make
    // some backends give their heap back after every statement
    // (docs/performance.md, "Decisions that hold").
    s.sql.push(match parent {
        None => "SELECT ",
        Some(_) => "array_to_json(ARRAY(SELECT json_build_array(",
    });
    let mut records = Vec::new();
    for (_, item) in &conn.items {
        match item {
            ConnItem::Nodes(sel) => records.push(columns.record(s, sel, &page.columns)?),
            ConnItem::Edges(edge) => {
                for (_, e) in edge {
                    if let EdgeItem::Node(sel) = e {
                        records.push(columns.record(s, sel, &page.columns)?);
                    }
                }
            }
            _ => {}
        }
    }
    let order = order_by(&alias, &page.keys);
    match parent {
        None => {
            if columns.at == 0 {
                s.sql.push("1");
            }
            s.sql
                .push(" FROM (")
                .push(&page_text)
                .push(") ")
                .push(&alias);
            s.sql.push(&columns.joins);
            s.sql.push(" ORDER BY ").push(&order);
        }
        Some(_) => {
            if columns.at > MAX_VALUES {
                return None;
            }
            s.sql
                .push(") FROM (")
                .push(&page_text)
                .push(") ")
                .push(&alias);
            s.sql.push(" ORDER BY ").push(&order).push("))");
        }
    }
    Some(RowPlan {
        records,
        limit: usize::try_from(page.limit).ok()?,
        backward: page.backward,
    })
}

/// Whether a connection reads as rows, and if so whether it asks if more
/// rows exist (`hasNextPage` forward, `hasPreviousPage` backward): `None`
/// for what rows cannot answer (cursors, counts) or a connection showing no
/// records.
fn rows_shape(conn: &ConnSel<'_>, backward: bool) -> Option<bool> {
    let (mut shows_records, mut more_asked) = (false, false);
    for (_, item) in &conn.items {
        match item {
            ConnItem::Typename => {}
            ConnItem::Nodes(_) => shows_records = true,
            ConnItem::Edges(edge) => {
                if edge.iter().any(|(_, e)| matches!(e, EdgeItem::Cursor)) {
                    return None;
                }
                shows_records = true;
            }
            ConnItem::PageInfo(info) => {
                for (_, i) in info {
                    match i {
                        Info::Start | Info::End => return None,
                        Info::HasNext if !backward => more_asked = true,
                        Info::HasPrevious if backward => more_asked = true,
                        _ => {}
                    }
                }
            }
            ConnItem::TotalCount => return None,
        }
    }
    shows_records.then_some(more_asked)
}

/// The select list under way (or a child array's values): how many
/// columns so far, over which table, and whether as JSON values.
struct Columns<'a> {
    at: usize,
    alias: &'a str,
    as_json: bool,
    /// `LEFT JOIN LATERAL`s of related records read as columns of the row,
    /// for the FROM that reads `alias`.
    joins: String,
}

impl Columns<'_> {
    fn push(&mut self, s: &mut Statement<'_>) -> usize {
        if self.at > 0 {
            s.sql.push(", ");
        }
        self.at += 1;
        self.at - 1
    }

    /// A stored column: as it is in a row, as the decoder's JSON value in
    /// an array.
    fn stored(&mut self, s: &mut Statement<'_>, c: &Column) -> Option<usize> {
        let col = self.push(s);
        let expr = format!("{}.\"{}\"", self.alias, c.name);
        match self.as_json {
            true => s.sql.push(&json_value(Backend::Postgres, &expr, c.scalar)?),
            false => s.sql.push(&expr),
        };
        Some(col)
    }

    /// The columns of one record selection over the table's `stored`
    /// columns.
    fn record(
        &mut self,
        s: &mut Statement<'_>,
        sel: &RecordSel<'_>,
        stored: &[Column],
    ) -> Option<Vec<Out>> {
        if !sel.computed.is_empty() {
            return None;
        }
        let column = |key: &str| stored.iter().find(|c| c.key == key && c.part.is_none());
        let mut outs = Vec::with_capacity(sel.items.len());
        for (_, item) in &sel.items {
            outs.push(match item {
                Item::Typename => Out::Plan,
                Item::Value { key, masked, .. } => {
                    let c = column(key).filter(|_| !masked && !sealed(sel.object, key))?;
                    Out::Value {
                        col: self.stored(s, c)?,
                        scalar: c.scalar,
                    }
                }
                Item::Members { key, .. } => {
                    let mut parts = Vec::new();
                    for c in stored.iter().filter(|c| c.key == *key) {
                        parts.push((c.part?, self.stored(s, c)?, c.scalar));
                    }
                    if parts.is_empty() {
                        return None;
                    }
                    Out::Members { parts }
                }
                Item::CreatedBy(_) => return None,
                Item::ToOne { id_key, sel, .. } => {
                    let id = format!("{}.\"{}\"", self.alias, column(id_key)?.name);
                    // In a row, a related record's values are columns of
                    // the row too, from a lateral join: no JSON built for it.
                    if !self.as_json {
                        self.joined(s, sel, &id)?
                    } else {
                        let col = self.push(s);
                        s.lookup(sel.object, RowId::Expr(&id), sel)?;
                        Out::Json { col }
                    }
                }
                Item::List {
                    field, query, conn, ..
                } => {
                    let col = self.push(s);
                    let out = match self.child_array(s, sel.object, field, query, conn) {
                        Some(plan) => Out::Array { col, plan },
                        None => {
                            s.child_list(sel.object, self.alias, field, query, conn)?;
                            Out::Json { col }
                        }
                    };
                    // JSON built by the database: text in a row, JSON in
                    // an array.
                    if !self.as_json {
                        s.sql.push("::text");
                    }
                    out
                }
            });
        }
        Some(outs)
    }

    /// A related record (or none) whose id is `id`, as columns of the row
    /// from a `LEFT JOIN LATERAL` of its look-up; its id's column tells
    /// whether there is one.
    fn joined(&mut self, s: &mut Statement<'_>, sel: &RecordSel<'_>, id: &str) -> Option<Out> {
        if !sel.computed.is_empty() {
            return None;
        }
        let (catalog, layout) = (s.catalog, s.layout);
        let (from, stored) = s.aside(|sql| {
            record_into(
                sql,
                catalog,
                layout,
                sel.object,
                RowId::Expr(id),
                &sel.stored,
            )
            .ok()
        })?;
        let alias = s.alias();
        let key = stored.iter().find(|c| c.key == "id" && c.part.is_none())?;
        let mut inner = Columns {
            at: self.at,
            alias: &alias,
            as_json: false,
            joins: String::new(),
        };
        let present = (inner.stored(s, key)?, key.scalar);
        let outs = inner.record(s, sel, &stored)?;
        self.at = inner.at;
        self.joins
            .push_str(&format!(" LEFT JOIN LATERAL ({from}) {alias} ON true"));
        self.joins.push_str(&inner.joins);
        Some(Out::Joined { present, outs })
    }

    /// One parent's child list through `field` as an array of arrays,
    /// written at the end of the statement's text; `None`, with nothing
    /// written, where the arrays cannot carry it.
    fn child_array(
        &self,
        s: &mut Statement<'_>,
        parent_object: &ObjectDef,
        field: &str,
        query: &ConnectionQuery,
        conn: &ConnSel<'_>,
    ) -> Option<RowPlan> {
        let def = parent_object.field(field)?;
        let (link, child) = ChildLink::of(s.catalog, s.layout, parent_object, def)?;
        let child = s.catalog.object(&child)?;
        let id = format!("{}.\"id\"", self.alias);
        let parent = ParentRow {
            link: &link,
            id_expr: &id,
        };
        let (text, params) = (s.sql.text.len(), s.sql.params.len());
        let plan = list(s, child, query, conn, Some(&parent));
        if plan.is_none() {
            s.sql.text.truncate(text);
            s.sql.params.truncate(params);
        }
        plan
    }
}

/// The one root field that reads records, beside any `__typename`s.
fn data_root<'r, 'c>(roots: &'r [(Name, Root<'c>)]) -> Option<&'r Root<'c>> {
    let mut reading = roots.iter().filter(|(_, r)| !matches!(r, Root::Typename));
    let (_, root) = reading.next()?;
    reading.next().is_none().then_some(root)
}
