//! `rapport-bench`: loads a deterministic CRM dataset through Rapport's
//! import path, serves it, drives the GraphQL API with concurrent clients
//! (Q1–Q5, M1), runs the equivalent single SQL statement against the same
//! database with the same concurrency, and prints the comparison.
//! See docs/performance.md.

// The server runs in this process: the same allocator as `rapport serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod ceiling;
mod cpu;
mod dataset;
mod drive;
#[cfg(target_os = "linux")]
mod pin;
mod schemas;
mod under_change;

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use serde_json::json;

use crate::dataset::{Counts, id};
use crate::drive::{Sample, Stats};

#[derive(Parser)]
#[command(name = "rapport-bench", about = "Rapport's benchmark suite")]
struct Args {
    /// An empty database: `sqlite://PATH` (default: a fresh file) or `postgres://…`.
    #[arg(long)]
    database_url: Option<String>,
    /// Scale factor: 1 is 10,000 companies, 50,000 people, 20,000 deals, 50,000 tasks.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Each query's time is split into this many rounds, Rapport's and the
    /// SQL ceiling's alternated, so that a machine whose speed drifts (a
    /// shared host) slows both alike and the ratio stays fair.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Workspaces whose schemas are held at once for the memory measure.
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    /// Only these measurements, comma-separated (`Q1,Q4`; `changes` for
    /// schema changes under load): for profiling one.
    #[arg(long, value_delimiter = ',')]
    queries: Vec<String>,
    /// For the queries, PostgreSQL on the first CPU and this process
    /// (server and clients) on the others, the ceiling's run alike (Linux,
    /// with permission to move PostgreSQL's processes).
    #[arg(long)]
    pin: bool,
}

const KEY: &str = "rk_bench_admin_key_0123456789";

struct Query {
    name: &'static str,
    what: &'static str,
    graphql: &'static str,
}

