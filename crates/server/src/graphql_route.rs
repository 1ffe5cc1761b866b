//! `POST /graphql` and `GET /graphql`: an admitted request answered by the
//! direct read path where it can be, by the executor otherwise, with the
//! contract's error codes and the statement count; and the response
//! helpers the metadata route shares.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Response, ServerError as GqlServerError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use rapport_graphql::direct::{Answer, Decline};
use rapport_graphql::{ErrorCode, RecordLoader, RequestState};
use rapport_store::StatementCounter;

use crate::admission::{Parsed, Refusal, accept, check_cost, error_response, parse_request};
use crate::app::App;
use crate::metrics::Metrics;
use crate::web;

/// Whether the operation a request runs is a mutation (an unparsable
/// request counts as one: it reads nothing, and the rule stays safe).
pub(crate) fn is_mutation(request: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let operation_name = request.operation_name.clone();
    let Ok(doc) = request.parsed_query() else {
        return true;
    };
    let ty = match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty,
        DocumentOperations::Multiple(ops) => match operation_name
            .as_deref()
            .and_then(|name| ops.get(name))
            .or_else(|| ops.values().next())
        {
            Some(op) => op.node.ty,
            None => return true,
        },
    };
    ty == OperationType::Mutation
}

/// Every error leaves with a contract code; resolver errors without one are
/// internal and are logged, not shown.
pub(crate) fn finish(mut response: Response) -> Response {
    for e in &mut response.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if e.message.contains("nested too deep") || e.message.contains("too complex") {
            ErrorCode::QueryTooComplex
        } else if e.path.is_empty() {
            name_the_field(e);
            ErrorCode::BadUserInput
        } else {
            tracing::error!(error = %e.message, "unexpected resolver error");
            e.message = "internal error".into();
            ErrorCode::Internal
        };
        set_code(e, code);
    }
    response
}

/// A validation error about an input object's field (`field "plate" of type
/// "String!" is required but not provided`) names it in `extensions.field`,
/// as the API's own input errors do.
fn name_the_field(e: &mut GqlServerError) {
    let Some(field) = e
        .message
        .split_once("field \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_string())
    else {
        return;
    };
    let reason = if e.message.contains("is required but not provided") {
        "is required".to_string()
    } else {
        e.message.clone()
    };
    let mut ext = e.extensions.take().unwrap_or_default();
    ext.set("field", field);
    ext.set("reason", reason);
    e.extensions = Some(ext);
}

fn set_code(e: &mut GqlServerError, code: ErrorCode) {
    let mut ext = e.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    e.extensions = Some(ext);
}

pub(crate) fn json_response(
    response: &Response,
    statements: Option<u64>,
) -> axum::response::Response {
    let body = response_json(response);
    match statements {
        Some(n) => body_response(body, n),
        None => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
    }
}

/// The response as JSON. A request that failed before execution (it did
/// not parse or validate) has no `data` entry, as the GraphQL
/// specification says; one that ran and whose root was nulled by a field
/// error has `"data": null`.
pub(crate) fn response_json(response: &Response) -> String {
    let before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if !before_execution {
        return serde_json::to_string(response).unwrap_or_else(|_| "{}".into());
    }
    #[derive(serde::Serialize)]
    struct RequestErrors<'a> {
        errors: &'a [GqlServerError],
    }
    serde_json::to_string(&RequestErrors {
        errors: &response.errors,
    })
    .unwrap_or_else(|_| "{}".into())
}

/// A JSON body with the count of SQL statements it took.
pub(crate) fn body_response(body: String, statements: u64) -> axum::response::Response {
    let mut res = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&statements.to_string()) {
        res.headers_mut().insert("x-rapport-sql-statements", v);
    }
    res
}

/// `GET /graphql`: with `?query=…`, a query per GraphQL over HTTP (never a
/// mutation: 405); without, GraphiQL.
pub(crate) async fn graphql_get(
    State(app): State<Arc<App>>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let Some(query) = params.get("query") else {
        return web::graphiql_data().await.into_response();
    };
    let variables = match params
        .get("variables")
        .map(|v| serde_json::from_str::<serde_json::Value>(v))
    {
        None => serde_json::Value::Null,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            return Refusal::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                format!("`variables` is not JSON: {e}"),
            )
            .into_response();
        }
    };
    let body = Bytes::from(
        serde_json::json!({ "query": query, "variables": variables,
                            "operationName": params.get("operationName") })
        .to_string(),
    );
    if let Ok((mut request, Some(_))) = parse_request(&app, &body)
        && is_mutation(&mut request)
    {
        let mut res = Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            "a mutation is sent with POST",
        )
        .into_response();
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    graphql(State(app), headers, body).await
}

