//! Concurrent clients for a bounded time: GraphQL over HTTP, or one SQL
//! statement straight to the database; throughput and latency percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_store::ReadConn;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// A GraphQL answer, checked (valid JSON, no errors) without building its
/// data: the SQL ceiling's client does not decode its rows either.
#[derive(serde::Deserialize)]
struct Answer {
    errors: Option<Value>,
    #[serde(rename = "data")]
    _data: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub failures: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Requests answered without error.
    pub answered: usize,
    /// SQL statements per request (Rapport's `x-rapport-sql-statements`).
    pub statements: f64,
    /// The first failure, to show.
    pub first_error: Option<String>,
}

/// What the clients measured, over one run or several alternated with
/// another measurement's (see `--rounds`), before it is summarized.
#[derive(Debug, Default)]
pub struct Sample {
    latencies: Vec<Duration>,
    failures: usize,
    statements: u64,
    elapsed: Duration,
    first_error: Option<String>,
}

impl Sample {
    /// Adds a later run of the same measurement.
    pub fn add(&mut self, run: Sample) {
        self.latencies.extend(run.latencies);
        self.failures += run.failures;
        self.statements += run.statements;
        self.elapsed += run.elapsed;
        if self.first_error.is_none() {
            self.first_error = run.first_error;
        }
    }

    pub fn stats(mut self) -> Stats {
        self.latencies.sort();
        let latencies = &self.latencies;
        let pct = |p: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i].as_secs_f64() * 1000.0
        };
        let n = latencies.len();
        Stats {
            failures: self.failures,
            per_second: n as f64 / self.elapsed.as_secs_f64(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
            answered: n,
            statements: if n == 0 {
                0.0
            } else {
                self.statements as f64 / n as f64
            },
            first_error: self.first_error,
        }
    }
}

/// What one request sends: a query and, per request number, its variables.
pub type Variables = Arc<dyn Fn(usize) -> Value + Send + Sync>;

/// `clients` loops posting the query for `seconds`.
pub async fn graphql(
    url: String,
    key: &'static str,
    query: &'static str,
    variables: Variables,
    clients: usize,
    seconds: f64,
) -> Sample {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("http client");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url, variables) = (http.clone(), url.clone(), variables.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut failures, mut statements, mut first_error) =
                (Vec::new(), 0usize, 0u64, None);
            let mut n = client;
            while Instant::now() < deadline {
                let body = json!({ "query": query, "variables": variables(n) });
                n += clients;
                let t = Instant::now();
                let res = http.post(&url).bearer_auth(key).json(&body).send().await;
                let ok = match res {
                    Ok(r) => {
                        let count = r
                            .headers()
                            .get("x-rapport-sql-statements")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0);
                        let body = r.bytes().await.map_err(|e| e.to_string());
                        match body.and_then(|b| {
                            serde_json::from_slice::<Answer>(&b).map_err(|e| e.to_string())
                        }) {
                            Ok(Answer { errors: None, .. }) => {
                                statements += count;
                                Ok(())
                            }
                            Ok(Answer {
                                errors: Some(e), ..
                            }) => Err(e.to_string()),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                match ok {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => {
                        failures += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (latencies, failures, statements, first_error)
        }));
    }
    collect(tasks, started).await
}

/// `clients` loops running one statement for `seconds`, reading every row,
/// on the connections Rapport reads through (`Db::reads`).
pub async fn sql(
    conn: ReadConn,
    text: String,
    values: Arc<dyn Fn(usize) -> Vec<sea_orm::Value> + Send + Sync>,
    clients: usize,
    seconds: f64,
) -> Sample {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let backend = conn.get_database_backend();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (conn, text, values) = (conn.clone(), text.clone(), values.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut failures, mut first_error) = (Vec::new(), 0usize, None);
            let mut n = client;
            while Instant::now() < deadline {
                let stmt = Statement::from_sql_and_values(backend, &text, values(n));
                n += clients;
                let t = Instant::now();
                match conn.query_all_raw(stmt).await {
                    Ok(rows) => {
                        std::hint::black_box(rows);
                        latencies.push(t.elapsed());
                    }
                    Err(e) => {
                        failures += 1;
                        first_error.get_or_insert(e.to_string());
                    }
                }
            }
            let statements = latencies.len() as u64;
            (latencies, failures, statements, first_error)
        }));
    }
    collect(tasks, started).await
}

type Outcome = (Vec<Duration>, usize, u64, Option<String>);

async fn collect(tasks: Vec<tokio::task::JoinHandle<Outcome>>, started: Instant) -> Sample {
    let mut sample = Sample::default();
    for t in tasks {
        if let Ok((latencies, failures, statements, first_error)) = t.await {
            sample.add(Sample {
                latencies,
                failures,
                statements,
                elapsed: Duration::ZERO,
                first_error,
            });
        }
    }
    sample.elapsed = started.elapsed();
    sample
}
