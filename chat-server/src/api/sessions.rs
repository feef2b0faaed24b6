//! Agents' accounts over time: an admin's changes and removals, password changes and logout.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body, Session};
use crate::chat::AgentChange;
use crate::error::Error;
use crate::model::{Agent, Role};

/// Any of the fields; one left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeAgent {
    name: Option<String>,
    role: Option<Role>,
    disabled: Option<bool>,
    /// Team ids: the agent becomes a member of exactly these.
    teams: Option<Vec<String>>,
}

#[utoipa::path(
    patch, path = "/agents/{id}", tag = "identity", operation_id = "change_agent",
    summary = "Change an agent (admin)",
    description = "Disabling an agent or changing its role revokes its tokens on every replica: \
                   REST answers 401 `token_revoked` and its websockets close with 4001.",
    params(("id" = String, Path, description = "Agent id")),
    request_body = ChangeAgent,
    responses(
        (status = 200, description = "The agent as changed", body = Agent),
        (status = 400, description = "`invalid_name`, `unknown_team`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such agent", body = ErrorBody),
        (status = 409, description = "`last_admin`: would disable or demote the last enabled admin", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn change(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<ChangeAgent>,
) -> Result<Json<Agent>, Error> {
    let change = AgentChange {
        name: b.name,
        role: b.role,
        disabled: b.disabled,
        teams: b.teams,
    };
    let agent = state.chat.change_agent(&by, &id, change).await?;
    Ok(Json(agent))
}

#[utoipa::path(
    delete, path = "/agents/{id}", tag = "identity", operation_id = "delete_agent",
    summary = "Remove an agent (admin)",
    description = "Its open conversations become unassigned; its tokens are revoked at once.",
    params(("id" = String, Path, description = "Agent id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such agent", body = ErrorBody),
        (status = 409, description = "`last_admin`: the last enabled admin", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    state.chat.delete_agent(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePassword {
    current_password: String,
    /// At least 12 characters, not on the common-password list.
    new_password: String,
}

#[utoipa::path(
    post, path = "/agents/me/password", tag = "identity", operation_id = "change_password",
    summary = "Change the caller's own password (agent)",
    description = "Every other token of the agent is revoked; the one making the call keeps working.",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "`weak_password`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent; `wrong_password`: current_password \
                                      is wrong", body = ErrorBody),
        (status = 409, description = "`no_password`: the account signs in through single sign-on", body = ErrorBody),
        (status = 503, description = "`busy`: too many password checks at once (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn password(
    State(state): State<AppState>,
    Session(who): Session,
    Body(b): Body<ChangePassword>,
) -> Result<StatusCode, Error> {
    state
        .chat
        .change_password(&who, &b.current_password, &b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/auth/logout", tag = "identity", operation_id = "logout",
    summary = "End the sign-in session the token belongs to",
    description = "Its tokens are revoked on every replica (REST 401 `token_revoked`, websockets \
                   close with 4001); other sessions of the same agent keep working.",
    responses((status = 204, description = "Signed out")),
    security(("bearer" = [])),
)]
pub async fn logout(
    State(state): State<AppState>,
    Session(who): Session,
) -> Result<StatusCode, Error> {
    state.chat.logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}
