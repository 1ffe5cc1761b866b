//! The `rapport` command line as a user calls it: help for every argument,
//! imports that name what is wrong and where, `--workspace`, and messages
//! that say which file, port or database.

use std::process::{Command, Output};

use serde_json::json;

use crate::harness::TestDb;

struct Cli {
    db: TestDb,
    dir: std::path::PathBuf,
}

impl Cli {
    async fn new() -> Cli {
        let dir =
            std::env::temp_dir().join(format!("rapport-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Cli {
            db: TestDb::new().await,
            dir,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_rapport"))
            .args(["--database-url", &self.db.url, "--data-dir"])
            .arg(&self.dir)
            .args(args)
            .env("RAPPORT_LOG", "warn")
            .output()
            .expect("run rapport")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "rapport {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "rapport {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    async fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        self.db.drop_database().await;
    }
}

#[test]
fn every_argument_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["demo"],
        &["import"],
        &["export"],
        &["schema"],
        &["schema", "export"],
        &["schema", "apply"],
        &["keys"],
        &["keys", "generate"],
        &["keys", "create-admin"],
        &["keys", "reseal"],
    ];
    for command in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
            .args(*command)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let entry =
                line.starts_with("  -") || line.starts_with("  <") || line.starts_with("  [");
            if !entry {
                continue;
            }
            // `  --flag <X>  What it does`, or the text on the next, deeper line.
            let spec_end = line.trim_start().find("  ").map(|p| p + 2);
            let described = spec_end.is_some_and(|p| !line.trim_start()[p..].trim().is_empty())
                || lines
                    .get(i + 1)
                    .is_some_and(|next| next.starts_with("          "));
            assert!(
                described,
                "`rapport {}`: no help for `{}`",
                command.join(" "),
                line.trim()
            );
        }
    }
}