const QUERIES: &[Query] = &[
    Query {
        name: "Q1",
        what: "first 50 companies by name",
        graphql: "{ companies(first: 50, orderBy: { name: ASC }) { nodes { id name domain } } }",
    },
    Query {
        name: "Q2",
        what: "Q1 + first 10 people and open deals each",
        graphql: "{ companies(first: 50, orderBy: { name: ASC }) { nodes { id name domain
            people(first: 10) { nodes { id name { firstName lastName } email } }
            opportunities(first: 100, filter: { stage: { notIn: [WON, LOST] } }) { nodes { id name stage amount { amount currencyCode } } } } } }",
    },
    Query {
        name: "Q3",
        what: "100 largest PROPOSAL/NEGOTIATION deals > 10,000 with company",
        graphql: "{ opportunities(first: 100, filter: { stage: { in: [PROPOSAL, NEGOTIATION] }, amount: { amount: { gt: \"10000\" } } },
            orderBy: { amount: { amount: DESC } }) { nodes { id name amount { amount currencyCode } company { name } } } }",
    },
    Query {
        name: "Q4",
        what: "one company with people, deals, tasks",
        graphql: "query($id: ID!) { company(id: $id) { id name
            people(first: 50) { nodes { id name { firstName lastName } email } }
            opportunities(first: 50) { nodes { id name stage amount { amount currencyCode } } }
            tasks(first: 50) { nodes { id title status } } } }",
    },
    Query {
        name: "Q5",
        what: "count and sum of amount by stage",
        graphql: "{ opportunitiesGroupBy(by: [stage]) { key { stage } count sum { amount } } }",
    },
    Query {
        name: "M1",
        what: "create a person linked to a company",
        graphql: "mutation($c: ID!) { createPerson(data: { name: { firstName: \"Bench\", lastName: \"Mark\" }, companyId: $c }) { id } }",
    },
];

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("rapport-server")
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The clients run apart from the server, on threads of their own, so
    // that the CPU each uses can be told apart (see `cpu`).
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(cpu::CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(args, clients.handle().clone())) {
        eprintln!("rapport-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(
    args: Args,
    clients: tokio::runtime::Handle,
) -> Result<(), Box<dyn std::error::Error>> {
    let pg = args
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"));
    if args.pin && !pg {
        return Err("--pin needs PostgreSQL: SQLite runs inside this process".into());
    }
    // It moves the PostgreSQL processes of this machine: they must be the
    // ones that answer.
    if args.pin && !args.database_url.as_deref().is_some_and(on_this_machine) {
        return Err("--pin needs PostgreSQL on this machine (localhost or a socket)".into());
    }
    #[cfg(not(target_os = "linux"))]
    if args.pin {
        return Err("--pin works on Linux only".into());
    }
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("rapport-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            format!("sqlite://{}", dir.join("bench.db").display())
        }
    };
    let (app, created) = rapport_server::App::open(&url).await?;
    if !created {
        return Err("the database already has a workspace: give an empty one".into());
    }
    let live = app.live();
    let counts = Counts::at(args.scale);
    println!(
        "# Rapport benchmark\n\n{} · scale {} ({} companies, {} people, {} opportunities, {} tasks) · {} clients · {} s per measurement, in {} rounds alternated with the SQL ceiling's\n",
        if pg { "PostgreSQL" } else { "SQLite" },
        args.scale,
        counts.companies,
        counts.people,
        counts.opportunities,
        counts.tasks,
        args.clients,
        args.seconds,
        args.rounds.max(1)
    );

    // First, while the process holds nothing else: memory of many served
    // workspaces, then schema build costs.
    // Many real workspaces through the server: signed up, each served once.
    let before = schemas::resident_mib();
    let started = Instant::now();
    let standard = rapport_server::standard_documents();
    for i in 0..args.tenants {
        // Each workspace has a field of its own, so none shares another's
        // schema: the worst case for memory, as if every one customised.
        let mut documents = standard.clone();
        let company = documents
            .iter_mut()
            .find(|d| d["x-rapport-object"]["name"] == "company")
            .ok_or("no standard company object")?;
        company["properties"][format!("tenantField{i}")] =
            json!({ "title": "Tenant field", "type": "string", "maxLength": 100 });
        let session = rapport_store::sign_up(
            &app.db,
            &format!("owner{i}@tenant.example"),
            "a long bench password",
            &format!("Tenant {i}"),
            &documents,
            chrono::Duration::hours(1),
        )
        .await?;
        app.live_for(&session.workspace.id).await?;
    }
    println!(
        "## Many workspaces\n\n{} workspaces signed up and served once each (27 standard objects and a field of each one's own): {:.1} s; {:.0} MiB resident after, {:.0} MiB at most ({before:.0} MiB before); {} loaded at once at most, sharing {} schema(s).",
        args.tenants,
        started.elapsed().as_secs_f64(),
        schemas::resident_mib(),
        schemas::peak_resident_mib(),
        app.loaded_workspaces(),
        app.distinct_schemas()
    );
    println!();

    println!("## Schemas\n\n| measure | value |\n| --- | ---: |");
    println!(
        "| rebuild 300 objects × 40 fields (parse, catalog, GraphQL schema; median of 5) | {:.0} ms |",
        schemas::rebuild_ms(300, 40, 5)
    );
    println!(
        "| rebuild 30 objects × 20 fields | {:.1} ms |",
        schemas::rebuild_ms(30, 20, 5)
    );
    // Held all at once, with no sharing or eviction: the worst case per
    // workspace (a sample, so the process does not grow by gigabytes).
    let sample = args.tenants.min(50);
    let (before, after) = schemas::tenants_mib(sample, 30, 20);
    println!(
        "| memory of one distinct 30 objects × 20 fields workspace (catalog, validators, schema; {} held at once) | {:.2} MiB |",
        sample,
        (after - before) / sample.max(1) as f64
    );
    println!();
    // Load through the import path: validated, in one transaction per object.
    println!(
        "## Import\n\n| object | records | seconds | records/s |\n| --- | ---: | ---: | ---: |"
    );
    let actor = rapport_store::Actor {
        kind: "system".into(),
        id: "bench".into(),
        name: "bench".into(),
    };
    let (mut total, mut total_secs) = (0usize, 0.0);
    for object in ["company", "person", "opportunity", "task"] {
        let rows: Vec<_> = dataset::records(object, counts)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r))
            .collect();
        let n = rows.len();
        let counter = rapport_store::StatementCounter::default();
        let started = Instant::now();
        let mut import = live
            .store
            .begin_import(&counter, &actor, object, false)
            .await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            import.push(rows.by_ref().take(5000).collect()).await?;
        }
        let report = import.finish().await?;
        if report.refused > 0 {
            return Err(format!("{object}: {:?}", report.errors.first()).into());
        }
        let secs = started.elapsed().as_secs_f64();
        println!("| {object} | {n} | {secs:.2} | {:.0} |", n as f64 / secs);
        total += n;
        total_secs += secs;
    }
    println!(
        "| **all** | {total} | {total_secs:.2} | **{:.0}** |\n",
        total as f64 / total_secs
    );
    if pg {
        // Settle what the import left for later, as pgbench does before it
        // measures: statistics for the planner; hint bits and the
        // visibility map, which the first reads of each page would
        // otherwise write; and the dirty pages, which a checkpoint would
        // otherwise write (on the database's core) during whichever
        // measurement it happened to fall in.
        use sea_orm::ConnectionTrait;
        app.db.conn.execute_unprepared("VACUUM ANALYZE").await?;
        // Superusers and `pg_checkpoint` members only: without it, the
        // numbers are still right, only noisier.
        if let Err(e) = app.db.conn.execute_unprepared("CHECKPOINT").await {
            eprintln!("rapport-bench: no CHECKPOINT after the import ({e})");
        }
    }

    rapport_store::create_api_key(
        &app.db,
        &app.workspace.id,
        "bench",
        "admin",
        Some(KEY.into()),
    )
    .await?;
    app.rate_limit
        .store(0, std::sync::atomic::Ordering::Relaxed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}/graphql", listener.local_addr()?);
    let router = rapport_server::router(app.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });

    // The ceiling's own connections, opened as Rapport opens its own,
    // belong to the clients' runtime: their I/O is the clients' CPU.
    let ceiling_db = {
        let url = url.clone();
        clients
            .spawn(async move { rapport_store::Db::connect(&url).await })
            .await??
    };

    #[cfg(target_os = "linux")]
    let _pinned = match args.pin {
        false => None,
        true => {
            let pinned = pin::pin()?;
            println!(
                "Pinned: PostgreSQL on CPU {}, Rapport's server and the clients on CPU {}.\n",
                pinned.database,
                pinned
                    .own
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Some(pinned)
        }
    };
    println!(
        "## Queries\n\n| query | what | Rapport req/s | p50 ms | p99 ms | SQL/request | SQL ceiling req/s | ceiling p99 ms | ratio |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let companies = counts.companies;
    let company_of = move |n: usize| id(1, n.wrapping_mul(7919) % companies);
    let mut failed = 0;
    let mut cpu_rows = Vec::new();
    let chosen = QUERIES
        .iter()
        .filter(|q| args.queries.is_empty() || args.queries.iter().any(|n| n == q.name));
    for q in chosen {
        let variables: drive::Variables = match q.name {
            "Q4" => Arc::new(move |n| json!({ "id": company_of(n) })),
            "M1" => Arc::new(move |n| json!({ "c": company_of(n) })),
            _ => Arc::new(|_| json!({})),
        };
        let ceiling_statement = ceiling::statement(q.name, &live.meta, pg);
        let values: Arc<dyn Fn(usize) -> Vec<sea_orm::Value> + Send + Sync> =
            match &ceiling_statement {
                Some(c) if c.takes_id => Arc::new(move |n| vec![company_of(n).into()]),
                _ => Arc::new(|_| Vec::new()),
            };
        let rounds = args.rounds.max(1);
        let slice = args.seconds / f64::from(rounds);
        let (mut rapport, mut ceiling) = (Sample::default(), None::<Sample>);
        let (mut rapport_cpu, mut ceiling_cpu) =
            (Some(cpu::Usage::default()), Some(cpu::Usage::default()));
        for _ in 0..rounds {
            let before = cpu::now();
            let run = clients.spawn(drive::graphql(
                endpoint.clone(),
                KEY,
                q.graphql,
                variables.clone(),
                args.clients,
                slice,
            ));
            rapport.add(run.await?);
            add_cpu(&mut rapport_cpu, before);
            if let Some(c) = &ceiling_statement {
                let before = cpu::now();
                let run = clients.spawn(drive::sql(
                    ceiling_db.reads.clone(),
                    c.text.clone(),
                    values.clone(),
                    args.clients,
                    slice,
                ));
                ceiling.get_or_insert_default().add(run.await?);
                add_cpu(&mut ceiling_cpu, before);
            }
        }
        let (rapport, ceiling) = (rapport.stats(), ceiling.map(Sample::stats));
        report(q, &rapport, ceiling.as_ref());
        cpu_rows.push(cpu_row(
            q,
            &rapport,
            rapport_cpu,
            ceiling.as_ref(),
            ceiling_cpu,
        ));
        failed += rapport.failures + ceiling.map_or(0, |c| c.failures);
    }
    println!(
        "\n## CPU per request\n\nMicroseconds of CPU per answered request, by party: the database (PostgreSQL's processes, or SQLite's threads), Rapport's server, and the benchmark's clients (HTTP, or the ceiling's SQL client); and the database's minor page faults per request (see docs/performance.md on PostgreSQL backends that give their heap back).\n\n| query | Rapport: database | server | clients | all | ceiling: database | clients | all | page faults: Rapport | ceiling |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for row in cpu_rows {
        println!("{row}");
    }
    println!();
    if args.queries.is_empty() || args.queries.iter().any(|q| q == "changes") {
        let base = endpoint.trim_end_matches("/graphql");
        let report =
            under_change::measure(&app, base, &clients, args.clients, args.seconds).await?;
        report.print();
        failed += report.failures();
    }
    if failed > 0 {
        return Err(format!("{failed} request(s) failed").into());
    }

    Ok(())
}

/// Adds the CPU used since `before` to `total`; `None` once unreadable.
/// Whether a PostgreSQL URL's server is this machine: a loopback host or
/// name, or a Unix socket (no host, or a `host=/path` parameter).
fn on_this_machine(database_url: &str) -> bool {
    let Ok(url) = url::Url::parse(database_url) else {
        return false;
    };
    let from_query = url
        .query_pairs()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.into_owned());
    match from_query.as_deref().or(url.host_str()) {
        None | Some("") | Some("localhost") => true,
        Some(socket) if socket.starts_with('/') => true,
        Some(host) => host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
    }
}

