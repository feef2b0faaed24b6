//! Conversations and their messages over REST.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Body};
use crate::model::ConversationStatus;
use crate::store::{Appended, AssigneeFilter, ConversationFilter};

pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    super::charge_write(&state, &by)?;
    let c = state.chat.create_conversation(&by).await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    assignee: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(str::parse::<ConversationStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e))?;
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
        before_id: q.before,
        limit: q.limit.unwrap_or(50),
    };
    let list = state.chat.list_conversations(&by, filter).await?;
    Ok(Json(json!({"conversations": list})))
}

pub async fn get(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.chat.authorize(&by, &id).await?)))
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
) -> Result<Json<Value>, ApiError> {
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
}

/// 201 with the message; a repeated `client_msg_id` answers 201 with the original message and
/// `Idempotent-Replayed: true`.
pub async fn send(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<NewMessage>,
) -> Result<(StatusCode, HeaderMap, Json<Value>), ApiError> {
    super::charge_write(&state, &by)?;
    let appended = state
        .chat
        .send(&by, &id, b.client_msg_id, b.body, &b.attachments)
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

#[derive(Deserialize)]
pub struct Assign {
    agent_id: Option<String>,
}

pub async fn assign(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Assign>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.chat.assign(&by, &id, b.agent_id).await?)))
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
) -> Result<Json<Value>, ApiError> {
    let status = b
        .status
        .parse()
        .map_err(|e| ApiError::bad_request("invalid_status", e))?;
    Ok(Json(json!(state.chat.set_status(&by, &id, status).await?)))
}
