//! Message search over REST.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::extract::Auth;
use super::paging;
use crate::error::Error;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    before: Option<String>,
    limit: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    Auth(by): Auth,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, Error> {
    let page = crate::chat::paging::page(q.before.as_deref(), q.limit.as_deref())?;
    let hits = state.chat.search(&by, &q.q, page).await?;
    Ok(Json(paging::body("results", hits)))
}
