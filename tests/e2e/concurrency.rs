//! Concurrent writers, and metadata changes while requests are in flight.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::custom_object::vehicle_document;
use crate::harness::TestServer;

#[tokio::test]
async fn concurrent_writers_all_succeed() {
    let s = Arc::new(TestServer::start().await);
    let c = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\" }) { id } }",
            json!({}),
        )
        .await;
    let company = c["createCompany"]["id"].as_str().unwrap().to_string();
    // Each write reads (the company must exist) before it inserts.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (s, company) = (s.clone(), company.clone());
        tasks.push(tokio::spawn(async move {
            s.gql(
                "mutation($n: String!, $c: ID!) { createPerson(data: { name: { firstName: $n }, companyId: $c }) { id } }",
                json!({ "n": format!("P{i}"), "c": company }),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(s.count_all("people").await, 40);
    Arc::into_inner(s).expect("last handle").finish().await;
}

#[tokio::test]
async fn schema_swaps_under_load_and_old_versions_are_freed() {
    let s = Arc::new(TestServer::start().await);
    s.create_object(vehicle_document()).await;
    s.gql(
        "mutation { createVehicle(data: { plate: \"LD-1\" }) { id } }",
        json!({}),
    )
    .await;
    let before = Arc::downgrade(&s.app.live());
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    let d = s
                        .gql(
                            "{ vehicles { totalCount nodes { plate company { name } } } }",
                            json!({}),
                        )
                        .await;
                    assert_eq!(d["vehicles"]["totalCount"], 1);
                }
            })
        })
        .collect();
    for i in 0..5 {
        s.meta(
            "mutation($n: String!) { createField(object: \"vehicle\", name: $n, schema: { type: \"integer\" }) { name } }",
            json!({ "n": format!("extra{i}") }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for r in readers {
        r.await.expect("no reader saw an error");
    }
    let d = s.gql("{ vehicles { nodes { extra4 } } }", json!({})).await;
    assert_eq!(d["vehicles"]["nodes"], json!([{ "extra4": null }]));
    // Nothing keeps an old schema alive once its requests are done.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        before.upgrade().is_none(),
        "the schema of an old metadata version is still referenced"
    );
    Arc::into_inner(s).expect("last handle").finish().await;
}

/// Pooled connections skip sqlx's ping while in use (one round trip less
/// per request), but one left idle is checked before it is handed out: a
/// database that dropped every connection (a restart, a proxy's timeout)
/// costs no failed request.
#[tokio::test]
async fn connections_the_database_dropped_are_replaced_not_reported() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let s = TestServer::start().await;
    let Some((admin, name)) = s.db.pg_admin.clone() else {
        // SQLite's connections are files in this process: nothing to drop.
        return;
    };
    // Pooled connections, used just now; the list read runs through the
    // connections held out of the pool for reads (`ReadConn`).
    let list = "{ companies(first: 5) { nodes { name } } }";
    let count = "{ companies(first: 5) @include(if: true) { totalCount } }";
    for _ in 0..3 {
        let read = s.gql(count, json!({})).await;
        assert_eq!(read["companies"]["totalCount"], json!(0));
        assert_eq!(
            s.gql(list, json!({})).await["companies"]["nodes"],
            json!([])
        );
    }
    let conn = Database::connect(&admin).await.expect("admin connection");
    let dropped = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        ))
        .await
        .expect("terminate");
    conn.close().await.ok();
    assert!(!dropped.is_empty(), "the server held connections");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for n in 0..8 {
        // Read by the full executor (a directive), which has no other path
        // to fall back on: a dead connection handed to it would fail the
        // request.
        let read = s.gql(count, json!({})).await;
        assert_eq!(read["companies"]["totalCount"], json!(n));
        let created = s
            .gql(
                "mutation { createCompany(data: { name: \"After\" }) { name } }",
                json!({}),
            )
            .await;
        assert_eq!(created["createCompany"]["name"], "After");
        let read = s.gql(list, json!({})).await;
        assert_eq!(read["companies"]["nodes"][0]["name"], "After");
    }
    s.finish().await;
}

/// Reads outside transactions keep a few connections out of the pool, so
/// that no statement pays for the pool's test on return. One whose read
/// failed, or was dropped half-way, goes back to the pool instead: the
/// next read on it must not see what was left of the last.
#[tokio::test]
async fn held_read_connections_are_reused_and_let_go_after_a_failed_read() {
    use sea_orm::{ConnectionTrait, Statement};
    let s = TestServer::start().await;
    if s.db.pg_admin.is_none() {
        // SQLite reads through its pool: nothing is held.
        s.finish().await;
        return;
    }
    let reads = s.app.db.reads.clone();
    let backend = reads.get_database_backend();
    let one = |sql: &str| Statement::from_string(backend, sql.to_string());
    let pid = || async {
        let row = reads
            .query_one_raw(one("SELECT pg_backend_pid()"))
            .await
            .expect("read")
            .expect("a row");
        row.try_get_by_index::<i32>(0).expect("pid")
    };
    let first = pid().await;
    for _ in 0..4 {
        assert_eq!(
            pid().await,
            first,
            "one held connection serves reads in turn"
        );
    }

    let failed = reads.query_all_raw(one("SELECT 1 / 0")).await;
    assert!(failed.is_err(), "division by zero is refused");
    assert!(pid().await > 0, "a read after the failed one works");

    // A read dropped while the database is still answering it.
    let dropped = tokio::time::timeout(
        Duration::from_millis(50),
        reads.query_all_raw(one("SELECT pg_sleep(1), 1 AS late")),
    )
    .await;
    assert!(dropped.is_err(), "the slow read was cut off");
    for n in [7, 8, 9] {
        let row = reads
            .query_one_raw(one(&format!("SELECT {n} AS n")))
            .await
            .expect("read after a dropped read")
            .expect("a row");
        assert_eq!(row.try_get_by_index::<i32>(0).expect("n"), n);
    }
    s.finish().await;
}
