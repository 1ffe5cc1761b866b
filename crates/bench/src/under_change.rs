//! Requests to a big workspace while its admin changes it: 300 generated
//! objects × 40 fields next to the standard ones, read by the clients
//! while fields are added to it one after another over the metadata API
//! (each change: its DDL, then the workspace's schema rebuilt and swapped
//! in). The same reads with no change give the baseline; the difference
//! is what a rebuild costs the requests served meanwhile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::drive::{self, Stats};

const KEY: &str = "rk_bench_big_workspace_key_0123";
/// A page of the first generated object: cheap for the database, so a
/// stall anywhere in the server shows in its latency.
const READ: &str = "{ things0(first: 10) { nodes { id name f1 } } }";
const OBJECTS: usize = 300;
const FIELDS: usize = 40;

pub struct Report {
    pub sign_up_secs: f64,
    pub quiet: Stats,
    pub changing: Stats,
    /// How long each metadata change took to answer, schema swapped.
    pub changes: Vec<Duration>,
    pub failed_changes: usize,
}

/// Signs up the big workspace and measures its reads for `seconds`
/// without changes, then for `seconds` while fields are added.
pub async fn measure(
    app: &Arc<rapport_server::App>,
    base: &str,
    clients_rt: &tokio::runtime::Handle,
    clients: usize,
    seconds: f64,
) -> Result<Report, Box<dyn std::error::Error>> {
    let mut documents = rapport_server::standard_documents();
    documents.extend(crate::schemas::documents(OBJECTS, FIELDS));
    let started = Instant::now();
    let session = rapport_store::sign_up(
        &app.db,
        "owner@big.example",
        "a long bench password",
        "Big workspace",
        &documents,
        chrono::Duration::hours(1),
    )
    .await?;
    let sign_up_secs = started.elapsed().as_secs_f64();
    let workspace = session.workspace.id;
    rapport_store::create_api_key(&app.db, &workspace, "bench", "admin", Some(KEY.into())).await?;
    app.live_for(&workspace).await?;

    let graphql = format!("{base}/graphql");
    let read = || {
        clients_rt.spawn(drive::graphql(
            graphql.clone(),
            KEY,
            READ,
            Arc::new(|_| json!({})),
            clients,
            seconds,
        ))
    };
    let quiet = read().await?.stats();

    let readers = read();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut changes, mut failed_changes) = (Vec::new(), 0);
    let mut n = 0;
    while Instant::now() < deadline {
        let body = json!({
            "query": "mutation($n: String!) { createField(object: \"thing299\", name: $n, schema: { type: \"integer\" }) { name } }",
            "variables": { "n": format!("added{n}") },
        });
        n += 1;
        let t = Instant::now();
        let answer: serde_json::Value = http
            .post(format!("{base}/metadata"))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        if answer.get("errors").is_some() {
            failed_changes += 1;
            eprintln!("rapport-bench: a field was not added: {answer}");
        } else {
            changes.push(t.elapsed());
        }
    }
    let changing = readers.await?.stats();
    Ok(Report {
        sign_up_secs,
        quiet,
        changing,
        changes,
        failed_changes,
    })
}

impl Report {
    pub fn print(&self) {
        let mut changes = self.changes.clone();
        changes.sort();
        let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        println!(
            "## Schema changes under load\n\nA workspace of {OBJECTS} objects × {FIELDS} fields beside the standard ones (signed up in {:.1} s), read by the clients (`{READ}`) with no change, then while its admin adds integer fields to one object one after another over `/metadata`: {} changes, each answered with the new schema in place in {:.0} ms (median; {:.0} ms at most).\n\n| reads | requests/s | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |",
            self.sign_up_secs,
            changes.len(),
            ms(changes.get(changes.len() / 2)),
            ms(changes.last()),
        );
        for (what, s) in [
            ("no change", &self.quiet),
            ("while fields are added", &self.changing),
        ] {
            println!(
                "| {what} | {:.0} | {:.1} | {:.1} | {:.1} |",
                s.per_second, s.p50_ms, s.p99_ms, s.max_ms
            );
        }
        println!();
    }

    pub fn failures(&self) -> usize {
        self.quiet.failures + self.changing.failures + self.failed_changes
    }
}
