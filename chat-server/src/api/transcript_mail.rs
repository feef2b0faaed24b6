//! A visitor's transcript by mail.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::Auth;
use crate::chat::TranscriptSends;
use crate::error::Error;

#[derive(Serialize, ToSchema)]
pub struct TranscriptMail {
    /// Where it goes: the visitor's email.
    email: String,
    /// `now` (the conversation is resolved) or `when_resolved`.
    sends: TranscriptSends,
}

#[utoipa::path(
    post, path = "/conversations/{id}/transcript/email", tag = "offline",
    operation_id = "email_transcript",
    summary = "Mail me this conversation's transcript when it is resolved (visitor)",
    description = "The transcript (text and HTML, never a private note) goes to the visitor's email \
                   when an agent resolves the conversation, or at once when it already is. Asking \
                   again replaces the earlier request.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 202, description = "Queued now, or when resolved", body = TranscriptMail),
        (status = 403, description = "`forbidden`: an agent token, or another visitor's conversation", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`visitor_email_missing`: set one with PATCH /visitors/me first", body = ErrorBody),
        (status = 503, description = "`mail_not_configured`: this server sends no mail", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn email(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TranscriptMail>), Error> {
    super::charge_write(&state, &by)?;
    let (email, sends) = state.chat.email_transcript(&by, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(TranscriptMail { email, sends })))
}
