//! `POST /metadata`: the static metadata API (API.md). Each mutation is one
//! transaction in the store; after it commits the live schema is rebuilt
//! before the answer goes out, so the caller's next `/graphql` sees it.

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, Json, MergedObject, Object, Request, Response, Schema,
};
use rapport_meta::{ObjectDef, export_document};
use rapport_store::{FieldChange, MigrationPlan as StorePlan, Principal};
use serde_json::Value;

use crate::access_api::{AccessMutation, AccessQuery};
use crate::app::App;
use crate::metadata_types::{FieldMetadata, MigrationPlan, ObjectMetadata, object_metadata};

type MetadataSchema = Schema<MetaQuery, MetaMutation, EmptySubscription>;

/// Objects and fields (here) and accounts, keys, roles and audit (`access_api`).
#[derive(MergedObject, Default)]
pub struct MetaQuery(ObjectsQuery, AccessQuery);

#[derive(MergedObject, Default)]
pub struct MetaMutation(ObjectsMutation, AccessMutation);

/// The metadata API's schema: static, so built once. The app and caller
/// ride in each request's data.
static SCHEMA: std::sync::LazyLock<MetadataSchema> = std::sync::LazyLock::new(|| {
    Schema::build(
        MetaQuery::default(),
        MetaMutation::default(),
        EmptySubscription,
    )
    // Backstops: the depth and cost that count are checked before
    // execution (rapport_graphql::limits), as on /graphql.
    .limit_depth(64)
    .limit_complexity(1_000_000)
    .finish()
});

/// The metadata API's types, for the cost of a document
/// (`rapport_graphql::limits::document_cost`).
static REGISTRY: std::sync::LazyLock<async_graphql::registry::Registry> =
    std::sync::LazyLock::new(|| {
        use async_graphql::OutputType;
        let mut registry = async_graphql::registry::Registry {
            query_type: MetaQuery::type_name().into_owned(),
            mutation_type: Some(MetaMutation::type_name().into_owned()),
            ..Default::default()
        };
        MetaQuery::create_type_info(&mut registry);
        MetaMutation::create_type_info(&mut registry);
        registry
    });

pub(crate) fn registry() -> &'static async_graphql::registry::Registry {
    &REGISTRY
}

pub async fn execute(app: Arc<App>, principal: Option<Principal>, request: Request) -> Response {
    let request = match principal {
        Some(p) => request.data(p),
        // Anonymous callers may sign up or log in, and see nothing else.
        None => request.disable_introspection(),
    };
    SCHEMA.execute(request.data(app)).await
}

pub(crate) fn app<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<App>> {
    ctx.data::<Arc<App>>()
}

/// Metadata changes need the admin role.
pub(crate) fn principal<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or_else(|| {
        rapport_graphql::store_error(rapport_store::StoreError::Unauthenticated(
            "send `Authorization: Bearer <token>`".into(),
        ))
    })
}

/// The caller's workspace as served now.
pub(crate) async fn live(ctx: &Context<'_>) -> async_graphql::Result<Arc<crate::live::Live>> {
    let ws = principal(ctx)?.workspace_id.clone();
    app(ctx)?.live_for(&ws).await.map_err(server_err)
}

/// After a committed change: serves what it `applied`.
pub(crate) async fn reload(ctx: &Context<'_>, applied: StorePlan) -> async_graphql::Result<()> {
    let ws = principal(ctx)?.workspace_id.clone();
    app(ctx)?
        .reload_workspace_with(&ws, applied.applied)
        .await
        .map_err(server_err)
}

/// The caller's role (objects it may not read are not listed to it).
pub(crate) async fn role(ctx: &Context<'_>) -> async_graphql::Result<Arc<rapport_store::Role>> {
    let p = principal(ctx)?;
    app(ctx)?
        .role(&p.workspace_id, &p.role)
        .await
        .map_err(server_err)
}

/// The caller's workspace and the catalog their role sees: without the
/// objects and fields it may not read, nor computed fields built on them.
pub(crate) async fn readable(
    ctx: &Context<'_>,
) -> async_graphql::Result<(Arc<crate::live::Live>, Option<Arc<rapport_meta::Catalog>>)> {
    let live = live(ctx).await?;
    let role = role(ctx).await?;
    let (_, view) = live.schema_for(&role).map_err(server_err)?;
    Ok((live, view))
}

/// A rename, hide or restore of one field, by an admin, as one metadata change.
async fn change_field(
    ctx: &Context<'_>,
    object: &str,
    name: &str,
    change: FieldChange,
) -> async_graphql::Result<StorePlan> {
    require_admin(ctx)?;
    let db = &app(ctx)?.db;
    live(ctx)
        .await?
        .meta
        .change_field(db, &principal(ctx)?.actor(), object, name, change)
        .await
        .map_err(err)
}

