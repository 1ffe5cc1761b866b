//! The response's JSON, written from the rows of [`super::compile`]'s
//! statement and the child arrays in them, with the checks the full
//! executor makes (non-null fields, enum values): a value it would reject
//! makes [`write`] answer `None`, and the full executor then answers.

use async_graphql::Name;
use rapport_meta::SelectOption;
use rapport_query::{ConnectionQuery, Scalar};
use rapport_store::{Cell, Rows};
use serde_json::Value;

use super::super::plan::{ConnItem, ConnSel, EdgeItem, Info, Item, Member, RecordSel, Root};
use super::super::statement::REJECTED;
use super::super::write;
use super::arrays;
use super::{Out, RowPlan};

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

/// One record's values: a row of the statement's result, or one record's
/// array in a child list.
#[derive(Clone, Copy)]
enum Row<'a> {
    Db(usize),
    Array(&'a [&'a str]),
}

/// One value as read: decoded from a row, or JSON as the database wrote
/// it in an array.
enum Got<'a> {
    Cell(Cell<'a>),
    Raw(&'a str),
}

impl<'a> Got<'a> {
    fn read(rows: &'a Rows, row: Row<'a>, col: usize, scalar: Scalar) -> Option<Got<'a>> {
        match row {
            Row::Db(row) => rows.cell(row, col, scalar).ok().map(Got::Cell),
            Row::Array(values) => values.get(col).map(|v| Got::Raw(v)),
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Got::Cell(cell) => *cell == Cell::Null,
            Got::Raw(raw) => *raw == "null",
        }
    }

    /// Whether the value (or each item of a multi-select's list) is one of
    /// `options`, as the schema's enum types require.
    fn fits(&self, options: &[SelectOption]) -> bool {
        let known = |s: &str| options.iter().any(|o| o.value == s);
        let fits = |v: &Value| match v {
            Value::Null => true,
            Value::String(s) => known(s),
            Value::Array(items) => items.iter().all(|x| x.as_str().is_some_and(known)),
            _ => false,
        };
        match self {
            Got::Cell(Cell::Null) => true,
            Got::Cell(Cell::Str(s)) => known(s),
            Got::Cell(Cell::String(s)) => known(s),
            Got::Cell(Cell::Value(v)) => fits(v),
            Got::Cell(Cell::Uuid(u)) => known(&u.to_string()),
            // A string as written, unless it has escapes: no allocation.
            Got::Raw(raw) if raw.starts_with('"') => match serde_json::from_str::<&str>(raw) {
                Ok(s) => known(s),
                Err(_) => serde_json::from_str::<String>(raw).is_ok_and(|s| known(&s)),
            },
            Got::Raw(raw) => serde_json::from_str(raw).is_ok_and(|v| fits(&v)),
        }
    }
}

/// JSON the database built (a related record, a child list), as text.
/// The rejection mark in it, anywhere, sends the request to the full
/// executor; arrays are checked whole, as their row's column.
fn json_text<'a>(rows: &'a Rows, row: Row<'a>, col: usize) -> Option<Option<&'a str>> {
    match row {
        Row::Db(row) => match rows.text(row, col).ok()? {
            Some(text) if text.contains(REJECTED) => None,
            text => Some(text),
        },
        Row::Array(values) => Some(Some(values.get(col)?)),
    }
}

struct Writer<'r> {
    out: Vec<u8>,
    rows: &'r Rows,
}

