//! SELECT statements: connections (root and per parent), look-ups by id,
//! counts, aggregates and group-by.

use rapport_meta::{Catalog, FieldDef, ObjectDef, RelationKind};
use serde_json::Value as Json;

use crate::columns::{
    Column, SYSTEM_COLUMNS, Scalar, field_columns, id_column, junction_columns, junction_of,
    object_column, system_column,
};
use crate::computed::{computed_select, virtual_scalar};
use crate::cursor::decode_cursor;
use crate::error::QueryError;
use crate::filter::{Filter, compile_filter, escape_like, push_scope};
pub(crate) use crate::order::{Order, OrderKey, order_keys};
use crate::sql::{Backend, Layout, Sql};
use crate::values::encode;

pub const DEFAULT_PAGE: u64 = 50;
pub const MAX_PAGE: u64 = 500;

/// Arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct ConnectionQuery {
    pub filter: Option<Filter>,
    pub order_by: Vec<Order>,
    pub search: Option<String>,
    pub with_deleted: bool,
    pub first: Option<i64>,
    pub after: Option<String>,
    pub last: Option<i64>,
    pub before: Option<String>,
    /// The computed fields to read; `None` reads them all. A page that
    /// shows none of them skips their sub-queries.
    pub computed: Option<Vec<String>>,
    /// The stored values to read, by record key (`name`, `companyId`);
    /// `None` reads them all, and `id` is always read. A page that shows
    /// three fields of thirty reads, sorts and decodes three.
    pub stored: Option<Vec<String>>,
    /// Only the first and last edges need a cursor (for `pageInfo`): the
    /// page does not show its edges' cursors.
    pub ends_only: bool,
}

impl ConnectionQuery {
    /// Whether the page is taken from the end (`last`, or `before` alone).
    pub fn backward(&self) -> bool {
        self.last.is_some() || (self.first.is_none() && self.before.is_some())
    }
}

/// A statement and how to read its rows: the record columns, then one value
/// per order key (`__k0`…), then for child lists `__parent` and `__total`.
#[derive(Debug)]
pub struct SelectPlan {
    pub sql: Sql,
    pub columns: Vec<Column>,
    pub key_scalars: Vec<Scalar>,
    /// Rows wanted per page; one more is fetched to know whether more exist.
    pub limit: u64,
    pub backward: bool,
}

pub(crate) const ALIAS: &str = "t0";

pub(crate) fn relation_id_column(object: &ObjectDef, key: &str) -> Option<Column> {
    object
        .fields
        .iter()
        .filter(|f| f.relation.is_some())
        .flat_map(field_columns)
        .find(|c| c.key == key)
}

pub(crate) fn page_size(q: &ConnectionQuery) -> Result<(u64, bool), QueryError> {
    let check = |n: i64, arg: &str| -> Result<u64, QueryError> {
        if n < 0 {
            return Err(QueryError::bad(arg, "must not be negative"));
        }
        if n as u64 > MAX_PAGE {
            return Err(QueryError::bad(
                arg,
                format!("at most {MAX_PAGE} records per page"),
            ));
        }
        Ok(n as u64)
    };
    match (q.first, q.last) {
        (Some(_), Some(_)) => Err(QueryError::bad("last", "give `first` or `last`, not both")),
        (_, Some(n)) => Ok((check(n, "last")?, q.backward())),
        (Some(n), None) => Ok((check(n, "first")?, q.backward())),
        (None, None) => Ok((DEFAULT_PAGE, q.backward())),
    }
}

/// Which rows of an object a statement reads: those the filter and the
/// search select, live ones unless deleted ones are asked for too.
#[derive(Clone, Copy, Default)]
pub(crate) struct Rows<'a> {
    pub filter: Option<&'a Filter>,
    pub search: Option<&'a str>,
    pub with_deleted: bool,
}

impl<'a> Rows<'a> {
    pub(crate) fn of(q: &'a ConnectionQuery) -> Self {
        Rows {
            filter: q.filter.as_ref(),
            search: q.search.as_deref(),
            with_deleted: q.with_deleted,
        }
    }
}

