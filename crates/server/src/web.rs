//! What a browser meets: the home page, GraphiQL for both APIs, the docs
//! and assets (compressed, cached), CORS, and the GraphQL-over-HTTP media
//! type `application/graphql-response+json`.

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How the HTTP edge is set up beyond the app itself.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Origins allowed to call the APIs from a browser (`--cors-origin`);
    /// none by default, so no cross-origin call is allowed.
    pub cors_origins: Vec<HeaderValue>,
}

/// CORS for the configured origins, or none: preflights are answered for
/// the methods and headers the APIs use, and the headers a client reads
/// are exposed.
pub(crate) fn cors(options: &HttpOptions) -> Option<CorsLayer> {
    if options.cors_origins.is_empty() {
        return None;
    }
    let name = |n: &'static str| header::HeaderName::from_static(n);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(options.cors_origins.clone()))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                name("x-rapport-min-lsn"),
            ])
            .expose_headers([
                name("x-request-id"),
                name("x-rapport-sql-statements"),
                name("x-rapport-write-lsn"),
                header::RETRY_AFTER,
            ])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

const HOME_HTML: &str = include_str!("../assets/home.html");
const GRAPHIQL_HTML: &str = include_str!("../assets/graphiql.html");

pub(crate) async fn home() -> Html<&'static str> {
    Html(HOME_HTML)
}

/// GraphiQL for the data API.
pub(crate) async fn graphiql_data() -> Html<String> {
    Html(GRAPHIQL_HTML.replace("{{endpoint}}", "/graphql"))
}

/// GraphiQL for the metadata API: sign up, log in, define objects.
pub(crate) async fn graphiql_metadata() -> Html<String> {
    Html(GRAPHIQL_HTML.replace("{{endpoint}}", "/metadata"))
}

/// The reference pages of `docs/`, as the repository has them.
const DOCS: &[(&str, &str)] = &[
    (
        "ARCHITECTURE.md",
        include_str!("../../../docs/ARCHITECTURE.md"),
    ),
    ("admin.md", include_str!("../../../docs/admin.md")),
    ("api.md", include_str!("../../../docs/api.md")),
    ("modules.md", include_str!("../../../docs/modules.md")),
    (
        "performance.md",
        include_str!("../../../docs/performance.md"),
    ),
    ("scaling.md", include_str!("../../../docs/scaling.md")),
    ("security.md", include_str!("../../../docs/security.md")),
];

pub(crate) async fn doc_page(Path(page): Path<String>) -> Response {
    match DOCS.iter().find(|(name, _)| *name == page) {
        Some((_, text)) => (
            [
                (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *text,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// GraphiQL's files, served by the server itself (no CDN). Compressed by
/// the layer around this route when the browser accepts it.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let (body, ty): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// GraphQL over HTTP: a client that accepts `application/graphql-response+json`
/// gets it, with HTTP 400 for a request that could not run at all (no
/// `data`: it did not parse, validate or pass the limits).
pub(crate) async fn graphql_media_type(request: Request, next: Next) -> Response {
    let wants = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| accept.contains(GRAPHQL_RESPONSE));
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !wants || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // `"data": null` ran (a field error reached the root); no `data` did not.
    let ran = serde_json::from_slice::<
        std::collections::BTreeMap<String, &serde_json::value::RawValue>,
    >(&bytes)
    .is_ok_and(|top| top.contains_key("data"));
    if !ran && parts.status == StatusCode::OK {
        parts.status = StatusCode::BAD_REQUEST;
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(bytes))
}
