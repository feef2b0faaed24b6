//! Satisfaction ratings over REST.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body};
use crate::error::Error;
use crate::model::Rating;

#[derive(Deserialize, ToSchema)]
pub struct RateBody {
    /// 1 (very unsatisfied) to 5 (very satisfied). Read as any JSON value so that a wrong one
    /// is refused naming `score`.
    #[schema(value_type = u8, minimum = 1, maximum = 5)]
    score: Option<serde_json::Value>,
    /// At most 1000 characters (trimmed; blank is none).
    comment: Option<String>,
}

#[utoipa::path(
    post, path = "/conversations/{id}/rating", tag = "reports", operation_id = "rate_conversation",
    summary = "Rate a resolved conversation, once (its visitor)",
    description = "Agents see the rating as the conversation's `rating`.",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = RateBody,
    responses(
        (status = 201, description = "The stored rating", body = Rating),
        (status = 400, description = "`invalid_score`: not a whole number from 1 to 5; \
                                      `comment_too_long`: over 1000 characters", body = ErrorBody),
        (status = 403, description = "`forbidden`: not this conversation's visitor", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`already_rated`: rated before; `not_resolved`: open or \
                                      pending", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn rate(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(body): Body<RateBody>,
) -> Result<(StatusCode, Json<Rating>), Error> {
    super::charge_write(&state, &by)?;
    let rating = state
        .chat
        .rate(&by, &id, body.score.as_ref(), body.comment.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(rating)))
}
