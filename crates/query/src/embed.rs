//! Pages, counts and look-ups written into a statement under way, so that a
//! larger one can hold them as sub-queries: a root page, a child list
//! correlated with its parent's row, the record a many-to-one points at.
//! Also how each stored value reads as JSON inside such a statement, to the
//! character what the store's decoder makes of it.

use rapport_meta::{Catalog, ObjectDef};
use serde_json::Value as Json;

use crate::columns::{Column, Scalar};
use crate::error::QueryError;
use crate::filter::{Filter, push_scope};
use crate::order::OrderKey;
use crate::select::{
    ALIAS, ChildLink, ConnectionQuery, Rows, SelectPlan, cursor_values, keyset, order_clause,
    order_keys, page_size, read_list, select_columns, where_conditions,
};
use crate::sql::{Backend, Layout, Sql};
use crate::values::encode;

/// The rows of a child list that belong to one row of the enclosing
/// statement: `id_expr` is that row's id (`"__j1"."id"`).
pub struct ParentRow<'a> {
    pub link: &'a ChildLink,
    pub id_expr: &'a str,
}

/// What a page's SELECT returns: the record columns, then one column per
/// order key (`__k0`…), at most `limit` rows (one more with `extra_row`).
#[derive(Debug)]
pub struct PageSelect {
    pub columns: Vec<Column>,
    /// In the order rows are fetched: reversed for a backward page.
    pub keys: Vec<OrderKey>,
    pub limit: u64,
    pub backward: bool,
}

