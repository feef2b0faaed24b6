//! Password reset by mail: ask for a link (202 whatever the email), then use it once.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Body, ClientIp};
use crate::error::Error;

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    email: String,
}

/// Limited per address and per email before anything is looked up.
#[utoipa::path(
    post, path = "/agents/password-reset", tag = "identity", operation_id = "request_password_reset",
    summary = "Mail a single-use password-reset link (public)",
    description = "202 whatever the email (no account oracle); an enabled agent with a password gets \
                   a link valid 30 minutes.",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Accepted"),
        (status = 429, description = "`rate_limited`: per address or per email (Retry-After)", body = ErrorBody),
        (status = 503, description = "`mail_not_configured`: this server sends no mail", body = ErrorBody),
    ),
)]
pub async fn request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(b): Body<ResetRequest>,
) -> Result<StatusCode, Error> {
    state.limits.check_reset(ip, &b.email)?;
    state.chat.request_password_reset(&b.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    token: String,
    new_password: String,
}

#[utoipa::path(
    post, path = "/agents/password-reset/confirm", tag = "identity", operation_id = "confirm_password_reset",
    summary = "Set a new password with a reset link's token (public)",
    description = "Once per token; every token of the agent is revoked.",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "Password set"),
        (status = 400, description = "`invalid_reset_token`: unknown, used or expired; `weak_password`", body = ErrorBody),
    ),
)]
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
