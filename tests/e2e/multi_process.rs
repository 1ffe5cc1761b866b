//! Two `rapport serve` processes on one database: a metadata change made
//! through one is served by the other within two seconds.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::custom_object::vehicle_document;
use crate::harness::{ADMIN_KEY, TestDb};

struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn(db: &TestDb, data_dir: &std::path::Path) -> Process {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", &db.url, "--data-dir"])
        .arg(data_dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RAPPORT_ADMIN_KEY", ADMIN_KEY)
        .env("RAPPORT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rapport");
    let p = Process {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = client.get(format!("{}/readyz", p.base)).send().await
            && r.status().is_success()
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rapport did not become ready");
}

#[tokio::test]
async fn a_metadata_change_reaches_the_other_process() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("rapport-mp-{}", uuid::Uuid::new_v4().simple()));
    let a = spawn(&db, &dir).await;
    let b = spawn(&db, &dir).await;
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, query: &str, variables: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
    };
    let r: serde_json::Value = post(
        &a.base,
        "/metadata",
        "mutation($s: JSON!) { createObject(schema: $s) { name } }",
        json!({ "s": vehicle_document() }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(r.get("errors").is_none(), "{r}");
    let changed = Instant::now();
    loop {
        let r: serde_json::Value = post(
            &b.base,
            "/graphql",
            "mutation { createVehicle(data: { plate: \"MP-1\" }) { plate } }",
            json!({}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        if r.get("errors").is_none() {
            assert_eq!(r["data"]["createVehicle"]["plate"], "MP-1");
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(2),
            "process B still lacks `vehicle` after 2 s: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r: serde_json::Value = post(
        &a.base,
        "/graphql",
        "{ vehicles { nodes { plate } } }",
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(r["data"]["vehicles"]["nodes"], json!([{ "plate": "MP-1" }]));
    drop(a);
    drop(b);
    let _ = std::fs::remove_dir_all(dir);
    db.drop_database().await;
}
