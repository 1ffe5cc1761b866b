//! Reads outside transactions, on PostgreSQL through connections held out
//! of sqlx's pool. sqlx tests every connection that comes back to its pool
//! with a `Sync` and waits for the answer: one more round trip, and one
//! more wake-up of the server's task and of a PostgreSQL backend, per
//! statement. On a short read (the first 50 companies) that was about a
//! tenth of the server's CPU. A held connection goes back to the small
//! stack it came from once its statement has finished cleanly, with
//! nothing to test (unless unused for long: `STALE_AFTER`); on any error,
//! or when the read is dropped half-way, it goes back to the pool, which
//! tests it as before. (`Pool::close` would wait for the held ones;
//! Rapport never closes its pool, the process ends.)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{Connection, Postgres, pool::PoolConnection};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};

use crate::bulk_txn::{bound, query_err};

/// A held connection unused for this long may have been cut (a restart, a
/// proxy): it is tested before its next read, as the pool itself tests
/// connections idle this long before handing them out (`Db::connect`).
const STALE_AFTER: Duration = Duration::from_secs(1);
/// A test of a connection that does not answer within this gives it up.
const PING_WITHIN: Duration = Duration::from_secs(5);
/// A connection in steady use would otherwise never go back to the pool,
/// which retires connections past their lifetime (sqlx: 30 minutes) when
/// they come back; a backend's caches grow over its life.
const HELD_FOR_AT_MOST: Duration = Duration::from_secs(600);

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

    /// A connection for one read, with when it left the pool: the most
    /// recently used held one, or one from the pool.
    async fn take(&self, held: &Held) -> Result<(PoolConnection<Postgres>, Instant), DbErr> {
        while let Some(idle) = held.pop() {
            if idle.used.elapsed() < STALE_AFTER {
                return Ok((idle.conn, idle.taken));
            }
            // Unused for long, it may have been cut: tested here, as the
            // pool tests what it hands out after as long. Sent back to the
            // pool instead, it would return through a task, and a burst of
            // reads meanwhile would find none idle there and open more
            // connections, up to the pool's maximum.
            let mut conn = idle.conn;
            match tokio::time::timeout(PING_WITHIN, conn.ping()).await {
                Ok(Ok(())) => return Ok((conn, idle.taken)),
                // Closed, not returned: the pool would only test it again.
                _ => conn.close_on_drop(),
            }
        }
        let conn = self
            .conn
            .get_postgres_connection_pool()
            .acquire()
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
        Ok((conn, Instant::now()))
    }
}

pub(crate) struct Held {
    idle: Mutex<Vec<Idle>>,
    keep: usize,
}

/// A held connection between reads; the most recently used is last.
struct Idle {
    conn: PoolConnection<Postgres>,
    /// When it left the pool.
    taken: Instant,
    /// When its last read ended.
    used: Instant,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("keep", &self.keep).finish()
    }
}

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used connection.
    fn pop(&self) -> Option<Idle> {
        self.lock().pop()
    }

    /// A connection whose statement finished cleanly, taken from the pool
    /// at `taken`; past `keep`, or held for long, it goes back to the pool.
    fn put(&self, conn: PoolConnection<Postgres>, taken: Instant) {
        let mut idle = self.lock();
        if idle.len() < self.keep && taken.elapsed() < HELD_FOR_AT_MOST {
            idle.push(Idle {
                conn,
                taken,
                used: Instant::now(),
            });
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
            for idle in self.lock().drain(..) {
                std::mem::forget(idle.conn);
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
        let (mut conn, taken) = self.take(held).await?;
        // On an error `conn` is dropped here, back to the pool and tested.
        let rows = bound(&stmt)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        held.put(conn, taken);
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL only (`RAPPORT_TEST_DATABASE_URL`); SQLite holds nothing.
    #[tokio::test]
    async fn a_connection_held_for_long_goes_back_to_the_pool() {
        let Ok(url) = std::env::var("RAPPORT_TEST_DATABASE_URL") else {
            return;
        };
        let db = crate::Db::connect(&url).await.expect("PostgreSQL");
        let held = db.reads.held.as_ref().expect("PostgreSQL reads are held");
        let (conn, taken) = db.reads.take(held).await.expect("a connection");
        held.put(conn, taken);
        assert_eq!(held.lock().len(), 1, "a fresh connection is kept");
        let (conn, _) = db.reads.take(held).await.expect("the held one");
        let Some(long_ago) = Instant::now().checked_sub(HELD_FOR_AT_MOST) else {
            return; // this machine has not run for that long
        };
        held.put(conn, long_ago);
        assert!(held.lock().is_empty(), "it went back to the pool");
    }

    /// Connections unused past `STALE_AFTER` are tested one by one as they
    /// are taken: a dead one is closed and the next tried, the others stay
    /// held, and the pool opens none.
    #[tokio::test]
    async fn a_stale_connection_is_tested_where_it_is_held() {
        let Ok(url) = std::env::var("RAPPORT_TEST_DATABASE_URL") else {
            return;
        };
        let db = crate::Db::connect(&url).await.expect("PostgreSQL");
        let pool = db.conn.get_postgres_connection_pool();
        let held = db.reads.held.as_ref().expect("PostgreSQL reads are held");
        let mut taken = Vec::new();
        for _ in 0..3 {
            taken.push(db.reads.take(held).await.expect("a connection"));
        }
        let last = pid(&mut taken[2].0).await;
        for (conn, at) in taken {
            held.put(conn, at);
        }
        // The most recently used one dies while idle (a restart, a proxy).
        let ended = db
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_terminate_backend({last})"),
            ))
            .await
            .expect("terminate");
        assert!(ended.is_some());
        // Counted after the statement above, which may have opened one (the
        // three are held); the dead one's close, below, ends in a task, so
        // the count may not have dropped by then.
        let opened = pool.size();
        tokio::time::sleep(STALE_AFTER + Duration::from_millis(100)).await;
        let (mut conn, at) = db.reads.take(held).await.expect("a tested connection");
        // `pid` fails on a dead connection.
        assert_ne!(pid(&mut conn).await, last, "not the dead one");
        assert_eq!(held.lock().len(), 1, "the third one is still held");
        held.put(conn, at);
        assert!(pool.size() <= opened, "no connection was opened");
    }

    async fn pid(conn: &mut PoolConnection<Postgres>) -> i32 {
        use sea_orm::sqlx::Row;
        sea_orm::sqlx::query("SELECT pg_backend_pid()")
            .fetch_one(&mut **conn)
            .await
            .expect("a read on the connection")
            .get(0)
    }
}
