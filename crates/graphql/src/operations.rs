//! Business operations on the generated API (rapport-crm), added when the
//! workspace has the objects they work on.

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use rapport_meta::Catalog;
use rapport_store::Record;
use serde_json::{Value, json};

use crate::errors::{crm_error, store_error};
use crate::resolve::{args_json, node_value, state, store, string_arg, string_list};
use crate::shared_types::json_member;

fn opt_str(args: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    args.get(name).and_then(Value::as_str).map(str::to_string)
}

fn has(catalog: &Catalog, names: &[&str]) -> bool {
    names.iter().all(|n| catalog.object(n).is_some())
}

/// A value holding records by role (`lead`, `company`…), for result objects.
struct Records(Vec<(&'static str, Record)>);

fn record_member(name: &'static str, ty: TypeRef) -> Field {
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            let r = ctx.parent_value.try_downcast_ref::<Records>()?;
            Ok(r.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, rec)| node_value(rec.clone())))
        })
    })
}

/// (types, query fields, mutation fields)
/// A transaction whose writes stay within the caller's write rights.
async fn begin<'a>(
    ctx: &ResolverContext<'a>,
    st: &'a crate::resolve::RequestState,
) -> Result<rapport_store::Tx<'a>, async_graphql::Error> {
    let store = store(ctx)?;
    let tx = store
        .begin(&st.counter, &st.actor)
        .await
        .map_err(store_error)?;
    Ok(tx.guarded(st.access.write_guard(&store.meta.catalog)))
}

/// Most records one `importRecords` call takes; larger files go through
/// `rapport import` or several calls.
const MAX_IMPORT: usize = 10_000;

