//! API tokens over REST (admin only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body, Params};
use super::paging::PageQuery;
use crate::chat::NewApiToken;
use crate::error::Error;
use crate::model::ApiToken;

super::paging::page_body! {
    /// A page of API tokens, newest first, without their secrets.
    ApiTokenPage { api_tokens: ApiToken }
}

#[utoipa::path(
    get, path = "/api-tokens", tag = "identity", operation_id = "list_api_tokens",
    summary = "API tokens for integrations, without secrets (admin)",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of API tokens", body = ApiTokenPage),
        (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<PageQuery>,
) -> Result<Json<ApiTokenPage>, Error> {
    let page = state.chat.list_api_tokens(&by, q.page()?).await?;
    Ok(Json(page.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    /// What uses the token (1 to 100 characters).
    name: String,
}

#[utoipa::path(
    post, path = "/api-tokens", tag = "identity", operation_id = "create_api_token",
    summary = "Make an API token for an integration (admin)",
    description = "The secret (`token`) is in this answer only. An API token acts as an agent on \
                   REST, never on the websocket.",
    request_body = NewToken,
    responses(
        (status = 201, description = "The token with its secret", body = NewApiToken),
        (status = 400, description = "`invalid_name`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewToken>,
) -> Result<(StatusCode, Json<NewApiToken>), Error> {
    super::charge_write(&state, &by)?;
    let made = state.chat.create_api_token(&by, &b.name).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(
    delete, path = "/api-tokens/{id}", tag = "identity", operation_id = "delete_api_token",
    summary = "Revoke an API token (admin)",
    params(("id" = String, Path, description = "API token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    super::charge_write(&state, &by)?;
    state.chat.delete_api_token(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
