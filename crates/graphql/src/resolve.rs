//! Resolvers of the generated API. Root fields run one statement; nested
//! relations go through the request's [`RecordLoader`].

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, ResolverContext, TypeRef,
};
use async_graphql::{Error, ErrorExtensions, Value as GqlValue};
use rapport_meta::{Catalog, FieldDef, FieldType, ObjectDef, RelationKind};
use rapport_query::{ConnectionQuery, id_column, object_column};
use rapport_store::{Actor, Page, Record, RecordStore, StatementCounter};
use serde_json::{Map, Value, json};

use crate::arguments::list_query;
use crate::errors::{ApiError, query_error, store_error};
use crate::loader::{ListArgs, LoadKey, Loaded, RecordLoader};
use crate::object_types::{scalar_type, type_name};

/// Per-request data: who calls, and the statement counter.
pub struct RequestState {
    pub counter: StatementCounter,
    pub actor: Actor,
    pub access: rapport_access::Access,
    /// Child-list keys by field occurrence (line, column, object).
    pub list_keys: std::sync::Mutex<std::collections::HashMap<ListOccurrence, ListArgs>>,
}

pub type ListOccurrence = (usize, usize, Arc<str>);

#[derive(Clone)]
pub(crate) struct Node {
    data: Arc<Record>,
}

pub(crate) struct Conn {
    pub object: Arc<str>,
    pub page: Page,
    pub total: Option<i64>,
    pub query: Option<ConnectionQuery>,
}

struct Edge {
    node: Node,
    cursor: String,
}

pub(crate) fn store<'a>(ctx: &ResolverContext<'a>) -> Result<&'a Arc<RecordStore>, Error> {
    ctx.data::<Arc<RecordStore>>()
}

pub(crate) fn state<'a>(ctx: &ResolverContext<'a>) -> Result<&'a RequestState, Error> {
    ctx.data::<RequestState>()
}

fn loader<'a>(ctx: &ResolverContext<'a>) -> Result<&'a DataLoader<RecordLoader>, Error> {
    ctx.data::<DataLoader<RecordLoader>>()
}

/// Scalars convert directly (most values of a page); lists and objects
/// through serde.
pub(crate) fn to_gql(v: &Value) -> GqlValue {
    match v {
        Value::Null => GqlValue::Null,
        Value::Bool(b) => GqlValue::Boolean(*b),
        Value::String(s) => GqlValue::String(s.clone()),
        Value::Number(n) => GqlValue::Number(n.clone()),
        _ => GqlValue::from_json(v.clone()).unwrap_or(GqlValue::Null),
    }
}

fn value_field(v: Option<&Value>) -> Option<FieldValue<'static>> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(FieldValue::value(to_gql(v))),
    }
}

/// The arguments of the current field as JSON (enums become strings).
pub(crate) fn args_json(ctx: &ResolverContext<'_>) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for (name, v) in ctx.args.iter() {
        out.insert(name.to_string(), v.as_value().clone().into_json()?);
    }
    Ok(out)
}

/// A list-of-strings argument (ids, field names); absent or null: empty.
pub(crate) fn string_list(args: &Map<String, Value>, name: &str) -> Vec<String> {
    args.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn node_value(data: Record) -> FieldValue<'static> {
    FieldValue::owned_any(Node {
        data: Arc::new(data),
    })
}

fn record_field(name: &str, ty: TypeRef, key: &str) -> Field {
    let key = key.to_string();
    Field::new(name, ty, move |ctx| {
        let key = key.clone();
        FieldFuture::new(async move {
            let node = ctx.parent_value.try_downcast_ref::<Node>()?;
            Ok(value_field(node.data.get(&key)))
        })
    })
}

pub(crate) fn system_fields(catalog: &Catalog) -> Vec<Field> {
    let mut fields = vec![
        record_field("id", TypeRef::named_nn(TypeRef::ID), "id"),
        record_field("createdAt", TypeRef::named_nn("DateTime"), "createdAt"),
        record_field("updatedAt", TypeRef::named_nn("DateTime"), "updatedAt"),
        record_field("deletedAt", TypeRef::named("DateTime"), "deletedAt"),
        record_field("version", TypeRef::named_nn(TypeRef::INT), "version"),
        record_field("ownerId", TypeRef::named(TypeRef::ID), "ownerId"),
        Field::new("createdBy", TypeRef::named("Actor"), |ctx| {
            FieldFuture::new(async move {
                let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                let Some(raw) = node.data.get("createdBy").and_then(Value::as_str) else {
                    return Ok(None);
                };
                let (kind, name) = raw.split_once(':').unwrap_or(("unknown", raw));
                Ok(Some(FieldValue::value(to_gql(
                    &json!({ "kind": kind, "name": name }),
                ))))
            })
        }),
    ];
    // `owner` resolves to the member once the workspace has members.
    if catalog.object("workspaceMember").is_some() {
        fields.push(Field::new(
            "owner",
            TypeRef::named("WorkspaceMember"),
            |ctx| {
                FieldFuture::new(async move {
                    let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                    let Some(id) = node.data.get("ownerId").and_then(Value::as_str) else {
                        return Ok(None);
                    };
                    let key = record_key(&ctx, Arc::from("workspaceMember"), id.to_string());
                    Ok(match loader(&ctx)?.load_one(key).await? {
                        Some(Loaded::Record(r)) => Some(FieldValue::owned_any(Node { data: r })),
                        _ => None,
                    })
                })
            },
        ));
    }
    fields
}

