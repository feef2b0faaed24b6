//! Attachments: hand out upload URLs, and redirect downloads to short-lived URLs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Body};

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
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
            "headers": {"content-type": upload.attachment.content_type},
        })),
    ))
}

pub async fn download(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Redirect, ApiError> {
    let url = state.chat.attachment_url(&by, &id).await?;
    Ok(Redirect::temporary(&url.url))
}
