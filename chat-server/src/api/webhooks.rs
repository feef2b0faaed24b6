//! Webhook endpoints over REST (admin only). The events and their signing are in docs/webhooks.md.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body, Params};
use super::paging::PageQuery;
use crate::chat::{DeliveryAttempt, NewWebhook, Webhook};
use crate::error::Error;

super::paging::page_body! {
    /// A page of webhook endpoints, newest first, without their secrets.
    WebhookPage { webhooks: Webhook }
}

super::paging::page_body! {
    /// A page of an endpoint's delivery attempts, newest first.
    DeliveryPage { deliveries: DeliveryAttempt }
}

#[derive(Deserialize, ToSchema)]
pub struct NewEndpoint {
    /// An http:// or https:// URL on a public address (unless CHAT_WEBHOOK_ALLOW_PRIVATE).
    url: String,
    /// Any of `conversation.created`, `conversation.updated`, `message.created`,
    /// `rating.created`.
    events: Vec<String>,
}

#[utoipa::path(
    post, path = "/webhooks", tag = "webhooks", operation_id = "create_webhook",
    summary = "Register a webhook endpoint (admin)",
    description = "The signing secret (`secret`, `whsec_…`) is in this answer only. Requests are \
                   signed as Standard Webhooks specifies; see docs/webhooks.md.",
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "The endpoint with its secret", body = NewWebhook),
        (status = 400, description = "`invalid_url` (not http(s), no host, does not resolve), \
                                      `webhook_url_forbidden` (resolves to a loopback, private, \
                                      link-local or other non-public address), `invalid_events`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewEndpoint>,
) -> Result<(StatusCode, Json<NewWebhook>), Error> {
    super::charge_write(&state, &by)?;
    let made = state.chat.create_webhook(&by, &b.url, &b.events).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(
    get, path = "/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    summary = "Webhook endpoints, without secrets (admin)",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of endpoints", body = WebhookPage),
        (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<PageQuery>,
) -> Result<Json<WebhookPage>, Error> {
    let page = state.chat.list_webhooks(&by, q.page()?).await?;
    Ok(Json(page.into()))
}

#[utoipa::path(
    get, path = "/webhooks/{id}", tag = "webhooks", operation_id = "get_webhook",
    summary = "One webhook endpoint, without its secret (admin)",
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The endpoint", body = Webhook),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, Error> {
    Ok(Json(state.chat.webhook(&by, &id).await?))
}

#[utoipa::path(
    delete, path = "/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook",
    summary = "Remove a webhook endpoint and its pending deliveries (admin)",
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Removed"),
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
    state.chat.delete_webhook(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries",
    summary = "An endpoint's recent delivery attempts, newest first (admin)",
    params(("id" = String, Path, description = "Webhook id"), PageQuery),
    responses(
        (status = 200, description = "A page of attempts", body = DeliveryPage),
        (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<DeliveryPage>, Error> {
    let page = state.chat.webhook_deliveries(&by, &id, q.page()?).await?;
    Ok(Json(page.into()))
}