#[tokio::test]
async fn imports_name_unknown_columns_and_conflicting_lines() {
    let cli = Cli::new().await;
    let missing = cli.dir.join("nowhere.csv");
    let e = cli.fails(&["import", "company", missing.to_str().unwrap()]);
    assert!(e.contains(missing.to_str().unwrap()), "names the file: {e}");

    let unknown = cli.file("unknown.csv", "name,domain,colour\nAcme,acme.example,red\n");
    let e = cli.fails(&["import", "company", &unknown]);
    assert!(
        e.contains("`colour`") && e.contains("--ignore-unknown"),
        "{e}"
    );
    assert_eq!(
        cli.ok(&["export", "company"]).lines().count(),
        0,
        "nothing imported"
    );
    let out = cli.ok(&["import", "company", &unknown, "--ignore-unknown"]);
    assert!(out.contains("1 record(s) imported"), "{out}");
    let jsonl = cli.file(
        "unknown.jsonl",
        &format!("{}\n", json!({ "name": "Beta", "shoeSize": 44 })),
    );
    let e = cli.fails(&["import", "company", &jsonl]);
    assert!(e.contains("line 1") && e.contains("`shoeSize`"), "{e}");

    // Line 2 repeats a stored domain, line 4 an earlier line's.
    let clash = cli.file(
        "clash.csv",
        "name,domain\nAcme again,acme.example\nGamma,gamma.example\nGamma twin,gamma.example\nDelta,delta.example\n",
    );
    let e = cli.fails(&["import", "company", &clash]);
    assert!(
        e.contains("line 2: domain") && e.contains("line 4: domain"),
        "{e}"
    );
    assert_eq!(
        cli.ok(&["export", "company"]).lines().count(),
        1,
        "nothing imported"
    );
    let out = cli.run(&["import", "company", &clash, "--skip-invalid"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("2 record(s) imported, 2 line(s) refused"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 2: domain") && stderr.contains("line 4: domain"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "no progress bar off a terminal: {stderr:?}"
    );
    assert_eq!(cli.ok(&["export", "company"]).lines().count(), 3);
    cli.finish().await;
}

#[tokio::test]
async fn workspaces_are_chosen_on_the_command_line() {
    let cli = Cli::new().await;
    cli.ok(&[
        "import",
        "company",
        &cli.file("one.csv", "name\nDefault Co\n"),
    ]);
    // A second workspace, made as users make one.
    let (app, _) = rapport_server::App::open(&cli.db.url).await.unwrap();
    let other = rapport_store::sign_up(
        &app.db,
        "owner@other.example",
        "a long password",
        "Other",
        &rapport_server::standard_documents(),
        chrono::Duration::hours(1),
    )
    .await
    .unwrap()
    .workspace
    .id;
    drop(app);
    let out = cli.ok(&[
        "import",
        "company",
        &cli.file("two.csv", "name\nOther Co\nOther Two\n"),
        "--workspace",
        &other,
    ]);
    assert!(out.contains("2 record(s) imported"), "{out}");
    assert_eq!(cli.ok(&["export", "company"]).lines().count(), 1);
    assert_eq!(
        cli.ok(&["export", "company", "--workspace", &other])
            .lines()
            .count(),
        2
    );
    let docs = cli.ok(&[
        "schema",
        "export",
        "--workspace",
        &other,
        "--object",
        "company",
    ]);
    assert!(docs.contains("\"company\""), "{docs}");
    let e = cli.fails(&["export", "company", "--workspace", "no-such-workspace"]);
    assert!(e.contains("no workspace with id no-such-workspace"), "{e}");
    cli.finish().await;
}

#[tokio::test]
async fn messages_name_the_port_and_the_database() {
    let cli = Cli::new().await;
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let e = cli.fails(&["serve", "--listen", &address]);
    assert!(e.contains(&format!("cannot listen on {address}")), "{e}");
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args([
            "--database-url",
            "postgres://nobody:secret@127.0.0.1:1/missing_db",
            "export",
            "company",
        ])
        .env("RAPPORT_LOG", "off")
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        e.contains("cannot open the database at postgres://nobody@127.0.0.1:1/missing_db"),
        "{e}"
    );
    assert!(
        !e.contains("secret"),
        "the password stays out of messages: {e}"
    );
    cli.finish().await;
}

/// Under a member's or key's token the command line has that role's rights:
/// an import refuses hidden and read-only fields as `create` does, and an
/// export shows only what the role reads.
#[tokio::test]
async fn under_a_key_the_command_line_has_its_roles_rights() {
    let cli = Cli::new().await;
    cli.ok(&["import", "company", &cli.file("seed.jsonl", "{\"name\": \"Seed\", \"annualRevenue\": {\"amount\": \"900000\", \"currencyCode\": \"EUR\"}}\n")]);
    let (app, _) = rapport_server::App::open(&cli.db.url).await.unwrap();
    let actor = rapport_store::Actor {
        kind: "system".into(),
        id: "test".into(),
        name: "test".into(),
    };
    for (name, definition) in [
        (
            "analyst",
            json!({ "default": { "read": "all", "create": true, "update": "all", "delete": "none", "destroy": "none" },
                            "fields": { "company.annualRevenue": "none", "company.industry": "read" } }),
        ),
        (
            "viewer",
            json!({ "default": { "read": "all", "create": false, "update": "none", "delete": "none", "destroy": "none" } }),
        ),
    ] {
        rapport_store::save_role(&app.db, &actor, &app.workspace.id, name, &definition, false)
            .await
            .unwrap();
    }
    let (_, analyst) =
        rapport_store::issue_api_key(&app.db, &actor, &app.workspace.id, "a", "analyst")
            .await
            .unwrap();
    let (_, viewer) =
        rapport_store::issue_api_key(&app.db, &actor, &app.workspace.id, "v", "viewer")
            .await
            .unwrap();
    drop(app);

    let hidden = cli.file(
        "hidden.csv",
        "name,annualRevenue.amount,annualRevenue.currencyCode\nA,1,EUR\n",
    );
    let e = cli.fails(&["import", "company", &hidden, "--key", &analyst]);
    assert!(
        e.contains("line 2: annualRevenue") && e.contains("analyst"),
        "{e}"
    );
    let read_only = cli.file("ro.csv", "name,industry\nB,SOFTWARE\n");
    let e = cli.fails(&["import", "company", &read_only, "--key", &analyst]);
    assert!(e.contains("line 2: industry"), "{e}");
    let fine = cli.file("fine.csv", "name\nC\n");
    assert!(
        cli.ok(&["import", "company", &fine, "--key", &analyst])
            .contains("1 record(s) imported")
    );
    let e = cli.fails(&["import", "company", &fine, "--key", &viewer]);
    assert!(e.contains("may not create"), "{e}");
    let e = cli.fails(&["import", "company", &fine, "--key", "rk_not_a_key"]);
    assert!(e.contains("--key"), "{e}");

    let as_operator = cli.ok(&["export", "company"]);
    assert!(as_operator.contains("900000"), "{as_operator}");
    let as_analyst = cli.ok(&["export", "company", "--key", &analyst]);
    assert_eq!(as_analyst.lines().count(), 2);
    assert!(
        !as_analyst.contains("annualRevenue") && !as_analyst.contains("900000"),
        "{as_analyst}"
    );
    let csv = cli.ok(&["export", "company", "--format", "csv", "--key", &analyst]);
    assert!(
        !csv.lines().next().unwrap().contains("annualRevenue"),
        "{csv}"
    );
    cli.finish().await;
}
