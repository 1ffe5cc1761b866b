//! Query IR and SQL compilation: GraphQL-shaped filters, orderings and pages
//! over a workspace [`Catalog`](rapport_meta::Catalog), compiled to one SQL
//! statement per request level for SQLite or PostgreSQL.
//!
//! Statements are written by a small purpose-built builder ([`Sql`]) rather
//! than sea-query's DML builder: correlated sub-queries, window functions and
//! keyset conditions per backend read more plainly this way. Values are
//! `sea_query::Value`s, so sea-orm executes them as they are.

mod aggregate;
mod ast;
mod columns;
mod computed;
mod cursor;
mod embed;
mod error;
mod filter;
mod order;
mod select;
mod sql;
mod values;
mod write;

pub use aggregate::{AggregateRequest, DateGranularity, GroupByQuery, aggregate_sql, group_by_sql};
pub use ast::{Assign, Cond, Delete, Insert, Select, Statement, Update};
pub use columns::{
    Column, SYSTEM_COLUMNS, Scalar, field_columns, id_column, junction_columns, junction_of,
    object_column, record_columns,
};
pub use computed::{computed_select, computed_value, virtual_scalar};
pub use cursor::{decode_cursor, encode_cursor};
pub use embed::{
    PageSelect, ParentRow, RowId, connection_sql, count_into, count_sql, json_value, page_into,
    record_into,
};
pub use error::QueryError;
pub use filter::{
    Comparison, Condition, FieldTest, Filter, OptionsTest, Quantifier, compile_filter, escape_like,
};
pub use order::{Direction, Order, OrderBy, OrderKey, order_keys};
pub use select::{
    ChildLink, ConnectionQuery, SelectPlan, children_sql, missing_id_sql, records_by_ids_sql,
};
pub use sql::{Backend, Layout, Scopes, Sql};
pub use values::{encode, normalize_datetime};
pub use write::{WriteOp, WriteSet, delete_sql, insert_sql, soft_delete_sql, update_sql};
