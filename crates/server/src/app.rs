//! The running server's state: the database, and one live schema per
//! workspace, rebuilt off the request path and swapped whole.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_graphql::Access;
use rapport_store::{Db, Lsn, Principal, Role, Scope, Workspace, WorkspaceMeta};
use tokio::sync::Mutex;

use crate::cache::Cache;
use crate::error::ServerError;
use crate::live::{Live, SchemaCache, build_live};
use crate::metrics::Metrics;
use crate::standard::standard_documents;

/// Callers (tokens, addresses, emails, roles) a process remembers at once.
const MAX_CALLERS: usize = 100_000;

/// (workspace id, role name)
type RoleKey = (String, String);

pub struct App {
    pub db: Db,
    /// The workspace the command line and a fresh install work in.
    pub workspace: Workspace,
    /// One live schema per workspace, built on first use and swapped whole.
    lives: std::sync::RwLock<HashMap<String, Arc<Live>>>,
    pub metrics: Metrics,
    /// Verified tokens by secret, so a request does not hit the database to authenticate.
    /// Each with when it was checked and the store's `sessions_epoch` then:
    /// a member whose access ended in this process is checked again at once.
    tokens: Cache<String, (Principal, u64)>,
    reload_lock: Mutex<()>,
    pub session_ttl: chrono::Duration,
    /// Requests per minute per token; 0 means no limit.
    pub rate_limit: std::sync::atomic::AtomicU32,
    windows: Cache<String, u32>,
    /// Requests per minute per client address without a token (`signUp`,
    /// `login`); 0 means no limit.
    pub anonymous_limit: std::sync::atomic::AtomicU32,
    anonymous_windows: Cache<String, u32>,
    /// The request header that names the client's address, set by a proxy
    /// in front of the server (`RAPPORT_CLIENT_IP_HEADER`); without it the
    /// connection's peer address counts.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Where attachments' files are kept (`POST /files`); set by `serve`
    /// (or a test) once.
    files: std::sync::OnceLock<Arc<rapport_files::Files>>,
    /// Most a query may cost (`rapport_graphql::limits::document_cost`).
    pub max_query_cost: std::sync::atomic::AtomicU64,
    login_failures: Cache<String, u32>,
    /// Roles by (workspace, name), so a request does not read its role from the database.
    roles: Cache<RoleKey, Arc<Role>>,
    /// Most workspace schemas kept loaded; the least recently used beyond it
    /// are dropped and rebuilt on their next request.
    pub max_loaded: std::sync::atomic::AtomicUsize,
    started: Instant,
    /// Members' team reach and shares, cached briefly.
    grants: crate::grants::GrantCache,
    /// GraphQL schemas shared by workspaces with identical catalogs.
    pub(crate) schemas: Arc<SchemaCache>,
    /// Where the primary's log stood after each caller's last write, until
    /// the read replica has replayed it (read-your-writes).
    written: Cache<String, Lsn>,
    /// Parsed GraphQL documents by query text.
    pub(crate) parsed: crate::parsed::ParsedQueries,
    /// Whether validated plain reads skip the field-by-field executor
    /// (`RAPPORT_DIRECT_READS=off` turns it off).
    pub direct_reads: std::sync::atomic::AtomicBool,
    /// Whether direct reads let the database build the whole response in
    /// one statement where they can (`RAPPORT_ONE_STATEMENT_READS=off`
    /// turns it off).
    pub one_statement_reads: std::sync::atomic::AtomicBool,
}

/// Failed logins per email allowed in [`LOGIN_WINDOW`] before login pauses.
pub const LOGIN_ATTEMPTS: u32 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
const RATE_WINDOW: Duration = Duration::from_secs(60);

