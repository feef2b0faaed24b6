//! Agents' accounts over time: an admin's changes and removals, password changes and logout.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Auth, Body, Session};
use crate::chat::AgentChange;
use crate::error::Error;
use crate::model::Role;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeAgent {
    name: Option<String>,
    role: Option<Role>,
    disabled: Option<bool>,
    teams: Option<Vec<String>>,
}

pub async fn change(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<ChangeAgent>,
) -> Result<Json<Value>, Error> {
    let change = AgentChange {
        name: b.name,
        role: b.role,
        disabled: b.disabled,
        teams: b.teams,
    };
    let agent = state.chat.change_agent(&by, &id, change).await?;
    Ok(Json(json!(agent)))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    state.chat.delete_agent(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

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

pub async fn logout(
    State(state): State<AppState>,
    Session(who): Session,
) -> Result<StatusCode, Error> {
    state.chat.logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}
