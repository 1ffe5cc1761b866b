//! One statement for a whole plain read: the database writes the response's
//! JSON, child lists and related records included, so such a read costs
//! one round trip and no decoding of rows. The statement is made of the
//! same pages, counts and look-ups as the other paths (filters, orderings,
//! record scopes and soft deletes alike), nested as correlated sub-queries.
//!
//! [`compile`] declines (`None`) what it cannot write to the character as
//! the store's decoder would: computed fields, sealed values, cursors,
//! `createdBy`, floats on SQLite, response keys over 63 bytes on
//! PostgreSQL. The fetch path then answers.

use async_graphql::Name;
use rapport_meta::{Catalog, FieldType, ObjectDef};
use rapport_query::{
    Backend, ChildLink, Column, ConnectionQuery, Layout, OrderKey, PageSelect, ParentRow, RowId,
    Scalar, Sql, count_into, json_value, page_into, record_into,
};

use super::plan::{ConnItem, ConnSel, EdgeItem, Info, Item, Member, RecordSel, Root};

/// Found in the response where a value is one the full executor would
/// reject (a null in a non-null field, a value outside its enum), so that
/// it answers instead. No stored text holds it unescaped: PostgreSQL text
/// cannot hold NUL, and a backslash in a value is written `\\`.
pub(crate) const REJECTED: &str = "\\u0000";

/// PostgreSQL takes at most 100 arguments per function call.
const MAX_PAIRS: usize = 50;