/// `deletedAt`, filter and search conditions on alias `t0`.
pub(crate) fn where_conditions(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    rows: Rows<'_>,
) -> Result<(), QueryError> {
    let Rows {
        filter,
        search,
        with_deleted,
    } = rows;
    sql.push(" WHERE ");
    if with_deleted {
        sql.push("1=1");
    } else {
        sql.col(ALIAS, "deletedAt").push(" IS NULL");
    }
    push_scope(sql, catalog, layout, object, ALIAS)?;
    if let Some(f) = filter {
        sql.push(" AND ");
        compile_filter(sql, catalog, layout, object, ALIAS, f)?;
    }
    if let Some(term) = search.map(str::trim).filter(|s| !s.is_empty()) {
        search_condition(sql, layout, object, term)?;
    }
    Ok(())
}

/// `FROM <table> t0 WHERE …` of a statement over one object.
pub(crate) fn from_where(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    rows: Rows<'_>,
) -> Result<(), QueryError> {
    sql.push(" FROM ")
        .push(&layout.table(&object.name))
        .push(" ")
        .push(ALIAS);
    where_conditions(sql, catalog, layout, object, rows)
}

/// Every word must appear in one of the searchable text fields.
fn search_condition(
    sql: &mut Sql,
    layout: &Layout,
    object: &ObjectDef,
    term: &str,
) -> Result<(), QueryError> {
    let mut columns: Vec<String> = Vec::new();
    let hidden = |f: &FieldDef| {
        layout.scopes.as_ref().is_some_and(|s| {
            s.unsearchable
                .contains(&format!("{}.{}", object.name, f.name))
        })
    };
    let searchable = object.fields.iter().filter(|f| {
        (f.searchable
            || object.search_fields.contains(&f.name)
            || object.title_field.as_deref() == Some(&f.name))
            && !hidden(f)
    });
    for f in searchable {
        for c in field_columns(f) {
            if c.scalar == Scalar::Text {
                columns.push(c.name);
            }
        }
    }
    if columns.is_empty() {
        return Err(QueryError::bad(
            "search",
            format!("`{}` has no searchable fields", object.name),
        ));
    }
    for word in term.split_whitespace().take(8) {
        let pattern = format!("%{}%", escape_like(&word.to_lowercase()));
        sql.push(" AND (");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("lower(").col(ALIAS, c).push(") LIKE ");
            sql.param(sea_query::Value::String(Some(pattern.clone())))
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
    Ok(())
}

/// `(k0, k1, …, id) > cursor` in the order's own sense, nulls included.
pub(crate) fn keyset(
    sql: &mut Sql,
    keys: &[OrderKey],
    exprs: &[String],
    values: &[Json],
) -> Result<(), QueryError> {
    let backend = sql.backend;
    let enc = |k: &OrderKey, v: &Json| {
        encode(backend, k.scalar, v)
            .map_err(|_| QueryError::bad("after", "not a cursor of this ordering"))
    };
    sql.push(" AND (");
    for i in 0..keys.len() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for j in 0..i {
            if values[j].is_null() {
                sql.push(&exprs[j]).push(" IS NULL AND ");
            } else {
                sql.push(&exprs[j])
                    .push(" = ")
                    .param(enc(&keys[j], &values[j])?)
                    .push(" AND ");
            }
        }
        let k = &keys[i];
        let e = &exprs[i];
        if values[i].is_null() {
            if k.nulls_first {
                sql.push(e).push(" IS NOT NULL");
            } else {
                sql.push("1=0");
            }
        } else {
            sql.push("(")
                .push(e)
                .push(if k.desc { " < " } else { " > " });
            sql.param(enc(k, &values[i])?);
            if !k.nulls_first {
                sql.push(" OR ").push(e).push(" IS NULL");
            }
            sql.push(")");
        }
        sql.push(")");
    }
    sql.push(")");
    Ok(())
}

pub(crate) fn order_clause(sql: &mut Sql, keys: &[OrderKey], exprs: &[String]) {
    sql.push(" ORDER BY ");
    for (i, (k, e)) in keys.iter().zip(exprs).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(e).push(if k.desc { " DESC" } else { " ASC" });
        sql.push(if k.nulls_first {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        });
    }
}

