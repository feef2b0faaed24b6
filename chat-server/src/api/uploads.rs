//! Attachments: hand out upload URLs, and redirect downloads to short-lived URLs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Auth, Body};
use crate::error::Error;

#[derive(Deserialize)]
pub struct NewUpload {
    conversation_id: String,
    filename: String,
    content_type: String,
    size: u64,
}

pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewUpload>,
) -> Result<(StatusCode, Json<Value>), Error> {
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
        Json(json!({
            "attachment_id": upload.attachment.id,
            "upload_url": upload.url.url,
            "expires_at": upload.url.expires_at,
            "method": "PUT",
            "headers": upload_headers(&upload),
        })),
    ))
}

/// What the client must send with its PUT: the signed Content-Type, and whatever else the
/// store signed (S3's `If-None-Match: *`, which makes the URL single-use).
fn upload_headers(upload: &crate::chat::Upload) -> Value {
    let mut headers = serde_json::Map::new();
    headers.insert(
        "content-type".into(),
        upload.attachment.content_type.clone().into(),
    );
    for (name, value) in &upload.url.headers {
        headers.insert((*name).into(), value.clone().into());
    }
    Value::Object(headers)
}

/// A redirect, or with `Accept: application/json` the URL itself. Browsers follow a redirect of
/// a cross-origin request to a third origin (the bucket) with `Origin: null`, which no CORS rule
/// should admit, so the widget and console ask for the URL and fetch it from their own origin.
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
        return Ok(Json(json!({"url": url.url, "expires_at": url.expires_at})).into_response());
    }
    Ok(Redirect::temporary(&url.url).into_response())
}