pub(crate) const TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);
/// How often a process looks for metadata changes made by another process.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A budget of `limit` per minute for `key`; the seconds until it resets
/// when it is spent.
fn spend(windows: &Cache<String, u32>, key: &str, limit: u32) -> Result<(), u64> {
    if limit == 0 {
        return Ok(());
    }
    windows.update(key.to_string(), |spent, since| {
        if *spent >= limit {
            return Err(RATE_WINDOW.saturating_sub(since.elapsed()).as_secs().max(1));
        }
        *spent += 1;
        Ok(())
    })
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl App {
    /// Connects, migrates, upgrades standard objects, creates the default
    /// workspace on an empty database, and builds its schema. Returns
    /// whether the default workspace is new.
    pub async fn open(database_url: &str) -> Result<(Arc<App>, bool), ServerError> {
        Self::open_with_standard(database_url, &standard_documents()).await
    }

    /// As [`App::open`], with the given standard documents: a new workspace
    /// gets them, an existing one is upgraded to them.
    pub async fn open_with_standard(
        database_url: &str,
        standard: &[serde_json::Value],
    ) -> Result<(Arc<App>, bool), ServerError> {
        let keyring = rapport_store::Keyring::from_env()?.map(Arc::new);
        Self::open_with_keys(database_url, standard, keyring).await
    }

    /// As [`App::open`], with record reads going to a streaming replica
    /// when one is given (see `docs/scaling.md`).
    pub async fn open_replicated(
        database_url: &str,
        read_database_url: Option<&str>,
    ) -> Result<(Arc<App>, bool), ServerError> {
        let keyring = rapport_store::Keyring::from_env()?.map(Arc::new);
        let mut db = Db::connect(database_url).await?.with_keyring(keyring);
        if let Some(url) = read_database_url {
            db = db.with_replica(url).await?;
        }
        Self::open_on(db, &standard_documents()).await
    }

    /// As [`App::open_with_standard`], with the keys for `encryptedText`
    /// fields given rather than read from the environment.
    pub async fn open_with_keys(
        database_url: &str,
        standard: &[serde_json::Value],
        keyring: Option<Arc<rapport_store::Keyring>>,
    ) -> Result<(Arc<App>, bool), ServerError> {
        let db = Db::connect(database_url).await?.with_keyring(keyring);
        Self::open_on(db, standard).await
    }

    async fn open_on(
        db: Db,
        standard: &[serde_json::Value],
    ) -> Result<(Arc<App>, bool), ServerError> {
        let (workspace, created) = rapport_store::ensure_default_workspace(&db, standard).await?;
        let schemas = Arc::new(SchemaCache::default());
        let live = build_live(&db, &workspace, &schemas, None).await?;
        let hours = std::env::var("RAPPORT_SESSION_TTL_HOURS")
            .ok()
            .and_then(|h| h.parse().ok())
            .unwrap_or(24 * 7);
        let app = App {
            db,
            lives: std::sync::RwLock::new(HashMap::from([(workspace.id.clone(), Arc::new(live))])),
            workspace,
            metrics: Metrics::default(),
            tokens: Cache::expiring(MAX_CALLERS, TOKEN_CACHE_TTL),
            reload_lock: Mutex::new(()),
            session_ttl: chrono::Duration::hours(hours),
            rate_limit: std::sync::atomic::AtomicU32::new(
                std::env::var("RAPPORT_RATE_LIMIT_PER_MINUTE")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1200),
            ),
            windows: Cache::expiring(MAX_CALLERS, RATE_WINDOW),
            anonymous_limit: std::sync::atomic::AtomicU32::new(env_number(
                "RAPPORT_ANONYMOUS_PER_MINUTE",
                30,
            )),
            anonymous_windows: Cache::expiring(MAX_CALLERS, RATE_WINDOW),
            client_ip_header: std::env::var("RAPPORT_CLIENT_IP_HEADER")
                .ok()
                .and_then(|h| axum::http::HeaderName::try_from(h.trim()).ok()),
            files: std::sync::OnceLock::new(),
            max_query_cost: std::sync::atomic::AtomicU64::new(env_number(
                "RAPPORT_MAX_QUERY_COST",
                rapport_graphql::limits::DEFAULT_MAX_COST,
            )),
            login_failures: Cache::expiring(MAX_CALLERS, LOGIN_WINDOW),
            roles: Cache::expiring(MAX_CALLERS, TOKEN_CACHE_TTL),
            grants: crate::grants::GrantCache::default(),
            schemas,
            max_loaded: std::sync::atomic::AtomicUsize::new(
                std::env::var("RAPPORT_MAX_LOADED_WORKSPACES")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(64),
            ),
            started: Instant::now(),
            // Bounded by `wrote`, which forgets callers the replica caught up with.
            written: Cache::new(usize::MAX),
            parsed: Default::default(),
            direct_reads: std::sync::atomic::AtomicBool::new(
                std::env::var("RAPPORT_DIRECT_READS").map_or(true, |v| v != "off"),
            ),
            one_statement_reads: std::sync::atomic::AtomicBool::new(
                std::env::var("RAPPORT_ONE_STATEMENT_READS").map_or(true, |v| v != "off"),
            ),
        };
        Ok((Arc::new(app), created))
    }

    /// The default workspace's live schema.
    pub fn live(&self) -> Arc<Live> {
        self.cached(&self.workspace.id)
            .expect("the default workspace is always loaded")
    }

    fn cached(&self, workspace_id: &str) -> Option<Arc<Live>> {
        let live = self
            .lives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(workspace_id)
            .cloned()?;
        live.last_used.store(
            self.started.elapsed().as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Some(live)
    }

    /// Drops cached schemas no loaded workspace serves any more (such as
    /// one a `planSchema` built to check its plan).
    pub(crate) fn prune_schemas(&self) {
        let in_use: Vec<Arc<str>> = self
            .lives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|l| l.fingerprint.clone())
            .collect();
        self.schemas.retain(&in_use);
    }

    /// How many distinct GraphQL schemas the loaded workspaces share.
    pub fn distinct_schemas(&self) -> usize {
        self.schemas.len()
    }

    /// How many workspace schemas are loaded.
    pub fn loaded_workspaces(&self) -> usize {
        self.lives.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Drops the least recently used workspaces beyond `max_loaded` (never
    /// the default one); requests holding one finish with it.
    fn evict(&self, keep: &str) {
        let max = self
            .max_loaded
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        let mut lives = self.lives.write().unwrap_or_else(|e| e.into_inner());
        while lives.len() > max {
            let oldest = lives
                .iter()
                .filter(|(id, _)| *id != keep && **id != self.workspace.id)
                .min_by_key(|(_, l)| l.last_used.load(std::sync::atomic::Ordering::Relaxed))
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    lives.remove(&id);
                }
                None => break,
            }
        }
    }

    /// A workspace's live schema, built on first use.
    pub async fn live_for(&self, workspace_id: &str) -> Result<Arc<Live>, ServerError> {
        if let Some(live) = self.cached(workspace_id) {
            return Ok(live);
        }
        let _guard = self.reload_lock.lock().await;
        if let Some(live) = self.cached(workspace_id) {
            return Ok(live);
        }
        let ws = rapport_store::list_workspaces(&self.db)
            .await?
            .into_iter()
            .find(|w| w.id == workspace_id)
            .ok_or_else(|| ServerError::Usage(format!("no workspace {workspace_id}")))?;
        let live = Arc::new(build_live(&self.db, &ws, &self.schemas, None).await?);
        live.last_used.store(
            self.started.elapsed().as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.lives
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ws.id.clone(), live.clone());
        self.evict(&ws.id);
        self.prune_schemas();
        Metrics::add(&self.metrics.schema_rebuilds, 1);
        Ok(live)
    }

    /// Rebuilds the default workspace's schema if its metadata moved.
    pub async fn reload(&self) -> Result<(), ServerError> {
        let id = self.workspace.id.clone();
        self.reload_workspace(&id).await
    }

    /// Rebuilds a loaded workspace's schema if its stored metadata is newer.
    pub async fn reload_workspace(&self, workspace_id: &str) -> Result<(), ServerError> {
        self.reload_workspace_with(workspace_id, None).await
    }

    /// As [`App::reload_workspace`], after a change this process committed:
    /// its metadata is served as it is, unless a later change has been
    /// stored since (by another process), which is loaded instead.
    pub async fn reload_workspace_with(
        &self,
        workspace_id: &str,
        applied: Option<Arc<WorkspaceMeta>>,
    ) -> Result<(), ServerError> {
        let _guard = self.reload_lock.lock().await;
        let Some(current) = self.cached(workspace_id) else {
            return Ok(());
        };
        let stored = rapport_store::metadata_version(&self.db, workspace_id).await?;
        if stored == current.meta.version {
            return Ok(());
        }
        let applied = applied.filter(|m| m.version == stored && m.workspace.id == workspace_id);
        let live = build_live(&self.db, &current.meta.workspace, &self.schemas, applied).await?;
        tracing::info!(
            workspace = workspace_id,
            version = live.meta.version,
            "metadata changed; schema rebuilt"
        );
        self.lives
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(workspace_id.to_string(), Arc::new(live));
        self.prune_schemas();
        Metrics::add(&self.metrics.schema_rebuilds, 1);
        Ok(())
    }

    /// Picks up metadata changes made through other processes sharing the database.
    pub fn spawn_poller(self: &Arc<Self>) {
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            let mut ticks = 0u64;
            loop {
                tick.tick().await;
                let Some(app) = app.upgrade() else { break };
                if let Err(e) = app.poll_once().await {
                    tracing::warn!(error = %e, "metadata poll failed");
                }
                // Files of destroyed attachments go every other second.
                ticks += 1;
                if ticks.is_multiple_of(4)
                    && let Err(e) = app.remove_orphan_files().await
                {
                    tracing::warn!(error = %e, "removing destroyed attachments' files failed");
                }
            }
        });
    }

    /// Keeps attachments' files under `files` (once; later calls change nothing).
    pub fn set_files(&self, files: rapport_files::Files) {
        let _ = self.files.set(Arc::new(files));
    }

    pub fn files(&self) -> Option<&Arc<rapport_files::Files>> {
        self.files.get()
    }

    /// Removes the files of attachments whose destroy committed.
    pub async fn remove_orphan_files(&self) -> Result<usize, ServerError> {
        let Some(files) = self.files() else {
            return Ok(0);
        };
        let orphans = rapport_store::files_to_remove(&self.db, 100).await?;
        for (workspace, attachment) in &orphans {
            if let Err(e) = files.delete(workspace, attachment).await {
                tracing::warn!(error = %e, %attachment, "a destroyed attachment's file stays for now");
                continue;
            }
            rapport_store::file_removed(&self.db, workspace, attachment).await?;
        }
        Ok(orphans.len())
    }

    async fn poll_once(&self) -> Result<(), ServerError> {
        for (id, version) in rapport_store::metadata_versions(&self.db).await? {
            if self.cached(&id).is_some_and(|l| l.meta.version != version) {
                self.reload_workspace(&id).await?;
            }
        }
        Ok(())
    }

    /// Who a bearer token speaks for (cached briefly; see `forget_token`).
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, ServerError> {
        let epoch = self
            .db
            .sessions_epoch
            .load(std::sync::atomic::Ordering::Relaxed);
        if let Some((p, seen)) = self.tokens.get(secret)
            && (seen == epoch || p.member_id.is_none())
        {
            return Ok(Some(p));
        }
        let found = rapport_store::authenticate(&self.db, secret).await?;
        if let Some(p) = &found {
            self.tokens.insert(secret.to_string(), (p.clone(), epoch));
        }
        Ok(found)
    }

    /// Counts a request against the caller's budget for this minute; the
    /// seconds until it resets when it is spent. Per process: behind a load
    /// balancer the limit is per instance.
    pub fn admit(&self, caller: &str) -> Result<(), u64> {
        let limit = self.rate_limit.load(std::sync::atomic::Ordering::Relaxed);
        spend(&self.windows, caller, limit)
    }

    /// Counts a request without a token against its client's budget for
    /// this minute (per process, like [`App::admit`]).
    pub fn admit_anonymous(&self, client: &str) -> Result<(), u64> {
        let limit = self
            .anonymous_limit
            .load(std::sync::atomic::Ordering::Relaxed);
        spend(&self.anonymous_windows, client, limit)
    }

    /// Seconds to wait before `email` may try to log in again, if it must.
    pub fn login_pause(&self, email: &str) -> Option<u64> {
        let (n, start) = self
            .login_failures
            .get_dated(&email.trim().to_lowercase())?;
        (n >= LOGIN_ATTEMPTS).then(|| {
            LOGIN_WINDOW
                .saturating_sub(start.elapsed())
                .as_secs()
                .max(1)
        })
    }

    pub fn login_result(&self, email: &str, ok: bool) {
        let key = email.trim().to_lowercase();
        if ok {
            self.login_failures.remove(&key);
            return;
        }
        self.login_failures.update(key, |failed, _| *failed += 1);
    }

    /// The caller's role and the members their `team` scope covers.
    pub async fn access_for(
        &self,
        principal: &Principal,
        live: &Live,
    ) -> Result<Access, ServerError> {
        let role = self.role(&principal.workspace_id, &principal.role).await?;
        // Team reach and shares only matter to a role with own or team scopes.
        let scoped = live.meta.catalog.objects().iter().any(|o| {
            let r = role.rights(&o.name);
            [r.read, r.update, r.delete, r.destroy]
                .iter()
                .any(|s| matches!(s, Scope::Own | Scope::Team))
        });
        let reach = match (&principal.member_id, scoped) {
            (Some(m), true) => {
                self.grants
                    .reach(&self.db, &live.store, &principal.workspace_id, m)
                    .await?
            }
            (Some(m), false) => crate::grants::Reach::alone(m),
            (None, _) => crate::grants::Reach::default(),
        };
        // The role's catalog, for what records returned as JSON may show.
        let (_, view) = live.schema_for(&role)?;
        Ok(Access {
            role,
            member_id: principal.member_id.clone(),
            team_members: reach.team_members,
            shared: reach.shared,
            view,
        })
    }

    /// A role of a workspace (cached for the token cache's time; a change made
    /// in this process is seen at once, in others within that time).
    pub async fn role(&self, workspace_id: &str, name: &str) -> Result<Arc<Role>, ServerError> {
        let key = (workspace_id.to_string(), name.to_string());
        if let Some(role) = self.roles.get(&key) {
            return Ok(role);
        }
        let role = rapport_store::find_role(&self.db, workspace_id, name)
            .await?
            .ok_or_else(|| ServerError::Usage(format!("role `{name}` is gone")))?;
        let role = Arc::new(role);
        self.roles.insert(key, role.clone());
        Ok(role)
    }

    pub fn forget_role(&self, workspace_id: &str, name: &str) {
        self.roles
            .remove(&(workspace_id.to_string(), name.to_string()));
    }

    /// Whether a caller's reads may go to the read replica: it must have
    /// replayed the workspace's metadata, the caller's own last write made
    /// through this process, and `seen` — a position the client brings back
    /// (`x-rapport-min-lsn`) from a write made through another process.
    /// Other callers' writes may be read slightly late.
    pub async fn reads_replica(&self, principal_id: &str, live: &Live, seen: Lsn) -> bool {
        if self.db.replica.is_none() {
            return false;
        }
        let mut own = self.written_lsn(principal_id);
        if own == Lsn::MAX {
            self.wrote(principal_id).await;
            own = self.written_lsn(principal_id);
        }
        let serves = self
            .db
            .replica_serves(own.max(live.read_floor).max(seen))
            .await;
        if serves && own > 0 && self.written.get(principal_id) == Some(own) {
            self.written.remove(principal_id);
        }
        serves
    }

    fn written_lsn(&self, principal_id: &str) -> Lsn {
        self.written.get(principal_id).unwrap_or(0)
    }

    /// Notes where the primary's log stands after a caller wrote, so their
    /// next reads wait for the replica to get there (or use the primary).
    /// Returns that position, for the client to bring to other processes.
    pub async fn wrote(&self, principal_id: &str) -> Option<Lsn> {
        self.db.replica.as_ref()?;
        match self.db.primary_lsn().await {
            // The position now is past every earlier write of the caller too.
            Ok(lsn) => {
                if self.written.len() > 10_000
                    && let Some(replica) = &self.db.replica
                {
                    // Callers who wrote and never read again.
                    let replayed = replica.replayed();
                    self.written.retain(|_, l| *l > replayed);
                }
                self.written.insert(principal_id.to_string(), lsn);
                Some(lsn)
            }
            // Without the position, the caller's reads stay on the primary
            // until it can be read again.
            Err(e) => {
                tracing::warn!(error = %e, "could not read the primary's log position");
                self.written.insert(principal_id.to_string(), Lsn::MAX);
                None
            }
        }
    }

    /// Drops a cached token (logout, revocation) in this process at once.
    pub async fn forget_token(&self, secret: &str) {
        self.tokens.remove(secret);
    }

    /// Drops every cached token of an API key or member (revocation, deactivation).
    pub async fn forget_principal(&self, id: &str) {
        self.tokens.retain(|_, (p, _)| p.id != id);
    }
}
