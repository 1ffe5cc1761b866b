//! Routes: request ids, the metadata, schema, readiness and metrics
//! routes; the GraphQL route is `graphql_route.rs`. Whether a request may
//! run at all (token, budget, limits) is `admission.rs`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use rapport_graphql::ErrorCode;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::admission::{
    Refusal, admit, authenticate, authenticate_admitted, bearer, check_cost, client_address,
    error_response, limit_refusal, parse_request,
};
use crate::app::App;
use crate::graphql_route::{
    finish, graphql, graphql_get, is_mutation, json_response, record_operation, with_write_lsn,
};
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
