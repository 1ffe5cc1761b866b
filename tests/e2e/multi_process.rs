//! Two `rapport serve` processes on one database: a metadata change made
//! through one is served by the other within two seconds.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::custom_object::vehicle_document;
use crate::harness::{ADMIN_KEY, TestDb};

pub struct Process {
    child: Child,
    pub base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn(db: &TestDb, data_dir: &std::path::Path) -> Process {
    serve(&db.url, &[], data_dir).await
}

/// `rapport serve` on a free port with the admin key, once it is ready.
pub async fn serve(database_url: &str, serve_args: &[&str], data_dir: &std::path::Path) -> Process {
    serve_with_env(database_url, serve_args, data_dir, &[]).await
}

/// [`serve`] with these environment variables set.
pub async fn serve_with_env(
    database_url: &str,
    serve_args: &[&str],
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> Process {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", database_url, "--data-dir"])
        .arg(data_dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(serve_args)
        .env("RAPPORT_ADMIN_KEY", ADMIN_KEY)
        .env("RAPPORT_LOG", "warn")
        .envs(env.iter().copied())
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

/// Starts `rapport serve` without `RAPPORT_ADMIN_KEY` and reads the first
/// line it prints: (the process, that line).
fn serve_printing(database_url: &str, data_dir: &std::path::Path) -> (Process, String) {
    use std::io::{BufRead, BufReader};
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", database_url, "--data-dir"])
        .arg(data_dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("RAPPORT_ADMIN_KEY")
        .env("RAPPORT_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start rapport");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // A start that issues no key prints nothing. A key is printed before
    // the server listens, so once it accepts connections, the line that
    // has not come will not.
    let reader = std::thread::spawn(move || {
        let _ = out.read_line(&mut line);
        line
    });
    let started = Instant::now();
    while !reader.is_finished()
        && std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // A printed line reaches the pipe before the port opens, but may reach
    // the reading thread a moment after.
    std::thread::sleep(Duration::from_millis(200));
    let line = if reader.is_finished() {
        reader.join().unwrap()
    } else {
        String::new()
    };
    let p = Process {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    (p, line)
}

async fn answers(base: &str, key: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client
            .post(format!("{base}/graphql"))
            .bearer_auth(key)
            .json(&json!({ "query": "{ companies { totalCount } }" }))
            .send()
            .await
        {
            return r.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not answer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Keys are never lost: a database gets its admin key on its first start
/// whichever command made it, printed once and kept in a 0600 file of its
/// own; another database never overwrites it; `keys create-admin` is the
/// way back in.
#[tokio::test]
async fn admin_keys_belong_to_their_database_and_are_never_lost() {
    let db = TestDb::new().await;
    let other = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("rapport-key-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // The database is made by `schema apply`, not by `serve`.
    let file = dir.join("vehicle.json");
    std::fs::write(&file, vehicle_document().to_string()).unwrap();
    let made = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", &db.url, "--data-dir"])
        .arg(&dir)
        .args(["schema", "apply", file.to_str().unwrap()])
        .env("RAPPORT_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let (p, line) = serve_printing(&db.url, &dir);
    let printed = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        printed.starts_with("rk_"),
        "the first start prints the key: {line}"
    );
    let path = line
        .split("also in ")
        .nth(1)
        .and_then(|rest| rest.split("): ").next())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| panic!("names its file: {line}"));
    assert!(path.starts_with(&dir), "{}", path.display());
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), printed);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        answers(&p.base, &printed).await["data"]["companies"]["totalCount"],
        0
    );
    drop(p);

    // The next start issues nothing; another database gets a file of its own.
    let (p, line) = serve_printing(&db.url, &dir);
    assert!(
        !line.contains("rk_"),
        "a second start prints no key: {line}"
    );
    drop(p);
    let (p, line) = serve_printing(&other.url, &dir);
    let second = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(second.starts_with("rk_"), "{line}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        printed,
        "never overwritten"
    );
    drop(p);

    // Locked out: the command line makes a new admin key.
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database-url", &db.url, "--data-dir"])
        .arg(&dir)
        .args(["keys", "create-admin"])
        .env("RAPPORT_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recovered = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert!(recovered.starts_with("rk_") && recovered != printed);
    let (p, _) = serve_printing(&db.url, &dir);
    let r = answers(&p.base, &recovered).await;
    assert_eq!(r["data"]["companies"]["totalCount"], 0, "{r}");
    drop(p);
    let _ = std::fs::remove_dir_all(dir);
    db.drop_database().await;
    other.drop_database().await;
}

/// `rapport schema export` and `schema apply [--dry-run]`: metadata as code.
#[tokio::test]
async fn schema_export_and_apply_from_the_command_line() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("rapport-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let rapport = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
            .args(["--database-url", &db.url, "--data-dir"])
            .arg(&dir)
            .args(args)
            .env("RAPPORT_LOG", "warn")
            .output()
            .expect("run rapport");
        assert!(
            out.status.success(),
            "rapport {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let file = dir.join("vehicle.json");
    std::fs::write(&file, vehicle_document().to_string()).unwrap();
    let plan = rapport(&["schema", "apply", file.to_str().unwrap(), "--dry-run"]);
    assert!(
        plan.contains("createObject") && plan.contains("dry run"),
        "{plan}"
    );
    let exported: serde_json::Value =
        serde_json::from_str(&rapport(&["schema", "export"])).unwrap();
    assert!(
        !exported
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["x-rapport-object"]["name"] == "vehicle"),
        "the dry run changed nothing"
    );
    let applied = rapport(&["schema", "apply", file.to_str().unwrap()]);
    assert!(applied.contains("1 step(s)"), "{applied}");
    let one: serde_json::Value =
        serde_json::from_str(&rapport(&["schema", "export", "--object", "vehicle"])).unwrap();
    assert_eq!(one["x-rapport-object"]["pluralName"], "vehicles");
    assert!(one["properties"]["price"].is_object());
    let again = rapport(&["schema", "apply", file.to_str().unwrap()]);
    assert!(
        again.contains("0 step(s)"),
        "applying twice changes nothing: {again}"
    );
    let _ = std::fs::remove_dir_all(dir);
    db.drop_database().await;
}

/// `rapport demo` on a workspace that has the demo adds to it, as README
/// says: the same teams, members and products, more of everything else.
#[tokio::test]
async fn demo_adds_to_a_workspace_that_has_it() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("rapport-demo-{}", uuid::Uuid::new_v4().simple()));
    let rapport = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
            .args(["--database-url", &db.url, "--data-dir"])
            .arg(&dir)
            .args(args)
            .env("RAPPORT_LOG", "warn")
            .output()
            .expect("run rapport");
        assert!(
            out.status.success(),
            "rapport {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    rapport(&["demo"]);
    rapport(&["demo", "--scale", "2"]);
    let companies = rapport(&["export", "company"]).lines().count();
    let members = rapport(&["export", "workspaceMember"]).lines().count();
    let products = rapport(&["export", "product"]).lines().count();
    assert_eq!((companies, members, products), (60, 6, 5));
    let _ = std::fs::remove_dir_all(dir);
    db.drop_database().await;
}
