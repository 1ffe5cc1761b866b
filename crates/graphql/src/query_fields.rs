//! The root query fields of an object: a record by id, a page of records,
//! and aggregates over them, whole or in groups.

use std::sync::Arc;

use async_graphql::Value as GqlValue;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, ResolverContext, TypeRef,
};
use rapport_meta::{AggregateFn, ObjectDef};
use rapport_query::{AggregateRequest, DateGranularity, GroupByQuery};
use serde_json::{Map, Value, json};

use crate::arguments::{self, list_query};
use crate::errors::{query_error, store_error};
use crate::object_types::aggregate_type;
use crate::resolve::{
    Conn, args_json, list_args, node_value, shown_here, shown_in_page, state, store, string_arg,
    string_list, to_gql,
};

/// The root query fields of one object.
pub(crate) fn query_fields(object: &ObjectDef) -> Vec<Field> {
    let t = object.type_name();
    let name: Arc<str> = Arc::from(object.name.as_str());
    vec![
        record_by_id(object, &name, &t),
        record_list(object, &name, &t),
        aggregate_field(object, &name, &t),
        group_by_field(object, &name, &t),
    ]
}

/// `company(id)`: one record, or null.
fn record_by_id(object: &ObjectDef, name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    Field::new(&object.name, TypeRef::named(t), move |ctx| {
        let n = n.clone();
        FieldFuture::new(async move {
            let id = string_arg(&ctx, "id")?;
            if uuid::Uuid::parse_str(&id).is_err() {
                return Ok(None);
            }
            // A root look-up has nothing to batch with: no loader window.
            let (computed, stored) = shown_here(&ctx, &n);
            let mut found = store(&ctx)?
                .by_ids_showing(
                    &state(&ctx)?.counter,
                    &n,
                    std::slice::from_ref(&id),
                    &computed,
                    &stored,
                )
                .await
                .map_err(store_error)?;
            Ok(found.remove(&id).map(node_value))
        })
    })
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
}

/// `companies(…)`: a page of records, filtered, searched and ordered.
fn record_list(object: &ObjectDef, name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    let list = Field::new(
        &object.plural_name,
        TypeRef::named_nn(format!("{t}Connection")),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let store = store(&ctx)?;
                let obj = store.object(&n).map_err(store_error)?;
                let args = Value::Object(args_json(&ctx)?);
                let mut q = list_query(&store.meta.catalog, obj, &args).map_err(query_error)?;
                if let Some(shown) = shown_in_page(&ctx, &n) {
                    q.computed = Some(shown.computed);
                    q.stored = Some(shown.stored);
                }
                let page = store
                    .connection(&state(&ctx)?.counter, &n, &q)
                    .await
                    .map_err(store_error)?;
                Ok(Some(FieldValue::owned_any(Conn {
                    object: n,
                    page,
                    total: None,
                    query: Some(q),
                })))
            })
        },
    )
    .argument(InputValue::new("last", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("before", TypeRef::named(TypeRef::STRING)));
    list_args(list, t)
}

/// `companiesAggregate(filter, search)`: counts, sums, averages, minimums, maximums.
fn aggregate_field(object: &ObjectDef, name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    Field::new(
        format!("{}Aggregate", object.plural_name),
        TypeRef::named_nn(format!("{t}Aggregate")),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let args = args_json(&ctx)?;
                let requests = aggregate_requests(&ctx);
                let store = store(&ctx)?;
                let obj = store.object(&n).map_err(store_error)?;
                let args = Value::Object(args);
                let filter =
                    arguments::filter(&store.meta.catalog, obj, &args).map_err(query_error)?;
                let values = store
                    .aggregate(
                        &state(&ctx)?.counter,
                        &n,
                        filter.as_ref(),
                        args.get("search").and_then(Value::as_str),
                        &requests,
                    )
                    .await
                    .map_err(store_error)?;
                let mut out = aggregates_json(obj, &requests, &values);
                if !out.contains_key("count") {
                    out.insert("count".into(), json!(0));
                }
                Ok(Some(FieldValue::value(to_gql(&Value::Object(out)))))
            })
        },
    )
    .argument(InputValue::new(
        "filter",
        TypeRef::named(format!("{t}Filter")),
    ))
    .argument(InputValue::new("search", TypeRef::named(TypeRef::STRING)))
}