pub(crate) fn list_args(field: Field, t: &str) -> Field {
    field
        .argument(InputValue::new(
            "filter",
            TypeRef::named(format!("{t}Filter")),
        ))
        .argument(InputValue::new(
            "orderBy",
            TypeRef::named_nn_list(format!("{t}OrderBy")),
        ))
        .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("after", TypeRef::named(TypeRef::STRING)))
        .argument(InputValue::new("search", TypeRef::named(TypeRef::STRING)))
        .argument(
            InputValue::new("withDeleted", TypeRef::named(TypeRef::BOOLEAN)).default_value(false),
        )
}

/// The fields a record type shows for one field of its object.
pub(crate) fn node_fields(catalog: &Catalog, object: &ObjectDef, f: &FieldDef) -> Vec<Field> {
    let _ = catalog;
    match f.relation.as_ref().map(|r| (r.kind, r.target.clone())) {
        Some((RelationKind::ManyToOne, target)) => {
            let id_key = id_column(f);
            vec![
                record_field(&id_key, TypeRef::named(TypeRef::ID), &id_key),
                parent_field(f, &target),
            ]
        }
        Some((RelationKind::Polymorphic, _)) => {
            let (object_key, id_key) = (object_column(f), id_column(f));
            vec![
                record_field(&object_key, TypeRef::named(TypeRef::STRING), &object_key),
                record_field(&id_key, TypeRef::named(TypeRef::ID), &id_key),
            ]
        }
        Some((_, target)) => vec![child_list_field(object, f, &target)],
        None if f.masked => vec![masked_field(object, f)],
        None => {
            let ty = scalar_type(object, f);
            let ty = match f.field_type {
                FieldType::MultiSelect => TypeRef::named_nn_list(ty),
                _ => TypeRef::named(ty),
            };
            vec![record_field(&f.name, ty, &f.name)]
        }
    }
}

/// A many-to-one parent, through the loader.
fn parent_field(f: &FieldDef, target: &str) -> Field {
    let key = id_column(f);
    let target_arc: Arc<str> = Arc::from(target);
    Field::new(&f.name, TypeRef::named(type_name(target)), move |ctx| {
        let key = key.clone();
        let target = target_arc.clone();
        FieldFuture::new(async move {
            let node = ctx.parent_value.try_downcast_ref::<Node>()?;
            let Some(id) = node.data.get(&key).and_then(Value::as_str) else {
                return Ok(None);
            };
            let loaded = loader(&ctx)?
                .load_one(record_key(&ctx, target.clone(), id.to_string()))
                .await?;
            Ok(match loaded {
                Some(Loaded::Record(r)) => Some(FieldValue::owned_any(Node { data: r })),
                _ => None,
            })
        })
    })
}

/// A one-to-many or many-to-many list, paged per parent through the loader.
fn child_list_field(object: &ObjectDef, f: &FieldDef, target: &str) -> Field {
    let t = type_name(target);
    let parent: Arc<str> = Arc::from(object.name.as_str());
    let field: Arc<str> = Arc::from(f.name.as_str());
    let target_arc: Arc<str> = Arc::from(target);
    let list = Field::new(
        &f.name,
        TypeRef::named_nn(format!("{t}Connection")),
        move |ctx| {
            let (parent, field, target) = (parent.clone(), field.clone(), target_arc.clone());
            FieldFuture::new(async move {
                let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                let id = node
                    .data
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let key = LoadKey::Children {
                    args: list_key_args(&ctx, &target)?,
                    parent,
                    field,
                    parent_id: id,
                };
                let page = match loader(&ctx)?.load_one(key).await? {
                    Some(Loaded::Children(p)) => p,
                    _ => Default::default(),
                };
                Ok(Some(FieldValue::owned_any(Conn {
                    object: target,
                    page: page.page.clone(),
                    total: Some(page.total_count),
                    query: None,
                })))
            })
        },
    );
    list_args(list, &t)
}