/// The statement answering `roots`, over `layout`'s tables and scopes;
/// with `constants`, the values the document gives are written into its
/// text ([`Sql::constants`]).
pub(crate) fn compile(
    catalog: &Catalog,
    layout: &Layout,
    roots: &[(Name, Root<'_>)],
    constants: bool,
) -> Option<Sql> {
    let mut s = Statement::new(catalog, layout, constants);
    // Nothing to read: the fetch path writes it without a statement.
    if roots
        .iter()
        .all(|(_, r)| matches!(r, Root::Typename | Root::Get { id: None, .. }))
    {
        return None;
    }
    s.sql.push("SELECT ");
    s.object(roots.len())?;
    for (i, (key, root)) in roots.iter().enumerate() {
        s.key(i, key);
        match root {
            Root::Typename => s.text("Query"),
            Root::Get { id: None, .. } => {
                s.sql.push("NULL");
            }
            Root::Get {
                object,
                id: Some(id),
                sel,
            } => s.lookup(object, RowId::Value(id), sel)?,
            Root::List {
                object,
                query,
                conn,
            } => s.list(object, query, conn, None)?,
        }
    }
    s.sql.push(if s.pg { ")::text" } else { ")" });
    Some(s.sql)
}

pub(super) struct Statement<'a> {
    pub(super) catalog: &'a Catalog,
    pub(super) layout: &'a Layout,
    pg: bool,
    pub(super) sql: Sql,
    aliases: usize,
    /// Lateral row aliases (`__v1`…) handed out so far.
    rows: usize,
}

impl<'a> Statement<'a> {
    pub(super) fn new(catalog: &'a Catalog, layout: &'a Layout, constants: bool) -> Self {
        Statement {
            catalog,
            layout,
            pg: layout.backend == Backend::Postgres,
            sql: match constants {
                true => Sql::constants(layout.backend),
                false => Sql::new(layout.backend),
            },
            aliases: 0,
            rows: 0,
        }
    }

    /// A fresh alias for a derived table; `t0`, `o1`… belong to the pages.
    pub(super) fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("\"__j{}\"", self.aliases)
    }

    /// Opens a JSON object of `pairs` key–value pairs.
    fn object(&mut self, pairs: usize) -> Option<()> {
        if pairs > MAX_PAIRS {
            return None;
        }
        self.sql.push(if self.pg {
            "json_build_object("
        } else {
            "json_object("
        });
        Some(())
    }

    fn key(&mut self, i: usize, key: &str) {
        if i > 0 {
            self.sql.push(", ");
        }
        // GraphQL names are [_A-Za-z][_0-9A-Za-z]*: nothing to escape.
        self.sql.push("'").push(key).push("', ");
    }

    /// A constant string (type names).
    fn text(&mut self, s: &str) {
        self.sql
            .push("'")
            .push(s)
            .push(if self.pg { "'::text" } else { "'" });
    }

    fn boolean(&mut self, b: bool) {
        self.sql.push(match (self.pg, b) {
            (true, true) => "true",
            (true, false) => "false",
            (false, true) => "json('true')",
            (false, false) => "json('false')",
        });
    }

    /// The JSON of a sub-query's result: SQLite drops the JSON subtype of
    /// values leaving a sub-query, so they are re-read as JSON.
    fn open_subquery(&mut self) {
        self.sql
            .push(if self.pg { "(SELECT " } else { "json((SELECT " });
    }

    /// Ends a sub-query reading derived table `from` as `alias`, joined
    /// with the `laterals` its records need.
    fn close_subquery(&mut self, from: &str, alias: &str, laterals: &str) {
        self.sql.push(" FROM (").push(from).push(") ").push(alias);
        self.sql.push(laterals);
        self.sql.push(if self.pg { ")" } else { "))" });
    }

    /// Text written aside (a derived table, written after the select list
    /// that needs its columns); parameters are numbered, so order is free.
    pub(super) fn aside<T>(
        &mut self,
        write: impl FnOnce(&mut Sql) -> Option<T>,
    ) -> Option<(String, T)> {
        let outer = std::mem::take(&mut self.sql.text);
        let done = write(&mut self.sql);
        let aside = std::mem::replace(&mut self.sql.text, outer);
        done.map(|t| (aside, t))
    }

    /// A value as JSON that may be replaced by the rejection mark.
    fn as_json(&self, value: String) -> String {
        if self.pg {
            format!("to_json({value})")
        } else {
            value
        }
    }

    fn rejected(&self) -> &'static str {
        if self.pg {
            "'\"\\u0000\"'::json"
        } else {
            "char(0)"
        }
    }

    /// Whether an enum value (or every item of a multi-select's list) is
    /// one of `known`, as the schema's enum types require.
    fn among(&self, expr: &str, scalar: Scalar, known: &[&str]) -> Option<String> {
        let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let list: Vec<String> = known.iter().map(|k| literal(k)).collect();
        let list = list.join(", ");
        Some(match (scalar, self.pg) {
            (Scalar::Text, _) => format!("{expr} IS NULL OR {expr} IN ({list})"),
            (Scalar::Json, true) => {
                let array = serde_json::to_string(known).ok()?;
                format!("{expr} IS NULL OR {expr} <@ {}::jsonb", literal(&array))
            }
            (Scalar::Json, false) => format!(
                "{expr} IS NULL OR NOT EXISTS (SELECT 1 FROM json_each({expr}) WHERE type <> 'text' OR value NOT IN ({list}))"
            ),
            _ => return None,
        })
    }

    /// One live record (or null) of `object`.
    pub(super) fn lookup(
        &mut self,
        object: &ObjectDef,
        id: RowId,
        sel: &RecordSel<'_>,
    ) -> Option<()> {
        if !sel.computed.is_empty() {
            return None;
        }
        let alias = self.alias();
        let (catalog, layout) = (self.catalog, self.layout);
        let (from, columns) =
            self.aside(|sql| record_into(sql, catalog, layout, object, id, &sel.stored).ok())?;
        self.open_subquery();
        let lateral = self.record(sel, &alias, &columns, false)?;
        self.close_subquery(&from, &alias, &lateral);
        Some(())
    }

    /// A record's JSON from the columns of derived table `alias`. Returns
    /// the lateral clauses (see [`Statement::open_row`]) for the FROM that
    /// reads `alias`. `bare`: see [`Statement::close_row`].
    fn record(
        &mut self,
        sel: &RecordSel<'_>,
        alias: &str,
        columns: &[Column],
        bare: bool,
    ) -> Option<String> {
        let mut laterals = String::new();
        let open = self.open_row(sel.items.len())?;
        for (i, (key, item)) in sel.items.iter().enumerate() {
            self.entry(i, key)?;
            self.item(sel, alias, columns, item, &mut laterals)?;
            self.entry_end(key);
        }
        laterals.push_str(&self.close_row(open, bare));
        Some(laterals)
    }

    /// Opens a JSON object of `pairs` entries. On PostgreSQL it is a
    /// lateral row of the values named by their keys, which `to_json`
    /// writes as an object for much less than `json_build_object` costs
    /// per call (its variadic arguments are typed anew for every row): the
    /// entries are written aside, and [`Statement::close_row`] returns the
    /// `CROSS JOIN LATERAL` clause for the FROM of the rows they read.
    /// SQLite builds a `json_object` in place.
    fn open_row(&mut self, pairs: usize) -> Option<Option<String>> {
        if !self.pg {
            self.object(pairs)?;
            return Some(None);
        }
        let outer = std::mem::take(&mut self.sql.text);
        self.sql.push("SELECT ");
        Some(Some(outer))
    }

    /// Starts entry `i` of an object opened by [`Statement::open_row`].
    fn entry(&mut self, i: usize, key: &str) -> Option<()> {
        if !self.pg {
            self.key(i, key);
            return Some(());
        }
        // Longer names would be cut to PostgreSQL's 63-byte identifiers.
        if key.len() > 63 {
            return None;
        }
        if i > 0 {
            self.sql.push(", ");
        }
        Some(())
    }

    fn entry_end(&mut self, key: &str) {
        if self.pg {
            // GraphQL names are [_A-Za-z][_0-9A-Za-z]*: nothing to escape.
            self.sql.push(" AS \"").push(key).push("\"");
        }
    }

    /// Ends an object: writes its JSON where it was opened and returns the
    /// lateral clause it needs (none on SQLite). A `bare` row is left for
    /// the JSON function around it (`json_agg`, `json_build_object`) to
    /// write, which spares a `to_json` per row.
    fn close_row(&mut self, open: Option<String>, bare: bool) -> String {
        let Some(outer) = open else {
            self.sql.push(")");
            return String::new();
        };
        self.rows += 1;
        let row = format!("\"__v{}\"", self.rows);
        let select = std::mem::replace(&mut self.sql.text, outer);
        match bare {
            true => self.sql.push(&row),
            false => self.sql.push("to_json(").push(&row).push(")"),
        };
        format!(" CROSS JOIN LATERAL ({select}) {row}")
    }

    /// The JSON of one item of a record read from derived table `alias`.
    fn item(
        &mut self,
        sel: &RecordSel<'_>,
        alias: &str,
        columns: &[Column],
        item: &Item<'_>,
        laterals: &mut String,
    ) -> Option<()> {
        let column = |key: &str| columns.iter().find(|c| c.key == key && c.part.is_none());
        match item {
            Item::Typename => self.text(&sel.type_name),
            Item::Value {
                key,
                required,
                options,
                masked,
            } => {
                // Masking is the server's: the fetch path writes those.
                let col = column(key).filter(|_| !masked && !sealed(sel.object, key))?;
                let written = self.checked_value(alias, col, *required, *options)?;
                self.sql.push(&written);
            }
            Item::Members { key, members } => {
                let parts: Vec<&Column> = columns
                    .iter()
                    .filter(|c| c.key == *key && c.part.is_some())
                    .collect();
                if parts.is_empty() {
                    return None;
                }
                // A composite whose parts are all null is itself null.
                self.sql.push("CASE WHEN ");
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        self.sql.push(" AND ");
                    }
                    self.sql.push(&format!("{alias}.\"{}\" IS NULL", p.name));
                }
                self.sql.push(" THEN NULL ELSE ");
                let open = self.open_row(members.len())?;
                for (i, (member_key, member)) in members.iter().enumerate() {
                    self.entry(i, member_key)?;
                    match member {
                        Member::Typename(t) => self.text(t),
                        Member::Part { key, required } => {
                            let col = parts.iter().find(|c| c.part == Some(*key))?;
                            let expr = format!("{alias}.\"{}\"", col.name);
                            let value = json_value(self.layout.backend, &expr, col.scalar)?;
                            let written = match required {
                                true => format!(
                                    "COALESCE({}, {})",
                                    self.as_json(value),
                                    self.rejected()
                                ),
                                false => value,
                            };
                            self.sql.push(&written);
                        }
                    }
                    self.entry_end(member_key);
                }
                laterals.push_str(&self.close_row(open, false));
                self.sql.push(" END");
            }
            Item::CreatedBy(_) => return None,
            Item::ToOne { id_key, sel, .. } => {
                let id = format!("{alias}.\"{}\"", column(id_key)?.name);
                self.lookup(sel.object, RowId::Expr(&id), sel)?;
            }
            Item::List {
                field, query, conn, ..
            } => self.child_list(sel.object, alias, field, query, conn)?,
        }
        Some(())
    }

    /// A stored value as JSON, or the rejection mark where the executor
    /// would reject it: a null where the schema says non-null, a value
    /// outside its enum.
    fn checked_value(
        &self,
        alias: &str,
        col: &Column,
        required: bool,
        options: Option<&[rapport_meta::SelectOption]>,
    ) -> Option<String> {
        let key = col.key.as_str();
        let expr = format!("{alias}.\"{}\"", col.name);
        let value = json_value(self.layout.backend, &expr, col.scalar)?;
        Some(match options {
            Some(options) => {
                let known: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
                format!(
                    "CASE WHEN {} THEN {} ELSE {} END",
                    self.among(&expr, col.scalar, &known)?,
                    self.as_json(value),
                    self.rejected()
                )
            }
            // The table's constraints keep these non-null (on SQLite a text
            // primary key may be null).
            None if matches!(key, "createdAt" | "updatedAt" | "version")
                || (key == "id" && self.pg) =>
            {
                value
            }
            None if required => format!("COALESCE({}, {})", self.as_json(value), self.rejected()),
            None => value,
        })
    }

    /// The JSON of one parent's child list through `field`; the parent is
    /// the row of derived table `alias`.
    pub(super) fn child_list(
        &mut self,
        parent_object: &ObjectDef,
        alias: &str,
        field: &str,
        query: &ConnectionQuery,
        conn: &ConnSel<'_>,
    ) -> Option<()> {
        let def = parent_object.field(field)?;
        let (link, child) = ChildLink::of(self.catalog, self.layout, parent_object, def)?;
        let child = self.catalog.object(&child)?;
        let id = format!("{alias}.\"id\"");
        let parent = ParentRow {
            link: &link,
            id_expr: &id,
        };
        self.list(child, query, conn, Some(&parent))
    }

    /// A connection: one page of `object`'s rows (of one parent's, for a
    /// child list), with its page info and total as asked.
    fn list(
        &mut self,
        object: &ObjectDef,
        query: &ConnectionQuery,
        conn: &ConnSel<'_>,
        parent: Option<&ParentRow>,
    ) -> Option<()> {
        if query.computed.as_ref().is_some_and(|c| !c.is_empty()) {
            return None;
        }
        let backward = query.backward();
        // Whether the page had a row more than its size: `hasNextPage`
        // forward, `hasPreviousPage` backward; the other flag is known
        // from the arguments.
        let counts_more = |i: &Info| match i {
            Info::HasNext => !backward,
            Info::HasPrevious => backward,
            _ => false,
        };
        let more_asked = conn.items.iter().any(|(_, item)| {
            matches!(item, ConnItem::PageInfo(info) if info.iter().any(|(_, i)| counts_more(i)))
        });
        // Rows (or their count) make the select an aggregate of one row;
        // a connection showing neither reads no page at all.
        let reads_rows = more_asked
            || conn
                .items
                .iter()
                .any(|(_, item)| matches!(item, ConnItem::Nodes(_) | ConnItem::Edges(_)));
        let alias = self.alias();
        let (catalog, layout) = (self.catalog, self.layout);
        let source = match reads_rows {
            true => {
                let (text, page) = self.aside(|sql| {
                    page_into(sql, catalog, layout, object, query, parent, more_asked).ok()
                })?;
                Some(PageSource::of(&alias, text, page, more_asked))
            }
            false => None,
        };
        let (order, within_page, more) = match &source {
            Some(s) => (s.order.as_str(), s.within_page.as_str(), s.more.as_str()),
            None => ("", "", ""),
        };
        let columns: &[Column] = source.as_ref().map_or(&[], |s| &s.columns);
        let mut laterals = String::new();
        self.open_subquery();
        self.object(conn.items.len())?;
        for (i, (key, item)) in conn.items.iter().enumerate() {
            self.key(i, key);
            match item {
                ConnItem::Typename => self.text(&conn.type_name),
                ConnItem::TotalCount => {
                    self.sql.push("(");
                    count_into(&mut self.sql, catalog, layout, object, query, parent).ok()?;
                    self.sql.push(")");
                }
                ConnItem::Nodes(sel) => {
                    self.aggregate_open();
                    laterals.push_str(&self.record(sel, &alias, columns, true)?);
                    self.aggregate_close(order, within_page);
                }
                ConnItem::Edges(edge) => {
                    self.aggregate_open();
                    self.object(edge.len())?;
                    for (i, (key, e)) in edge.iter().enumerate() {
                        self.key(i, key);
                        match e {
                            EdgeItem::Typename => self.text(&conn.edge_type_name()),
                            EdgeItem::Cursor => return None,
                            EdgeItem::Node(sel) => {
                                laterals.push_str(&self.record(sel, &alias, columns, true)?);
                            }
                        }
                    }
                    self.sql.push(")");
                    self.aggregate_close(order, within_page);
                }
                ConnItem::PageInfo(info) => {
                    self.object(info.len())?;
                    for (i, (key, part)) in info.iter().enumerate() {
                        self.key(i, key);
                        match part {
                            Info::Typename => self.text("PageInfo"),
                            p if counts_more(p) => self.more(more),
                            Info::HasNext => self.boolean(query.before.is_some()),
                            Info::HasPrevious => self.boolean(query.after.is_some()),
                            Info::Start | Info::End => return None,
                        }
                    }
                    self.sql.push(")");
                }
            }
        }
        self.sql.push(")");
        match source.map(|s| s.from) {
            Some(from) => self.close_subquery(&from, &alias, &laterals),
            None => {
                self.sql.push(if self.pg { ")" } else { "))" });
            }
        }
        Some(())
    }

    /// Whether the page had a row more than its size.
    fn more(&mut self, more: &str) {
        if self.pg {
            self.sql.push(more);
        } else {
            self.sql.push(&format!(
                "CASE WHEN {more} THEN json('true') ELSE json('false') END"
            ));
        }
    }

    fn aggregate_open(&mut self) {
        self.sql.push(if self.pg {
            "COALESCE(json_agg("
        } else {
            "json_group_array("
        });
    }

    fn aggregate_close(&mut self, order: &str, filter: &str) {
        self.sql
            .push(" ORDER BY ")
            .push(order)
            .push(")")
            .push(filter);
        if self.pg {
            self.sql.push(", '[]'::json)");
        }
    }
}

