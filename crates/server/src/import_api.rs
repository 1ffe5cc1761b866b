//! `POST /import/{object}`: a streaming import for apps. The body is JSON
//! Lines, read as it arrives; the answer is JSON Lines too, one progress
//! line per chunk written (`{"processed": N}`) and a last line with the
//! report (`{"imported": N, "refused": N, "errors": [...]}`), all in one
//! transaction as `importRecords`.

use rapport_graphql::ErrorCode;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rapport_store::{Import, ImportReport, Record, StatementCounter, StoreError};
use serde_json::{Value, json};

use crate::admission::{Refusal, accept_caller};
use crate::app::App;

const CHUNK: usize = 5000;

#[derive(serde::Deserialize)]
pub(crate) struct ImportParams {
    #[serde(default, rename = "skipInvalid")]
    skip_invalid: bool,
}

fn line(v: Value) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!("{v}\n")))
}

pub(crate) async fn import(
    State(app): State<Arc<App>>,
    Path(object): Path<String>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (principal, live, access) = match accept_caller(&app, &headers).await {
        Ok(ok) => ok,
        Err(r) => return r.into_response(),
    };
    if let Err(e) = access.write_filter(&object, rapport_graphql::WriteOp::Create) {
        return Refusal::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, e.to_string())
            .into_response();
    }
    if live.meta.catalog.object(&object).is_none() {
        return Refusal::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no object named `{object}`"),
        )
        .into_response();
    }
    let store = live.store.scoped(access.read_scopes(&live.meta.catalog));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(8);
    tokio::spawn(async move {
        let counter = StatementCounter::default();
        let actor = principal.actor();
        let job = Job {
            catalog: &live.meta.catalog,
            access: &access,
            object: &object,
            progress: &tx,
        };
        let outcome = async {
            let import = store
                .begin_import(&counter, &actor, &object, params.skip_invalid)
                .await?;
            job.run(import, body).await
        }
        .await;
        let written = app.wrote(&principal.id).await;
        let _ = tx.send(line(last_line(outcome, written))).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// One streamed import: what its lines are checked against, and where
/// its progress goes.
struct Job<'a> {
    catalog: &'a rapport_meta::Catalog,
    access: &'a rapport_graphql::Access,
    object: &'a str,
    progress: &'a tokio::sync::mpsc::Sender<Result<Bytes, Infallible>>,
}

impl Job<'_> {
    /// Reads the body line by line as it arrives, writing a chunk at a time.
    async fn run(&self, mut import: Import<'_>, body: Body) -> Result<ImportReport, StoreError> {
        let (mut pending, mut number, mut chunk) = (Vec::new(), 0usize, Vec::new());
        let mut stream = body.into_data_stream();
        let mut done = false;
        while !done {
            match stream.next().await {
                Some(Ok(bytes)) => pending.extend_from_slice(&bytes),
                Some(Err(_)) => return Err(StoreError::bad("body", "the upload broke off")),
                None => {
                    done = true;
                    pending.push(b'\n');
                }
            }
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let text: Vec<u8> = pending.drain(..=end).collect();
                number += 1;
                self.take(
                    &mut import,
                    number,
                    &String::from_utf8_lossy(&text),
                    &mut chunk,
                );
                if chunk.len() == CHUNK {
                    import.push(std::mem::take(&mut chunk)).await?;
                    let _ = self
                        .progress
                        .send(line(json!({ "processed": number })))
                        .await;
                }
            }
        }
        if !chunk.is_empty() {
            import.push(chunk).await?;
        }
        import.finish().await
    }

    /// Line `number`: a record for the chunk, or a refusal in the report.
    fn take(
        &self,
        import: &mut Import<'_>,
        number: usize,
        text: &str,
        chunk: &mut Vec<(usize, Record)>,
    ) {
        if text.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(mut m)) => {
                if let Some(field) = self.access.unwritable(self.catalog, self.object, &m) {
                    let reason = format!(
                        "the `{}` role may not write this field",
                        self.access.role.name
                    );
                    import.reject_field(number, field, reason);
                    return;
                }
                if let Some(owner) = &self.access.member_id
                    && !m.contains_key("ownerId")
                {
                    m.insert("ownerId".into(), Value::String(owner.clone()));
                }
                chunk.push((number, m));
            }
            Ok(_) => import.reject(number, "a line must be a JSON object"),
            Err(e) => import.reject(number, format!("not JSON: {e}")),
        }
    }
}

/// The answer's last line: the report, or the error that undid the import.
fn last_line(
    outcome: Result<ImportReport, StoreError>,
    written: Option<rapport_store::Lsn>,
) -> Value {
    let mut last = match outcome {
        Ok(report) => report.to_json(),
        Err(e) => {
            let error = rapport_graphql::store_error(e);
            json!({ "errors": [{ "message": error.message, "extensions": error.extensions }] })
        }
    };
    // The answer's headers left before the import ended: the write's log
    // position (see `x-rapport-write-lsn`) travels in the report.
    if let (Some(lsn), Some(report)) = (written, last.as_object_mut()) {
        report.insert("writeLsn".into(), rapport_store::format_lsn(lsn).into());
    }
    last
}
