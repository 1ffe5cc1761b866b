//! Mutation fields of one object: create, update, delete, restore, destroy.

use std::sync::Arc;

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, ResolverContext, TypeRef,
};
use async_graphql::{Error, Value as GqlValue};
use rapport_meta::ObjectDef;
use rapport_query::{ConnectionQuery, Filter, WriteOp};
use rapport_store::Record;
use serde_json::Value;

use crate::errors::{ErrorCode, access_error, query_error, store_error};
use crate::object_types::type_name;
use crate::resolve::{args_json, data_arg, node_value, state, store, string_arg, string_list};

pub(crate) fn mutation_fields(object: &ObjectDef) -> Vec<Field> {
    let t = object.type_name();
    let plural_t = type_name(&object.plural_name);
    let name: Arc<str> = Arc::from(object.name.as_str());
    let mut out = vec![
        create_one(&name, &t),
        create_many(&name, &t, &plural_t),
        update_one(&name, &t),
        update_many(&name, &t, &plural_t),
    ];
    out.extend(delete_and_restore(&name, &t));
    out.push(delete_many(&name, &t, &plural_t));
    out.push(destroy_one(&name, &t));
    out
}

/// `createX(data)`: one record, owned by the caller unless it names an owner.
fn create_one(name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    Field::new(format!("create{t}"), TypeRef::named_nn(t), move |ctx| {
        let n = n.clone();
        FieldFuture::new(async move {
            let data = owned_by_caller(&ctx, &n, data_arg(&ctx, "data")?)?;
            let st = state(&ctx)?;
            let mut created = store(&ctx)?
                .create(&st.counter, &st.actor, &n, &[data], None)
                .await
                .map_err(store_error)?;
            Ok(created.pop().map(|r| node_value(r)))
        })
    })
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(format!("{t}CreateInput")),
    ))
}

/// `createXs(data, upsertOn)`: many records in one transaction, or upserted on the keys named.
fn create_many(name: &Arc<str>, t: &str, plural_t: &str) -> Field {
    let n = name.clone();
    Field::new(
        format!("create{plural_t}"),
        TypeRef::named_nn_list_nn(t),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let args = args_json(&ctx)?;
                let data: Vec<Record> = args
                    .get("data")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
                    .unwrap_or_default();
                let upsert = args
                    .get("upsertOn")
                    .is_some_and(|v| !v.is_null())
                    .then(|| string_list(&args, "upsertOn"));
                let data = data
                    .into_iter()
                    .map(|d| owned_by_caller(&ctx, &n, d))
                    .collect::<Result<Vec<_>, _>>()?;
                let st = state(&ctx)?;
                let created = store(&ctx)?
                    .create(&st.counter, &st.actor, &n, &data, upsert.as_deref())
                    .await
                    .map_err(store_error)?;
                Ok(Some(FieldValue::list(
                    created.into_iter().map(|r| node_value(r)),
                )))
            })
        },
    )
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn_list_nn(format!("{t}CreateInput")),
    ))
    .argument(InputValue::new(
        "upsertOn",
        TypeRef::named_nn_list(TypeRef::STRING),
    ))
}

/// `updateX(id, data, expectedVersion)`: one record, within the role's update scope.
fn update_one(name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    Field::new(format!("update{t}"), TypeRef::named_nn(t), move |ctx| {
        let n = n.clone();
        FieldFuture::new(async move {
            let id = string_arg(&ctx, "id")?;
            check_write(&ctx, &n, WriteOp::Update, &id).await?;
            let data = data_arg(&ctx, "data")?;
            let expected = ctx.args.get("expectedVersion").and_then(|v| v.i64().ok());
            let r = store(&ctx)?
                .update(
                    &state(&ctx)?.counter,
                    &state(&ctx)?.actor,
                    &n,
                    &id,
                    &data,
                    expected,
                )
                .await
                .map_err(store_error)?;
            Ok(Some(node_value(r)))
        })
    })
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(format!("{t}UpdateInput")),
    ))
    .argument(InputValue::new(
        "expectedVersion",
        TypeRef::named(TypeRef::INT),
    ))
}

/// `updateXs(filter, data)`: every record the filter selects that the role may update.
fn update_many(name: &Arc<str>, t: &str, plural_t: &str) -> Field {
    let n = name.clone();
    Field::new(
        format!("update{plural_t}"),
        TypeRef::named_nn_list_nn(t),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let filter = narrowed(&ctx, &n, WriteOp::Update)?;
                let data = data_arg(&ctx, "data")?;
                let rs = store(&ctx)?
                    .update_many(
                        &state(&ctx)?.counter,
                        &state(&ctx)?.actor,
                        &n,
                        &filter,
                        &data,
                    )
                    .await
                    .map_err(store_error)?;
                Ok(Some(FieldValue::list(
                    rs.into_iter().map(|r| node_value(r)),
                )))
            })
        },
    )
    .argument(InputValue::new(
        "filter",
        TypeRef::named_nn(format!("{t}Filter")),
    ))
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(format!("{t}UpdateInput")),
    ))
}

