//! The transaction of a bulk write. On PostgreSQL it holds its pooled
//! connection itself, outside sea-orm, so that rows can go by `COPY … FROM
//! STDIN` (which sea-orm cannot send); every other statement runs through
//! it as through any sea-orm connection.

use sea_orm::sqlx::{self, Postgres, pool::PoolConnection};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

use crate::db::Db;

pub(crate) enum BulkTxn {
    /// SQLite: a sea-orm transaction (there is no COPY to send).
    Orm(DatabaseTransaction),
    Pg(PgTxn),
}

pub(crate) struct PgTxn {
    conn: Mutex<PoolConnection<Postgres>>,
    /// Until COMMIT or ROLLBACK has run.
    open: bool,
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

pub(crate) fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

/// A statement with its values bound as sea-orm binds them.
pub(crate) fn bound(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

impl BulkTxn {
    /// Begins a writing transaction (on SQLite, as `Db::begin_write`).
    pub(crate) async fn begin(db: &Db) -> Result<BulkTxn, DbErr> {
        match db.backend {
            rapport_query::Backend::Sqlite => Ok(BulkTxn::Orm(db.begin_write().await?)),
            rapport_query::Backend::Postgres => {
                let mut conn = db
                    .conn
                    .get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
                sqlx::raw_sql("BEGIN")
                    .execute(&mut *conn)
                    .await
                    .map_err(exec_err)?;
                Ok(BulkTxn::Pg(PgTxn {
                    conn: Mutex::new(conn),
                    open: true,
                }))
            }
        }
    }

    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        match self {
            BulkTxn::Orm(txn) => txn.commit().await,
            BulkTxn::Pg(mut txn) => txn.end("COMMIT").await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), DbErr> {
        match self {
            BulkTxn::Orm(txn) => txn.rollback().await,
            BulkTxn::Pg(mut txn) => txn.end("ROLLBACK").await,
        }
    }
}

impl PgTxn {
    async fn end(&mut self, statement: &'static str) -> Result<(), DbErr> {
        sqlx::raw_sql(statement)
            .execute(&mut **self.conn.get_mut())
            .await
            .map_err(exec_err)?;
        self.open = false;
        Ok(())
    }

    /// Runs `statement` (`COPY … FROM STDIN`, text format) with `data`, its
    /// rows; returns how many were written.
    pub(crate) async fn copy_in(&self, statement: &str, data: Vec<u8>) -> Result<u64, DbErr> {
        let mut conn = self.conn.lock().await;
        let mut copy = conn.copy_in_raw(statement).await.map_err(exec_err)?;
        if let Err(e) = copy.send(data).await {
            // The transaction is failed either way; the connection must
            // leave COPY mode before the ROLLBACK.
            let _ = copy.abort("the rows could not be sent").await;
            return Err(exec_err(e));
        }
        copy.finish().await.map_err(exec_err)
    }
}

impl Drop for PgTxn {
    fn drop(&mut self) {
        // Dropped without COMMIT or ROLLBACK (an error on the way, a client
        // gone): the connection must not go back to the pool inside the
        // transaction. Closing it makes PostgreSQL roll it back.
        if self.open {
            self.conn.get_mut().close_on_drop();
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for BulkTxn {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            BulkTxn::Orm(txn) => txn.get_database_backend(),
            BulkTxn::Pg(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            BulkTxn::Orm(txn) => txn.execute_raw(stmt).await,
            BulkTxn::Pg(txn) => {
                let mut conn = txn.conn.lock().await;
                let done = bound(&stmt).execute(&mut **conn).await;
                done.map(Into::into).map_err(exec_err)
            }
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            BulkTxn::Orm(txn) => txn.execute_unprepared(sql).await,
            BulkTxn::Pg(txn) => {
                let mut conn = txn.conn.lock().await;
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut **conn)
                    .await;
                done.map(Into::into).map_err(exec_err)
            }
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            BulkTxn::Orm(txn) => txn.query_one_raw(stmt).await,
            BulkTxn::Pg(txn) => {
                let mut conn = txn.conn.lock().await;
                let row = bound(&stmt).fetch_optional(&mut **conn).await;
                row.map(|r| r.map(Into::into)).map_err(query_err)
            }
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            BulkTxn::Orm(txn) => txn.query_all_raw(stmt).await,
            BulkTxn::Pg(txn) => {
                let mut conn = txn.conn.lock().await;
                let rows = bound(&stmt).fetch_all(&mut **conn).await;
                rows.map(|rows| rows.into_iter().map(Into::into).collect())
                    .map_err(query_err)
            }
        }
    }
}

/// Appends `text` as one value of COPY's text format: backslash, tab and
/// line ends escaped (a bare `\N` would read as null).
pub(crate) fn push_copy_text(line: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '\\' => line.push_str("\\\\"),
            '\t' => line.push_str("\\t"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            c => line.push(c),
        }
    }
}
