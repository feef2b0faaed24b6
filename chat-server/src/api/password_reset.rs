//! Password reset by mail: ask for a link (202 whatever the email), then use it once.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::extract::{Body, ClientIp};
use crate::error::Error;

#[derive(Deserialize)]
pub struct ResetRequest {
    email: String,
}

/// Limited per address and per email before anything is looked up.
pub async fn request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(b): Body<ResetRequest>,
) -> Result<StatusCode, Error> {
    state.limits.check_reset(ip, &b.email)?;
    state.chat.request_password_reset(&b.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct ResetConfirm {
    token: String,
    new_password: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    Body(b): Body<ResetConfirm>,
) -> Result<StatusCode, Error> {
    state
        .chat
        .confirm_password_reset(&b.token, &b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