/// What a SELECT reads for an object: its columns (those of `stored`
/// keys, and `id`; all when `None`), then the `computed` fields (all when
/// `None`) as expressions; the columns say how to decode each.
pub(crate) fn read_list(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    computed: Option<&[String]>,
    stored: Option<&[String]>,
) -> Result<Vec<(Column, String)>, QueryError> {
    let wanted = |key: &str| key == "id" || stored.is_none_or(|keys| keys.iter().any(|k| k == key));
    // Columns are made only for the fields read: a list showing three
    // fields of thirty builds three.
    let mut columns: Vec<Column> = SYSTEM_COLUMNS
        .iter()
        .filter(|n| wanted(n))
        .filter_map(|n| system_column(n))
        .collect();
    for f in object.stored_fields() {
        let maybe = stored.is_none_or(|keys| keys.iter().any(|k| k.starts_with(f.name.as_str())));
        if maybe {
            columns.extend(field_columns(f).into_iter().filter(|c| wanted(&c.key)));
        }
    }
    let mut out: Vec<(Column, String)> = columns
        .into_iter()
        .map(|c| {
            let e = format!("{ALIAS}.\"{}\"", c.name);
            (c, e)
        })
        .collect();
    for f in object
        .fields
        .iter()
        .filter(|f| f.is_virtual() && computed.is_none_or(|c| c.contains(&f.name)))
    {
        let e = computed_select(catalog, layout, object, f, ALIAS)?;
        let c = Column {
            name: f.name.clone(),
            scalar: virtual_scalar(f),
            key: f.name.clone(),
            part: None,
        };
        out.push((c, e));
    }
    Ok(out)
}

pub(crate) fn select_columns(sql: &mut Sql, columns: &[(Column, String)], keys: &[OrderKey]) {
    for (i, (_, e)) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(e);
    }
    for (i, k) in keys.iter().enumerate() {
        sql.push(", ")
            .push(&k.expr)
            .push(&format!(" AS \"__k{i}\""));
    }
}

/// The cursor in `after` (forward) or `before` (backward), checked against the keys.
pub(crate) fn cursor_values(
    q: &ConnectionQuery,
    backward: bool,
    n: usize,
) -> Result<Option<Vec<Json>>, QueryError> {
    let (arg, c) = if backward {
        ("before", q.before.as_deref())
    } else {
        ("after", q.after.as_deref())
    };
    c.map(|c| decode_cursor(arg, c, n)).transpose()
}

