//! Routes and the GraphQL handlers: request ids, the one place GraphQL
//! errors get their contract codes, and the responses. Whether a request may
//! run at all (token, budget, limits) is `admission.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Response, ServerError as GqlServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use rapport_graphql::direct::{Answer, Decline};
use rapport_graphql::{ErrorCode, RecordLoader, RequestState};
use rapport_store::StatementCounter;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::admission::{
    Parsed, Refusal, accept, admit, authenticate, authenticate_admitted, bearer, check_cost,
    client_address, error_response, limit_refusal, parse_request,
};
use crate::app::App;
use crate::metadata_api;
use crate::metrics::Metrics;
use crate::web::{self, HttpOptions};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The routes with the default edge: no cross-origin calls.
pub fn router(app: Arc<App>) -> Router {
    router_with(app, &HttpOptions::default())
}

pub fn router_with(app: Arc<App>, options: &HttpOptions) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let graphql_routes = Router::new()
        .route("/graphql", post(graphql).get(graphql_get))
        .route("/metadata", post(metadata).get(web::graphiql_metadata))
        .layer(axum::middleware::from_fn(web::graphql_media_type));
    // A file may be larger than a GraphQL request.
    let file_limit = app.files().map_or(0, |f| {
        usize::try_from(f.max_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
    });
    let files = Router::new()
        .route("/files", post(crate::files_api::upload))
        .route("/files/{id}", get(crate::files_api::download))
        .layer(DefaultBodyLimit::max(file_limit.max(MAX_BODY_BYTES)));
    let assets = Router::new()
        .route("/graphql/assets/{file}", get(web::asset))
        .layer(tower_http::compression::CompressionLayer::new());
    let mut router = Router::new()
        .route("/", get(web::home))
        .route("/docs/{page}", get(web::doc_page))
        .route("/graphql/schema.graphql", get(sdl))
        .route("/import/{object}", post(crate::import_api::import))
        .route("/metadata/objects/{file}", get(object_document))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(graphql_routes)
        .merge(assets)
        .merge(files)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    if let Some(cors) = web::cors(options) {
        router = router.layer(cors);
    }
    router
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(),
                        request_id = %id, operation = tracing::field::Empty)
                })
                // One line per request at info: status and time, in the
                // request's span (method, path, request id, operation).
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(app)
}

