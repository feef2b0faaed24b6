//! Canned responses over REST.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body, Params};
use super::paging::PageQuery;
use crate::error::Error;
use crate::model::CannedResponse;

super::paging::page_body! {
    /// A page of canned responses, newest first.
    CannedResponsePage { canned_responses: CannedResponse }
}

#[utoipa::path(
    get, path = "/canned-responses", tag = "canned responses", operation_id = "list_canned_responses",
    summary = "Canned responses (agent)",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of canned responses", body = CannedResponsePage),
        (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<PageQuery>,
) -> Result<Json<CannedResponsePage>, Error> {
    let page = state.chat.list_canned_responses(&by, q.page()?).await?;
    Ok(Json(page.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct Canned {
    /// What the agent types after `/` to insert it: unique, ignoring case.
    shortcut: String,
    body: String,
}

#[utoipa::path(
    post, path = "/canned-responses", tag = "canned responses", operation_id = "create_canned_response",
    summary = "Create a canned response (admin)",
    request_body = Canned,
    responses(
        (status = 201, description = "The new canned response", body = CannedResponse),
        (status = 400, description = "`invalid_shortcut`, `empty_body`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 409, description = "`duplicate_shortcut`", body = ErrorBody),
        (status = 413, description = "`body_too_large`: longer than a message may be", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<Canned>,
) -> Result<(StatusCode, Json<CannedResponse>), Error> {
    super::charge_write(&state, &by)?;
    let canned = state
        .chat
        .create_canned_response(&by, &b.shortcut, &b.body)
        .await?;
    Ok((StatusCode::CREATED, Json(canned)))
}

#[utoipa::path(
    put, path = "/canned-responses/{id}", tag = "canned responses", operation_id = "replace_canned_response",
    summary = "Replace a canned response (admin)",
    params(("id" = String, Path, description = "Canned response id")),
    request_body = Canned,
    responses(
        (status = 200, description = "The canned response as replaced", body = CannedResponse),
        (status = 400, description = "`invalid_shortcut`, `empty_body`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`duplicate_shortcut`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn replace(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Canned>,
) -> Result<Json<CannedResponse>, Error> {
    super::charge_write(&state, &by)?;
    let canned = state
        .chat
        .replace_canned_response(&by, &id, &b.shortcut, &b.body)
        .await?;
    Ok(Json(canned))
}

#[utoipa::path(
    delete, path = "/canned-responses/{id}", tag = "canned responses", operation_id = "delete_canned_response",
    summary = "Delete a canned response (admin)",
    params(("id" = String, Path, description = "Canned response id")),
    responses(
        (status = 204, description = "Deleted"),
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
    state.chat.delete_canned_response(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
