//! Prometheus text metrics from plain atomics.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
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
