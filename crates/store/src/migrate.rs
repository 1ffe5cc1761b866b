//! System migrations from `migrations/`, applied in order, each once.

use rapport_query::Backend;
use sea_orm::ConnectionTrait;

use crate::db::{Db, execute_text};
use crate::error::StoreError;

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
