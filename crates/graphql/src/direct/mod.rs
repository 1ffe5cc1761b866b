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
//! A read is planned against what the caller sees ([`Sight`]): their
//! role's view of the catalog where it is narrower (hidden objects and
//! fields are not there to plan), and the fields they see masked, which
//! the fetch path writes masked (one statement leaves those to it).
//!
//! The caller ([`execute`]) answers with a [`Decline`] for anything else,
//! and on any error: the full executor then runs the request and reports
//! what is wrong, so both paths give one answer. Documents must first have
//! run once through the full executor without errors (validation) on the
//! schema the caller is served; the server keeps that list per schema and
//! role.

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
    /// Why one statement did not answer, when it was allowed to and the
    /// fetch path answered instead.
    pub statement_declined: Option<Decline>,
}

/// Why a read was not answered by the direct path (the full executor
/// answers), or not by one statement (the fetch path answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    /// Turned off for the server.
    Disabled,
    /// The document has not yet run once through the full executor on this
    /// schema, which validates it.
    NotValidated,
    /// A mutation or subscription, or no single operation chosen.
    NotAQuery,
    /// The plan does not cover the document (introspection, aggregates,
    /// operations, an argument it does not take as given or the query layer
    /// refuses).
    NotPlanned,
    /// One statement cannot write a value as the store's decoder would
    /// (computed fields, sealed values, cursors …), or has nothing to read.
    NotWritable,
    /// A value the full executor would reject: a null in a non-null field,
    /// an unknown enum value.
    RejectedValue,
    /// A statement or store call failed; the full executor reports why.
    Failed,
}

impl Decline {
    pub const ALL: [Decline; 7] = [
        Decline::Disabled,
        Decline::NotValidated,
        Decline::NotAQuery,
        Decline::NotPlanned,
        Decline::NotWritable,
        Decline::RejectedValue,
        Decline::Failed,
    ];

    /// The reason's name as a metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Decline::Disabled => "disabled",
            Decline::NotValidated => "not_validated",
            Decline::NotAQuery => "not_a_query",
            Decline::NotPlanned => "not_planned",
            Decline::NotWritable => "not_writable",
            Decline::RejectedValue => "rejected_value",
            Decline::Failed => "failed",
        }
    }
}

/// What the caller sees: the catalog (their role's view of it, where it is
/// narrower) and which fields they see only masked.
pub struct Sight<'a> {
    pub catalog: &'a std::sync::Arc<rapport_meta::Catalog>,
    pub masks: plan::Masks<'a>,
}

/// A read request: its text, parsed document, operation and variables.
#[derive(Clone, Copy)]
pub struct Read<'a> {
    pub query: &'a str,
    pub doc: &'a ExecutableDocument,
    pub operation_name: Option<&'a str>,
    pub variables: &'a Variables,
}

/// The response of a plain read, or why the full executor must answer
/// (see the module documentation). `one_statement` lets the database build
/// the response where it can, with the plans and statements kept for
/// `query` in `statements` (the live schema's).
pub async fn execute(
    store: &RecordStore,
    counter: &StatementCounter,
    statements: &Statements,
    read: Read<'_>,
    sight: &Sight<'_>,
    one_statement: bool,
) -> Result<Answer, Decline> {
    let Read {
        query,
        doc,
        operation_name,
        variables,
    } = read;
    let op = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    let op = op
        .filter(|op| op.node.ty == OperationType::Query)
        .ok_or(Decline::NotAQuery)?;
    let catalog = sight.catalog;
    let layout = store.layout();
    let mut statement_declined = None;
    // A kept plan and statement, with this request's ids.
    let kept = match one_statement {
        true => statements.kept(query, operation_name, layout, catalog),
        false => None,
    };
    let mut one_statement = one_statement;
    if let Some(kept) = kept {
        let ids = plan::Planner::new(catalog, sight.masks, doc, &op.node, variables)
            .root_ids(&op.node)
            .ok_or(Decline::NotPlanned)?;
        if let Some(sql) = kept.with_ids(&ids, layout.backend) {
            let done = one_statement_read(store, counter, kept.plan.roots(), &kept.compiled, sql);
            match done.await {
                Ok(answer) => {
                    return Ok(Answer {
                        reused: true,
                        ..answer
                    });
                }
                Err(d @ (Decline::Failed | Decline::NotWritable)) => statement_declined = Some(d),
                Err(other) => return Err(other),
            }
            // It failed: the fetch path answers, with a plan of this
            // request's ids (the kept one holds another's).
            one_statement = false;
        }
    }
    let plan = reuse::Plan::make(sight, doc, &op.node, variables).ok_or(Decline::NotPlanned)?;
    let plan = std::sync::Arc::new(plan);
    if one_statement {
        let compiled = statements.compile(query, operation_name, layout, &plan);
        match compiled.sql().cloned() {
            Some(sql) => {
                let done = one_statement_read(store, counter, plan.roots(), &compiled, sql);
                match done.await {
                    Ok(answer) => return Ok(answer),
                    Err(d @ (Decline::Failed | Decline::NotWritable)) => {
                        statement_declined = Some(d)
                    }
                    Err(other) => return Err(other),
                }
            }
            None => statement_declined = Some(Decline::NotWritable),
        }
    }
    let roots = plan.roots();
    let fetcher = fetch::Fetcher { store, counter };
    let (data, slots) = match fetcher.roots(roots, plan.slots).await {
        Ok(done) => done,
        Err(e) => {
            tracing::debug!(error = %e, "direct read failed; the full executor answers");
            return Err(Decline::Failed);
        }
    };
    let body = write::Writer {
        out: Vec::with_capacity(4096),
        slots: &slots,
    }
    .response(roots, &data)
    .ok_or(Decline::RejectedValue)?;
    Ok(Answer {
        body,
        one_statement: false,
        from_rows: false,
        reused: false,
        statement_declined,
    })
}

/// Runs a read's one statement and writes the response: `RejectedValue`
/// when the full executor must answer, `Failed` (or `NotWritable`) when the
/// fetch path must (with a plan of this request's own ids: a kept plan
/// holds another request's).
async fn one_statement_read(
    store: &RecordStore,
    counter: &StatementCounter,
    roots: &[(async_graphql::Name, plan::Root<'_>)],
    compiled: &reuse::Compiled,
    sql: rapport_query::Sql,
) -> Result<Answer, Decline> {
    let answer = |body, from_rows| Answer {
        body,
        one_statement: true,
        from_rows,
        reused: false,
        statement_declined: None,
    };
    let result = match compiled {
        reuse::Compiled::Rows(_, plan) => match store.read_rows(counter, sql).await {
            Ok(rows) => {
                return rows::write(roots, plan, &rows)
                    .map(|body| answer(body, true))
                    .ok_or(Decline::RejectedValue);
            }
            Err(e) => Err(e),
        },
        reuse::Compiled::Json(_) => store.read_json(counter, sql).await,
        reuse::Compiled::Neither => return Err(Decline::NotWritable),
    };
    match result {
        Ok(Some(data)) if !data.contains(statement::REJECTED) => {
            Ok(answer(format!("{{\"data\":{data}}}"), false))
        }
        Ok(_) => Err(Decline::RejectedValue),
        Err(e) => {
            // A statement the database refuses is a bug here, not in the
            // request: the fetch path still answers.
            tracing::warn!(error = %e, "one-statement read failed");
            Err(Decline::Failed)
        }
    }
}