pub(crate) fn require_admin(ctx: &Context<'_>) -> async_graphql::Result<()> {
    if principal(ctx)?.role != "admin" {
        return Err(rapport_graphql::store_error(
            rapport_store::StoreError::Forbidden("metadata changes need the admin role".into()),
        ));
    }
    Ok(())
}

pub(crate) fn err(e: rapport_store::StoreError) -> async_graphql::Error {
    rapport_graphql::store_error(e)
}

pub(crate) fn server_err(e: crate::error::ServerError) -> async_graphql::Error {
    match e {
        crate::error::ServerError::Store(s) => err(s),
        other => err(rapport_store::StoreError::Internal(other.to_string())),
    }
}

/// After a committed change: rebuild, then describe `object` as now served.
async fn describe_after(
    ctx: &Context<'_>,
    applied: StorePlan,
    object: &str,
) -> async_graphql::Result<ObjectMetadata> {
    reload(ctx, applied).await?;
    let live = live(ctx).await?;
    let o = live.meta.object(object).map_err(err)?;
    Ok(object_metadata(&live.meta, o, true))
}

async fn describe_field_after(
    ctx: &Context<'_>,
    applied: StorePlan,
    object: &str,
    field: &str,
) -> async_graphql::Result<FieldMetadata> {
    let o = describe_after(ctx, applied, object).await?;
    o.fields
        .into_iter()
        .find(|f| f.name == field && !f.is_deleted)
        .ok_or_else(|| {
            err(rapport_store::StoreError::NotFound(format!(
                "no field `{object}.{field}`"
            )))
        })
}

