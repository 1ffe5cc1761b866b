//! `POST /files` uploads an attachment's file; `GET /files/{id}` downloads
//! it. Both act as the caller: an upload is the `create` of an `attachment`
//! record (with the caller's rights, on a related record they can read),
//! and a download reads that record through the caller's record scopes.

use rapport_graphql::ErrorCode;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_files::FileError;
use rapport_store::{StatementCounter, StoreError};
use serde_json::{Value, json};

use crate::admission::{Refusal, accept_caller};
use crate::app::App;

#[derive(serde::Deserialize)]
pub(crate) struct UploadParams {
    #[serde(rename = "fileName")]
    file_name: Option<String>,
    #[serde(rename = "relatedObject")]
    related_object: Option<String>,
    #[serde(rename = "relatedId")]
    related_id: Option<String>,
}

fn store_refusal(e: StoreError) -> Refusal {
    let (status, code) = match &e {
        StoreError::BadInput { .. } => (StatusCode::BAD_REQUEST, ErrorCode::BadUserInput),
        StoreError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        StoreError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
        StoreError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
        StoreError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
        StoreError::Database(_) | StoreError::Internal(_) => {
            tracing::error!(error = %e, "file request failed");
            return Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            );
        }
    };
    Refusal::new(status, code, e.to_string())
}

fn file_refusal(e: FileError) -> Refusal {
    match e {
        FileError::TooLarge { .. } => Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadUserInput,
            e.to_string(),
        ),
        FileError::TypeRefused(_) | FileError::ContentMismatch(_) => Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            e.to_string(),
        ),
        FileError::NotFound => Refusal::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no file"),
        FileError::Storage(_) | FileError::Setup(_) => {
            tracing::error!(error = %e, "file storage failed");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            )
        }
    }
}

/// A file name as a person would give it: no path, no control characters.
fn file_name(given: Option<String>) -> Result<String, Refusal> {
    let bad = |reason: &str| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            format!("fileName: {reason}"),
        )
    };
    let name = given.ok_or_else(|| bad("give the file's name (?fileName=…)"))?;
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 255 {
        return Err(bad("1 to 255 bytes"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
        || name == "."
        || name == ".."
    {
        return Err(bad("a name without slashes or control characters"));
    }
    Ok(name)
}

fn unavailable() -> Response {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal,
        "this server keeps no files",
    )
    .into_response()
}

pub(crate) async fn upload(
    State(app): State<Arc<App>>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match upload_file(&app, params, &headers, body).await {
        Ok(record) => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            record.to_string(),
        )
            .into_response(),
        Err(r) => r.into_response(),
    }
}

async fn upload_file(
    app: &App,
    params: UploadParams,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Value, Refusal> {
    let Some(files) = app.files() else {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            "this server keeps no files",
        ));
    };
    let (principal, live, access) = accept_caller(app, headers).await?;
    access
        .write_filter("attachment", rapport_graphql::WriteOp::Create)
        .map_err(|e| Refusal::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, e.to_string()))?;
    let name = file_name(params.file_name)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let content_type = files.check(declared, &body).map_err(file_refusal)?;
    let store = live.store.scoped(access.read_scopes(&live.meta.catalog));
    let counter = StatementCounter::default();
    let tx = store
        .begin(&counter, &principal.actor())
        .await
        .map_err(store_refusal)?
        .guarded(access.write_guard(&live.meta.catalog));
    let mut input = json!({ "fileName": name, "contentType": content_type, "size": body.len() });
    match (params.related_object, params.related_id) {
        (Some(object), Some(id)) => {
            // Only to a record the caller can read.
            tx.get(&object, &id).await.map_err(store_refusal)?;
            input["relatedObject"] = json!(object);
            input["relatedId"] = json!(id);
        }
        (None, None) => {}
        _ => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "relatedObject and relatedId go together",
            ));
        }
    }
    if let Some(member) = &access.member_id {
        input["ownerId"] = json!(member);
    }
    let record = tx
        .create("attachment", input.as_object().cloned().unwrap_or_default())
        .await
        .map_err(store_refusal)?;
    let id = record["id"].as_str().unwrap_or_default().to_string();
    let workspace = &principal.workspace_id;
    files
        .put(workspace, &id, body)
        .await
        .map_err(file_refusal)?;
    if let Err(e) = tx.commit().await {
        let _ = files.delete(workspace, &id).await;
        return Err(store_refusal(e));
    }
    Ok(
        json!({ "id": id, "fileName": record["fileName"], "contentType": record["contentType"],
               "size": record["size"], "relatedObject": record["relatedObject"], "relatedId": record["relatedId"] }),
    )
}

pub(crate) async fn download(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(files) = app.files() else {
        return unavailable();
    };
    let (principal, live, access) = match accept_caller(&app, &headers).await {
        Ok(ok) => ok,
        Err(r) => return r.into_response(),
    };
    let store = live.store.scoped(access.read_scopes(&live.meta.catalog));
    let counter = StatementCounter::default();
    let record = match store.begin(&counter, &principal.actor()).await {
        Ok(tx) => tx.get("attachment", &id).await,
        Err(e) => Err(e),
    };
    let record = match record {
        Ok(r) => r,
        Err(e) => return store_refusal(e).into_response(),
    };
    let bytes = match files.get(&principal.workspace_id, &id).await {
        Ok(b) => b,
        Err(e) => return file_refusal(e).into_response(),
    };
    let name = record["fileName"].as_str().unwrap_or("file");
    let content_type = record["contentType"]
        .as_str()
        .filter(|t| files.check(t, &bytes).is_ok())
        .unwrap_or("application/octet-stream");
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    res
}