/// The operation a request runs, for the request's log line.
pub(crate) fn record_operation(request: &async_graphql::Request, parsed: &Parsed) {
    use async_graphql::parser::types::DocumentOperations;
    let name = request
        .operation_name
        .clone()
        .or_else(|| match &parsed.as_ref()?.doc.operations {
            DocumentOperations::Single(_) => None,
            DocumentOperations::Multiple(ops) => ops.keys().next().map(|n| n.to_string()),
        });
    if let Some(name) = name {
        tracing::Span::current().record("operation", name.as_str());
    }
}

pub(crate) async fn graphql(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let (principal, mut request, parsed) = match accept(&app, &headers, &body).await {
        Ok(ok) => ok,
        Err(r) => return r.into_response(),
    };
    record_operation(&request, &parsed);
    Metrics::add(&app.metrics.graphql_requests, 1);
    let (live, served) = match serving(&app, &principal).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::error!(error = %e, "workspace schema or access unavailable");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            );
        }
    };
    let cost = parsed.as_ref().map_or(0, |p| {
        live.cost(
            &request.query,
            &p.doc,
            request.operation_name.as_deref(),
            &request.variables,
        )
    });
    if let Err(r) = check_cost(&app, cost) {
        return r.into_response();
    }
    // A mutation reads what it wrote, so only queries may use the replica.
    let writes = app.db.replica.is_some() && is_mutation(&mut request);
    let on_replica = !writes
        && app
            .reads_replica(&principal.id, &live, seen_lsn(&headers))
            .await;
    let store = store_for(&live, &served.access, on_replica);
    let counter = StatementCounter::default();
    // Plain reads already validated on this schema (the role's, where it
    // sees less) skip the field-by-field executor.
    let enabled = app.direct_reads.load(Ordering::Relaxed);
    let direct = parsed.is_some() && enabled;
    let validated = direct && live.is_validated(served.view.as_ref(), &request.query);
    let answered = match &parsed {
        _ if !enabled => Err(Decline::Disabled),
        Some(_) if !validated => Err(Decline::NotValidated),
        None => Err(Decline::NotPlanned),
        Some(parsed) => {
            let read = rapport_graphql::direct::Read {
                query: &request.query,
                doc: &parsed.doc,
                operation_name: request.operation_name.as_deref(),
                variables: &request.variables,
            };
            direct_read(&app, &live, &served, (&store, &counter), read).await
        }
    };
    match answered {
        Err(reason) => app.metrics.direct_declined(reason),
        Ok(answer) => return direct_answer(&app, answer, counter.get()),
    }
    let query_text = (direct && !validated).then(|| request.query.clone());
    let view = served.view.clone();
    let executed = Executed {
        principal_id: principal.id.clone(),
        counter: counter.clone(),
        writes,
    };
    let request = request.data(RequestState {
        counter: counter.clone(),
        actor: principal.actor(),
        access: served.access,
        list_keys: Default::default(),
    });
    let response = execute(&served.schema, request, parsed.as_deref(), (store, counter)).await;
    if response.errors.is_empty()
        && let Some(query) = query_text
    {
        live.mark_validated(view, &query);
    }
    answered_by_executor(&app, response, executed).await
}

/// What a caller is served: their access, their role's schema and, where
/// they see less than the whole catalog, its view.
struct Served {
    access: rapport_graphql::Access,
    schema: async_graphql::dynamic::Schema,
    view: Option<Arc<rapport_meta::Catalog>>,
}

/// The workspace's live schema and what this caller is served from it.
async fn serving(
    app: &App,
    principal: &rapport_store::Principal,
) -> Result<(Arc<crate::live::Live>, Served), crate::error::ServerError> {
    let live = app.live_for(&principal.workspace_id).await?;
    let access = app.access_for(principal, &live).await?;
    let (schema, view) = live.schema_for(&access.role)?;
    Ok((
        live,
        Served {
            access,
            schema,
            view,
        },
    ))
}