/// A `masked` field: masked to roles that may not read it clear.
fn masked_field(object: &ObjectDef, f: &FieldDef) -> Field {
    let (object_name, name) = (object.name.clone(), f.name.clone());
    Field::new(
        &f.name,
        TypeRef::named(scalar_type(object, f)),
        move |ctx| {
            let (object_name, name) = (object_name.clone(), name.clone());
            FieldFuture::new(async move {
                let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                let value = node.data.get(&name);
                if state(&ctx)?.access.role.masks(&object_name, &name)
                    && let Some(Value::String(text)) = value
                {
                    return Ok(Some(FieldValue::value(rapport_access::mask(text))));
                }
                Ok(value_field(value))
            })
        },
    )
}

/// What a selection of `object` shows: its computed fields, and the record
/// keys of its stored values (a relation needs its id column; a list needs
/// only the record's id). Only these are read, so a page that shows three
/// fields of thirty neither computes rollups nor reads the rest.
pub(crate) struct Shown {
    pub computed: Vec<String>,
    pub stored: Vec<String>,
}

pub(crate) fn shown(obj: &ObjectDef, shows: impl Fn(&str) -> bool) -> Shown {
    // `id` is always read; the other system columns when shown.
    let mut stored: Vec<String> = rapport_query::SYSTEM_COLUMNS
        .iter()
        .filter(|k| **k != "id" && shows(k))
        .map(|k| k.to_string())
        .collect();
    if shows("owner") && !stored.iter().any(|k| k == "ownerId") {
        stored.push("ownerId".into());
    }
    let mut computed = Vec::new();
    for f in &obj.fields {
        if f.is_virtual() {
            if shows(&f.name) {
                computed.push(f.name.clone());
            }
            continue;
        }
        match f.relation_kind() {
            Some(RelationKind::ManyToOne) => {
                let id = format!("{}Id", f.name);
                if shows(&f.name) || shows(&id) {
                    stored.push(id);
                }
            }
            Some(RelationKind::Polymorphic) => {
                let (object, id) = (format!("{}Object", f.name), format!("{}Id", f.name));
                if shows(&object) || shows(&id) {
                    stored.extend([object, id]);
                }
            }
            Some(_) => {}
            None => {
                if shows(&f.name) {
                    stored.push(f.name.clone());
                }
            }
        }
    }
    Shown { computed, stored }
}

/// What a connection's selection shows of its records (`nodes { … }` or
/// `edges { node { … } }`, fragments included).
pub(crate) fn shown_in_page(ctx: &ResolverContext<'_>, object: &str) -> Option<Shown> {
    let obj = store(ctx).ok()?.meta.catalog.object(object)?;
    let look = ctx.look_ahead();
    let (nodes, edges) = (look.field("nodes"), look.field("edges").field("node"));
    Some(shown(obj, |name| {
        nodes.field(name).exists() || edges.field(name).exists()
    }))
}

/// A child list's query and what its page shows, as the loader's key. Every
/// parent of a level asks for the same field occurrence of the query, so it
/// is worked out once per request and occurrence.
fn list_key_args(ctx: &ResolverContext<'_>, target: &Arc<str>) -> Result<ListArgs, Error> {
    let occurrence = (ctx.item.pos.line, ctx.item.pos.column, target.clone());
    let known = &state(ctx)?.list_keys;
    if let Some(args) = known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&occurrence)
    {
        return Ok(args.clone());
    }
    let args = Value::Object(args_json(ctx)?);
    let store = store(ctx)?;
    let object = store.object(target).map_err(store_error)?;
    let mut query = list_query(&store.meta.catalog, object, &args).map_err(query_error)?;
    let shown = shown_in_page(ctx, target);
    let identity = match &shown {
        Some(s) => serde_json::json!([args, s.computed, s.stored]),
        None => serde_json::json!([args]),
    };
    if let Some(shown) = shown {
        query.computed = Some(shown.computed);
        query.stored = Some(shown.stored);
    }
    let args = ListArgs {
        identity: Arc::from(identity.to_string()),
        query: Arc::new(query),
    };
    known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(occurrence, args.clone());
    Ok(args)
}

/// The computed fields and stored values this field's selection of one
/// `object` record shows.
pub(crate) fn shown_here(
    ctx: &ResolverContext<'_>,
    object: &str,
) -> (Arc<[String]>, Arc<[String]>) {
    let look = ctx.look_ahead();
    let here = store(ctx)
        .ok()
        .and_then(|s| s.meta.catalog.object(object))
        .map(|obj| shown(obj, |name| look.field(name).exists()));
    match here {
        Some(s) => (Arc::from(s.computed), Arc::from(s.stored)),
        None => (Arc::from(Vec::new()), Arc::from(Vec::new())),
    }
}

