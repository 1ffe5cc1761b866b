//! A read of one root field (a list, or a record by id) on PostgreSQL: the
//! statement returns the root records as rows of their stored columns, and
//! the server writes them as JSON; only their child lists and related
//! records are built as JSON by the database, in sub-queries as in
//! [`super::statement`].
//!
//! Why: PostgreSQL's JSON functions look up each value's type on every call
//! (`json_agg` of a row, `to_json`), which made Q1's statement twice as
//! costly to the database as the same rows returned plainly (`pgbench`:
//! 0.36 against 0.17 ms); writing fifty records from their rows costs the
//! server a few microseconds. Anything else (several root fields, counts,
//! cursors) goes to [`super::statement`].

use async_graphql::Name;
use rapport_meta::{Catalog, ObjectDef};
use rapport_query::{
    Backend, Column, ConnectionQuery, Layout, RowId, Scalar, Sql, page_into, record_into,
};
use rapport_store::{Cell, Rows};
use serde_json::Value;

use super::plan::{ConnItem, ConnSel, EdgeItem, Info, Item, Member, RecordSel, Root};
use super::statement::{REJECTED, Statement, order_by, sealed};
use super::write;

/// How to write the rows back: per record selection of the root (a
/// look-up's, or each `nodes` and `edges { node }` of a list, in the
/// order of the plan), where each of its items is.
pub(crate) struct RowPlan {
    records: Vec<Vec<Out>>,
    /// A list's page size and direction; one row more than `limit` tells
    /// that more exist.
    limit: usize,
    backward: bool,
}

/// Where one item of a record selection is in a row.
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
    /// A child list or related record, as JSON text.
    Json {
        col: usize,
    },
}

/// The statement and how to write its rows, for a read of one root list
/// or look-up on PostgreSQL; `None` for anything else.
pub(crate) fn compile(
    catalog: &Catalog,
    layout: &Layout,
    roots: &[(Name, Root<'_>)],
) -> Option<(Sql, RowPlan)> {
    if layout.backend != Backend::Postgres {
        return None;
    }
    let root = data_root(roots)?;
    let mut s = Statement::new(catalog, layout);
    let alias = s.alias();
    let mut columns = Columns {
        at: 0,
        alias: &alias,
    };
    match root {
        Root::Get {
            object,
            id: Some(id),
            sel,
        } => {
            if !sel.computed.is_empty() {
                return None;
            }
            let (from, stored) = s.aside(|sql| {
                record_into(sql, catalog, layout, object, RowId::Value(id), &sel.stored).ok()
            })?;
            s.sql.push("SELECT ");
            let outs = columns.record(&mut s, sel, &stored)?;
            if columns.at == 0 {
                s.sql.push("1");
            }
            s.sql.push(" FROM (").push(&from).push(") ").push(&alias);
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
            let plan = list(&mut s, &mut columns, (catalog, layout), object, query, conn)?;
            Some((s.sql, plan))
        }
        _ => None,
    }
}

fn list(
    s: &mut Statement<'_>,
    columns: &mut Columns<'_>,
    (catalog, layout): (&Catalog, &Layout),
    object: &ObjectDef,
    query: &ConnectionQuery,
    conn: &ConnSel<'_>,
) -> Option<RowPlan> {
    if query.computed.as_ref().is_some_and(|c| !c.is_empty()) {
        return None;
    }
    let backward = query.backward();
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
    if !shows_records {
        return None;
    }
    // One row more than the page tells whether more exist, when asked.
    let (page_text, page) =
        s.aside(|sql| page_into(sql, catalog, layout, object, query, None, more_asked).ok())?;
    s.sql.push("SELECT ");
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
    if columns.at == 0 {
        s.sql.push("1");
    }
    s.sql
        .push(" FROM (")
        .push(&page_text)
        .push(") ")
        .push(columns.alias)
        .push(" ORDER BY ")
        .push(&order_by(columns.alias, &page.keys));
    Some(RowPlan {
        records,
        limit: usize::try_from(page.limit).ok()?,
        backward: page.backward,
    })
}

/// The select list under way: how many columns so far, over which table.
struct Columns<'a> {
    at: usize,
    alias: &'a str,
}

impl Columns<'_> {
    fn push(&mut self, s: &mut Statement<'_>) -> usize {
        if self.at > 0 {
            s.sql.push(", ");
        }
        self.at += 1;
        self.at - 1
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
        let alias = self.alias;
        let column = |key: &str| stored.iter().find(|c| c.key == key && c.part.is_none());
        let mut outs = Vec::with_capacity(sel.items.len());
        for (_, item) in &sel.items {
            outs.push(match item {
                Item::Typename => Out::Plan,
                Item::Value { key, .. } => {
                    let c = column(key).filter(|_| !sealed(sel.object, key))?;
                    let col = self.push(s);
                    s.sql.push(&format!("{alias}.\"{}\"", c.name));
                    Out::Value {
                        col,
                        scalar: c.scalar,
                    }
                }
                Item::Members { key, .. } => {
                    let mut parts = Vec::new();
                    for c in stored.iter().filter(|c| c.key == *key) {
                        let col = self.push(s);
                        s.sql.push(&format!("{alias}.\"{}\"", c.name));
                        parts.push((c.part?, col, c.scalar));
                    }
                    if parts.is_empty() {
                        return None;
                    }
                    Out::Members { parts }
                }
                Item::CreatedBy(_) => return None,
                Item::ToOne { id_key, sel, .. } => {
                    let id = format!("{alias}.\"{}\"", column(id_key)?.name);
                    let col = self.push(s);
                    s.lookup(sel.object, RowId::Expr(&id), sel)?;
                    s.sql.push("::text");
                    Out::Json { col }
                }
                Item::List {
                    field, query, conn, ..
                } => {
                    let col = self.push(s);
                    s.child_list(sel.object, alias, field, query, conn)?;
                    s.sql.push("::text");
                    Out::Json { col }
                }
            });
        }
        Some(outs)
    }
}