/// Records by id, one statement for a whole batch of parents.
pub fn records_by_ids_sql(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    ids: &[String],
    with_deleted: bool,
    computed: Option<&[String]>,
    stored: Option<&[String]>,
) -> Result<(Sql, Vec<Column>), QueryError> {
    let read = read_list(catalog, layout, object, computed, stored)?;
    let mut sql = Sql::new(layout.backend);
    sql.push("SELECT ");
    select_columns(&mut sql, &read, &[]);
    sql.push(" FROM ")
        .push(&layout.table(&object.name))
        .push(" ")
        .push(ALIAS);
    sql.push(" WHERE ").col(ALIAS, "id");
    let values = ids
        .iter()
        .map(|id| encode(layout.backend, Scalar::Uuid, &Json::String(id.clone())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|r| QueryError::bad("id", r))?;
    sql.in_list(values);
    if !with_deleted {
        sql.push(" AND ").col(ALIAS, "deletedAt").push(" IS NULL");
    }
    push_scope(&mut sql, catalog, layout, object, ALIAS)?;
    Ok((sql, read.into_iter().map(|(c, _)| c).collect()))
}

/// The first of `ids`, in their order, that names no live record of
/// `object` the layout's scope lets through; no row when all do. A check
/// that 500 references exist then moves no rows, where fetching the 500
/// found moved them all (on SQLite one message between threads per row).
pub fn missing_id_sql(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    ids: &[String],
) -> Result<Sql, QueryError> {
    let values = ids
        .iter()
        .map(|id| encode(layout.backend, Scalar::Uuid, &Json::String(id.clone())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|r| QueryError::bad("id", r))?;
    let mut sql = Sql::new(layout.backend);
    let (id, position) = match layout.backend {
        Backend::Postgres => {
            sql.push("SELECT x.id::text FROM unnest(");
            sql.param(sea_query::Value::Array(
                sea_query::ArrayType::Uuid,
                Some(Box::new(values)),
            ));
            sql.push(") WITH ORDINALITY AS x(id, n)");
            ("x.id", "x.n")
        }
        Backend::Sqlite => {
            let texts: Vec<Json> = values
                .into_iter()
                .filter_map(|v| match v {
                    sea_query::Value::String(Some(s)) => Some(Json::String(s.to_string())),
                    _ => None,
                })
                .collect();
            sql.push("SELECT x.value FROM json_each(");
            sql.param(sea_query::Value::String(Some(
                Json::Array(texts).to_string(),
            )));
            sql.push(") x");
            ("x.value", "x.key")
        }
    };
    sql.push(" WHERE NOT EXISTS (SELECT 1 FROM ")
        .push(&layout.table(&object.name))
        .push(" ")
        .push(ALIAS)
        .push(" WHERE ")
        .col(ALIAS, "id")
        .push(" = ")
        .push(id)
        .push(" AND ")
        .col(ALIAS, "deletedAt")
        .push(" IS NULL");
    push_scope(&mut sql, catalog, layout, object, ALIAS)?;
    sql.push(") ORDER BY ").push(position).push(" LIMIT 1");
    Ok(sql)
}

/// How the rows of a child list belong to their parent.
#[derive(Debug, Clone)]
pub enum ChildLink {
    /// `child.<fk>Id = parent.id`
    Column { column: String },
    /// `child.<name>Object = parent object AND child.<name>Id = parent.id`
    Polymorphic {
        object_column: String,
        id_column: String,
        parent_object: String,
    },
    /// Through the platform's junction table.
    Junction {
        table: String,
        parent_column: &'static str,
        child_column: &'static str,
    },
}

impl ChildLink {
    /// The link of list field `f` of `parent` (an inverse or many-to-many side).
    pub fn of(
        catalog: &Catalog,
        layout: &Layout,
        parent: &ObjectDef,
        f: &FieldDef,
    ) -> Option<(ChildLink, String)> {
        let rel = f.relation.as_ref()?;
        let link = match rel.kind {
            RelationKind::ManyToMany => {
                let (parent_column, child_column) = junction_columns(f);
                ChildLink::Junction {
                    table: layout.table(&junction_of(&parent.name, f)),
                    parent_column,
                    child_column,
                }
            }
            RelationKind::OneToMany => {
                let child = catalog.object(&rel.target)?;
                let back = child.field(rel.inverse.as_deref()?)?;
                if back.relation_kind() == Some(RelationKind::Polymorphic) {
                    ChildLink::Polymorphic {
                        object_column: object_column(back),
                        id_column: id_column(back),
                        parent_object: parent.name.clone(),
                    }
                } else {
                    ChildLink::Column {
                        column: id_column(back),
                    }
                }
            }
            _ => return None,
        };
        Some((link, rel.target.clone()))
    }
}

/// Child lists of many parents in one statement, paged per parent with
/// window functions; rows come grouped by parent in order.
pub fn children_sql(
    catalog: &Catalog,
    layout: &Layout,
    child: &ObjectDef,
    link: &ChildLink,
    parent_ids: &[String],
    q: &ConnectionQuery,
) -> Result<SelectPlan, QueryError> {
    if q.last.is_some() || q.before.is_some() {
        return Err(QueryError::bad(
            "last",
            "nested lists page forward only (`first`, `after`)",
        ));
    }
    let (limit, _) = page_size(q)?;
    let keys = order_keys(catalog, layout, child, &q.order_by)?;
    let read = read_list(
        catalog,
        layout,
        child,
        q.computed.as_deref(),
        q.stored.as_deref(),
    )?;
    let mut sql = Sql::new(layout.backend);
    let parent_values = parent_ids
        .iter()
        .map(|id| encode(layout.backend, Scalar::Uuid, &Json::String(id.clone())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|r| QueryError::bad("id", r))?;
    // Inner (`s`): the rows of every parent with their total; then a row
    // number per parent and the page. After a cursor, a middle level (`t`)
    // tells which rows are after it, numbers only those (0 for the others)
    // and keeps each parent's first row in any case, so that a parent
    // whose page is empty still gets its total. Both forms end with
    // `__after` and `__rn`.
    let cursor = cursor_values(q, false, keys.len())?;
    numbered_per_parent(&mut sql, &keys, cursor.as_deref())?;
    select_columns(&mut sql, &read, &keys);
    let linked = Linked {
        link,
        parent_values,
        rows: Rows::of(q),
    };
    linked_rows(&mut sql, catalog, layout, child, linked)?;
    let page = match cursor {
        None => format!(") r WHERE r.\"__rn\" <= {}", limit + 1),
        Some(_) => format!(
            ") t) r WHERE r.\"__rn\" BETWEEN 1 AND {} OR r.\"__first\" = 1",
            limit + 1
        ),
    };
    sql.push(&page).push(" ORDER BY r.\"__parent\", r.\"__rn\"");
    Ok(SelectPlan {
        sql,
        columns: read.into_iter().map(|(c, _)| c).collect(),
        key_scalars: keys.iter().map(|k| k.scalar).collect(),
        limit,
        backward: false,
    })
}

/// `SELECT … ROW_NUMBER() OVER (PARTITION BY parent …)` around the rows of
/// every parent (`s`), up to the inner select's column list.
fn numbered_per_parent(
    sql: &mut Sql,
    keys: &[OrderKey],
    cursor: Option<&[Json]>,
) -> Result<(), QueryError> {
    let exprs_of = |alias: &str| -> Vec<String> {
        (0..keys.len())
            .map(|i| format!("{alias}.\"__k{i}\""))
            .collect()
    };
    match cursor {
        None => {
            sql.push("SELECT * FROM (SELECT s.*, (1=1) AS \"__after\", ROW_NUMBER() OVER (PARTITION BY s.\"__parent\"");
            order_clause(sql, keys, &exprs_of("s"));
            sql.push(") AS \"__rn\" FROM (SELECT ");
        }
        Some(values) => {
            let t = exprs_of("t");
            sql.push("SELECT * FROM (SELECT t.*, CASE WHEN t.\"__after\" THEN ROW_NUMBER() OVER (PARTITION BY t.\"__parent\", t.\"__after\"");
            order_clause(sql, keys, &t);
            sql.push(") ELSE 0 END AS \"__rn\", ROW_NUMBER() OVER (PARTITION BY t.\"__parent\"");
            order_clause(sql, keys, &t);
            sql.push(") AS \"__first\" FROM (SELECT s.*, (1=1");
            keyset(sql, keys, &exprs_of("s"), values)?;
            sql.push(") AS \"__after\" FROM (SELECT ");
        }
    }
    Ok(())
}

/// Which child rows a list reads: through its link, of these parents.
struct Linked<'a> {
    link: &'a ChildLink,
    parent_values: Vec<sea_query::Value>,
    rows: Rows<'a>,
}

/// `, parent AS "__parent", COUNT(*) … FROM child … WHERE …) s`: the rows
/// of every parent, with the parent's total.
fn linked_rows(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    child: &ObjectDef,
    linked: Linked<'_>,
) -> Result<(), QueryError> {
    let link = linked.link;
    let parent_expr = match link {
        ChildLink::Column { column } => format!("{ALIAS}.\"{column}\""),
        ChildLink::Polymorphic { id_column, .. } => format!("{ALIAS}.\"{id_column}\""),
        ChildLink::Junction { parent_column, .. } => format!("j.\"{parent_column}\""),
    };
    sql.push(", ")
        .push(&parent_expr)
        .push(" AS \"__parent\", COUNT(*) OVER (PARTITION BY ");
    sql.push(&parent_expr).push(") AS \"__total\" FROM ");
    sql.push(&layout.table(&child.name)).push(" ").push(ALIAS);
    if let ChildLink::Junction {
        table,
        child_column,
        ..
    } = link
    {
        sql.push(" JOIN ").push(table).push(" j ON j.");
        sql.ident(child_column).push(" = ").col(ALIAS, "id");
    }
    where_conditions(sql, catalog, layout, child, linked.rows)?;
    if let ChildLink::Polymorphic {
        object_column,
        parent_object,
        ..
    } = link
    {
        sql.push(" AND ").col(ALIAS, object_column).push(" = ");
        sql.param(sea_query::Value::String(Some(parent_object.clone())));
    }
    sql.push(" AND ").push(&parent_expr);
    sql.in_list(linked.parent_values).push(") s");
    Ok(())
}
