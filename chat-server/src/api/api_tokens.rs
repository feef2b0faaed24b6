//! API tokens over REST (admin only).

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
    let page = state.chat.list_api_tokens(&by, q.page()?).await?;
    Ok(Json(paging::body("api_tokens", page)))
}

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewToken>,
) -> Result<(StatusCode, Json<Value>), Error> {
    super::charge_write(&state, &by)?;
    let made = state.chat.create_api_token(&by, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!(made))))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    super::charge_write(&state, &by)?;
    state.chat.delete_api_token(&by, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
