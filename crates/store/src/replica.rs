//! Reads from a PostgreSQL streaming replica. A read goes there only when
//! the replica has replayed past everything that read must see — the
//! caller's own writes, the workspace's current metadata — so no caller sees
//! their own change vanish, or a column the replica does not have yet.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::db::Db;
use crate::error::StoreError;

/// A position in PostgreSQL's write-ahead log (`pg_lsn` as a number).
pub type Lsn = u64;

/// After a failed look at the replica, reads stay on the primary this long.
const RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct Replica {
    pub(crate) conn: DatabaseConnection,
    pub(crate) reads: crate::ReadConn,
    /// The last replay position seen; only asked again when a read needs more.
    replayed: AtomicU64,
    failed_at: std::sync::Mutex<Option<Instant>>,
}

/// `16/B374D848` → (0x16 << 32) | 0xB374D848.
pub fn parse_lsn(text: &str) -> Option<Lsn> {
    let (high, low) = text.split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

/// The inverse of [`parse_lsn`]: PostgreSQL's own text form.
pub fn format_lsn(lsn: Lsn) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

async fn lsn_of(conn: &DatabaseConnection, sql: &str) -> Result<Option<Lsn>, StoreError> {
    let row = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    let text: Option<String> = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => None,
    };
    Ok(text.as_deref().and_then(parse_lsn))
}

impl Replica {
    pub(crate) async fn connect(url: &str) -> Result<Replica, StoreError> {
        let mut options = sea_orm::ConnectOptions::new(url.to_string());
        // A replica that is gone must cost a request a moment, not the
        // pool's default 30 s wait: the primary serves instead.
        options
            .sqlx_logging(false)
            .max_connections(32)
            .connect_timeout(Duration::from_secs(1))
            .acquire_timeout(Duration::from_secs(1));
        crate::backend_heap::keep_heap_on_connect(&mut options);
        let conn = sea_orm::Database::connect(options).await?;
        let recovering = conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_is_in_recovery()",
            ))
            .await?
            .map(|r| r.try_get_by_index::<bool>(0))
            .transpose()?
            .unwrap_or(false);
        if !recovering {
            // Not a standby: it has no replay position to wait for, so
            // every read would go to it as if it were current.
            return Err(StoreError::Internal(
                "the read database is not a streaming replica (pg_is_in_recovery() is false)"
                    .into(),
            ));
        }
        Ok(Replica {
            reads: crate::ReadConn::new(&conn),
            conn,
            replayed: AtomicU64::new(0),
            failed_at: std::sync::Mutex::new(None),
        })
    }

    /// Whether the replica has replayed up to `lsn`. Asks the replica only
    /// when the last position seen is behind; a replica that cannot answer
    /// is left alone for a while.
    pub async fn has_replayed(&self, lsn: Lsn) -> bool {
        {
            let failed = self.failed_at.lock().unwrap_or_else(|e| e.into_inner());
            if failed.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
                return false;
            }
        }
        if self.replayed.load(Ordering::Relaxed) >= lsn {
            return true;
        }
        match lsn_of(&self.conn, "SELECT pg_last_wal_replay_lsn()::text").await {
            Ok(Some(now)) => {
                self.replayed.fetch_max(now, Ordering::Relaxed);
                now >= lsn
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "read replica unreachable; reading from the primary");
                *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                false
            }
        }
    }

    /// The last replay position seen.
    pub fn replayed(&self) -> Lsn {
        self.replayed.load(Ordering::Relaxed)
    }

    /// A read on the replica failed: the primary serves until it answers again.
    pub(crate) fn failed(&self) {
        *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

/// Failures of the replica itself (gone, unreachable, or cancelling a read
/// that conflicts with replay), after which the primary should answer. Any
/// other error would be the same on the primary, and is the read's own.
pub(crate) fn unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error};
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                Error::Io(_)
                | Error::Tls(_)
                | Error::Protocol(_)
                | Error::PoolTimedOut
                | Error::PoolClosed
                | Error::WorkerCrashed => true,
                // 40001: "canceling statement due to conflict with recovery";
                // 57P01..57P03: the standby is shutting down or restarting.
                Error::Database(db) => db
                    .code()
                    .is_some_and(|c| c == "40001" || c.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl Db {
    /// Adds a streaming replica that record reads may use.
    pub async fn with_replica(mut self, url: &str) -> Result<Db, StoreError> {
        if self.backend != rapport_query::Backend::Postgres || !url.starts_with("postgres") {
            return Err(StoreError::Internal(
                "a read database needs PostgreSQL for both the primary and the replica".into(),
            ));
        }
        self.replica = Some(std::sync::Arc::new(Replica::connect(url).await?));
        Ok(self)
    }

    /// The primary's current log position: a read that must see everything
    /// committed until now waits for the replica to pass it. Zero without
    /// a replica, where nothing waits.
    pub async fn primary_lsn(&self) -> Result<Lsn, StoreError> {
        if self.replica.is_none() {
            return Ok(0);
        }
        Ok(lsn_of(&self.conn, "SELECT pg_current_wal_lsn()::text")
            .await?
            .unwrap_or(0))
    }

    /// Whether record reads that must see `lsn` may go to the replica.
    pub async fn replica_serves(&self, lsn: Lsn) -> bool {
        match &self.replica {
            Some(r) => r.has_replayed(lsn).await,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_lsn;

    #[test]
    fn lsn_text_reads_as_a_number() {
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374D848));
        assert!(parse_lsn("0/16") < parse_lsn("1/0"));
        assert_eq!(parse_lsn("nonsense"), None);
        for text in ["0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF"] {
            assert_eq!(super::format_lsn(parse_lsn(text).unwrap()), text);
        }
    }
}
