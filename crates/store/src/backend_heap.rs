//! Every new PostgreSQL connection first makes its backend keep the heap it
//! grows, instead of handing it back to the kernel after each statement.
//!
//! PostgreSQL's backends allocate with the C library's `malloc`. glibc gives
//! the top of the heap back (`brk`) once more than 128 KiB of it is free,
//! and a statement that needs it again faults every page back in. It raises
//! that threshold to twice the size of a block only after a block it mapped
//! on its own (128 KiB or more) is freed, so whether a backend pays depends
//! on what it happened to run before: in the benchmark, some of Rapport's
//! backends paid about 140 KiB of faults on every Q4 (one company with three
//! child lists), others none. Freeing one 4 MiB value on connect puts every
//! backend in the second state for its whole life: allocations under 4 MiB
//! come from the heap, and up to 8 MiB of free heap is kept. 4 MiB is
//! PostgreSQL's default `work_mem`, the size of the largest in-memory sort.
//! The cost is one statement per connection (12–20 ms of the database's
//! time, once), and up to 8 MiB of heap a backend may keep after a
//! statement that grew it.
//!
//! Setting `MALLOC_TRIM_THRESHOLD_` in the database server's environment does
//! the same for all of its backends (docs/scaling.md); a managed database
//! does not let one set it. With another allocator the statement is harmless.

use sea_orm::ConnectOptions;
use sea_orm::sqlx::{self, Executor};

/// The statement each new connection runs: it allocates and frees one 4 MiB
/// string. Built from 4 KiB pieces, which takes about half the time of
/// repeating one character (12–20 ms against 26–47 on the benchmark's
/// machine).
const KEEP_HEAP: &str = "SELECT length(repeat(repeat('x', 4096), 1024))";

/// Makes every connection `options` opens run [`KEEP_HEAP`] first (sqlx's
/// per-connection hook; sea-orm's `after_connect` runs once per pool). If
/// the database refuses it (a statement timeout set below its cost, say),
/// that is logged and the connection used as it is: this is only about
/// speed. A connection that failed is not handed out.
pub(crate) fn keep_heap_on_connect(options: &mut ConnectOptions) {
    options.map_sqlx_postgres_pool_opts(|pool| {
        pool.after_connect(|conn, _| {
            Box::pin(async move {
                match conn.execute(KEEP_HEAP).await {
                    Err(sqlx::Error::Database(e)) => {
                        tracing::warn!(error = %e, "the statement that keeps a backend's heap failed");
                        Ok(())
                    }
                    other => other.map(|_| ()),
                }
            })
        })
    });
}

#[cfg(test)]
mod tests {
    use sea_orm::sqlx::{self, PgConnection};

    /// A sort of 20,000 rows in random order: about 1 MiB of memory, in
    /// blocks each too small for glibc to map on its own.
    const SORT: &str =
        "SELECT count(*) FROM (SELECT g FROM generate_series(1, 20000) g ORDER BY random()) s";

    /// The backend's minor page faults so far (`/proc/self/stat`, field 10),
    /// read by the backend itself: the server may be on another machine.
    async fn faults(conn: &mut PgConnection) -> i64 {
        let (faults,): (i64,) =
            sqlx::query_as("SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 10)::int8")
                .fetch_one(conn)
                .await
                .expect("reading /proc/self/stat needs PostgreSQL on Linux and a superuser");
        faults
    }

    /// Faults per sort, after two sorts to warm the backend's caches.
    async fn faults_per_sort(conn: &mut PgConnection) -> i64 {
        for _ in 0..2 {
            sqlx::query(SORT).execute(&mut *conn).await.expect("sort");
        }
        let before = faults(conn).await;
        for _ in 0..10 {
            sqlx::query(SORT).execute(&mut *conn).await.expect("sort");
        }
        (faults(conn).await - before) / 10
    }

    /// PostgreSQL only (`RAPPORT_TEST_DATABASE_URL`): SQLite runs in this
    /// process, with its allocator.
    #[tokio::test]
    async fn a_pooled_backend_keeps_its_heap_between_statements() {
        let Ok(url) = std::env::var("RAPPORT_TEST_DATABASE_URL") else {
            return;
        };
        // Without the statement, the same sort faults its memory back in
        // every time: otherwise this test could not tell.
        let mut bare = <PgConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("PostgreSQL");
        let bare_faults = faults_per_sort(&mut bare).await;
        assert!(
            bare_faults > 100,
            "a fresh backend faulted {bare_faults} pages per sort: this PostgreSQL's \
             allocator keeps its heap anyway, and the test cannot tell"
        );

        // Three connections held at once, so three backends: a statement run
        // once per pool, not per connection, would leave two of them bare.
        let db = crate::Db::connect(&url).await.expect("PostgreSQL");
        let pool = db.conn.get_postgres_connection_pool();
        let mut pooled = Vec::new();
        for _ in 0..3 {
            pooled.push(pool.acquire().await.expect("a connection"));
        }
        for conn in &mut pooled {
            let pooled_faults = faults_per_sort(conn).await;
            assert!(
                pooled_faults < 10,
                "a pooled backend faulted {pooled_faults} pages per sort (a bare one {bare_faults})"
            );
        }
    }
}