/// The one root field that reads records, beside any `__typename`s.
fn data_root<'r, 'c>(roots: &'r [(Name, Root<'c>)]) -> Option<&'r Root<'c>> {
    let mut reading = roots.iter().filter(|(_, r)| !matches!(r, Root::Typename));
    let (_, root) = reading.next()?;
    reading.next().is_none().then_some(root)
}

/// The response written from `rows`; `None` where the full executor must
/// answer (a value it would reject, a row that cannot be read).
pub(crate) fn write(roots: &[(Name, Root<'_>)], plan: &RowPlan, rows: &Rows) -> Option<String> {
    let mut w = Writer {
        out: Vec::with_capacity(256 + 128 * rows.len()),
        rows,
    };
    w.out.extend_from_slice(b"{\"data\":{");
    for (i, (key, root)) in roots.iter().enumerate() {
        w.key(i, key);
        w.root(root, plan)?;
    }
    w.out.extend_from_slice(b"}}");
    String::from_utf8(w.out).ok()
}

struct Writer<'r> {
    out: Vec<u8>,
    rows: &'r Rows,
}

impl Writer<'_> {
    fn root(&mut self, root: &Root<'_>, plan: &RowPlan) -> Option<()> {
        match root {
            Root::Get { .. } if self.rows.is_empty() => self.out.extend_from_slice(b"null"),
            Root::Get { sel, .. } => self.record(sel, plan.records.first()?, 0)?,
            Root::List { query, conn, .. } => self.conn(query, conn, plan)?,
            Root::Typename => self.string("Query"),
        }
        Some(())
    }

    /// A root list: its first `limit` rows, in the order asked.
    fn conn(&mut self, query: &ConnectionQuery, conn: &ConnSel<'_>, plan: &RowPlan) -> Option<()> {
        let fetched = self.rows.len();
        let more = fetched > plan.limit;
        let mut shown: Vec<usize> = (0..fetched.min(plan.limit)).collect();
        if plan.backward {
            shown.reverse();
        }
        let (has_next, has_previous) = match plan.backward {
            true => (query.before.is_some(), more),
            false => (more, query.after.is_some()),
        };
        let mut records = plan.records.iter();
        self.out.push(b'{');
        for (i, (key, item)) in conn.items.iter().enumerate() {
            self.key(i, key);
            match item {
                ConnItem::Typename => self.string(&conn.type_name),
                ConnItem::Nodes(sel) => {
                    let outs = records.next()?;
                    self.list(&shown, |w, row| w.record(sel, outs, row))?;
                }
                ConnItem::Edges(edge) => {
                    let outs: Vec<&Vec<Out>> = edge
                        .iter()
                        .filter(|(_, e)| matches!(e, EdgeItem::Node(_)))
                        .map(|_| records.next())
                        .collect::<Option<_>>()?;
                    let edge_type = conn.edge_type_name();
                    self.list(&shown, |w, row| w.edge(edge, &edge_type, &outs, row))?;
                }
                ConnItem::PageInfo(info) => {
                    self.out.push(b'{');
                    for (i, (key, part)) in info.iter().enumerate() {
                        self.key(i, key);
                        match part {
                            Info::Typename => self.string("PageInfo"),
                            Info::HasNext => self.boolean(has_next),
                            Info::HasPrevious => self.boolean(has_previous),
                            Info::Start | Info::End => return None,
                        }
                    }
                    self.out.push(b'}');
                }
                ConnItem::TotalCount => return None,
            }
        }
        self.out.push(b'}');
        Some(())
    }

    /// One edge: its type name and node(s); `outs` has one entry per node.
    fn edge(
        &mut self,
        edge: &[(Name, EdgeItem<'_>)],
        edge_type: &str,
        outs: &[&Vec<Out>],
        row: usize,
    ) -> Option<()> {
        self.out.push(b'{');
        let mut nodes = outs.iter();
        for (i, (key, e)) in edge.iter().enumerate() {
            self.key(i, key);
            match e {
                EdgeItem::Typename => self.string(edge_type),
                EdgeItem::Node(sel) => self.record(sel, nodes.next()?, row)?,
                EdgeItem::Cursor => return None,
            }
        }
        self.out.push(b'}');
        Some(())
    }

    fn key(&mut self, i: usize, key: &str) {
        write::key_into(&mut self.out, i, key);
    }

    fn string(&mut self, s: &str) {
        write::string(&mut self.out, s);
    }

    fn boolean(&mut self, b: bool) {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
    }

    fn cell(&mut self, cell: &Cell<'_>) {
        match cell {
            Cell::Null => self.out.extend_from_slice(b"null"),
            Cell::Str(s) => self.string(s),
            Cell::String(s) => self.string(s),
            Cell::Value(v) => {
                let _ = serde_json::to_writer(&mut self.out, v);
            }
        }
    }

    fn list(
        &mut self,
        rows: &[usize],
        mut each: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        self.out.push(b'[');
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            each(self, *row)?;
        }
        self.out.push(b']');
        Some(())
    }

    fn record(&mut self, sel: &RecordSel<'_>, outs: &[Out], row: usize) -> Option<()> {
        let rows = self.rows;
        self.out.push(b'{');
        for (i, ((key, item), out)) in sel.items.iter().zip(outs).enumerate() {
            self.key(i, key);
            match (item, out) {
                (Item::Typename, _) => self.string(&sel.type_name),
                (
                    Item::Value {
                        required, options, ..
                    },
                    Out::Value { col, scalar },
                ) => {
                    let cell = rows.cell(row, *col, *scalar).ok()?;
                    if cell == Cell::Null && *required {
                        return None;
                    }
                    if let Some(options) = options {
                        let known = |s: &str| options.iter().any(|o| o.value == s);
                        let fits = match &cell {
                            Cell::Null => true,
                            Cell::Str(s) => known(s),
                            Cell::String(s) => known(s),
                            Cell::Value(Value::Array(items)) => {
                                items.iter().all(|x| x.as_str().is_some_and(&known))
                            }
                            Cell::Value(_) => false,
                        };
                        if !fits {
                            return None;
                        }
                    }
                    self.cell(&cell);
                }
                (Item::Members { members, .. }, Out::Members { parts }) => {
                    let cells: Vec<Cell<'_>> = parts
                        .iter()
                        .map(|(_, col, scalar)| rows.cell(row, *col, *scalar).ok())
                        .collect::<Option<_>>()?;
                    // A composite whose parts are all null is itself null.
                    if cells.iter().all(|c| *c == Cell::Null) {
                        self.out.extend_from_slice(b"null");
                        continue;
                    }
                    self.out.push(b'{');
                    for (i, (key, member)) in members.iter().enumerate() {
                        self.key(i, key);
                        match member {
                            Member::Typename(t) => self.string(t),
                            Member::Part { key, required } => {
                                let at = parts.iter().position(|(p, _, _)| p == key);
                                match at.map(|at| &cells[at]) {
                                    None | Some(Cell::Null) if *required => return None,
                                    None => self.out.extend_from_slice(b"null"),
                                    Some(cell) => self.cell(cell),
                                }
                            }
                        }
                    }
                    self.out.push(b'}');
                }
                (Item::ToOne { .. } | Item::List { .. }, Out::Json { col }) => {
                    match rows.text(row, *col).ok()? {
                        Some(json) if json.contains(REJECTED) => return None,
                        Some(json) => self.out.extend_from_slice(json.as_bytes()),
                        None => self.out.extend_from_slice(b"null"),
                    }
                }
                _ => return None,
            }
        }
        self.out.push(b'}');
        Some(())
    }
}