/// The store a request reads and writes through: restricted to the
/// caller's record scopes, reading the replica where it may.
fn store_for(
    live: &crate::live::Live,
    access: &rapport_graphql::Access,
    on_replica: bool,
) -> Arc<rapport_store::RecordStore> {
    let scopes = access.read_scopes(&live.meta.catalog);
    match (scopes.is_empty(), on_replica) {
        (true, false) => live.store.clone(),
        (true, true) => Arc::new((*live.store).clone().reading_replica()),
        (false, replica) => {
            let scoped = live.store.scoped(scopes);
            Arc::new(if replica {
                scoped.reading_replica()
            } else {
                scoped
            })
        }
    }
}

/// A read on the direct path, planned on what the caller sees.
async fn direct_read(
    app: &App,
    live: &crate::live::Live,
    served: &Served,
    (store, counter): (&rapport_store::RecordStore, &StatementCounter),
    read: rapport_graphql::direct::Read<'_>,
) -> Result<Answer, Decline> {
    let role = &served.access.role;
    let masks = |object: &str, field: &str| role.masks(object, field);
    let sight = rapport_graphql::direct::Sight {
        catalog: served.view.as_ref().unwrap_or(&live.store.meta.catalog),
        masks: &masks,
    };
    let one_statement = app.one_statement_reads.load(Ordering::Relaxed);
    rapport_graphql::direct::execute(
        store,
        counter,
        &live.statements,
        read,
        &sight,
        one_statement,
    )
    .await
}

/// Runs a request on the executor, with the loader that batches its
/// relations; roots whose non-null fields failed answer null.
async fn execute(
    schema: &async_graphql::dynamic::Schema,
    request: async_graphql::Request,
    parsed: Option<&crate::parsed::Parsed>,
    (store, counter): (Arc<rapport_store::RecordStore>, StatementCounter),
) -> Response {
    let loader = DataLoader::new(
        RecordLoader {
            store: store.clone(),
            counter,
        },
        tokio::spawn,
    )
    .delay(Duration::from_millis(1));
    let operation_name = request.operation_name.clone();
    let mut response = schema.execute(request.data(store).data(loader)).await;
    if let Some(parsed) = parsed {
        rapport_graphql::null_failed_roots(
            &mut response,
            schema.registry(),
            &parsed.doc,
            operation_name.as_deref(),
        );
    }
    finish(response)
}

/// What the executor's answer is counted and marked with.
struct Executed {
    principal_id: String,
    counter: StatementCounter,
    writes: bool,
}

async fn answered_by_executor(
    app: &App,
    response: Response,
    executed: Executed,
) -> axum::response::Response {
    let written = match executed.writes {
        true => app.wrote(&executed.principal_id).await,
        false => None,
    };
    if !response.errors.is_empty() {
        Metrics::add(&app.metrics.graphql_errors, 1);
    }
    let statements = executed.counter.get();
    Metrics::add(&app.metrics.sql_statements, statements);
    with_write_lsn(json_response(&response, Some(statements)), written)
}

/// The log position a client brings back after writing through another
/// process (`x-rapport-min-lsn`, as `x-rapport-write-lsn` gave it).
fn seen_lsn(headers: &HeaderMap) -> rapport_store::Lsn {
    headers
        .get("x-rapport-min-lsn")
        .and_then(|v| v.to_str().ok())
        .and_then(rapport_store::parse_lsn)
        .unwrap_or(0)
}

/// After a write, its log position, so a client talking to several
/// processes can ask any of them to read at least that far.
pub(crate) fn with_write_lsn(
    mut res: axum::response::Response,
    written: Option<rapport_store::Lsn>,
) -> axum::response::Response {
    if let Some(lsn) = written
        && let Ok(v) = HeaderValue::from_str(&rapport_store::format_lsn(lsn))
    {
        res.headers_mut().insert("x-rapport-write-lsn", v);
    }
    res
}

/// The response of a read the direct path answered, counted.
fn direct_answer(app: &App, answer: Answer, statements: u64) -> axum::response::Response {
    Metrics::add(&app.metrics.direct_reads, 1);
    if let Some(reason) = answer.statement_declined {
        app.metrics.one_statement_declined(reason);
    }
    if answer.one_statement {
        Metrics::add(&app.metrics.one_statement_reads, 1);
    }
    if answer.from_rows {
        Metrics::add(&app.metrics.row_reads, 1);
    }
    if answer.reused {
        Metrics::add(&app.metrics.reused_statements, 1);
    }
    Metrics::add(&app.metrics.sql_statements, statements);
    body_response(answer.body, statements)
}