/// `companiesGroupBy(by, …)`: the records in groups, each with its count and aggregates.
fn group_by_field(object: &ObjectDef, name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    Field::new(
        format!("{}GroupBy", object.plural_name),
        TypeRef::named_nn_list_nn(format!("{t}Group")),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let args = args_json(&ctx)?;
                let by = string_list(&args, "by");
                let requests: Vec<AggregateRequest> = aggregate_requests(&ctx)
                    .into_iter()
                    .filter(|r| r.field.is_some())
                    .collect();
                let store = store(&ctx)?;
                let obj = store.object(&n).map_err(store_error)?;
                let args = Value::Object(args);
                let filter =
                    arguments::filter(&store.meta.catalog, obj, &args).map_err(query_error)?;
                let q = GroupByQuery {
                    by: by.clone(),
                    filter,
                    granularity: match args.get("dateGranularity").and_then(Value::as_str) {
                        Some(name) => DateGranularity::parse(name).map_err(query_error)?,
                        None => DateGranularity::Day,
                    },
                    first: args.get("first").and_then(Value::as_i64).unwrap_or(100),
                    aggregates: requests.clone(),
                };
                let groups = store
                    .group_by(&state(&ctx)?.counter, &n, &q)
                    .await
                    .map_err(store_error)?;
                let list = groups.into_iter().map(|(keys, count, aggs)| {
                    let mut g = aggregates_json(obj, &requests, &aggs);
                    let key: Map<String, Value> = by.iter().cloned().zip(keys).collect();
                    g.insert("key".into(), Value::Object(key));
                    g.insert("count".into(), json!(count));
                    FieldValue::value(to_gql(&Value::Object(g)))
                });
                Ok(Some(FieldValue::list(list)))
            })
        },
    )
    .argument(InputValue::new(
        "by",
        TypeRef::named_nn_list_nn(format!("{t}GroupField")),
    ))
    .argument(InputValue::new(
        "filter",
        TypeRef::named(format!("{t}Filter")),
    ))
    .argument(
        InputValue::new("dateGranularity", TypeRef::named("DateGranularity"))
            .default_value(GqlValue::Enum(async_graphql::Name::new("DAY"))),
    )
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)).default_value(100))
}

/// What the selection asks of `…Aggregate`/`…GroupBy`: `count`, `sum { amount }`, …
fn aggregate_requests(ctx: &ResolverContext<'_>) -> Vec<AggregateRequest> {
    let mut out = Vec::new();
    for sel in ctx.ctx.field().selection_set() {
        match sel.name() {
            "count" => out.push(AggregateRequest {
                function: AggregateFn::Count,
                field: None,
            }),
            name => {
                let Some(function) = AggregateFn::parse(name) else {
                    continue;
                };
                for sub in sel.selection_set() {
                    if sub.name() == "__typename" {
                        continue;
                    }
                    let r = AggregateRequest {
                        function,
                        field: Some(sub.name().to_string()),
                    };
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        }
    }
    out.dedup();
    out
}

/// Aggregate values keyed as the GraphQL types expect; decimals as strings.
fn aggregates_json(
    object: &ObjectDef,
    requests: &[AggregateRequest],
    values: &[Value],
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in AggregateFn::ALL
        .into_iter()
        .filter(|f| *f != AggregateFn::Count)
    {
        out.insert(f.name().into(), json!({}));
    }
    for (r, v) in requests.iter().zip(values) {
        match &r.field {
            None => {
                out.insert("count".into(), v.clone());
            }
            Some(field) => {
                let is_decimal = object
                    .field(field)
                    .and_then(|f| aggregate_type(f, r.function))
                    == Some("Decimal");
                let v = match v {
                    Value::Number(n) if is_decimal => Value::String(decimal_text(n)),
                    Value::Null if r.function == AggregateFn::CountDistinct => json!(0),
                    other => other.clone(),
                };
                out[r.function.name()][field.as_str()] = v;
            }
        }
    }
    out
}

fn decimal_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) => rust_decimal_text(f),
        None => n.to_string(),
    }
}

fn rust_decimal_text(f: f64) -> String {
    // SQLite sums decimals in double precision; print without float noise.
    let s = format!("{f:.10}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}
