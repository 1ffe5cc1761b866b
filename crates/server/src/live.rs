//! What a workspace is served from: its metadata, store and GraphQL schema
//! at one metadata version (`Live`), with the schemas of narrower roles and
//! the queries already validated and costed on it; and the GraphQL schemas
//! shared by workspaces with identical catalogs.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::dynamic::Schema;
use rapport_store::{Db, Lsn, RecordStore, Role, Workspace, WorkspaceMeta};

use crate::cache::Cache;
use crate::error::ServerError;
/// What requests are served from at one metadata version.
pub struct Live {
    pub meta: Arc<WorkspaceMeta>,
    pub store: Arc<RecordStore>,
    pub schema: Schema,
    /// Schemas of roles that may not read some objects, built on first use.
    role_schemas: Cache<String, (Role, Served)>,
    /// Query texts that ran without errors on the schema they were served
    /// (the whole one, or a role's view of the catalog): validated, so they
    /// may take the direct read path (`rapport_graphql::direct`). A view's
    /// entries are keyed by its address and hold it, so no other view can
    /// take that address while they last.
    validated: Cache<String, Option<Arc<rapport_meta::Catalog>>>,
    /// Costs of query texts whose cost no variable shapes
    /// (`rapport_graphql::limits::document_cost` on the whole schema).
    costs: Cache<String, u64>,
    /// Statements of validated reads, written once per document.
    pub(crate) statements: rapport_graphql::direct::Statements,
    /// The catalog its schema was built from (shared with the schema cache).
    pub(crate) fingerprint: Arc<str>,
    /// When a request last used it (ms since the process started), so the
    /// least recently used workspaces can be dropped.
    pub(crate) last_used: std::sync::atomic::AtomicU64,
    /// Where the primary's log stood when this metadata was read: the read
    /// replica serves this workspace only once it has replayed that far (so
    /// it has every table and column the schema names).
    pub(crate) read_floor: Lsn,
}

impl Live {
    /// The schema a role sees: without the objects it may not read, and
    /// the narrower catalog it was built from (`None`: the whole catalog).
    pub fn schema_for(&self, role: &Role) -> Result<Served, ServerError> {
        // Kept with the definition it was built for: a role changed without
        // a metadata change (here or by another process) gets a new schema.
        // Looked up first: working out a role's view walks the whole catalog.
        if let Some((built_for, served)) = self.role_schemas.get(&role.name)
            && built_for == *role
        {
            return Ok(served);
        }
        let served = match rapport_graphql::catalog_view(&self.meta.catalog, role)
            .map_err(ServerError::Schema)?
        {
            None => (self.schema.clone(), None),
            Some(view) => (
                rapport_graphql::build_schema(&view, Some(self.store.clone()))
                    .map_err(ServerError::Schema)?,
                Some(Arc::new(view)),
            ),
        };
        self.role_schemas
            .insert(role.name.clone(), (role.clone(), served.clone()));
        Ok(served)
    }

    /// Whether this query text has run through the full executor without
    /// errors on this schema, so it may be read directly.
    pub(crate) fn is_validated(
        &self,
        view: Option<&Arc<rapport_meta::Catalog>>,
        query: &str,
    ) -> bool {
        match view {
            None => self.validated.contains(query),
            Some(view) => self.validated.contains(&view_key(view, query)),
        }
    }

    /// A document's cost on this schema, worked out once per query text
    /// when no variable shapes it. The whole schema's types cost every
    /// document a role may run (a name outside a role's view fails its
    /// validation anyway).
    pub(crate) fn cost(
        &self,
        query: &str,
        doc: &async_graphql::parser::types::ExecutableDocument,
        operation_name: Option<&str>,
        variables: &async_graphql::Variables,
    ) -> u64 {
        // Documents that name an operation (several in one text) are
        // costed every time; the usual single-operation text is kept.
        let keep = operation_name.is_none();
        if keep && let Some(cost) = self.costs.get(query) {
            return cost;
        }
        let cost = rapport_graphql::limits::document_cost(
            doc,
            self.schema.registry(),
            operation_name,
            variables,
        );
        if keep && !cost.uses_variables {
            self.costs.insert(query.to_string(), cost.value);
        }
        cost.value
    }

    pub(crate) fn mark_validated(&self, view: Option<Arc<rapport_meta::Catalog>>, query: &str) {
        match view {
            None => self.validated.insert(query.to_string(), None),
            Some(view) => self.validated.insert(view_key(&view, query), Some(view)),
        }
    }
}

