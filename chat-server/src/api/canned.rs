//! Canned responses over REST.

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
    let page = state.chat.list_canned_responses(&by, q.page()?).await?;
    Ok(Json(paging::body("canned_responses", page)))
}

#[derive(Deserialize)]
pub struct Canned {
    shortcut: String,
    body: String,
}

pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<Canned>,
) -> Result<(StatusCode, Json<Value>), Error> {
    super::charge_write(&state, &by)?;
    let canned = state
        .chat
        .create_canned_response(&by, &b.shortcut, &b.body)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(canned))))
}

pub async fn replace(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Canned>,
) -> Result<Json<Value>, Error> {
    super::charge_write(&state, &by)?;
    let canned = state
        .chat
        .replace_canned_response(&by, &id, &b.shortcut, &b.body)
        .await?;
    Ok(Json(json!(canned)))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    super::charge_write(&state, &by)?;
    state.chat.delete_canned_response(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
