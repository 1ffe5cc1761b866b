//! System migrations from `migrations/`, applied in order, each once.

use rapport_query::Backend;
use sea_orm::ConnectionTrait;

use rapport_query::Layout;

use crate::db::{Db, execute_text, sys_execute, sys_query};
use crate::ddl::{deleted_at_index, drop_index};
use crate::error::StoreError;

/// Version 8 is `partial_deleted_at_indexes`, written in code; the files go
/// on from 0009.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/0001_system.sql")),
    (2, include_str!("../../../migrations/0002_sequences.sql")),
    (3, include_str!("../../../migrations/0003_shipped.sql")),
    (4, include_str!("../../../migrations/0004_audit.sql")),
    (5, include_str!("../../../migrations/0005_accounts.sql")),
    (6, include_str!("../../../migrations/0006_roles.sql")),
    (7, include_str!("../../../migrations/0007_shares.sql")),
    (9, include_str!("../../../migrations/0009_invitations.sql")),
    (
        10,
        include_str!("../../../migrations/0010_file_orphans.sql"),
    ),
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
/// (`ddl::deleted_at_index`) is made again. One transaction per workspace:
/// PostgreSQL holds a lock per table and index until commit, and a
/// thousand workspaces in one transaction would run out of lock slots
/// (`max_locks_per_transaction`). A rerun after a crash, or a second
/// process starting at once, remakes indexes already made: harmless.
async fn partial_deleted_at_indexes(db: &Db) -> Result<(), StoreError> {
    const VERSION: i64 = 8;
    let done = async |conn: &sea_orm::DatabaseTransaction| -> Result<bool, StoreError> {
        Ok(!sys_query(
            conn,
            db.backend,
            "SELECT version FROM rapport_migration WHERE version = $1",
            vec![VERSION.into()],
        )
        .await?
        .is_empty())
    };
    let begin = async || -> Result<sea_orm::DatabaseTransaction, StoreError> {
        let txn = db.begin_write().await?;
        if db.backend == Backend::Postgres {
            execute_text(&txn, db.backend, "SELECT pg_advisory_xact_lock(7301)").await?;
        }
        Ok(txn)
    };
    let txn = begin().await?;
    if done(&txn).await? {
        return Ok(txn.commit().await?);
    }
    let namespaces: Vec<(String, String)> = sys_query(
        &txn,
        db.backend,
        "SELECT id, namespace FROM rapport_workspace ORDER BY namespace",
        vec![],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
    .collect::<Result<_, StoreError>>()?;
    txn.commit().await?;
    let mut remade = 0;
    for (workspace_id, namespace) in namespaces {
        let txn = begin().await?;
        if done(&txn).await? {
            return Ok(txn.commit().await?);
        }
        let layout = Layout::new(db.backend, namespace);
        for row in sys_query(
            &txn,
            db.backend,
            "SELECT name FROM rapport_object WHERE workspace_id = $1",
            vec![workspace_id.into()],
        )
        .await?
        {
            let table: String = row.try_get_by_index(0)?;
            let remake = [
                drop_index(&layout, &table, "deletedAt", false),
                deleted_at_index(&layout, &table),
            ];
            for ddl in remake {
                execute_text(&txn, db.backend, &ddl).await?;
            }
            remade += 1;
        }
        txn.commit().await?;
    }
    let txn = begin().await?;
    sys_execute(
        &txn,
        db.backend,
        "INSERT INTO rapport_migration (version, applied_at) VALUES ($1, $2) \
         ON CONFLICT (version) DO NOTHING",
        vec![VERSION.into(), chrono::Utc::now().to_rfc3339().into()],
    )
    .await?;
    txn.commit().await?;
    if remade > 0 {
        tracing::info!(tables = remade, "deleted-at indexes made partial");
    }
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
