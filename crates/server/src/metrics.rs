//! Prometheus text metrics from plain atomics.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use rapport_graphql::direct::Decline;

#[derive(Default)]
pub struct Metrics {
    pub graphql_requests: AtomicU64,
    pub graphql_errors: AtomicU64,
    pub metadata_requests: AtomicU64,
    pub sql_statements: AtomicU64,
    pub direct_reads: AtomicU64,
    pub one_statement_reads: AtomicU64,
    pub row_reads: AtomicU64,
    pub reused_statements: AtomicU64,
    pub schema_rebuilds: AtomicU64,
    pub unauthenticated: AtomicU64,
    pub refused_documents: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Per [`Decline`], in the order of `Decline::ALL`.
    direct_declines: [AtomicU64; Decline::ALL.len()],
    one_statement_declines: [AtomicU64; Decline::ALL.len()],
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A GraphQL request the direct read path left to the full executor.
    pub fn direct_declined(&self, reason: Decline) {
        Metrics::add(&self.direct_declines[reason_index(reason)], 1);
    }

    /// A direct read one statement could not answer (the fetch path did).
    pub fn one_statement_declined(&self, reason: Decline) {
        Metrics::add(&self.one_statement_declines[reason_index(reason)], 1);
    }

    pub fn render(&self, metadata_version: i64, schema_builds: u64) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            "rapport_graphql_requests_total",
            "GraphQL data requests served.",
            &self.graphql_requests,
        );
        counter(
            "rapport_graphql_errors_total",
            "GraphQL responses carrying errors.",
            &self.graphql_errors,
        );
        counter(
            "rapport_metadata_requests_total",
            "Metadata API requests served.",
            &self.metadata_requests,
        );
        counter(
            "rapport_sql_statements_total",
            "SQL statements run for GraphQL requests.",
            &self.sql_statements,
        );
        counter(
            "rapport_graphql_direct_reads_total",
            "GraphQL reads answered by the direct read path.",
            &self.direct_reads,
        );
        counter(
            "rapport_graphql_one_statement_reads_total",
            "Direct reads whose whole response one SQL statement built.",
            &self.one_statement_reads,
        );
        counter(
            "rapport_graphql_row_reads_total",
            "One-statement reads whose root records came back as rows the server wrote.",
            &self.row_reads,
        );
        counter(
            "rapport_graphql_reused_statements_total",
            "One-statement reads whose statement was written for an earlier request of the document.",
            &self.reused_statements,
        );
        counter(
            "rapport_schema_rebuilds_total",
            "GraphQL schema rebuilds after metadata changes.",
            &self.schema_rebuilds,
        );
        counter(
            "rapport_unauthenticated_total",
            "Requests refused for a missing or bad token.",
            &self.unauthenticated,
        );
        counter(
            "rapport_refused_documents_total",
            "GraphQL documents refused by the limits before running (nesting, fragment cycles, depth, cost).",
            &self.refused_documents,
        );
        counter(
            "rapport_rate_limited_total",
            "Requests refused for a spent request budget.",
            &self.rate_limited,
        );
        by_reason(
            &mut out,
            "rapport_graphql_direct_declines_total",
            "GraphQL requests the direct read path left to the full executor, by reason.",
            &self.direct_declines,
        );
        by_reason(
            &mut out,
            "rapport_graphql_one_statement_declines_total",
            "Direct reads one statement could not answer (the fetch path did), by reason.",
            &self.one_statement_declines,
        );
        let _ = writeln!(
            out,
            "# HELP rapport_schema_builds_total Whole-workspace GraphQL schemas built (a metadata change builds one: checked before it commits, served after).\n# TYPE rapport_schema_builds_total counter\nrapport_schema_builds_total {schema_builds}"
        );
        let _ = writeln!(
            out,
            "# HELP rapport_metadata_version Metadata version being served.\n# TYPE rapport_metadata_version gauge\nrapport_metadata_version {metadata_version}"
        );
        out
    }
}

fn reason_index(reason: Decline) -> usize {
    Decline::ALL
        .iter()
        .position(|r| *r == reason)
        .expect("every reason is in Decline::ALL")
}

/// A counter with one series per decline reason.
fn by_reason(out: &mut String, name: &str, help: &str, counts: &[AtomicU64]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (reason, n) in Decline::ALL.iter().zip(counts) {
        let _ = writeln!(
            out,
            "{name}{{reason=\"{}\"}} {}",
            reason.label(),
            n.load(Ordering::Relaxed)
        );
    }
}
