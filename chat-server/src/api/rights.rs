//! Data rights over REST: the tenant export and erasing a visitor (transcripts are in
//! `transcript.rs`, retention runs by itself).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ErrorBody;
use super::extract::Auth;
use crate::chat::ErasedVisitor;
use crate::error::Error;

#[utoipa::path(
    get, path = "/export", tag = "data rights", operation_id = "export_tenant",
    summary = "The whole tenant as NDJSON (admin)",
    description = "One JSON object per line, each with a `kind`: `export` (first), `agent` \
                   (without password hashes), `team`, `canned_response`, `visitor`, \
                   `conversation`, then that conversation's `message`s and `note`s (ascending \
                   seq) and `attachment` records (the files stay in the bucket), and `end` \
                   (last, with `counts` by kind). Streamed as it is read from the store; an \
                   export without its `end` line is incomplete (a failure midway writes an \
                   `error` line and aborts the transfer).",
    responses(
        (status = 200, description = "The export", content_type = "application/x-ndjson",
         headers(("Content-Disposition" = String, description = "attachment; filename=\"atendo-export-<time>.ndjson\""))),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn export(State(state): State<AppState>, Auth(by): Auth) -> Result<Response, Error> {
    let lines = state.chat.export(&by)?;
    let filename = format!(
        "atendo-export-{}.ndjson",
        crate::model::now().format("%Y%m%dT%H%M%SZ")
    );
    let mut response = Body::from_stream(lines).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(
    delete, path = "/visitors/{id}", tag = "data rights", operation_id = "erase_visitor",
    summary = "Erase a visitor and everything it started (admin; GDPR/LGPD)",
    description = "Revokes the visitor's tokens (its sockets close with 4001 on every replica), \
                   then removes every conversation it started with their messages, notes, read \
                   state and attachments (records and files in the bucket), the mails about \
                   them in the outbox (sent or not) and their webhook deliveries, then the \
                   visitor. \
                   When a file cannot be deleted the answer is 503 `erase_incomplete` and the \
                   conversation holding it is kept: the same request later finishes the job.",
    params(("id" = String, Path, description = "Visitor id")),
    responses(
        (status = 200, description = "What was erased", body = ErasedVisitor),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such visitor (or already erased)", body = ErrorBody),
        (status = 503, description = "`erase_incomplete`: a file could not be deleted from \
                                      storage; run it again", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn erase_visitor(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<ErasedVisitor>, Error> {
    Ok(Json(state.chat.erase_visitor(&by, &id).await?))
}
