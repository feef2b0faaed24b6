//! Teams over REST.

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
use crate::model::Team;

super::paging::page_body! {
    /// A page of teams, newest first.
    TeamPage { teams: Team }
}

#[utoipa::path(
    get, path = "/teams", tag = "teams", operation_id = "list_teams",
    summary = "Teams (agent)",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of teams", body = TeamPage),
        (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<PageQuery>,
) -> Result<Json<TeamPage>, Error> {
    let page = state.chat.list_teams(&by, q.page()?).await?;
    Ok(Json(page.into()))
}

#[utoipa::path(
    get, path = "/teams/{id}", tag = "teams", operation_id = "get_team",
    summary = "One team (agent)",
    params(("id" = String, Path, description = "Team id")),
    responses(
        (status = 200, description = "The team", body = Team),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<Team>, Error> {
    Ok(Json(state.chat.team(&by, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewTeam {
    /// Unique, ignoring case.
    name: String,
    #[serde(default)]
    agent_ids: Vec<String>,
}

#[utoipa::path(
    post, path = "/teams", tag = "teams", operation_id = "create_team",
    summary = "Create a team (admin)",
    request_body = NewTeam,
    responses(
        (status = 201, description = "The new team", body = Team),
        (status = 400, description = "`invalid_name`, `unknown_agent`, `too_many_agents`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 409, description = "`duplicate_team`: another team has this name", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewTeam>,
) -> Result<(StatusCode, Json<Team>), Error> {
    super::charge_write(&state, &by)?;
    let team = state.chat.create_team(&by, &b.name, b.agent_ids).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// Any of the fields; one left out stays as it is.
#[derive(Deserialize, ToSchema)]
pub struct TeamChange {
    name: Option<String>,
    /// The members from now on.
    agent_ids: Option<Vec<String>>,
}

#[utoipa::path(
    patch, path = "/teams/{id}", tag = "teams", operation_id = "change_team",
    summary = "Rename a team or set its members (admin)",
    params(("id" = String, Path, description = "Team id")),
    request_body = TeamChange,
    responses(
        (status = 200, description = "The team as changed", body = Team),
        (status = 400, description = "`invalid_name`, `unknown_agent`, `too_many_agents`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`duplicate_team`: another team has this name", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<TeamChange>,
) -> Result<Json<Team>, Error> {
    super::charge_write(&state, &by)?;
    let team = state
        .chat
        .update_team(&by, &id, b.name, b.agent_ids)
        .await?;
    Ok(Json(team))
}

#[utoipa::path(
    delete, path = "/teams/{id}", tag = "teams", operation_id = "delete_team",
    summary = "Delete a team (admin)",
    description = "Its conversations lose their team.",
    params(("id" = String, Path, description = "Team id")),
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
    state.chat.delete_team(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
