//! `--read-database-url`: record reads go to a real PostgreSQL streaming
//! replica, which the test makes itself (its own primary and standby, on
//! free ports, from the machine's PostgreSQL binaries), while every caller
//! still reads their own writes at once and a metadata change never meets
//! a replica that lacks its tables.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::custom_object::vehicle_document;
use crate::harness::ADMIN_KEY;
use crate::multi_process::{free_port, serve};

/// The newest PostgreSQL server binaries on the machine.
fn pg_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("the PostgreSQL server binaries (/usr/lib/postgresql) are required")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("no PostgreSQL server in /usr/lib/postgresql")
        .1
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Two clusters in a temporary directory: a primary and its standby.
struct Clusters {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    primary_port: u16,
    replica_port: u16,
}

impl Clusters {
    /// PostgreSQL refuses to run as root; the `postgres` user runs it then.
    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd.args(args).output().expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn start(&self, name: &str, port: u16) {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.path(name),
                "-l",
                &self.path(&format!("{name}.log")),
                "-w",
                "-o",
                &options,
                "start",
            ],
        );
    }

    fn stop(&self, name: &str) {
        self.run(
            "pg_ctl",
            &["-D", &self.path(name), "-m", "immediate", "-w", "stop"],
        );
    }

    /// A primary, and a standby streaming from it when `with_replica`.
    fn create(with_replica: bool) -> Clusters {
        let dir =
            std::env::temp_dir().join(format!("rapport-replica-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let as_postgres = running_as_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of the cluster directory to postgres failed");
        }
        let clusters = Clusters {
            dir,
            bin: pg_bin_dir(),
            as_postgres,
            primary_port: free_port(),
            replica_port: free_port(),
        };
        // initdb's trust setup lets local connections replicate.
        clusters.run(
            "initdb",
            &[
                "-D",
                &clusters.path("primary"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        clusters.start("primary", clusters.primary_port);
        if !with_replica {
            return clusters;
        }
        clusters.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &clusters.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &clusters.path("replica"),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        clusters.start("replica", clusters.replica_port);
        clusters
    }

    fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }
}

impl Drop for Clusters {
    fn drop(&mut self) {
        for name in ["replica", "primary"] {
            if Path::new(&self.path(name)).join("postmaster.pid").exists() {
                let _ = std::panic::catch_unwind(|| self.stop(name));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn one_text(conn: &DatabaseConnection, sql: &str) -> Option<String> {
    conn.query_one_raw(Statement::from_string(
        conn.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .expect(sql)
    .and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten())
}

/// Waits until the replica has replayed everything committed on the primary.
async fn wait_replayed(primary: &DatabaseConnection, replica: &DatabaseConnection) {
    let target = one_text(primary, "SELECT pg_current_wal_lsn()::text")
        .await
        .and_then(|t| rapport_store::parse_lsn(&t))
        .expect("primary log position");
    let started = Instant::now();
    loop {
        let replayed = one_text(replica, "SELECT pg_last_wal_replay_lsn()::text")
            .await
            .and_then(|t| rapport_store::parse_lsn(&t))
            .unwrap_or(0);
        if replayed >= target {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replica did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn call(base: &str, key: &str, path: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json answer")
}

/// How many companies named `name` a caller sees.
async fn companies_named(base: &str, key: &str, name: &str) -> Value {
    let r = call(
        base,
        key,
        "/graphql",
        "query($n: String!) { companies(filter: { name: { eq: $n } }) { totalCount } }",
        json!({ "n": name }),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    r["data"]["companies"]["totalCount"].clone()
}

async fn create_company(base: &str, name: &str) {
    let r = call(
        base,
        ADMIN_KEY,
        "/graphql",
        "mutation($n: String!) { createCompany(data: { name: $n }) { id } }",
        json!({ "n": name }),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
}

#[tokio::test]
async fn reads_go_to_the_replica_and_callers_read_their_own_writes() {
    let clusters = Clusters::create(true);
    let primary_url = Clusters::url(clusters.primary_port);
    let replica_url = Clusters::url(clusters.replica_port);
    let primary = Database::connect(&primary_url).await.expect("primary");
    let replica = Database::connect(&replica_url).await.expect("replica");
    let data_dir = clusters.dir.join("rapport-data");
    let server = serve(
        &primary_url,
        &["--read-database-url", &replica_url],
        &data_dir,
    )
    .await;
    let base = server.base.as_str();

    // Two more callers: a reader, and a viewer who only ever reads.
    let key = |name: &'static str| async move {
        let created = call(
            base,
            ADMIN_KEY,
            "/metadata",
            "mutation($n: String!) { createApiKey(name: $n, role: \"admin\") { key } }",
            json!({ "n": name }),
        )
        .await;
        created["data"]["createApiKey"]["key"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_string()
    };
    let reader = key("reader").await;
    let viewer = key("viewer").await;
    // A second process on the same databases, for writes made elsewhere.
    let other = serve(
        &primary_url,
        &["--read-database-url", &replica_url],
        &data_dir,
    )
    .await;
    wait_replayed(&primary, &replica).await;

    // With replay paused, the replica stops at this point in time.
    one_text(&replica, "SELECT pg_wal_replay_pause()::text").await;
    create_company(base, "Written While Paused").await;
    assert_eq!(
        companies_named(base, ADMIN_KEY, "Written While Paused").await,
        1,
        "the writer reads their own write (from the primary)"
    );
    assert_eq!(
        companies_named(base, &reader, "Written While Paused").await,
        0,
        "another caller's reads are served by the (paused) replica"
    );

    // A new object's table is not on the paused replica: its workspace reads
    // from the primary until the replica has replayed the change.
    let r = call(
        base,
        ADMIN_KEY,
        "/metadata",
        "mutation($s: JSON!) { createObject(schema: $s) { name } }",
        json!({ "s": vehicle_document() }),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    let r = call(
        base,
        &reader,
        "/graphql",
        "{ vehicles { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["vehicles"]["totalCount"], 0, "{r}");
    assert_eq!(
        companies_named(base, &reader, "Written While Paused").await,
        1
    );

    // Once replayed, reads are back on the replica: pause it again and the
    // reader does not see a newer write, while its writer does.
    one_text(&replica, "SELECT pg_wal_replay_resume()::text").await;
    wait_replayed(&primary, &replica).await;
    assert_eq!(
        companies_named(base, &reader, "Written While Paused").await,
        1
    );
    // The other process has loaded the new object too, and the replica has
    // replayed whatever it read then.
    let started = Instant::now();
    while call(
        &other.base,
        &viewer,
        "/graphql",
        "{ vehicles { totalCount } }",
        json!({}),
    )
    .await
    .get("errors")
    .is_some()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no vehicle object on the other process"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_replayed(&primary, &replica).await;
    one_text(&replica, "SELECT pg_wal_replay_pause()::text").await;
    create_company(base, "Second Write").await;
    assert_eq!(companies_named(base, &reader, "Second Write").await, 0);
    assert_eq!(companies_named(base, ADMIN_KEY, "Second Write").await, 1);
    let r = call(
        base,
        &reader,
        "/graphql",
        "mutation { createCompany(data: { name: \"Reader's Own\" }) { id } }",
        json!({}),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(companies_named(base, &reader, "Reader's Own").await, 1);

    // Through another process, a caller's write is read back when the client
    // brings the write's log position along; without it, that process
    // reads the (paused) replica.
    let response = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(&viewer)
        .json(&json!({ "query": "mutation { createCompany(data: { name: \"Across\" }) { id } }" }))
        .send()
        .await
        .expect("request");
    let lsn = response
        .headers()
        .get("x-rapport-write-lsn")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .expect("a write answers with its log position");
    assert!(rapport_store::parse_lsn(&lsn).is_some(), "{lsn}");
    let across = |min_lsn: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", other.base))
            .bearer_auth(&viewer)
            .json(&json!({ "query": "{ companies(filter: { name: { eq: \"Across\" } }) { totalCount } }" }));
        if let Some(lsn) = min_lsn {
            request = request.header("x-rapport-min-lsn", lsn);
        }
        async move {
            let r: Value = request
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            r["data"]["companies"]["totalCount"].clone()
        }
    };
    assert_eq!(
        across(None).await,
        0,
        "the other process reads the paused replica"
    );
    assert_eq!(
        across(Some(lsn)).await,
        1,
        "with the position it reads the primary"
    );

    one_text(&replica, "SELECT pg_wal_replay_resume()::text").await;
    wait_replayed(&primary, &replica).await;
    assert_eq!(companies_named(base, &viewer, "Reader's Own").await, 1);

    // A replica that goes away costs no request: reads fall back to the
    // primary, whether it fails under a read or when asked where it is.
    drop(replica);
    clusters.stop("replica");
    create_company(base, "After The Replica").await;
    assert_eq!(companies_named(base, &viewer, "After The Replica").await, 1);
    assert_eq!(companies_named(base, &reader, "Second Write").await, 1);
    assert_eq!(
        companies_named(base, &reader, "Written While Paused").await,
        1
    );
    drop(server);
    drop(other);
}

/// A read database that is not a standby is refused at start: it has no
/// replay position, so read-your-writes could not hold.
#[tokio::test]
async fn a_read_database_that_is_not_a_replica_is_refused() {
    let clusters = Clusters::create(false);
    let url = Clusters::url(clusters.primary_port);
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", &url, "--data-dir"])
        .arg(clusters.dir.join("rapport-data"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--read-database-url",
            &url,
        ])
        .env("RAPPORT_LOG", "warn")
        .output()
        .expect("run rapport");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a streaming replica"), "{stderr}");
}