fn add_cpu(total: &mut Option<cpu::Usage>, before: Option<cpu::Usage>) {
    match (total.as_mut(), before, cpu::now()) {
        (Some(t), Some(before), Some(after)) => *t += after - before,
        _ => *total = None,
    }
}

/// A row of the CPU table: per request, by party.
fn cpu_row(
    q: &Query,
    rapport: &Stats,
    rapport_cpu: Option<cpu::Usage>,
    ceiling: Option<&Stats>,
    ceiling_cpu: Option<cpu::Usage>,
) -> String {
    let per_request = |total: f64, scale: f64, digits: usize, stats: &Stats| {
        if stats.answered > 0 {
            format!("{:.digits$}", total * scale / stats.answered as f64)
        } else {
            "—".into()
        }
    };
    let micros = |seconds: f64, stats: &Stats| per_request(seconds, 1e6, 0, stats);
    let faults = |u: &cpu::Usage, stats: &Stats| per_request(u.database_faults, 1.0, 1, stats);
    let dash = || "—".to_string();
    let (r_db, r_server, r_client, r_all, r_faults) = match rapport_cpu {
        Some(u) => (
            micros(u.database, rapport),
            micros(u.server, rapport),
            micros(u.client, rapport),
            micros(u.database + u.server + u.client, rapport),
            faults(&u, rapport),
        ),
        None => (dash(), dash(), dash(), dash(), dash()),
    };
    let (c_db, c_client, c_all, c_faults) = match (ceiling, ceiling_cpu) {
        // The ceiling has no server: the clients talk SQL to the database.
        (Some(c), Some(u)) => (
            micros(u.database, c),
            micros(u.client + u.server, c),
            micros(u.database + u.server + u.client, c),
            faults(&u, c),
        ),
        _ => (dash(), dash(), dash(), dash()),
    };
    format!(
        "| {} | {r_db} | {r_server} | {r_client} | {r_all} | {c_db} | {c_client} | {c_all} | {r_faults} | {c_faults} |",
        q.name
    )
}

