//! Attachments: hand out upload URLs, and redirect downloads to short-lived URLs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body};
use crate::error::Error;

#[derive(Deserialize, ToSchema)]
pub struct NewUpload {
    conversation_id: String,
    filename: String,
    content_type: String,
    /// In bytes; at most the tenant's upload limit.
    size: u64,
}

/// Where and how to upload the bytes; the attachment may be named in a message once they are
/// there.
#[derive(Serialize, ToSchema)]
pub struct UploadTicket {
    attachment_id: String,
    upload_url: String,
    expires_at: DateTime<Utc>,
    /// Always `PUT`.
    method: &'static str,
    /// Headers the PUT must carry exactly (lower-case names): Content-Type, and whatever else the
    /// URL signs (S3's `if-none-match: *`, which makes the URL single-use).
    headers: BTreeMap<String, String>,
}

#[utoipa::path(
    post, path = "/uploads", tag = "attachments", operation_id = "create_upload",
    summary = "Get a URL to upload an attachment to",
    description = "A presigned PUT on the tenant's bucket (or the server's own blob route with the \
                   embedded store), valid until `expires_at` and usable once.",
    request_body = NewUpload,
    responses(
        (status = 201, description = "The upload URL", body = UploadTicket),
        (status = 400, description = "`invalid_filename`, `invalid_content_type`, `empty_upload`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another visitor's conversation", body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation", body = ErrorBody),
        (status = 413, description = "`upload_too_large`: over the tenant's upload limit", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewUpload>,
) -> Result<(StatusCode, Json<UploadTicket>), Error> {
    super::charge_write(&state, &by)?;
    let upload = state
        .chat
        .create_upload(
            &by,
            &b.conversation_id,
            &b.filename,
            &b.content_type,
            b.size,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadTicket {
            headers: upload_headers(&upload),
            attachment_id: upload.attachment.id,
            upload_url: upload.url.url,
            expires_at: upload.url.expires_at,
            method: "PUT",
        }),
    ))
}

/// What the client must send with its PUT: the signed Content-Type, and whatever else the
/// store signed (S3's `If-None-Match: *`, which makes the URL single-use).
fn upload_headers(upload: &crate::chat::Upload) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    headers.insert(
        "content-type".into(),
        upload.attachment.content_type.clone(),
    );
    for (name, value) in &upload.url.headers {
        headers.insert((*name).into(), value.clone());
    }
    headers
}

/// A short-lived URL of an attachment's bytes.
#[derive(Serialize, ToSchema)]
pub struct DownloadLink {
    url: String,
    expires_at: DateTime<Utc>,
}

/// A redirect, or with `Accept: application/json` the URL itself. Browsers follow a redirect of
/// a cross-origin request to a third origin (the bucket) with `Origin: null`, which no CORS rule
/// should admit, so the widget and console ask for the URL and fetch it from their own origin.
#[utoipa::path(
    get, path = "/attachments/{id}", tag = "attachments", operation_id = "download_attachment",
    summary = "An attachment's bytes: a redirect, or the URL with Accept: application/json",
    description = "Browsers should ask for JSON and fetch the URL from their own origin: a \
                   redirect of a cross-origin request to the bucket arrives with `Origin: null`.",
    params(("id" = String, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "With `Accept: application/json`: the URL", body = DownloadLink),
        (status = 307, description = "Otherwise: a redirect to the URL",
         headers(("Location" = String, description = "The short-lived URL"))),
        (status = 403, description = "`forbidden`: another visitor's conversation", body = ErrorBody),
        (status = 404, description = "`not_found`: no such attachment; to a visitor also a private note's file, \
                                      or one an agent has not sent yet", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn download(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let url = state.chat.attachment_url(&by, &id).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        let link = DownloadLink {
            url: url.url,
            expires_at: url.expires_at,
        };
        return Ok(Json(link).into_response());
    }
    Ok(Redirect::temporary(&url.url).into_response())
}
