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

/// A read request: its text, parsed document, operation and variables.
#[derive(Clone, Copy)]
pub struct Read<'a> {
    pub query: &'a str,
    pub doc: &'a ExecutableDocument,
    pub operation_name: Option<&'a str>,
    pub variables: &'a Variables,
}

/// The response of a plain read, or `None` when the full executor must
/// answer (see the module documentation). `one_statement` lets the
/// database build the response where it can, with the plans and
/// statements kept for `query` in `statements` (the live schema's).
pub async fn execute(
    store: &RecordStore,
    counter: &StatementCounter,
    statements: &Statements,
    read: Read<'_>,
    one_statement: bool,
) -> Option<Answer> {
    let Read {
        query,
        doc,
        operation_name,
        variables,
    } = read;
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
    let mut one_statement = one_statement;
    // A kept plan and statement, with this request's ids.
    let kept = match one_statement {
        true => statements.kept(query, operation_name, layout),
        false => None,
    };
    if let Some(kept) = kept {
        let ids = plan::Planner::new(catalog, doc, &op.node, variables).root_ids(&op.node)?;
        if let Some(sql) = kept.with_ids(&ids, layout.backend) {
            let done = one_statement_read(store, counter, kept.plan.roots(), &kept.compiled, sql);
            if let Some(done) = done.await {
                return done.map(|answer| Answer {
                    reused: true,
                    ..answer
                });
            }
            // It failed: the fetch path answers, with a plan of this
            // request's ids (the kept one holds another's).
            one_statement = false;
        }
    }
    let plan = std::sync::Arc::new(reuse::Plan::make(catalog, doc, &op.node, variables)?);
    if one_statement {
        let compiled = statements.compile(query, operation_name, layout, &plan);
        if let Some(sql) = compiled.sql().cloned() {
            let done = one_statement_read(store, counter, plan.roots(), &compiled, sql);
            if let Some(done) = done.await {
                return done;
            }
        }
    }
    let roots = plan.roots();
    let fetcher = fetch::Fetcher { store, counter };
    let (data, slots) = match fetcher.roots(roots, plan.slots).await {
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
    .response(roots, &data)?;
    Some(Answer {
        body,
        one_statement: false,
        from_rows: false,
        reused: false,
    })
}

/// Runs a read's one statement and writes the response: `Some(None)`
/// when the full executor must answer (a value it would reject), `None`
/// when the statement failed and the fetch path must (with a plan of this
/// request's own ids: a kept plan holds another request's).
async fn one_statement_read(
    store: &RecordStore,
    counter: &StatementCounter,
    roots: &[(async_graphql::Name, plan::Root<'_>)],
    compiled: &reuse::Compiled,
    sql: rapport_query::Sql,
) -> Option<Option<Answer>> {
    let result = match compiled {
        reuse::Compiled::Rows(_, plan) => match store.read_rows(counter, sql).await {
            Ok(rows) => {
                return Some(rows::write(roots, plan, &rows).map(|body| Answer {
                    body,
                    one_statement: true,
                    from_rows: true,
                    reused: false,
                }));
            }
            Err(e) => Err(e),
        },
        reuse::Compiled::Json(_) => store.read_json(counter, sql).await,
        reuse::Compiled::Neither => return None,
    };
    match result {
        Ok(Some(data)) if !data.contains(statement::REJECTED) => Some(Some(Answer {
            body: format!("{{\"data\":{data}}}"),
            one_statement: true,
            from_rows: false,
            reused: false,
        })),
        Ok(_) => Some(None),
        Err(e) => {
            // A statement the database refuses is a bug here, not in the
            // request: the fetch path still answers.
            tracing::warn!(error = %e, "one-statement read failed");
            None
        }
    }
}
