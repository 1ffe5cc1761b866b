//! Direct execution of plain reads. async-graphql's dynamic schema resolves
//! a response field by field (a boxed future and a type check each, about
//! 2 µs), which made the server, not the database, the limit of list reads.
//! A read the plan covers — record look-ups and lists with their filters,
//! orderings, pages, relations, fragments and aliases — is fetched with the
//! same store calls and batching as the resolvers, and its JSON written
//! straight from the records.
//!
//! The caller ([`execute`]) answers `None` for anything else, and on any
//! error: the full executor then runs the request and reports what is
//! wrong, so both paths give one answer. Documents must first have run
//! once through the full executor without errors (validation); the server
//! keeps that list per schema.

mod fetch;
mod plan;
mod write;

use async_graphql::Variables;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use rapport_store::{RecordStore, StatementCounter};

/// The response body of a plain read, or `None` when the full executor
/// must answer (see the module documentation).
pub async fn execute(
    store: &RecordStore,
    counter: &StatementCounter,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Option<String> {
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
    let mut planner = plan::Planner {
        catalog,
        doc,
        variables,
        definitions: &op.node.variable_definitions,
        slots: 0,
    };
    let roots = planner.roots(&op.node)?;
    let fetcher = fetch::Fetcher { store, counter };
    let (data, slots) = match fetcher.roots(&roots, planner.slots).await {
        Ok(done) => done,
        Err(e) => {
            tracing::debug!(error = %e, "direct read failed; the full executor answers");
            return None;
        }
    };
    write::Writer {
        out: Vec::with_capacity(4096),
        slots: &slots,
    }
    .response(&roots, &data)
}
