//! Mutation fields of one object: create, update, delete, restore, destroy.

use std::sync::Arc;

use async_graphql::Value as GqlValue;
use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, TypeRef};
use rapport_meta::ObjectDef;
use rapport_store::Record;
use serde_json::Value;

use crate::errors::store_error;
use crate::object_types::type_name;
use crate::resolve::{args_json, data_arg, node_value, state, store, string_arg};

pub(crate) fn mutation_fields(object: &ObjectDef) -> Vec<Field> {
    let t = object.type_name();
    let plural_t = type_name(&object.plural_name);
    let name: Arc<str> = Arc::from(object.name.as_str());
    let mut out = Vec::new();

    let n = name.clone();
    out.push(
        Field::new(format!("create{t}"), TypeRef::named_nn(&t), move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let data = data_arg(&ctx, "data")?;
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
        )),
    );

    let n = name.clone();
    out.push(
        Field::new(
            format!("create{plural_t}"),
            TypeRef::named_nn_list_nn(&t),
            move |ctx| {
                let n = n.clone();
                FieldFuture::new(async move {
                    let args = args_json(&ctx)?;
                    let data: Vec<Record> = args
                        .get("data")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
                        .unwrap_or_default();
                    let upsert: Option<Vec<String>> =
                        args.get("upsertOn").and_then(Value::as_array).map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        });
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
        )),
    );

    let n = name.clone();
    out.push(
        Field::new(format!("update{t}"), TypeRef::named_nn(&t), move |ctx| {
            let n = n.clone();
            FieldFuture::new(async move {
                let id = string_arg(&ctx, "id")?;
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
        )),
    );

    let n = name.clone();
    out.push(
        Field::new(
            format!("update{plural_t}"),
            TypeRef::named_nn_list_nn(&t),
            move |ctx| {
                let n = n.clone();
                FieldFuture::new(async move {
                    let filter = ctx.args.try_get("filter")?.as_value().clone().into_json()?;
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
        )),
    );

    for (verb, restoring) in [("delete", false), ("restore", true)] {
        let n = name.clone();
        out.push(
            Field::new(format!("{verb}{t}"), TypeRef::named_nn(&t), move |ctx| {
                let n = n.clone();
                FieldFuture::new(async move {
                    let id = string_arg(&ctx, "id")?;
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

    let n = name.clone();
    out.push(
        Field::new(
            format!("delete{plural_t}"),
            TypeRef::named_nn_list_nn(&t),
            move |ctx| {
                let n = n.clone();
                FieldFuture::new(async move {
                    let filter = ctx.args.try_get("filter")?.as_value().clone().into_json()?;
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
        )),
    );

    let n = name.clone();
    out.push(
        Field::new(
            format!("destroy{t}"),
            TypeRef::named_nn(TypeRef::ID),
            move |ctx| {
                let n = n.clone();
                FieldFuture::new(async move {
                    let id = string_arg(&ctx, "id")?;
                    store(&ctx)?
                        .destroy(&state(&ctx)?.counter, &state(&ctx)?.actor, &n, &id)
                        .await
                        .map_err(store_error)?;
                    Ok(Some(FieldValue::value(GqlValue::String(id))))
                })
            },
        )
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID))),
    );
    out
}
