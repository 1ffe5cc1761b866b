//! Direct execution of plain reads. async-graphql's dynamic schema resolves
//! a response field by field (a boxed future and a type check each, about
//! 2 µs), which made the server, not the database, the limit of list reads.
//! A read the plan covers — record look-ups and lists with their filters,
//! orderings, pages, relations, fragments and aliases — is fetched with the
//! same store calls and batching as the resolvers, and its JSON written
//! straight from the records — or, where [`statement`] can write it, the
//! whole response built by the database in one statement; for a read of
//! one root field on PostgreSQL that statement returns the root records
//! as rows, written by the server ([`rows`]).
//!
//! The caller ([`execute`]) answers `None` for anything else, and on any
//! error: the full executor then runs the request and reports what is
//! wrong, so both paths give one answer. Documents must first have run
//! once through the full executor without errors (validation); the server
//! keeps that list per schema.

mod fetch;
mod plan;
mod reuse;
mod rows;
mod statement;
mod write;

pub use reuse::Statements;

use async_graphql::Variables;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use rapport_store::{RecordStore, StatementCounter};

/// A plain read's response.
pub struct Answer {
    pub body: String,
    /// Whether one statement built the whole response (see [`statement`]).
    pub one_statement: bool,
    /// Whether that statement returned the root records as rows, which
    /// the server wrote (see [`rows`]).
    pub from_rows: bool,
    /// Whether the statement was written for an earlier request of the
    /// document (see [`reuse`]).
    pub reused: bool,
}

/// The response of a plain read, or `None` when the full executor must
/// answer (see the module documentation). `one_statement` lets the
/// database build the response where it can, with the statements kept
/// for `query` in `statements` (the live schema's).
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    store: &RecordStore,
    counter: &StatementCounter,
    statements: &Statements,
    query: &str,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    one_statement: bool,
) -> Option<Answer> {
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    if op.node.ty != OperationType::Query {
        return None;
    }
    let catalog = &store.meta.catalog;
    let layout = store.layout();
    let mut planner = plan::Planner {
        catalog,
        doc,
        variables,
        definitions: &op.node.variable_definitions,
        slots: 0,
        varies: Default::default(),
    };
    let roots = planner.roots(&op.node)?;
    if one_statement {
        let varies = planner.varies.get();
        let ready = statements.ready(query, operation_name, catalog, layout, &roots, varies);
        let mut reused = ready.reused;
        let mut json_read = None;
        match (&*ready.compiled, ready.sql) {
            (reuse::Compiled::Rows(_, plan), Some(sql)) => {
                match store.read_rows(counter, sql).await {
                    Ok(rows) => {
                        return rows::write(&roots, plan, &rows).map(|body| Answer {
                            body,
                            one_statement: true,
                            from_rows: true,
                            reused,
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "one-statement read failed");
                        json_read = statement::compile(catalog, layout, &roots);
                        reused = false;
                    }
                }
            }
            (reuse::Compiled::Json(_), sql) => json_read = sql,
            _ => {}
        }
        if let Some(sql) = json_read {
            match store.read_json(counter, sql).await {
                Ok(Some(data)) if !data.contains(statement::REJECTED) => {
                    return Some(Answer {
                        body: format!("{{\"data\":{data}}}"),
                        one_statement: true,
                        from_rows: false,
                        reused,
                    });
                }
                Ok(_) => return None,
                Err(e) => {
                    // A statement the database refuses is a bug here, not in
                    // the request: the fetch path still answers.
                    tracing::warn!(error = %e, "one-statement read failed");
                }
            }
        }
    }
    let fetcher = fetch::Fetcher { store, counter };
    let (data, slots) = match fetcher.roots(&roots, planner.slots).await {
        Ok(done) => done,
        Err(e) => {
            tracing::debug!(error = %e, "direct read failed; the full executor answers");
            return None;
        }
    };
    let body = write::Writer {
        out: Vec::with_capacity(4096),
        slots: &slots,
    }
    .response(&roots, &data)?;
    Some(Answer {
        body,
        one_statement: false,
        from_rows: false,
        reused: false,
    })
}