fn import_records() -> (Vec<Type>, Field) {
    let types = vec![
        Object::new("ImportError")
            .field(json_member("line", TypeRef::named_nn(TypeRef::INT)))
            .field(json_member("field", TypeRef::named_nn(TypeRef::STRING)))
            .field(json_member("reason", TypeRef::named_nn(TypeRef::STRING)))
            .into(),
        Object::new("ImportResult")
            .field(json_member("imported", TypeRef::named_nn(TypeRef::INT)))
            .field(json_member("refused", TypeRef::named_nn(TypeRef::INT)))
            .field(json_member(
                "errors",
                TypeRef::named_nn_list_nn("ImportError"),
            ))
            .into(),
    ];
    let field = Field::new("importRecords", TypeRef::named_nn("ImportResult"), |ctx| {
        FieldFuture::new(async move {
            let object = string_arg(&ctx, "object")?;
            let args = args_json(&ctx)?;
            let skip_invalid = args.get("skipInvalid").and_then(Value::as_bool).unwrap_or(false);
            let records: Vec<Value> = args.get("records").and_then(Value::as_array).cloned().unwrap_or_default();
            if records.len() > MAX_IMPORT {
                return Err(store_error(rapport_store::StoreError::bad("records", format!("at most {MAX_IMPORT} records per call"))));
            }
            let st = state(&ctx)?;
            st.access
                .write_filter(&object, rapport_query::WriteOp::Create)
                .map_err(crate::errors::access_error)?;
            let store = store(&ctx)?;
            let mut import = store.begin_import(&st.counter, &st.actor, &object, skip_invalid).await.map_err(store_error)?;
            let mut rows = Vec::with_capacity(records.len());
            for (i, r) in records.into_iter().enumerate() {
                match r {
                    Value::Object(m) if st.access.unwritable(&store.meta.catalog, &object, &m).is_some() => {
                        let field = st.access.unwritable(&store.meta.catalog, &object, &m).unwrap_or_default();
                        import.reject_field(i + 1, field, format!("the `{}` role may not write this field", st.access.role.name));
                    }
                    Value::Object(mut m) => {
                        if let Some(owner) = &st.access.member_id && !m.contains_key("ownerId") {
                            m.insert("ownerId".into(), Value::String(owner.clone()));
                        }
                        rows.push((i + 1, m));
                    }
                    _ => import.reject(i + 1, "a record must be an object"),
                }
            }
            import.push(rows).await.map_err(store_error)?;
            let report = import.finish().await.map_err(store_error)?;
            Ok(Some(FieldValue::value(async_graphql::Value::from_json(report.to_json()).unwrap_or_default())))
        })
    })
    .description("Creates many records in one transaction, validated like createX; errors name the record's position (1-based). Without skipInvalid, any invalid record means none is created.")
    .argument(InputValue::new("object", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("records", TypeRef::named_nn_list_nn("JSON")))
    .argument(InputValue::new("skipInvalid", TypeRef::named(TypeRef::BOOLEAN)).default_value(false));
    (types, field)
}

pub(crate) fn fields(catalog: &Catalog) -> (Vec<Type>, Vec<Field>, Vec<Field>) {
    let (mut types, mut queries, mut mutations) = (Vec::new(), Vec::new(), Vec::new());
    if !catalog.objects().is_empty() {
        let (import_types, import) = import_records();
        types.extend(import_types);
        mutations.push(import);
    }

    if has(catalog, &["lead", "company", "person", "opportunity"]) {
        types.push(convert_lead_result_type());
        mutations.push(convert_lead());
    }

    if has(
        catalog,
        &["quote", "quoteLineItem", "salesOrder", "orderLineItem"],
    ) {
        mutations.push(create_order_from_quote());
    }

    if has(catalog, &["workspaceMember"]) {
        mutations.push(assign_records());
        types.push(transfer_count_type());
        mutations.push(transfer_ownership());
    }

    if has(catalog, &["person"]) {
        mutations.push(erase_subject());
    }

    types.push(duplicate_match_type());
    queries.push(find_duplicates());
    types.push(merge_result_type());
    mutations.push(merge_records());
    types.push(timeline_entry_type());
    queries.push(record_timeline());
    (types, queries, mutations)
}

fn convert_lead_result_type() -> Type {
    Object::new("ConvertLeadResult")
        .field(record_member("lead", TypeRef::named_nn("Lead")))
        .field(record_member("company", TypeRef::named_nn("Company")))
        .field(record_member("person", TypeRef::named_nn("Person")))
        .field(record_member("opportunity", TypeRef::named("Opportunity")))
        .into()
}

fn convert_lead() -> Field {
    Field::new("convertLead", TypeRef::named_nn("ConvertLeadResult"), |ctx| {
        FieldFuture::new(async move {
            let args = args_json(&ctx)?;
            let st = state(&ctx)?;
            let tx = begin(&ctx, st).await?;
            let req = rapport_crm::ConvertLead {
                lead_id: string_arg(&ctx, "id")?,
                company_id: opt_str(&args, "companyId"),
                person_id: opt_str(&args, "personId"),
                create_opportunity: args.get("createOpportunity").and_then(Value::as_bool).unwrap_or(true),
                opportunity_name: opt_str(&args, "opportunityName"),
            };
            let c = rapport_crm::convert_lead(&tx, req).await.map_err(crm_error)?;
            tx.commit().await.map_err(store_error)?;
            let mut out = vec![("lead", c.lead), ("company", c.company), ("person", c.person)];
            if let Some(o) = c.opportunity {
                out.push(("opportunity", o));
            }
            Ok(Some(FieldValue::owned_any(Records(out))))
        })
    })
    .description("Converts a lead into a company, a person and optionally an opportunity, in one transaction.")
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
    .argument(InputValue::new("companyId", TypeRef::named(TypeRef::ID)))
    .argument(InputValue::new("personId", TypeRef::named(TypeRef::ID)))
    .argument(InputValue::new("createOpportunity", TypeRef::named(TypeRef::BOOLEAN)).default_value(true))
    .argument(InputValue::new("opportunityName", TypeRef::named(TypeRef::STRING)))
}

fn create_order_from_quote() -> Field {
    Field::new(
        "createOrderFromQuote",
        TypeRef::named_nn("SalesOrder"),
        |ctx| {
            FieldFuture::new(async move {
                let quote = string_arg(&ctx, "quoteId")?;
                let st = state(&ctx)?;
                let tx = begin(&ctx, st).await?;
                let order = rapport_crm::create_order_from_quote(&tx, &quote)
                    .await
                    .map_err(crm_error)?;
                tx.commit().await.map_err(store_error)?;
                Ok(Some(node_value(order)))
            })
        },
    )
    .description(
        "Copies a quote and its lines into a draft sales order and marks the quote accepted.",
    )
    .argument(InputValue::new("quoteId", TypeRef::named_nn(TypeRef::ID)))
}

fn assign_records() -> Field {
    Field::new("assignRecords", TypeRef::named_nn(TypeRef::INT), |ctx| {
        FieldFuture::new(async move {
            let args = args_json(&ctx)?;
            let object = string_arg(&ctx, "object")?;
            let st = state(&ctx)?;
            let tx = begin(&ctx, st).await?;
            let done = rapport_crm::assign_records(
                &tx,
                &object,
                &string_list(&args, "ids"),
                opt_str(&args, "ownerId").as_deref(),
                opt_str(&args, "teamId").as_deref(),
            )
            .await
            .map_err(crm_error)?;
            tx.commit().await.map_err(store_error)?;
            Ok(Some(FieldValue::value(done.len() as i64)))
        })
    })
    .description(
        "Gives records an owner and, where the object has one, a team. Returns how many changed.",
    )
    .argument(InputValue::new(
        "object",
        TypeRef::named_nn(TypeRef::STRING),
    ))
    .argument(InputValue::new(
        "ids",
        TypeRef::named_nn_list_nn(TypeRef::ID),
    ))
    .argument(InputValue::new("ownerId", TypeRef::named(TypeRef::ID)))
    .argument(InputValue::new("teamId", TypeRef::named(TypeRef::ID)))
}

fn transfer_count_type() -> Type {
    Object::new("TransferCount")
        .field(json_member("object", TypeRef::named_nn(TypeRef::STRING)))
        .field(json_member("count", TypeRef::named_nn(TypeRef::INT)))
        .into()
}

fn transfer_ownership() -> Field {
    Field::new(
        "transferOwnership",
        TypeRef::named_nn_list_nn("TransferCount"),
        |ctx| {
            FieldFuture::new(async move {
                let args = args_json(&ctx)?;
                let objects = args
                    .get("objects")
                    .filter(|v| !v.is_null())
                    .map(|_| string_list(&args, "objects"));
                let to = match (opt_str(&args, "toMemberId"), opt_str(&args, "toTeamId")) {
                    (Some(member), None) => rapport_crm::Successor::Member(member),
                    (None, Some(team)) if args.get("spread").and_then(Value::as_bool) == Some(true) => {
                        rapport_crm::Successor::TeamMembers(team)
                    }
                    (None, Some(team)) => rapport_crm::Successor::TeamManager(team),
                    _ => {
                        return Err(store_error(rapport_store::StoreError::bad(
                            "toMemberId",
                            "give toMemberId or toTeamId (one of them)",
                        )));
                    }
                };
                let st = state(&ctx)?;
                let tx = begin(&ctx, st).await?;
                let moved = rapport_crm::transfer_ownership(
                    &tx,
                    &string_arg(&ctx, "fromMemberId")?,
                    &to,
                    objects.as_deref(),
                )
                .await
                .map_err(crm_error)?;
                tx.commit().await.map_err(store_error)?;
                let list = moved.into_iter().map(|(o, n)| {
                    FieldValue::value(
                        async_graphql::Value::from_json(json!({ "object": o, "count": n }))
                            .unwrap_or_default(),
                    )
                });
                Ok(Some(FieldValue::list(list)))
            })
        },
    )
    .description("Moves all of a member's open records (owned or assigned), in one transaction, to another member (toMemberId), to a team's manager (toTeamId), or across a team's active members in turns (toTeamId with spread: true).")
    .argument(InputValue::new(
        "fromMemberId",
        TypeRef::named_nn(TypeRef::ID),
    ))
    .argument(InputValue::new("toMemberId", TypeRef::named(TypeRef::ID)))
    .argument(InputValue::new("toTeamId", TypeRef::named(TypeRef::ID)))
    .argument(InputValue::new("spread", TypeRef::named(TypeRef::BOOLEAN)).default_value(false))
    .argument(InputValue::new(
        "objects",
        TypeRef::named_nn_list(TypeRef::STRING),
    ))
}

fn erase_subject() -> Field {
    Field::new("eraseSubject", TypeRef::named_nn("Person"), |ctx| {
        FieldFuture::new(async move {
            let st = state(&ctx)?;
            if !st.access.role.admin {
                return Err(crate::errors::store_error(rapport_store::StoreError::Forbidden("erasing a person needs the admin role".into())));
            }
            let person = string_arg(&ctx, "personId")?;
            let tx = begin(&ctx, st).await?;
            let erased = rapport_crm::erase_subject(&tx, &person).await.map_err(crm_error)?;
            tx.commit().await.map_err(store_error)?;
            Ok(Some(node_value(erased)))
        })
    })
    .description("The right to be forgotten: a person's personal data (and that of the leads that became them) erased, history included; the records, counts and amounts stay.")
    .argument(InputValue::new("personId", TypeRef::named_nn(TypeRef::ID)))
}

fn duplicate_match_type() -> Type {
    Object::new("DuplicateMatch")
        .field(json_member("id", TypeRef::named_nn(TypeRef::ID)))
        .field(json_member(
            "matchedOn",
            TypeRef::named_nn_list_nn(TypeRef::STRING),
        ))
        .field(json_member("record", TypeRef::named_nn("JSON")))
        .into()
}

fn find_duplicates() -> Field {
    Field::new("findDuplicates", TypeRef::named_nn_list_nn("DuplicateMatch"), |ctx| {
        FieldFuture::new(async move {
            let object = string_arg(&ctx, "object")?;
            let mut data = match ctx.args.try_get("data")?.as_value().clone().into_json()? {
                Value::Object(m) => m,
                _ => return Err(crate::errors::store_error(rapport_store::StoreError::bad("data", "expects an object"))),
            };
            let st = state(&ctx)?;
            st.access.matchable(&store(&ctx)?.meta.catalog, &object, &mut data);
            let tx = begin(&ctx, st).await?;
            let exclude = data.get("id").and_then(Value::as_str).map(str::to_string);
            let found = rapport_crm::find_duplicates(&tx, &object, &data, exclude.as_deref()).await.map_err(crm_error)?;
            let catalog = store(&ctx)?.meta.catalog.clone();
            let list = found.into_iter().map(|mut m| {
                st.access.redact(&catalog, &object, &mut m.record);
                let v = json!({ "id": m.record.get("id"), "matchedOn": m.matched_on, "record": Value::Object(m.record) });
                FieldValue::value(async_graphql::Value::from_json(v).unwrap_or_default())
            });
            Ok(Some(FieldValue::list(list)))
        })
    })
    .description("Records that look like `data` by the object's duplicate criteria.")
    .argument(InputValue::new("object", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("data", TypeRef::named_nn("JSON")))
}

fn merge_result_type() -> Type {
    Object::new("MergeResult")
        .field(json_member("keptId", TypeRef::named_nn(TypeRef::ID)))
        .field(json_member("record", TypeRef::named_nn("JSON")))
        .field(json_member(
            "referencesMoved",
            TypeRef::named_nn(TypeRef::INT),
        ))
        .into()
}

fn merge_records() -> Field {
    Field::new("mergeRecords", TypeRef::named_nn("MergeResult"), |ctx| {
        FieldFuture::new(async move {
            let args = args_json(&ctx)?;
            let (object, keep) = (string_arg(&ctx, "object")?, string_arg(&ctx, "keepId")?);
            let st = state(&ctx)?;
            let tx = begin(&ctx, st).await?;
            let (kept, moved) = rapport_crm::merge_records(&tx, &object, &keep, &string_list(&args, "mergeIds")).await.map_err(crm_error)?;
            tx.commit().await.map_err(store_error)?;
            let mut kept = kept;
            st.access.redact(&store(&ctx)?.meta.catalog, &object, &mut kept);
            let v = json!({ "keptId": keep, "record": Value::Object(kept), "referencesMoved": moved });
            Ok(Some(FieldValue::value(async_graphql::Value::from_json(v).unwrap_or_default())))
        })
    })
    .description("Merges duplicates into one record: relations re-pointed, empty fields filled, the others soft-deleted.")
    .argument(InputValue::new("object", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("keepId", TypeRef::named_nn(TypeRef::ID)))
    .argument(InputValue::new("mergeIds", TypeRef::named_nn_list_nn(TypeRef::ID)))
}

fn timeline_entry_type() -> Type {
    Object::new("TimelineEntry")
        .field(json_member("at", TypeRef::named_nn("DateTime")))
        .field(json_member("kind", TypeRef::named_nn(TypeRef::STRING)))
        .field(json_member("actor", TypeRef::named(TypeRef::STRING)))
        .field(json_member("summary", TypeRef::named_nn(TypeRef::STRING)))
        .field(json_member("changes", TypeRef::named("JSON")))
        .field(json_member(
            "relatedObject",
            TypeRef::named(TypeRef::STRING),
        ))
        .field(json_member("relatedId", TypeRef::named(TypeRef::ID)))
        .into()
}

fn record_timeline() -> Field {
    Field::new("recordTimeline", TypeRef::named_nn_list_nn("TimelineEntry"), |ctx| {
        FieldFuture::new(async move {
            let (object, id) = (string_arg(&ctx, "object")?, string_arg(&ctx, "id")?);
            let first = ctx.args.get("first").and_then(|v| v.i64().ok()).unwrap_or(50);
            let st = state(&ctx)?;
            let tx = begin(&ctx, st).await?;
            let entries = rapport_crm::record_timeline(&tx, &object, &id, first).await.map_err(crm_error)?;
            let catalog = store(&ctx)?.meta.catalog.clone();
            let list = entries.into_iter().map(|mut e| {
                if let Value::Object(changes) = &mut e.changes {
                    st.access.redact(&catalog, &object, changes);
                    if e.kind == "UPDATED" {
                        let shown: Vec<&str> = changes.keys().map(String::as_str).collect();
                        e.summary = format!("changed {}", shown.join(", ")).trim_end().to_string();
                    }
                } else if e.summary_reads.iter().any(|(o, f)| !st.access.sees_clear(&catalog, o, f)) {
                    e.summary = e.kind.to_lowercase();
                }
                let (ro, ri) = e.related.map(|(o, i)| (Some(o), Some(i))).unwrap_or((None, None));
                let v = json!({ "at": e.at, "kind": e.kind, "actor": e.actor, "summary": e.summary,
                                "changes": e.changes, "relatedObject": ro, "relatedId": ri });
                FieldValue::value(async_graphql::Value::from_json(v).unwrap_or_default())
            });
            Ok(Some(FieldValue::list(list)))
        })
    })
    .description("What happened to a record, newest first: its history and what is attached to it.")
    .argument(InputValue::new("object", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)).default_value(50))
}
