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
/// Changes made with no reads, before the reads.
const QUIET_CHANGES: usize = 5;

pub struct Report {
    pub sign_up_secs: f64,
    pub quiet: Stats,
    pub changing: Stats,
    /// How long each metadata change took to answer, schema swapped: with
    /// no reads, and during the reads.
    pub quiet_changes: Vec<Duration>,
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

    let http = reqwest::Client::new();
    let (mut n, mut failed_changes) = (0, 0);
    // Changes alone first: what an admin waits for on an idle server.
    let mut quiet_changes = Vec::new();
    for _ in 0..QUIET_CHANGES {
        match add_field(&http, base, n).await? {
            Some(took) => quiet_changes.push(took),
            None => failed_changes += 1,
        }
        n += 1;
    }

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
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut changes = Vec::new();
    while Instant::now() < deadline {
        match add_field(&http, base, n).await? {
            Some(took) => changes.push(took),
            None => failed_changes += 1,
        }
        n += 1;
    }
    let changing = readers.await?.stats();
    Ok(Report {
        sign_up_secs,
        quiet,
        changing,
        quiet_changes,
        changes,
        failed_changes,
    })
}

/// Adds the `n`-th integer field over `/metadata`: how long it took to
/// answer, the new schema in place; `None` if it was refused.
async fn add_field(
    http: &reqwest::Client,
    base: &str,
    n: usize,
) -> Result<Option<Duration>, Box<dyn std::error::Error>> {
    let body = json!({
        "query": "mutation($n: String!) { createField(object: \"thing299\", name: $n, schema: { type: \"integer\" }) { name } }",
        "variables": { "n": format!("added{n}") },
    });
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
        eprintln!("rapport-bench: a field was not added: {answer}");
        return Ok(None);
    }
    Ok(Some(t.elapsed()))
}

impl Report {
    pub fn print(&self) {
        let summary = |changes: &[Duration]| {
            let mut ms: Vec<f64> = changes.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
            ms.sort_by(f64::total_cmp);
            match (ms.get(ms.len() / 2), ms.last()) {
                (Some(median), Some(max)) => format!(
                    "{} changes, {median:.0} ms median, {max:.0} ms at most",
                    ms.len()
                ),
                _ => "no change".into(),
            }
        };
        println!(
            "## Schema changes under load\n\nA workspace of {OBJECTS} objects × {FIELDS} fields beside the standard ones (signed up in {:.1} s). Its admin adds integer fields to one object, one after another, over `/metadata`; each answer comes with the new schema in place. With no reads: {}. Then the clients read it (`{READ}`) with no change, and again while fields are added: {}.\n\n| reads | requests/s | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |",
            self.sign_up_secs,
            summary(&self.quiet_changes),
            summary(&self.changes),
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
