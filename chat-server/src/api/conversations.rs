//! Conversations and their messages over REST.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Auth, Body};
use super::paging::{self, PageQuery};
use crate::chat::Assignment;
use crate::error::Error;
use crate::model::ConversationStatus;
use crate::store::{Appended, AssigneeFilter, ConversationFilter};

pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
) -> Result<(StatusCode, Json<Value>), Error> {
    super::charge_write(&state, &by)?;
    let c = state.chat.create_conversation(&by).await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    assignee: Option<String>,
    label: Option<String>,
    team: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Error> {
    let status = q
        .status
        .as_deref()
        .map(str::parse::<ConversationStatus>)
        .transpose()
        .map_err(|e| Error::invalid("invalid_status", e))?;
    let assignee = match q.assignee.as_deref() {
        None | Some("") | Some("all") => AssigneeFilter::Any,
        Some("none") => AssigneeFilter::Unassigned,
        Some("me") => AssigneeFilter::Agent(by.id().to_string()),
        Some(id) => AssigneeFilter::Agent(id.to_string()),
    };
    let filter = ConversationFilter {
        status,
        assignee,
        visitor_id: None,
        label: q.label,
        team: q.team,
        ..ConversationFilter::default()
    };
    let page = q.page.page()?;
    let list = state.chat.list_conversations(&by, filter, &page).await?;
    Ok(Json(paging::body("conversations", list)))
}

pub async fn get(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    Ok(Json(json!(state.chat.conversation(&by, &id).await?)))
}

#[derive(Deserialize)]
pub struct MessagesQuery {
    after_seq: Option<u64>,
    limit: Option<u32>,
}

pub async fn messages(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Query(q): Query<MessagesQuery>,
) -> Result<Json<Value>, Error> {
    let list = state
        .chat
        .messages(&by, &id, q.after_seq.unwrap_or(0), q.limit.unwrap_or(100))
        .await?;
    Ok(Json(json!({"messages": list})))
}

#[derive(Deserialize)]
pub struct NewMessage {
    body: String,
    client_msg_id: Option<String>,
    #[serde(default)]
    attachments: Vec<String>,
    /// A private note (agents only).
    #[serde(default)]
    private: bool,
}

/// 201 with the message; a repeated `client_msg_id` answers 201 with the original message and
/// `Idempotent-Replayed: true`.
pub async fn send(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<NewMessage>,
) -> Result<(StatusCode, HeaderMap, Json<Value>), Error> {
    super::charge_write(&state, &by)?;
    let appended = state
        .chat
        .send_as(&by, &id, b.client_msg_id, b.body, &b.attachments, b.private)
        .await?;
    let mut headers = HeaderMap::new();
    if let Appended::Existing(_) = appended {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(json!(appended.message())),
    ))
}

/// A field given as `null` clears that side; one left out stays as it is.
#[derive(Deserialize)]
pub struct Assign {
    #[serde(default, deserialize_with = "present")]
    agent_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    team_id: Option<Option<String>>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`, the default).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub async fn assign(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Assign>,
) -> Result<Json<Value>, Error> {
    let to = Assignment {
        agent_id: b.agent_id,
        team_id: b.team_id,
    };
    Ok(Json(json!(state.chat.assign(&by, &id, to).await?)))
}

#[derive(Deserialize)]
pub struct SetStatus {
    status: String,
}

pub async fn status(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<SetStatus>,
) -> Result<Json<Value>, Error> {
    let status = b
        .status
        .parse()
        .map_err(|e| Error::invalid("invalid_status", e))?;
    Ok(Json(json!(state.chat.set_status(&by, &id, status).await?)))
}

#[derive(Deserialize)]
pub struct Labels {
    labels: Vec<String>,
}

pub async fn labels(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Labels>,
) -> Result<Json<Value>, Error> {
    super::charge_write(&state, &by)?;
    Ok(Json(json!(
        state.chat.set_labels(&by, &id, &b.labels).await?
    )))
}
