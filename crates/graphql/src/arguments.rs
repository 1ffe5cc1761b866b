//! Where GraphQL arguments become the query layer's typed values: a list's
//! page, filter and ordering are read here, once, against the catalog, and
//! nothing below sees them as JSON.

use rapport_meta::{Catalog, ObjectDef};
use rapport_query::{ConnectionQuery, Filter, Order, QueryError};
use serde_json::Value;

/// A list's query from its arguments (as JSON); what its pages show is set
/// by the caller.
pub(crate) fn list_query(
    catalog: &Catalog,
    object: &ObjectDef,
    args: &Value,
) -> Result<ConnectionQuery, QueryError> {
    let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(ConnectionQuery {
        filter: filter(catalog, object, args)?,
        order_by: Order::parse_list(args.get("orderBy").unwrap_or(&Value::Null))?,
        search: text("search"),
        with_deleted: args
            .get("withDeleted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        first: args.get("first").and_then(Value::as_i64),
        after: text("after"),
        last: args.get("last").and_then(Value::as_i64),
        before: text("before"),
        computed: None,
        stored: None,
        ends_only: false,
    })
}

/// The `filter` argument, if one is given.
pub(crate) fn filter(
    catalog: &Catalog,
    object: &ObjectDef,
    args: &Value,
) -> Result<Option<Filter>, QueryError> {
    args.get("filter")
        .filter(|f| !f.is_null())
        .map(|f| Filter::parse(catalog, object, f, "filter"))
        .transpose()
}
