//! The running server's state: the database, the workspace, and the live
//! schema, rebuilt off the request path and swapped atomically.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_graphql::dynamic::Schema;
use rapport_store::{ApiKey, Db, RecordStore, Workspace, WorkspaceMeta};
use tokio::sync::{Mutex, RwLock};

use crate::error::ServerError;
use crate::metrics::Metrics;
use crate::standard::standard_documents;

/// What requests are served from at one metadata version.
pub struct Live {
    pub meta: Arc<WorkspaceMeta>,
    pub store: Arc<RecordStore>,
    pub schema: Schema,
    pub sdl: String,
}

pub struct App {
    pub db: Db,
    pub workspace: Workspace,
    live: ArcSwap<Live>,
    pub metrics: Metrics,
    /// Verified keys by secret, so a request does not hit the database to authenticate.
    keys: RwLock<HashMap<String, (ApiKey, Instant)>>,
    reload_lock: Mutex<()>,
}

const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// How often a process looks for metadata changes made by another process.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

fn check_catalog(catalog: &rapport_meta::Catalog) -> Result<(), String> {
    rapport_graphql::build_schema(catalog, None).map(|_| ())
}

async fn build_live(db: &Db, workspace: &Workspace) -> Result<Live, ServerError> {
    let mut meta = rapport_store::load_workspace(db, workspace).await?;
    meta.check = Some(check_catalog);
    let meta = Arc::new(meta);
    let store = Arc::new(RecordStore::new(db.clone(), meta.clone()));
    let catalog = meta.catalog.clone();
    let store_for_schema = store.clone();
    // Schema building is CPU work; keep it off the async workers.
    let schema = tokio::task::spawn_blocking(move || {
        rapport_graphql::build_schema(&catalog, Some(store_for_schema))
    })
    .await
    .map_err(|e| ServerError::Schema(e.to_string()))?
    .map_err(ServerError::Schema)?;
    let sdl = schema.sdl();
    Ok(Live {
        meta,
        store,
        schema,
        sdl,
    })
}

impl App {
    /// Connects, migrates, creates the default workspace with the standard
    /// objects on an empty database, and builds the schema. Returns whether
    /// the workspace is new.
    pub async fn open(database_url: &str) -> Result<(Arc<App>, bool), ServerError> {
        Self::open_with_standard(database_url, &standard_documents()).await
    }

    /// As [`App::open`], with the given standard documents: a new workspace
    /// gets them, an existing one is upgraded to them.
    pub async fn open_with_standard(
        database_url: &str,
        standard: &[serde_json::Value],
    ) -> Result<(Arc<App>, bool), ServerError> {
        let db = Db::connect(database_url).await?;
        let (workspace, created) = rapport_store::ensure_default_workspace(&db, standard).await?;
        let live = build_live(&db, &workspace).await?;
        let app = App {
            db,
            workspace,
            live: ArcSwap::from_pointee(live),
            metrics: Metrics::default(),
            keys: RwLock::new(HashMap::new()),
            reload_lock: Mutex::new(()),
        };
        Ok((Arc::new(app), created))
    }

    pub fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Rebuilds the schema if the stored metadata is newer than the live one.
    pub async fn reload(&self) -> Result<(), ServerError> {
        let _guard = self.reload_lock.lock().await;
        let stored = rapport_store::metadata_version(&self.db, &self.workspace.id).await?;
        if stored == self.live().meta.version {
            return Ok(());
        }
        let live = build_live(&self.db, &self.workspace).await?;
        tracing::info!(
            version = live.meta.version,
            "metadata changed; schema rebuilt"
        );
        self.live.store(Arc::new(live));
        Metrics::add(&self.metrics.schema_rebuilds, 1);
        Ok(())
    }

    /// Picks up metadata changes made through other processes sharing the database.
    pub fn spawn_poller(self: &Arc<Self>) {
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            loop {
                tick.tick().await;
                let Some(app) = app.upgrade() else { break };
                if let Err(e) = app.reload().await {
                    tracing::warn!(error = %e, "metadata poll failed");
                }
            }
        });
    }

    pub async fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>, ServerError> {
        if let Some((key, at)) = self.keys.read().await.get(secret)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(Some(key.clone()));
        }
        let key = rapport_store::find_api_key(&self.db, secret).await?;
        if let Some(k) = &key {
            if k.workspace_id != self.workspace.id {
                return Ok(None);
            }
            self.keys
                .write()
                .await
                .insert(secret.to_string(), (k.clone(), Instant::now()));
        }
        Ok(key)
    }
}
