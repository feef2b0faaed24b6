//! Teams over REST.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Auth, Body};
use super::paging::{self, PageQuery};
use crate::error::Error;

pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, Error> {
    let page = state.chat.list_teams(&by, q.page()?).await?;
    Ok(Json(paging::body("teams", page)))
}

pub async fn get(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    Ok(Json(json!(state.chat.team(&by, &id).await?)))
}

#[derive(Deserialize)]
pub struct NewTeam {
    name: String,
    #[serde(default)]
    agent_ids: Vec<String>,
}

pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewTeam>,
) -> Result<(StatusCode, Json<Value>), Error> {
    super::charge_write(&state, &by)?;
    let team = state.chat.create_team(&by, &b.name, b.agent_ids).await?;
    Ok((StatusCode::CREATED, Json(json!(team))))
}

#[derive(Deserialize)]
pub struct TeamChange {
    name: Option<String>,
    agent_ids: Option<Vec<String>>,
}

pub async fn update(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<TeamChange>,
) -> Result<Json<Value>, Error> {
    super::charge_write(&state, &by)?;
    let team = state
        .chat
        .update_team(&by, &id, b.name, b.agent_ids)
        .await?;
    Ok(Json(json!(team)))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    super::charge_write(&state, &by)?;
    state.chat.delete_team(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