/// Which record a look-up reads.
pub enum RowId<'a> {
    /// A UUID from the request, bound as a parameter.
    Value(&'a str),
    /// An expression of the enclosing statement (`"__j1"."companyId"`).
    Expr(&'a str),
}

/// A root connection: one statement, `limit + 1` rows.
pub fn connection_sql(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    q: &ConnectionQuery,
) -> Result<SelectPlan, QueryError> {
    let mut sql = Sql::new(layout.backend);
    let page = page_into(&mut sql, catalog, layout, object, q, None, true)?;
    Ok(SelectPlan {
        sql,
        columns: page.columns,
        key_scalars: page.keys.iter().map(|k| k.scalar).collect(),
        limit: page.limit,
        backward: page.backward,
    })
}

/// Writes the SELECT of one page: of all the object's rows, or of one
/// parent's. `extra_row` fetches one more than the page, to tell whether
/// more exist.
pub fn page_into(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    q: &ConnectionQuery,
    parent: Option<&ParentRow>,
    extra_row: bool,
) -> Result<PageSelect, QueryError> {
    let (limit, backward) = page_size(q)?;
    if parent.is_some() && backward {
        return Err(QueryError::bad(
            "last",
            "nested lists page forward only (`first`, `after`)",
        ));
    }
    let mut keys = order_keys(catalog, layout, object, &q.order_by)?;
    if backward {
        keys = keys.iter().map(OrderKey::reversed).collect();
    }
    let read = read_list(
        catalog,
        layout,
        object,
        q.computed.as_deref(),
        q.stored.as_deref(),
    )?;
    sql.push("SELECT ");
    select_columns(sql, &read, &keys);
    source(sql, catalog, layout, object, Rows::of(q), parent)?;
    let exprs: Vec<String> = keys.iter().map(|k| k.expr.clone()).collect();
    if let Some(values) = cursor_values(q, backward, keys.len())? {
        keyset(sql, &keys, &exprs, &values)?;
    }
    order_clause(sql, &keys, &exprs);
    sql.push(&format!(" LIMIT {}", limit + u64::from(extra_row)));
    Ok(PageSelect {
        columns: read.into_iter().map(|(c, _)| c).collect(),
        keys,
        limit,
        backward,
    })
}

pub fn count_sql(
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    filter: Option<&Filter>,
    search: Option<&str>,
    with_deleted: bool,
) -> Result<Sql, QueryError> {
    let mut sql = Sql::new(layout.backend);
    sql.push("SELECT COUNT(*)");
    let rows = Rows {
        filter,
        search,
        with_deleted,
    };
    source(&mut sql, catalog, layout, object, rows, None)?;
    Ok(sql)
}

/// Writes the count of a list's rows (all pages): of all the object's rows,
/// or of one parent's.
pub fn count_into(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    q: &ConnectionQuery,
    parent: Option<&ParentRow>,
) -> Result<(), QueryError> {
    sql.push("SELECT COUNT(*)");
    source(sql, catalog, layout, object, Rows::of(q), parent)
}

/// Writes the look-up of one live record, reading its `stored` values;
/// returns the columns it reads.
pub fn record_into(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    id: RowId,
    stored: &[String],
) -> Result<Vec<Column>, QueryError> {
    let read = read_list(catalog, layout, object, Some(&[]), Some(stored))?;
    sql.push("SELECT ");
    select_columns(sql, &read, &[]);
    sql.push(" FROM ")
        .push(&layout.table(&object.name))
        .push(" ")
        .push(ALIAS);
    sql.push(" WHERE ").col(ALIAS, "id").push(" = ");
    match id {
        RowId::Value(id) => {
            let v = encode(layout.backend, Scalar::Uuid, &Json::String(id.to_string()))
                .map_err(|r| QueryError::bad("id", r))?;
            sql.param(v);
        }
        RowId::Expr(e) => {
            sql.push(e);
        }
    }
    sql.push(" AND ").col(ALIAS, "deletedAt").push(" IS NULL");
    push_scope(sql, catalog, layout, object, ALIAS)?;
    Ok(read.into_iter().map(|(c, _)| c).collect())
}

/// `FROM … WHERE …` of a list, restricted to one parent's rows when given.
fn source(
    sql: &mut Sql,
    catalog: &Catalog,
    layout: &Layout,
    object: &ObjectDef,
    rows: Rows<'_>,
    parent: Option<&ParentRow>,
) -> Result<(), QueryError> {
    sql.push(" FROM ")
        .push(&layout.table(&object.name))
        .push(" ")
        .push(ALIAS);
    if let Some(ParentRow {
        link:
            ChildLink::Junction {
                table,
                child_column,
                ..
            },
        ..
    }) = parent
    {
        sql.push(" JOIN ").push(table).push(" j ON j.");
        sql.ident(child_column).push(" = ").col(ALIAS, "id");
    }
    where_conditions(sql, catalog, layout, object, rows)?;
    let Some(parent) = parent else {
        return Ok(());
    };
    sql.push(" AND ");
    match parent.link {
        ChildLink::Column { column } => {
            sql.col(ALIAS, column);
        }
        ChildLink::Polymorphic {
            object_column,
            id_column,
            parent_object,
        } => {
            sql.col(ALIAS, object_column).push(" = ");
            sql.param(sea_query::Value::String(Some(parent_object.clone())));
            sql.push(" AND ").col(ALIAS, id_column);
        }
        ChildLink::Junction { parent_column, .. } => {
            sql.col("j", parent_column);
        }
    }
    sql.push(" = ").push(parent.id_expr);
    Ok(())
}

/// A stored value as the store's decoder would put it in a response, as an
/// SQL expression over `expr` that JSON functions take as is; `None` where
/// the database cannot match it (SQLite writes floats with 15 digits, the
/// decoder with as many as it takes).
pub fn json_value(backend: Backend, expr: &str, scalar: Scalar) -> Option<String> {
    Some(match (backend, scalar) {
        (Backend::Postgres, Scalar::Decimal) => format!("trim_scale({expr})::text"),
        (Backend::Postgres, Scalar::Date) => format!("to_char({expr}, 'YYYY-MM-DD')"),
        (Backend::Postgres, Scalar::DateTime) => {
            format!("to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        }
        (Backend::Sqlite, Scalar::Bool) => format!(
            "CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN json('true') ELSE json('false') END"
        ),
        (Backend::Sqlite, Scalar::Json) => format!("json({expr})"),
        (Backend::Sqlite, Scalar::Float) => return None,
        // Decimals, dates and date-times are stored as the decoder's text
        // on SQLite; the rest read as they are.
        _ => expr.to_string(),
    })
}