impl Writer<'_> {
    fn root(&mut self, root: &Root<'_>, plan: &RowPlan) -> Option<()> {
        match root {
            Root::Get { .. } if self.rows.is_empty() => self.out.extend_from_slice(b"null"),
            Root::Get { sel, .. } => self.record(sel, plan.records.first()?, Row::Db(0))?,
            Root::List { query, conn, .. } => {
                let fetched: Vec<Row<'_>> = (0..self.rows.len()).map(Row::Db).collect();
                self.conn(query, conn, plan, &fetched)?;
            }
            Root::Typename => self.string("Query"),
        }
        Some(())
    }

    /// A list: the first `limit` of the `fetched` records, in the order
    /// asked.
    fn conn(
        &mut self,
        query: &ConnectionQuery,
        conn: &ConnSel<'_>,
        plan: &RowPlan,
        fetched: &[Row<'_>],
    ) -> Option<()> {
        let more = fetched.len() > plan.limit;
        let shown = &fetched[..fetched.len().min(plan.limit)];
        let reversed: Vec<Row<'_>>;
        let shown = match plan.backward {
            true => {
                reversed = shown.iter().rev().copied().collect();
                &reversed[..]
            }
            false => shown,
        };
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
                    self.list(shown, |w, row| w.record(sel, outs, row))?;
                }
                ConnItem::Edges(edge) => {
                    let outs: Vec<&Vec<Out>> = edge
                        .iter()
                        .filter(|(_, e)| matches!(e, EdgeItem::Node(_)))
                        .map(|_| records.next())
                        .collect::<Option<_>>()?;
                    let edge_type = conn.edge_type_name();
                    self.list(shown, |w, row| w.edge(edge, &edge_type, &outs, row))?;
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
        row: Row<'_>,
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

    fn value(&mut self, got: &Got<'_>) {
        match got {
            Got::Cell(Cell::Null) => self.out.extend_from_slice(b"null"),
            Got::Cell(Cell::Str(s)) => self.string(s),
            Got::Cell(Cell::String(s)) => self.string(s),
            Got::Cell(Cell::Value(v)) => {
                let _ = serde_json::to_writer(&mut self.out, v);
            }
            Got::Cell(Cell::Uuid(u)) => {
                // Hex digits and hyphens: nothing to escape.
                let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
                self.out.push(b'"');
                self.out
                    .extend_from_slice(u.hyphenated().encode_lower(&mut text).as_bytes());
                self.out.push(b'"');
            }
            Got::Raw(raw) => self.out.extend_from_slice(raw.as_bytes()),
        }
    }

    fn list<'a>(
        &mut self,
        rows: &[Row<'a>],
        mut each: impl FnMut(&mut Self, Row<'a>) -> Option<()>,
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

    fn record(&mut self, sel: &RecordSel<'_>, outs: &[Out], row: Row<'_>) -> Option<()> {
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
                    let got = Got::read(rows, row, *col, *scalar)?;
                    if (*required && got.is_null()) || options.is_some_and(|o| !got.fits(o)) {
                        return None;
                    }
                    self.value(&got);
                }
                (Item::Members { members, .. }, Out::Members { parts }) => {
                    let got: Vec<Got<'_>> = parts
                        .iter()
                        .map(|(_, col, scalar)| Got::read(rows, row, *col, *scalar))
                        .collect::<Option<_>>()?;
                    // A composite whose parts are all null is itself null.
                    if got.iter().all(Got::is_null) {
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
                                match at.map(|at| &got[at]) {
                                    None if *required => return None,
                                    Some(value) if *required && value.is_null() => return None,
                                    None => self.out.extend_from_slice(b"null"),
                                    Some(value) => self.value(value),
                                }
                            }
                        }
                    }
                    self.out.push(b'}');
                }
                (Item::ToOne { .. } | Item::List { .. }, Out::Json { col }) => {
                    let json = json_text(rows, row, *col)?.unwrap_or("null");
                    self.out.extend_from_slice(json.as_bytes());
                }
                (Item::ToOne { sel, .. }, Out::Joined { present, outs }) => {
                    match Got::read(rows, row, present.0, present.1)?.is_null() {
                        true => self.out.extend_from_slice(b"null"),
                        false => self.record(sel, outs, row)?,
                    }
                }
                (Item::List { query, conn, .. }, Out::Array { col, plan }) => {
                    let json = json_text(rows, row, *col)?.unwrap_or("null");
                    // `ARRAY` of no rows is `[]`; a NULL reads as none too.
                    let records = arrays::split(json)?;
                    let fetched: Vec<Row<'_>> = (0..records.len())
                        .map(|i| Row::Array(records.get(i)))
                        .collect();
                    self.conn(query, conn, plan, &fetched)?;
                }
                _ => return None,
            }
        }
        self.out.push(b'}');
        Some(())
    }
}