fn report(q: &Query, rapport: &Stats, ceiling: Option<&Stats>) {
    let (c_rate, c_p99, ratio) = match ceiling {
        Some(c) if c.per_second > 0.0 => (
            format!("{:.0}", c.per_second),
            format!("{:.1}", c.p99_ms),
            format!("{:.2}", rapport.per_second / c.per_second),
        ),
        _ => ("—".into(), "—".into(), "—".into()),
    };
    println!(
        "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {c_rate} | {c_p99} | {ratio} |",
        q.name, q.what, rapport.per_second, rapport.p50_ms, rapport.p99_ms, rapport.statements
    );
    for (who, s) in [("Rapport", Some(rapport)), ("SQL", ceiling)] {
        if let Some(s) = s.filter(|s| s.failures > 0) {
            eprintln!(
                "{} {who}: {} failed requests, first: {}",
                q.name,
                s.failures,
                s.first_error.as_deref().unwrap_or("-")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::on_this_machine;

    #[test]
    fn pinning_is_for_a_database_on_this_machine() {
        for local in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgres://postgres@[::1]:5432/test",
            "postgres:///test?host=/var/run/postgresql",
            "postgres:///test",
        ] {
            assert!(on_this_machine(local), "{local} is local");
        }
        for remote in [
            "postgres://postgres@db.example:5432/test",
            "postgres://postgres@10.0.0.7/test",
            "postgres://postgres@localhost/test?host=db.example",
            "not a url",
        ] {
            assert!(!on_this_machine(remote), "{remote} is not local");
        }
    }
}