/// Whether the operation a request runs is a mutation (an unparsable
/// request counts as one: it reads nothing, and the rule stays safe).
fn is_mutation(request: &mut async_graphql::Request) -> bool {
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
fn finish(mut response: Response) -> Response {
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

fn json_response(response: &Response, statements: Option<u64>) -> axum::response::Response {
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
fn response_json(response: &Response) -> String {
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
fn body_response(body: String, statements: u64) -> axum::response::Response {
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
async fn graphql_get(
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
fn record_operation(request: &async_graphql::Request, parsed: &Parsed) {
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

async fn graphql(
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
    let live = match app.live_for(&principal.workspace_id).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "workspace schema unavailable");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            );
        }
    };
    // What this caller may see and do: a store restricted to their record
    // scopes, and the schema of their role.
    let prepared = app.access_for(&principal, &live).await.and_then(|access| {
        let (schema, view) = live.schema_for(&access.role)?;
        Ok((access, schema, view))
    });
    let (access, schema, view) = match prepared {
        Ok(ok) => ok,
        Err(e) => {
            tracing::error!(error = %e, "access unavailable");
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
    let scopes = access.read_scopes(&live.meta.catalog);
    // A mutation reads what it wrote, so only queries may use the replica.
    let writes = app.db.replica.is_some() && is_mutation(&mut request);
    let on_replica = !writes
        && app
            .reads_replica(&principal.id, &live, seen_lsn(&headers))
            .await;
    let store = match (scopes.is_empty(), on_replica) {
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
    };
    let counter = StatementCounter::default();
    // Plain reads already validated on this schema (the role's, where it
    // sees less) skip the field-by-field executor.
    let direct = parsed.is_some() && app.direct_reads.load(Ordering::Relaxed);
    let validated = direct && live.is_validated(view.as_ref(), &request.query);
    let answered = match &parsed {
        _ if !app.direct_reads.load(Ordering::Relaxed) => Err(Decline::Disabled),
        Some(_) if !validated => Err(Decline::NotValidated),
        None => Err(Decline::NotPlanned),
        Some(parsed) => {
            let read = rapport_graphql::direct::Read {
                query: &request.query,
                doc: &parsed.doc,
                operation_name: request.operation_name.as_deref(),
                variables: &request.variables,
            };
            let role = &access.role;
            let masks = |object: &str, field: &str| role.masks(object, field);
            let sight = rapport_graphql::direct::Sight {
                catalog: view.as_ref().unwrap_or(&live.store.meta.catalog),
                masks: &masks,
            };
            let one_statement = app.one_statement_reads.load(Ordering::Relaxed);
            let statements = &live.statements;
            rapport_graphql::direct::execute(
                &store,
                &counter,
                statements,
                read,
                &sight,
                one_statement,
            )
            .await
        }
    };
    match answered {
        Err(reason) => app.metrics.direct_declined(reason),
        Ok(answer) => return direct_answer(&app, answer, counter.get()),
    }
    let query_text = (direct && !validated).then(|| request.query.clone());
    let loader = DataLoader::new(
        RecordLoader {
            store: store.clone(),
            counter: counter.clone(),
        },
        tokio::spawn,
    )
    .delay(Duration::from_millis(1));
    let actor = principal.actor();
    let request = request
        .data(RequestState {
            counter: counter.clone(),
            actor,
            access,
            list_keys: Default::default(),
        })
        .data(store)
        .data(loader);
    let principal_id = principal.id.clone();
    let operation_name = request.operation_name.clone();
    let mut response = schema.execute(request).await;
    if let Some(parsed) = &parsed {
        rapport_graphql::null_failed_roots(
            &mut response,
            schema.registry(),
            &parsed.doc,
            operation_name.as_deref(),
        );
    }
    let response = finish(response);
    let written = match writes {
        true => app.wrote(&principal_id).await,
        false => None,
    };
    if !response.errors.is_empty() {
        Metrics::add(&app.metrics.graphql_errors, 1);
    } else if let Some(query) = query_text {
        live.mark_validated(view.clone(), &query);
    }
    Metrics::add(&app.metrics.sql_statements, counter.get());
    with_write_lsn(json_response(&response, Some(counter.get())), written)
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
fn with_write_lsn(
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

async fn metadata(
    State(app): State<Arc<App>>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    // `signUp` and `login` need no token, within a budget per client;
    // every other field refuses without one.
    let principal = match bearer(&headers) {
        None => {
            let client = client_address(&app, &headers, peer.map(|p| p.0.0));
            if let Err(secs) = app.admit_anonymous(&client) {
                Metrics::add(&app.metrics.rate_limited, 1);
                return Refusal::rate_limited(
                    "too many requests without a token from this address",
                    secs,
                )
                .into_response();
            }
            None
        }
        Some(_) => match authenticate(&app, &headers).await {
            Ok(p) => {
                if let Err(r) = admit(&app, &p) {
                    return r.into_response();
                }
                Some(p)
            }
            Err(r) => return r.into_response(),
        },
    };
    let (mut request, parsed) = match parse_request(&app, &body) {
        Ok(ok) => ok,
        Err(r) => return r.into_response(),
    };
    record_operation(&request, &parsed);
    let cost = parsed.as_ref().map_or(0, |p| {
        rapport_graphql::limits::document_cost(
            &p.doc,
            metadata_api::registry(),
            request.operation_name.as_deref(),
            &request.variables,
        )
        .value
    });
    if let Err(r) = check_cost(&app, cost) {
        return r.into_response();
    }
    // Names, labels and documents: NUL is refused on every database.
    if let Some(parsed) = &parsed
        && let Err(refusal) = rapport_graphql::limits::check_no_nul(&parsed.doc, &request.variables)
    {
        return limit_refusal(&app, refusal).into_response();
    }
    Metrics::add(&app.metrics.metadata_requests, 1);
    let anonymous = principal.is_none();
    let writer = principal
        .as_ref()
        .filter(|_| app.db.replica.is_some() && is_mutation(&mut request))
        .map(|p| p.id.clone());
    let response = finish(metadata_api::execute(app.clone(), principal, request).await);
    let written = match writer {
        Some(id) => app.wrote(&id).await,
        None => None,
    };
    let refused = response
        .errors
        .iter()
        .any(|e| ErrorCode::Unauthenticated.marks(e.extensions.as_ref()));
    let mut res = with_write_lsn(json_response(&response, None), written);
    if anonymous && refused {
        Metrics::add(&app.metrics.unauthenticated, 1);
        *res.status_mut() = StatusCode::UNAUTHORIZED;
    }
    res
}

/// An admitted caller's workspace and what their role is served there: its
/// schema, and its narrower catalog (`None`: the whole one).
async fn served(
    app: &App,
    headers: &HeaderMap,
) -> Result<
    (
        Arc<crate::live::Live>,
        async_graphql::dynamic::Schema,
        Option<Arc<rapport_meta::Catalog>>,
    ),
    axum::response::Response,
> {
    let principal = authenticate_admitted(app, headers)
        .await
        .map_err(IntoResponse::into_response)?;
    let internal = |e: crate::error::ServerError| Refusal::internal(e).into_response();
    let live = app
        .live_for(&principal.workspace_id)
        .await
        .map_err(internal)?;
    let (schema, view) = app
        .role(&principal.workspace_id, &principal.role)
        .await
        .and_then(|role| live.schema_for(&role))
        .map_err(internal)?;
    Ok((live, schema, view))
}

async fn sdl(State(app): State<Arc<App>>, headers: HeaderMap) -> axum::response::Response {
    let schema = match served(&app, &headers).await {
        Ok((_, schema, _)) => schema,
        Err(r) => return r,
    };
    // Written when asked (tools fetch it now and then): a big schema's SDL
    // takes tens of milliseconds, which no metadata change should pay.
    let Ok(sdl) = tokio::task::spawn_blocking(move || schema.sdl()).await else {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        );
    };
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], sdl).into_response()
}

async fn object_document(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> axum::response::Response {
    let name = file.strip_suffix(".json").unwrap_or(&file);
    // The document as the caller's role sees the object.
    let (live, view) = match served(&app, &headers).await {
        Ok((live, _, view)) => (live, view),
        Err(r) => return r,
    };
    match view.as_deref().unwrap_or(&live.meta.catalog).object(name) {
        Some(o) => (
            [(header::CONTENT_TYPE, "application/schema+json")],
            serde_json::to_string_pretty(&rapport_meta::export_document(o)).unwrap_or_default(),
        )
            .into_response(),
        None => error_response(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            &format!("no object named `{name}`"),
        ),
    }
}

async fn readyz(State(app): State<Arc<App>>) -> axum::response::Response {
    let ping = app.db.conn.ping().await;
    match ping {
        Ok(()) => (
            StatusCode::OK,
            format!("ready: metadata version {}", app.live().meta.version),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics
            .render(app.live().meta.version, app.schemas.builds()),
    )
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