fn document_name(doc: &Value) -> String {
    doc["x-rapport-object"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[derive(Default)]
pub struct ObjectsQuery;

#[Object]
impl ObjectsQuery {
    /// Objects of the workspace; standard (`isSystem`) ones only when asked.
    async fn objects(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_system: bool,
    ) -> async_graphql::Result<Vec<ObjectMetadata>> {
        let (live, view) = readable(ctx).await?;
        let catalog = view.as_deref().unwrap_or(&live.meta.catalog);
        Ok(catalog
            .objects()
            .iter()
            .filter(|o| include_system || !o.is_system)
            .map(|o| object_metadata(&live.meta, o, view.is_none()))
            .collect())
    }

    async fn object(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<Option<ObjectMetadata>> {
        let (live, view) = readable(ctx).await?;
        let catalog = view.as_deref().unwrap_or(&live.meta.catalog);
        Ok(catalog
            .object(&name)
            .map(|o| object_metadata(&live.meta, o, view.is_none())))
    }

    async fn metadata_version(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(live(ctx).await?.meta.version)
    }
}

#[derive(Default)]
pub struct ObjectsMutation;

#[Object]
impl ObjectsMutation {
    async fn create_object(
        &self,
        ctx: &Context<'_>,
        schema: Json<Value>,
    ) -> async_graphql::Result<ObjectMetadata> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let name = document_name(&schema.0);
        let applied = live(ctx)
            .await?
            .meta
            .create_objects(&app.db, &principal(ctx)?.actor(), vec![schema.0])
            .await
            .map_err(err)?;
        describe_after(ctx, applied, &name).await
    }

    async fn update_object(
        &self,
        ctx: &Context<'_>,
        name: String,
        schema: Json<Value>,
    ) -> async_graphql::Result<ObjectMetadata> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        if document_name(&schema.0) != name {
            return Err(err(rapport_store::StoreError::bad(
                "/x-rapport-object/name",
                "renaming an object is not supported; the name must stay",
            )));
        }
        let applied = live(ctx)
            .await?
            .meta
            .update_objects(&app.db, &principal(ctx)?.actor(), vec![schema.0])
            .await
            .map_err(err)?;
        describe_after(ctx, applied, &name).await
    }

    async fn delete_object(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<bool> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let applied = live(ctx)
            .await?
            .meta
            .set_object_deleted(&app.db, &principal(ctx)?.actor(), &name, true)
            .await
            .map_err(err)?;
        reload(ctx, applied).await?;
        Ok(true)
    }

    async fn restore_object(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<ObjectMetadata> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let applied = live(ctx)
            .await?
            .meta
            .set_object_deleted(&app.db, &principal(ctx)?.actor(), &name, false)
            .await
            .map_err(err)?;
        describe_after(ctx, applied, &name).await
    }

    async fn create_field(
        &self,
        ctx: &Context<'_>,
        object: String,
        name: String,
        schema: Json<Value>,
        #[graphql(default = false)] required: bool,
    ) -> async_graphql::Result<FieldMetadata> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let live = live(ctx).await?;
        let o = live.meta.object(&object).map_err(err)?;
        if o.field(&name).is_some() {
            return Err(err(rapport_store::StoreError::Conflict(format!(
                "`{object}.{name}` already exists"
            ))));
        }
        let mut doc = own_document(o);
        doc["properties"][&name] = schema.0;
        if required && let Some(list) = doc["required"].as_array_mut() {
            list.push(Value::String(name.clone()));
        }
        let applied = live
            .meta
            .update_objects(&app.db, &principal(ctx)?.actor(), vec![doc])
            .await
            .map_err(err)?;
        describe_field_after(ctx, applied, &object, &name).await
    }

    async fn update_field(
        &self,
        ctx: &Context<'_>,
        object: String,
        name: String,
        schema: Json<Value>,
        required: Option<bool>,
    ) -> async_graphql::Result<FieldMetadata> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let live = live(ctx).await?;
        let o = live.meta.object(&object).map_err(err)?;
        if o.field(&name).is_none_or(|f| f.generated) {
            return Err(err(rapport_store::StoreError::NotFound(format!(
                "no field `{object}.{name}`"
            ))));
        }
        let mut doc = own_document(o);
        doc["properties"][&name] = schema.0;
        if let Some(required) = required {
            let list = doc["required"].as_array_mut().expect("required list");
            list.retain(|r| r.as_str() != Some(name.as_str()));
            if required {
                list.push(Value::String(name.clone()));
            }
        }
        let applied = live
            .meta
            .update_objects(&app.db, &principal(ctx)?.actor(), vec![doc])
            .await
            .map_err(err)?;
        describe_field_after(ctx, applied, &object, &name).await
    }

    async fn rename_field(
        &self,
        ctx: &Context<'_>,
        object: String,
        name: String,
        new_name: String,
    ) -> async_graphql::Result<FieldMetadata> {
        let applied = change_field(
            ctx,
            &object,
            &name,
            FieldChange::Rename {
                new_name: new_name.clone(),
            },
        )
        .await?;
        describe_field_after(ctx, applied, &object, &new_name).await
    }

    async fn delete_field(
        &self,
        ctx: &Context<'_>,
        object: String,
        name: String,
    ) -> async_graphql::Result<bool> {
        let applied = change_field(ctx, &object, &name, FieldChange::Delete).await?;
        reload(ctx, applied).await?;
        Ok(true)
    }

    async fn restore_field(
        &self,
        ctx: &Context<'_>,
        object: String,
        name: String,
    ) -> async_graphql::Result<FieldMetadata> {
        let applied = change_field(ctx, &object, &name, FieldChange::Restore).await?;
        describe_field_after(ctx, applied, &object, &name).await
    }

    /// Drops what was deleted, for good. `confirm` must be true.
    async fn purge(
        &self,
        ctx: &Context<'_>,
        object: String,
        field: Option<String>,
        confirm: bool,
    ) -> async_graphql::Result<bool> {
        require_admin(ctx)?;
        if !confirm {
            return Err(err(rapport_store::StoreError::bad(
                "confirm",
                "purging destroys data; pass confirm: true",
            )));
        }
        let app = app(ctx)?;
        let applied = live(ctx)
            .await?
            .meta
            .purge(&app.db, &principal(ctx)?.actor(), &object, field.as_deref())
            .await
            .map_err(err)?;
        reload(ctx, applied).await?;
        Ok(true)
    }

    /// What `applySchema` would do, changing nothing.
    async fn plan_schema(
        &self,
        ctx: &Context<'_>,
        documents: Vec<Json<Value>>,
    ) -> async_graphql::Result<MigrationPlan> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let docs = documents.into_iter().map(|d| d.0).collect();
        let plan = live(ctx)
            .await?
            .meta
            .apply_schema(&app.db, &principal(ctx)?.actor(), docs, true)
            .await;
        // The check built the planned catalog's schema; nothing serves it.
        app.prune_schemas();
        Ok(plan.map_err(err)?.into())
    }

    /// Makes the named objects match the documents (objects not named are left alone).
    async fn apply_schema(
        &self,
        ctx: &Context<'_>,
        documents: Vec<Json<Value>>,
    ) -> async_graphql::Result<MigrationPlan> {
        require_admin(ctx)?;
        let app = app(ctx)?;
        let docs = documents.into_iter().map(|d| d.0).collect();
        let plan = live(ctx)
            .await?
            .meta
            .apply_schema(&app.db, &principal(ctx)?.actor(), docs, false)
            .await
            .map_err(err)?;
        let answer = MigrationPlan::from(plan.clone());
        reload(ctx, plan).await?;
        Ok(answer)
    }
}

/// An object's own document (generated inverse sides left out), with a
/// `required` list to edit.
fn own_document(o: &ObjectDef) -> Value {
    let mut doc = export_document(o);
    if doc.get("required").is_none() {
        doc["required"] = Value::Array(Vec::new());
    }
    doc
}