fn reverse(k: &OrderKey) -> OrderKey {
    OrderKey {
        desc: !k.desc,
        nulls_first: !k.nulls_first,
        ..k.clone()
    }
}

/// Whether `key` is an `encryptedText` field: stored sealed, opened only
/// by the store's decoder, so no statement writes it.
pub(super) fn sealed(object: &ObjectDef, key: &str) -> bool {
    object
        .field(key)
        .is_some_and(|f| f.field_type == FieldType::EncryptedText)
}

/// `ORDER BY` over a page's key columns (`__k0`…) in derived table `alias`.
pub(super) fn order_by(alias: &str, keys: &[OrderKey]) -> String {
    let mut out = String::new();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!(
            "{alias}.\"__k{i}\" {} NULLS {}",
            if k.desc { "DESC" } else { "ASC" },
            if k.nulls_first { "FIRST" } else { "LAST" }
        ));
    }
    out
}

/// Where a list's JSON reads its rows from: the page statement (numbered
/// when `hasNextPage` or `hasPreviousPage` needs a row more), in the order
/// asked, with the page's columns.
struct PageSource {
    from: String,
    order: String,
    /// The aggregate's filter keeping the page's rows of one more.
    within_page: String,
    /// Whether there was a row more than the page.
    more: String,
    columns: Vec<Column>,
}

impl PageSource {
    fn of(alias: &str, text: String, page: PageSelect, more_asked: bool) -> PageSource {
        // A backward page is fetched reversed.
        let shown: Vec<OrderKey> = match page.backward {
            true => page.keys.iter().map(reverse).collect(),
            false => page.keys.clone(),
        };
        let (from, within_page) = match more_asked {
            true => (
                format!(
                    "SELECT \"__p\".*, ROW_NUMBER() OVER (ORDER BY {}) AS \"__rn\" FROM ({text}) \"__p\"",
                    order_by("\"__p\"", &page.keys)
                ),
                format!(" FILTER (WHERE {alias}.\"__rn\" <= {})", page.limit),
            ),
            false => (text, String::new()),
        };
        PageSource {
            from,
            order: order_by(alias, &shown),
            within_page,
            more: format!("COUNT(*) > {}", page.limit),
            columns: page.columns,
        }
    }
}
