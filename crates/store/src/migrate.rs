//! System migrations from `migrations/`, applied in order, each once.

use rapport_query::Backend;
use sea_orm::ConnectionTrait;

use rapport_query::Layout;

use crate::db::{Db, execute_text, sys_execute, sys_query};
use crate::ddl::{deleted_at_index, drop_index};
use crate::error::StoreError;

/// Version 8 is `partial_deleted_at_indexes`, written in code; the next file is 0009.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/0001_system.sql")),
    (2, include_str!("../../../migrations/0002_sequences.sql")),
    (3, include_str!("../../../migrations/0003_shipped.sql")),
    (4, include_str!("../../../migrations/0004_audit.sql")),
    (5, include_str!("../../../migrations/0005_accounts.sql")),
    (6, include_str!("../../../migrations/0006_roles.sql")),
    (7, include_str!("../../../migrations/0007_shares.sql")),
];

pub async fn run(db: &Db) -> Result<(), StoreError> {
    execute_text(
        &db.conn,
        db.backend,
        "CREATE TABLE IF NOT EXISTS rapport_migration (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .await?;
    for (version, text) in MIGRATIONS {
        let txn = db.begin_write().await?;
        if db.backend == Backend::Postgres {
            // Several processes may start at once; one migrates, the others wait.
            execute_text(&txn, db.backend, "SELECT pg_advisory_xact_lock(7301)").await?;
        }
        let done = txn
            .query_one_raw(sea_orm::Statement::from_string(
                db.db_backend(),
                format!("SELECT version FROM rapport_migration WHERE version = {version}"),
            ))
            .await?;
        if done.is_none() {
            for stmt in text
                .split(';')
                .map(str::trim)
                .filter(|s| !strip_comments(s).is_empty())
            {
                execute_text(&txn, db.backend, stmt).await?;
            }
            let now = chrono::Utc::now().to_rfc3339();
            execute_text(
                &txn,
                db.backend,
                &format!("INSERT INTO rapport_migration (version, applied_at) VALUES ({version}, '{now}')"),
            )
            .await?;
        }
        txn.commit().await?;
    }
    partial_deleted_at_indexes(db).await
}

/// Version 8, in code rather than SQL because it touches every object's
/// table: the `deletedAt` index of tables made before it became partial
/// (`ddl::deleted_at_index`) is made again.
async fn partial_deleted_at_indexes(db: &Db) -> Result<(), StoreError> {
    const VERSION: i64 = 8;
    let txn = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        execute_text(&txn, db.backend, "SELECT pg_advisory_xact_lock(7301)").await?;
    }
    let done = sys_query(
        &txn,
        db.backend,
        "SELECT version FROM rapport_migration WHERE version = $1",
        vec![VERSION.into()],
    )
    .await?;
    if done.is_empty() {
        let tables = sys_query(
            &txn,
            db.backend,
            "SELECT w.namespace, o.name FROM rapport_object o \
             JOIN rapport_workspace w ON w.id = o.workspace_id ORDER BY w.namespace, o.name",
            vec![],
        )
        .await?;
        for row in &tables {
            let layout = Layout::new(db.backend, row.try_get_by_index::<String>(0)?);
            let table: String = row.try_get_by_index(1)?;
            execute_text(
                &txn,
                db.backend,
                &drop_index(&layout, &table, "deletedAt", false),
            )
            .await?;
            execute_text(&txn, db.backend, &deleted_at_index(&layout, &table)).await?;
        }
        sys_execute(
            &txn,
            db.backend,
            "INSERT INTO rapport_migration (version, applied_at) VALUES ($1, $2)",
            vec![VERSION.into(), chrono::Utc::now().to_rfc3339().into()],
        )
        .await?;
        if !tables.is_empty() {
            tracing::info!(tables = tables.len(), "deleted-at indexes made partial");
        }
    }
    txn.commit().await?;
    Ok(())
}

fn strip_comments(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}
