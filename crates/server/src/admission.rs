//! Whether a request may run, decided before any GraphQL does: who calls
//! (the bearer token), their request budget, and the document's limits
//! (nesting, depth, cost). A refusal is an HTTP status with the contract's
//! error body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use rapport_graphql::ErrorCode;
use rapport_store::Principal;

use crate::app::App;
use crate::metrics::Metrics;

pub(crate) fn error_response(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
) -> axum::response::Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A request refused before GraphQL runs.
pub(crate) struct Refusal {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after: Option<u64>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `INTERNAL`, with no detail; the cause is logged.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Refusal {
        tracing::error!(error = %cause, "caller's workspace or access unavailable");
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        )
    }

    /// `RATE_LIMITED`, with the seconds until the budget resets.
    pub(crate) fn rate_limited(message: &str, retry_after: u64) -> Refusal {
        Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: ErrorCode::RateLimited,
            message: message.into(),
            retry_after: Some(retry_after),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> axum::response::Response {
        let Some(secs) = self.retry_after else {
            return error_response(self.status, self.code, &self.message);
        };
        let body = serde_json::json!({ "errors": [{ "message": self.message,
            "extensions": { "code": self.code.as_str(), "retryAfter": secs } }] });
        (
            self.status,
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::RETRY_AFTER, secs.to_string()),
            ],
            body.to_string(),
        )
            .into_response()
    }
}

/// The key behind `Authorization: Bearer …`, or the response refusing the request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

pub(crate) async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, Refusal> {
    let token = bearer(headers);
    let refuse = |message: &str| {
        Metrics::add(&app.metrics.unauthenticated, 1);
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            message,
        )
    };
    let Some(token) = token else {
        return Err(refuse("send `Authorization: Bearer <token>`"));
    };
    match app.authenticate(token).await {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(refuse("unknown or revoked token")),
        Err(e) => {
            tracing::error!(error = %e, "authentication failed");
            Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            ))
        }
    }
}

pub(crate) type Parsed = Option<Arc<crate::parsed::Parsed>>;

/// A document refused by the limits, as the answer to its request.
pub(crate) fn limit_refusal(app: &App, refusal: rapport_graphql::limits::Refusal) -> Refusal {
    Metrics::add(&app.metrics.refused_documents, 1);
    Refusal::new(StatusCode::OK, refusal.code(), refusal.to_string())
}

/// Parses a GraphQL POST body (`application/json`), refusing garbage with a
/// code, and applies the limits that need no schema (text nesting, input
/// depth, fragment cycles, data depth). The parsed document comes back too
/// when the query parses.
pub(crate) fn parse_request(
    app: &App,
    body: &Bytes,
) -> Result<(async_graphql::Request, Parsed), Refusal> {
    let mut request = serde_json::from_slice::<async_graphql::Request>(body).map_err(|e| {
        // The JSON reader stops at 128 levels, before the input depth is
        // checked: the same refusal, in the same words.
        let message = if e.to_string().starts_with("recursion limit exceeded") {
            rapport_graphql::limits::Refusal::InputTooDeep.to_string()
        } else {
            format!("not a GraphQL request: {e}")
        };
        Refusal::new(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, message)
    })?;
    if request.query.trim().is_empty() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "the request has no `query`",
        ));
    }
    rapport_graphql::limits::check_variables(&request.variables)
        .map_err(|r| limit_refusal(app, r))?;
    let Some(parsed) = app
        .parsed
        .get(&request.query)
        .map_err(|r| limit_refusal(app, r))?
    else {
        return Ok((request, None));
    };
    if let Err(refusal) = &parsed.shape {
        return Err(limit_refusal(app, refusal.clone()));
    }
    request.set_parsed_query(parsed.doc.clone());
    Ok((request, Some(parsed)))
}

/// Refuses a document that costs more than the limit (lists weighted by
/// their pages, fragments at every spread).
pub(crate) fn check_cost(app: &App, cost: u64) -> Result<(), Refusal> {
    let limit = app.max_query_cost.load(Ordering::Relaxed);
    if cost > limit {
        return Err(limit_refusal(
            app,
            rapport_graphql::limits::Refusal::TooCostly { cost, limit },
        ));
    }
    Ok(())
}

/// The caller's key and its GraphQL request, or why neither is acceptable.
pub(crate) async fn accept(
    app: &App,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Principal, async_graphql::Request, Parsed), Refusal> {
    let principal = authenticate(app, headers).await?;
    admit(app, &principal)?;
    let (request, parsed) = parse_request(app, body)?;
    Ok((principal, request, parsed))
}

/// Who an anonymous request comes from: the address a trusted proxy names
/// (`RAPPORT_CLIENT_IP_HEADER`), or the connection's peer.
pub(crate) fn client_address(app: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    if let Some(name) = &app.client_ip_header
        && let Some(v) = headers.get(name).and_then(|v| v.to_str().ok())
    {
        // A proxy appends the address it saw last.
        return v.rsplit(',').next().unwrap_or(v).trim().to_string();
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// An authenticated, admitted caller of the data API: their workspace's live
/// schema and what they may do in it.
pub(crate) async fn accept_caller(
    app: &App,
    headers: &HeaderMap,
) -> Result<(Principal, Arc<crate::live::Live>, rapport_graphql::Access), Refusal> {
    let principal = authenticate_admitted(app, headers).await?;
    let live = app
        .live_for(&principal.workspace_id)
        .await
        .map_err(Refusal::internal)?;
    let access = app
        .access_for(&principal, &live)
        .await
        .map_err(Refusal::internal)?;
    Ok((principal, live, access))
}

/// The caller's request budget: `RATE_LIMITED` with `retryAfter` when spent.
pub(crate) fn admit(app: &App, principal: &Principal) -> Result<(), Refusal> {
    app.admit(&principal.id).map_err(|retry_after| {
        Metrics::add(&app.metrics.rate_limited, 1);
        Refusal::rate_limited("too many requests", retry_after)
    })
}

/// An authenticated caller within their request budget.
pub(crate) async fn authenticate_admitted(
    app: &App,
    headers: &HeaderMap,
) -> Result<Principal, Refusal> {
    let principal = authenticate(app, headers).await?;
    admit(app, &principal)?;
    Ok(principal)
}
