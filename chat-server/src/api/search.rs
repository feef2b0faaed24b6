//! Message search over REST.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Params};
use crate::chat::SearchHit;
use crate::error::Error;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words that must all appear, case and accents ignored ("cafe" finds "Café").
    #[serde(default)]
    q: String,
    /// The `next` cursor of the previous page.
    before: Option<String>,
    /// Results per page, 1 to 200 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

super::paging::page_body! {
    /// A page of search results, newest first.
    SearchPage { results: SearchHit }
}

#[utoipa::path(
    get, path = "/search", tag = "search", operation_id = "search_messages",
    summary = "Messages matching every word of q, private notes included (agent)",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of matching messages", body = SearchPage),
        (status = 400, description = "`invalid_query`: no word, or over 500 bytes; `invalid_limit`, \
                                      `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn search(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<SearchQuery>,
) -> Result<Json<SearchPage>, Error> {
    let page = crate::chat::paging::page(q.before.as_deref(), q.limit.as_deref())?;
    let hits = state.chat.search(&by, &q.q, page).await?;
    Ok(Json(hits.into()))
}