/// The look-up key of one record, reading what this field's selection shows.
fn record_key(ctx: &ResolverContext<'_>, object: Arc<str>, id: String) -> LoadKey {
    let (computed, stored) = shown_here(ctx, &object);
    LoadKey::Record {
        object,
        id,
        computed,
        stored,
    }
}

pub(crate) fn edge_cursor() -> Field {
    Field::new("cursor", TypeRef::named_nn(TypeRef::STRING), |ctx| {
        FieldFuture::new(async move {
            let e = ctx.parent_value.try_downcast_ref::<Edge>()?;
            Ok(Some(FieldValue::value(e.cursor.clone())))
        })
    })
}

pub(crate) fn edge_node(t: &str) -> Field {
    Field::new("node", TypeRef::named_nn(t), |ctx| {
        FieldFuture::new(async move {
            let e = ctx.parent_value.try_downcast_ref::<Edge>()?;
            Ok(Some(FieldValue::owned_any(e.node.clone())))
        })
    })
}

pub(crate) fn connection_edges(t: &str) -> Field {
    Field::new(
        "edges",
        TypeRef::named_nn_list_nn(format!("{t}Edge")),
        |ctx| {
            FieldFuture::new(async move {
                let c = ctx.parent_value.try_downcast_ref::<Conn>()?;
                let edges = c.page.edges.iter().map(|(r, cursor)| {
                    FieldValue::owned_any(Edge {
                        node: Node { data: r.clone() },
                        cursor: cursor.clone(),
                    })
                });
                Ok(Some(FieldValue::list(edges)))
            })
        },
    )
}

pub(crate) fn connection_nodes(t: &str) -> Field {
    Field::new("nodes", TypeRef::named_nn_list_nn(t), |ctx| {
        FieldFuture::new(async move {
            let c = ctx.parent_value.try_downcast_ref::<Conn>()?;
            let nodes = c
                .page
                .edges
                .iter()
                .map(|(r, _)| FieldValue::owned_any(Node { data: r.clone() }));
            Ok(Some(FieldValue::list(nodes)))
        })
    })
}

pub(crate) fn connection_page_info() -> Field {
    Field::new("pageInfo", TypeRef::named_nn("PageInfo"), |ctx| {
        FieldFuture::new(async move {
            let c = ctx.parent_value.try_downcast_ref::<Conn>()?;
            let info = json!({
                "hasNextPage": c.page.has_next_page,
                "hasPreviousPage": c.page.has_previous_page,
                "startCursor": c.page.edges.first().map(|(_, c)| c.clone()),
                "endCursor": c.page.edges.last().map(|(_, c)| c.clone()),
            });
            Ok(Some(FieldValue::value(to_gql(&info))))
        })
    })
}

/// Counted only when asked for: one more statement for a root connection.
pub(crate) fn connection_total() -> Field {
    Field::new("totalCount", TypeRef::named_nn(TypeRef::INT), |ctx| {
        FieldFuture::new(async move {
            let c = ctx.parent_value.try_downcast_ref::<Conn>()?;
            let n = match (c.total, &c.query) {
                (Some(n), _) => n,
                (None, Some(q)) => store(&ctx)?
                    .count(&state(&ctx)?.counter, &c.object, q)
                    .await
                    .map_err(store_error)?,
                (None, None) => 0,
            };
            Ok(Some(FieldValue::value(n)))
        })
    })
}

pub(crate) fn empty_field() -> Field {
    Field::new("_empty", TypeRef::named(TypeRef::BOOLEAN), |_| {
        FieldFuture::new(async { Ok(None::<FieldValue>) })
    })
}

pub(crate) fn data_arg(ctx: &ResolverContext<'_>, name: &str) -> Result<Record, Error> {
    match ctx.args.try_get(name)?.as_value().clone().into_json()? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad(name, "expects an object").extend()),
    }
}

pub(crate) fn string_arg(ctx: &ResolverContext<'_>, name: &str) -> Result<String, Error> {
    let value = ctx.args.try_get(name)?;
    // GraphQL takes an Int for an `ID` and means its digits; a `String`
    // argument never gets here with one (validation refuses it).
    if let async_graphql::Value::Number(n) = value.as_value()
        && (n.is_i64() || n.is_u64())
    {
        return Ok(n.to_string());
    }
    Ok(value.string()?.to_string())
}
