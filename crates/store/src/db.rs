use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rapport_query::{Backend, Sql};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, QueryResult, Statement};

use crate::crypto::Keyring;
use crate::error::StoreError;

/// Counts the SQL statements run for one request (the N+1 guard and the
/// `x-rapport-sql-statements` response header).
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    /// Reads outside transactions (see `held`).
    pub reads: crate::ReadConn,
    pub backend: Backend,
    /// Keys for `encryptedText` fields; without them such fields cannot be
    /// defined, written or read.
    pub keyring: Option<Arc<Keyring>>,
    /// Moves whenever something that decides record access changes in this
    /// process (teams, members, shares), so cached grants are rebuilt.
    pub access_epoch: Arc<AtomicU64>,
    /// Moves whenever a member's access to a workspace ends in this process
    /// (deactivated, their `workspaceMember` record deleted or destroyed),
    /// so cached session tokens are checked again.
    pub sessions_epoch: Arc<AtomicU64>,
    /// A streaming replica for record reads (`--read-database-url`).
    pub replica: Option<Arc<crate::replica::Replica>>,
    /// SQLite: the task that checkpoints the WAL (see `checkpoint_in_background`).
    _checkpoints: Option<Arc<Checkpoints>>,
}

/// Stops the checkpoint task when the last clone of its `Db` goes.
#[derive(Debug)]
struct Checkpoints(tokio::task::JoinHandle<()>);

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the WAL is checkpointed; it grows by at most this much of writes.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// SQLite's WAL is copied back into the database file by a task of its own,
/// as PostgreSQL's checkpointer does, and not by whichever commit finds it
/// past 1,000 pages (SQLite's automatic checkpoint, turned off in `connect`):
/// a bulk import's commit spent 0.3–0.4 s of 1.4 s copying its own pages,
/// and any write could stall on a checkpoint. PASSIVE: it never waits for
/// readers or writers, and copies what they allow.
fn checkpoint_in_background(conn: &DatabaseConnection) -> Checkpoints {
    let pool = conn.get_sqlite_connection_pool().clone();
    Checkpoints(tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = sea_orm::sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }))
}

impl Db {
    /// Connects to `postgres://…` or `sqlite://path` (created if missing).
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Internal(format!(
                "unsupported database url `{url}`: use sqlite://PATH or postgres://…"
            )));
        };
        let mut options = sea_orm::ConnectOptions::new(url.to_string());
        options.sqlx_logging(false);
        // sqlx pings a pooled connection on every checkout by default: one
        // more round trip per request. A connection used within the last
        // second (sqlx also pings it when it comes back) is handed out as
        // is; one idle longer may have been dropped by a restart or a proxy,
        // so it is checked first.
        options.test_before_acquire_if_idle_for(std::time::Duration::from_secs(1));
        if backend == Backend::Sqlite {
            options.max_connections(8);
            options.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(std::time::Duration::from_secs(10))
                    // `like` is case-sensitive as on PostgreSQL; `ilike` is not.
                    .pragma("case_sensitive_like", "ON")
                    // Checkpoints run in the background instead.
                    .pragma("wal_autocheckpoint", "0")
            });
        } else {
            options.max_connections(32);
            // A runaway statement is cut off rather than holding a connection forever.
            let timeout_ms = std::env::var("RAPPORT_STATEMENT_TIMEOUT_MS")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(30_000);
            options.map_sqlx_postgres_opts(move |o| {
                o.options([("statement_timeout", timeout_ms.to_string())])
            });
            crate::backend_heap::keep_heap_on_connect(&mut options);
        }
        let conn = Database::connect(options).await?;
        let checkpoints =
            (backend == Backend::Sqlite).then(|| Arc::new(checkpoint_in_background(&conn)));
        Ok(Db {
            reads: crate::ReadConn::new(&conn),
            conn,
            backend,
            keyring: None,
            access_epoch: Arc::new(AtomicU64::new(0)),
            sessions_epoch: Arc::new(AtomicU64::new(0)),
            replica: None,
            _checkpoints: checkpoints,
        })
    }

    pub fn with_keyring(mut self, keyring: Option<Arc<Keyring>>) -> Db {
        self.keyring = keyring;
        self
    }

    /// Marks cached access grants as stale.
    pub(crate) fn access_changed(&self) {
        self.access_epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// The keyring, or why `encryptedText` fields cannot be used.
    pub(crate) fn keys(&self) -> Result<&Keyring, StoreError> {
        self.keyring.as_deref().ok_or_else(|| {
            StoreError::Internal(
                "an encryptedText field is used but no encryption key is configured \
                 (RAPPORT_ENCRYPTION_KEY or RAPPORT_ENCRYPTION_KEY_FILE)"
                    .into(),
            )
        })
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// `BEGIN` (IMMEDIATE), so two writers queue on the busy timeout instead
    /// of one failing when both upgrade from a read.
    pub async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        use sea_orm::TransactionTrait;
        let options = sea_orm::TransactionOptions {
            sqlite_transaction_mode: (self.backend == Backend::Sqlite)
                .then_some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        self.conn.begin_with_options(options).await
    }

    pub fn db_backend(&self) -> DbBackend {
        db_backend(self.backend)
    }
}

pub(crate) fn db_backend(b: Backend) -> DbBackend {
    match b {
        Backend::Postgres => DbBackend::Postgres,
        Backend::Sqlite => DbBackend::Sqlite,
    }
}

fn statement(sql: Sql) -> Statement {
    Statement::from_sql_and_values(db_backend(sql.backend), sql.text, sql.params)
}

pub(crate) async fn query(
    conn: &impl ConnectionTrait,
    counter: &StatementCounter,
    sql: Sql,
) -> Result<Vec<QueryResult>, StoreError> {
    counter.bump();
    tracing::trace!(sql = %sql.text, "query");
    Ok(conn.query_all_raw(statement(sql)).await?)
}

pub(crate) async fn execute(
    conn: &impl ConnectionTrait,
    counter: &StatementCounter,
    sql: Sql,
) -> Result<u64, StoreError> {
    counter.bump();
    tracing::trace!(sql = %sql.text, "execute");
    Ok(conn.execute_raw(statement(sql)).await?.rows_affected())
}

/// Runs statement text without parameters (DDL).
pub(crate) async fn execute_text(
    conn: &impl ConnectionTrait,
    backend: Backend,
    text: &str,
) -> Result<(), StoreError> {
    tracing::debug!(sql = %text, "ddl");
    conn.execute_raw(Statement::from_string(
        db_backend(backend),
        text.to_string(),
    ))
    .await?;
    Ok(())
}

/// System-table statements are written with `$n`; SQLite reads `?n` the same way.
pub(crate) fn sys_sql(backend: Backend, text: &str) -> String {
    match backend {
        Backend::Postgres => text.to_string(),
        Backend::Sqlite => text.replace('$', "?"),
    }
}

/// Runs a system-table statement with values.
pub(crate) async fn sys_execute(
    conn: &impl ConnectionTrait,
    backend: Backend,
    text: &str,
    values: Vec<sea_orm::Value>,
) -> Result<u64, StoreError> {
    let stmt = Statement::from_sql_and_values(db_backend(backend), sys_sql(backend, text), values);
    Ok(conn.execute_raw(stmt).await?.rows_affected())
}

pub(crate) async fn sys_query(
    conn: &impl ConnectionTrait,
    backend: Backend,
    text: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<QueryResult>, StoreError> {
    let stmt = Statement::from_sql_and_values(db_backend(backend), sys_sql(backend, text), values);
    Ok(conn.query_all_raw(stmt).await?)
}