/// `deleteX(id)` and `restoreX(id)`: to the trash and back.
fn delete_and_restore(name: &Arc<str>, t: &str) -> Vec<Field> {
    let mut out = Vec::new();
    for op in [WriteOp::Delete, WriteOp::Restore] {
        let n = name.clone();
        let restoring = op == WriteOp::Restore;
        out.push(
            Field::new(format!("{op}{t}"), TypeRef::named_nn(t), move |ctx| {
                let n = n.clone();
                FieldFuture::new(async move {
                    let id = string_arg(&ctx, "id")?;
                    check_write(&ctx, &n, op, &id).await?;
                    let st = state(&ctx)?;
                    let store = store(&ctx)?;
                    let mut rs = store
                        .soft_delete(
                            &st.counter,
                            &st.actor,
                            &n,
                            Some(vec![id.clone()]),
                            None,
                            restoring,
                        )
                        .await
                        .map_err(store_error)?;
                    match rs.pop() {
                        Some(r) => Ok(Some(node_value(r))),
                        None => Err(store_error(rapport_store::StoreError::Conflict(format!(
                            "{n} {id} is {}",
                            if restoring {
                                "not deleted"
                            } else {
                                "already deleted"
                            }
                        )))),
                    }
                })
            })
            .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID))),
        );
    }
    out
}

/// `deleteXs(filter)`: every record the filter selects that the role may delete.
fn delete_many(name: &Arc<str>, t: &str, plural_t: &str) -> Field {
    let n = name.clone();
    Field::new(
        format!("delete{plural_t}"),
        TypeRef::named_nn_list_nn(t),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let filter = narrowed(&ctx, &n, WriteOp::Delete)?;
                let rs = store(&ctx)?
                    .soft_delete(
                        &state(&ctx)?.counter,
                        &state(&ctx)?.actor,
                        &n,
                        None,
                        Some(&filter),
                        false,
                    )
                    .await
                    .map_err(store_error)?;
                Ok(Some(FieldValue::list(
                    rs.into_iter().map(|r| node_value(r)),
                )))
            })
        },
    )
    .argument(InputValue::new(
        "filter",
        TypeRef::named_nn(format!("{t}Filter")),
    ))
}

/// `destroyX(id)`: removed for good.
fn destroy_one(name: &Arc<str>, t: &str) -> Field {
    let n = name.clone();
    Field::new(
        format!("destroy{t}"),
        TypeRef::named_nn(TypeRef::ID),
        move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let id = string_arg(&ctx, "id")?;
                check_write(&ctx, &n, WriteOp::Destroy, &id).await?;
                store(&ctx)?
                    .destroy(&state(&ctx)?.counter, &state(&ctx)?.actor, &n, &id)
                    .await
                    .map_err(store_error)?;
                Ok(Some(FieldValue::value(GqlValue::String(id))))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
}

/// A new record belongs to the member who creates it unless they say otherwise;
/// creating needs the role's `create` right.
fn owned_by_caller(
    ctx: &ResolverContext<'_>,
    object: &str,
    mut data: Record,
) -> Result<Record, Error> {
    let st = state(ctx)?;
    st.access
        .write_filter(object, WriteOp::Create)
        .map_err(access_error)?;
    if let Some(m) = &st.access.member_id
        && !data.contains_key("ownerId")
    {
        data.insert("ownerId".into(), Value::String(m.clone()));
    }
    Ok(data)
}

/// A by-filter write's `filter` argument, narrowed to the records the role
/// may write.
fn narrowed(ctx: &ResolverContext<'_>, object: &str, op: WriteOp) -> Result<Filter, Error> {
    let input = ctx.args.try_get("filter")?.as_value().clone().into_json()?;
    let store = store(ctx)?;
    let obj = store.object(object).map_err(store_error)?;
    let filter = Filter::parse(&store.meta.catalog, obj, &input, "filter").map_err(query_error)?;
    Ok(
        match state(ctx)?
            .access
            .write_filter(object, op)
            .map_err(access_error)?
        {
            Some(scope) => Filter::all([filter, scope]),
            None => filter,
        },
    )
}

/// A write to one record: `NOT_FOUND` when the caller cannot see it,
/// `FORBIDDEN` when they see it but their role may not do this to it.
async fn check_write(
    ctx: &ResolverContext<'_>,
    object: &str,
    op: WriteOp,
    id: &str,
) -> Result<(), Error> {
    let st = state(ctx)?;
    let Some(scope) = st.access.write_filter(object, op).map_err(access_error)? else {
        return Ok(());
    };
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(()); // the store answers with the input error
    }
    let count = |filter: Filter| {
        let q = ConnectionQuery {
            filter: Some(filter),
            with_deleted: true,
            ..Default::default()
        };
        async move {
            store(ctx)?
                .count(&st.counter, object, &q)
                .await
                .map_err(store_error)
        }
    };
    if count(Filter::eq("id", id)).await? == 0 {
        return Ok(()); // the store answers NOT_FOUND
    }
    if count(Filter::all([Filter::eq("id", id), scope])).await? == 0 {
        return Err(ErrorCode::Forbidden.error(format!(
            "this {object} is outside what the `{}` role may {op}",
            st.access.role.name
        )));
    }
    Ok(())
}