/// A query text validated on a role's view of the catalog.
fn view_key(view: &Arc<rapport_meta::Catalog>, query: &str) -> String {
    format!("{:x}\u{0}{query}", Arc::as_ptr(view) as usize)
}

/// A role's schema, and the catalog it was built from when the role sees
/// less than the whole catalog (`None`: the whole schema).
type Served = (Schema, Option<Arc<rapport_meta::Catalog>>);

/// Distinct validated queries kept per live schema; the list starts over when full.
const MAX_VALIDATED: usize = 1000;
/// Role schemas kept per live schema.
const MAX_ROLE_SCHEMAS: usize = 1000;

/// Checks, before a metadata change commits, that its catalog makes a
/// GraphQL schema, and keeps that schema for the workspace's reload after
/// the commit, which then finds it built (a catalog some workspace
/// already serves builds nothing). Runs on the blocking pool (the store's
/// change).
fn check_catalog(cache: Arc<SchemaCache>) -> rapport_store::CatalogCheck {
    rapport_store::CatalogCheck(Arc::new(move |meta: &rapport_store::WorkspaceMeta| {
        if cache.get(&meta.fingerprint).is_some() {
            return Ok(());
        }
        let built = cache.build(&meta.catalog)?;
        cache.insert(meta.fingerprint.clone(), built);
        Ok(())
    }))
}

/// Built GraphQL schemas by the catalog they serve. A schema holds no
/// workspace data (each request brings its store), so workspaces with the
/// same objects and fields — most tenants, until they customise — share one:
/// a schema is by far the largest part of a loaded workspace.
#[derive(Default)]
pub(crate) struct SchemaCache {
    schemas: std::sync::Mutex<HashMap<Arc<str>, Schema>>,
    /// Whole-workspace schemas built so far (`rapport_schema_builds_total`).
    builds: AtomicU64,
}

impl SchemaCache {
    /// A workspace's GraphQL schema (CPU work: off the async workers).
    fn build(&self, catalog: &rapport_meta::Catalog) -> Result<Schema, String> {
        self.builds.fetch_add(1, Ordering::Relaxed);
        rapport_graphql::build_schema(catalog, None)
    }

    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }

    /// Keeps only the schemas some loaded workspace still serves.
    pub(crate) fn retain(&self, in_use: &[Arc<str>]) {
        self.schemas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| in_use.iter().any(|u| Arc::ptr_eq(u, k) || **u == **k));
    }

    pub fn len(&self) -> usize {
        self.schemas.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn get(&self, fingerprint: &Arc<str>) -> Option<(Arc<str>, Schema)> {
        self.schemas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_key_value(fingerprint)
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    fn insert(&self, fingerprint: Arc<str>, built: Schema) {
        self.schemas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fingerprint, built);
    }
}

/// A workspace ready to serve: its metadata (`applied` by a change this
/// process just committed, or loaded), its store and its schema.
pub(crate) async fn build_live(
    db: &Db,
    workspace: &Workspace,
    cache: &Arc<SchemaCache>,
    applied: Option<Arc<WorkspaceMeta>>,
) -> Result<Live, ServerError> {
    let mut meta = match applied {
        Some(meta) => Arc::unwrap_or_clone(meta),
        None => rapport_store::load_workspace(db, workspace).await?,
    };
    let read_floor = db.primary_lsn().await?;
    meta.check = Some(check_catalog(cache.clone()));
    let meta = Arc::new(meta);
    let store = Arc::new(RecordStore::new(db.clone(), meta.clone()));
    let (fingerprint, schema) = match cache.get(&meta.fingerprint) {
        Some(hit) => hit,
        None => {
            let (catalog, builder) = (meta.catalog.clone(), cache.clone());
            let built = tokio::task::spawn_blocking(move || builder.build(&catalog))
                .await
                .map_err(|e| ServerError::Schema(e.to_string()))?
                .map_err(ServerError::Schema)?;
            cache.insert(meta.fingerprint.clone(), built.clone());
            (meta.fingerprint.clone(), built)
        }
    };
    Ok(Live {
        meta,
        store,
        schema,
        fingerprint,
        role_schemas: Cache::new(MAX_ROLE_SCHEMAS),
        validated: Cache::new(MAX_VALIDATED),
        costs: Cache::new(MAX_VALIDATED),
        statements: Default::default(),
        last_used: std::sync::atomic::AtomicU64::new(0),
        read_floor,
    })
}
