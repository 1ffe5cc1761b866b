//! Reads outside transactions, on PostgreSQL through connections held out
//! of sqlx's pool. sqlx tests every connection that comes back to its pool
//! with a `Sync` and waits for the answer: one more round trip, and one
//! more wake-up of the server's task and of a PostgreSQL backend, per
//! statement. On a short read (the first 50 companies) that was about a
//! tenth of the server's CPU. A held connection goes back to the small
//! stack it came from once its statement has finished cleanly, with
//! nothing to test; on any error, or when the read is dropped half-way, it
//! goes back to the pool, which tests it as before. (`Pool::close` would
//! wait for the held ones; Rapport never closes its pool, the process
//! ends.)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{Postgres, pool::PoolConnection};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};

use crate::bulk_txn::{bound, query_err};

/// A held connection unused for this long may have been cut (a restart, a
/// proxy): it goes back to the pool, which tests it, as the pool itself
/// tests connections idle this long before handing them out (`Db::connect`).
const STALE_AFTER: Duration = Duration::from_secs(1);

/// Where reads outside a transaction run: the pool, and on PostgreSQL the
/// connections held out of it.
#[derive(Clone, Debug)]
pub struct ReadConn {
    conn: DatabaseConnection,
    held: Option<Arc<Held>>,
}

impl ReadConn {
    pub(crate) fn new(conn: &DatabaseConnection) -> ReadConn {
        let held = (conn.get_database_backend() == DbBackend::Postgres).then(|| {
            let pool = conn.get_postgres_connection_pool();
            // Half of the pool at most: writes always find connections.
            let keep = (pool.options().get_max_connections() / 2).max(1) as usize;
            Arc::new(Held {
                idle: Mutex::new(Vec::with_capacity(keep)),
                keep,
            })
        });
        ReadConn {
            conn: conn.clone(),
            held,
        }
    }

    /// A connection for one read: a held one used within `STALE_AFTER`,
    /// or one from the pool.
    async fn take(&self, held: &Held) -> Result<PoolConnection<Postgres>, DbErr> {
        if let Some(conn) = held.pop_fresh() {
            return Ok(conn);
        }
        self.conn
            .get_postgres_connection_pool()
            .acquire()
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))
    }
}

pub(crate) struct Held {
    /// Most recently used last, with when it was put back.
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    keep: usize,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("keep", &self.keep).finish()
    }
}

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(PoolConnection<Postgres>, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used connection, unless it is stale; then all are
    /// (the older ones lie below it) and all go back to the pool.
    fn pop_fresh(&self) -> Option<PoolConnection<Postgres>> {
        let mut idle = self.lock();
        let (conn, since) = idle.pop()?;
        if since.elapsed() < STALE_AFTER {
            return Some(conn);
        }
        let stale: Vec<_> = idle.drain(..).collect();
        drop(idle);
        drop(conn);
        drop(stale);
        None
    }

    /// A connection whose statement finished cleanly; past `keep`, it goes
    /// back to the pool.
    fn put(&self, conn: PoolConnection<Postgres>) {
        let mut idle = self.lock();
        if idle.len() < self.keep {
            idle.push((conn, Instant::now()));
            return;
        }
        drop(idle);
        drop(conn);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // A pooled connection goes back through a task on the current
        // runtime; with none left (the process ending), it is let go as is.
        if tokio::runtime::Handle::try_current().is_err() {
            for (conn, _) in self.lock().drain(..) {
                std::mem::forget(conn);
            }
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ReadConn {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.conn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        // Its callers read statements of one row: the same path as a list.
        Ok(self.query_all_raw(stmt).await?.into_iter().next())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Some(held) = &self.held else {
            return self.conn.query_all_raw(stmt).await;
        };
        let mut conn = self.take(held).await?;
        // On an error `conn` is dropped here, back to the pool and tested.
        let rows = bound(&stmt)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        held.put(conn);
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
