//! Conversations and their messages over REST.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body, Params};
use crate::chat::Assignment;
use crate::error::Error;
use crate::model::{Conversation, ConversationStatus, Message};
use crate::store::{Appended, AssigneeFilter, ConversationFilter};

#[utoipa::path(
    post, path = "/conversations", tag = "conversations", operation_id = "create_conversation",
    summary = "Start a conversation (visitor)",
    responses(
        (status = 201, description = "The new conversation", body = Conversation),
        (status = 403, description = "`forbidden`: only visitors start conversations", body = ErrorBody),
        (status = 409, description = "`too_many_open_conversations`: continue an unresolved one", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(by): Auth,
) -> Result<(StatusCode, Json<Conversation>), Error> {
    super::charge_write(&state, &by)?;
    let c = state.chat.create_conversation(&by).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open`, `pending` or `resolved`.
    status: Option<String>,
    /// `me`, `none` (unassigned), `all`, or an agent id.
    assignee: Option<String>,
    /// Only conversations carrying this label.
    label: Option<String>,
    /// Only conversations routed to this team.
    team: Option<String>,
    /// The `next` cursor of the previous page.
    before: Option<String>,
    /// Conversations per page, 1 to 200 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

super::paging::page_body! {
    /// A page of conversations, newest first; to an agent each carries its `unread` count.
    ConversationPage { conversations: Conversation }
}

#[utoipa::path(
    get, path = "/conversations", tag = "conversations", operation_id = "list_conversations",
    summary = "Conversations, newest first",
    description = "Agents see the tenant's conversations; a visitor only its own.",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of conversations", body = ConversationPage),
        (status = 400, description = "`invalid_status`, `invalid_label`, `invalid_limit`, \
                                      `invalid_cursor`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<ListQuery>,
) -> Result<Json<ConversationPage>, Error> {
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
    let page = crate::chat::paging::page(q.before.as_deref(), q.limit.as_deref())?;
    let list = state.chat.list_conversations(&by, filter, &page).await?;
    Ok(Json(list.into()))
}

#[utoipa::path(
    get, path = "/conversations/{id}", tag = "conversations", operation_id = "get_conversation",
    summary = "One conversation",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation (as a visitor sees it, to its visitor)", body = Conversation),
        (status = 403, description = "`forbidden`: another visitor's conversation", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, Error> {
    Ok(Json(state.chat.conversation(&by, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Only messages with a higher seq (default 0: from the first).
    after_seq: Option<u64>,
    /// At most this many (default 100).
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    messages: Vec<Message>,
}

#[utoipa::path(
    get, path = "/conversations/{id}/messages", tag = "conversations", operation_id = "list_messages",
    summary = "A conversation's messages, ascending by seq",
    description = "A visitor never gets private notes.",
    params(("id" = String, Path, description = "Conversation id"), MessagesQuery),
    responses(
        (status = 200, description = "Messages with seq > after_seq", body = MessageList),
        (status = 403, description = "`forbidden`: another visitor's conversation", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn messages(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Params(q): Params<MessagesQuery>,
) -> Result<Json<MessageList>, Error> {
    let list = state
        .chat
        .messages(&by, &id, q.after_seq.unwrap_or(0), q.limit.unwrap_or(100))
        .await?;
    Ok(Json(MessageList { messages: list }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewMessage {
    body: String,
    /// The sender's id for this message: sending it again returns the original message.
    client_msg_id: Option<String>,
    /// Ids from `POST /api/v1/uploads` for this conversation, their bytes uploaded.
    #[serde(default)]
    attachments: Vec<String>,
    /// A private note (agents only).
    #[serde(default)]
    private: bool,
}

/// 201 with the message; a repeated `client_msg_id` answers 201 with the original message and
/// `Idempotent-Replayed: true`.
#[utoipa::path(
    post, path = "/conversations/{id}/messages", tag = "conversations", operation_id = "send_message",
    summary = "Send a message (same semantics as the websocket `send`)",
    description = "Durable before anyone is told. A repeated `client_msg_id` stores nothing new and \
                   answers 201 with the original message and `Idempotent-Replayed: true`. A visitor \
                   writing in a resolved conversation reopens it.",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "The stored message", body = Message,
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the original of a repeated client_msg_id"))),
        (status = 400, description = "`empty_body`, `invalid_client_msg_id`, `unknown_attachment`, \
                                      `too_many_attachments`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another visitor's conversation, or a visitor's \
                                      private note", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`duplicate_client_msg_id`: used by someone else; \
                                      `attachment_not_uploaded`: PUT its bytes first", body = ErrorBody),
        (status = 413, description = "`body_too_large`: over CHAT_MAX_MESSAGE_BYTES (UTF-8 bytes)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn send(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<NewMessage>,
) -> Result<(StatusCode, HeaderMap, Json<Message>), Error> {
    super::charge_write(&state, &by)?;
    let appended = state
        .chat
        .send_as(&by, &id, b.client_msg_id, b.body, &b.attachments, b.private)
        .await?;
    let mut headers = HeaderMap::new();
    if let Appended::Existing(_) = appended {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok((StatusCode::CREATED, headers, Json(appended.into_message())))
}

/// A field given as `null` clears that side; one left out stays as it is.
#[derive(Deserialize, ToSchema)]
pub struct Assign {
    /// An agent id, or null to unassign.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    agent_id: Option<Option<String>>,
    /// A team id, or null for no team.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    team_id: Option<Option<String>>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`, the default).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[utoipa::path(
    post, path = "/conversations/{id}/assign", tag = "conversations", operation_id = "assign_conversation",
    summary = "Route a conversation to an agent and/or a team (agent)",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = Assign,
    responses(
        (status = 200, description = "The conversation as changed", body = Conversation),
        (status = 400, description = "`invalid_assignment`: neither field given; `unknown_agent`, \
                                      `unknown_team`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn assign(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Assign>,
) -> Result<Json<Conversation>, Error> {
    let to = Assignment {
        agent_id: b.agent_id,
        team_id: b.team_id,
    };
    Ok(Json(state.chat.assign(&by, &id, to).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SetStatus {
    /// Read as text so that an unknown status gets `invalid_status` naming the ones there are.
    #[schema(value_type = ConversationStatus)]
    status: String,
}

#[utoipa::path(
    post, path = "/conversations/{id}/status", tag = "conversations", operation_id = "set_conversation_status",
    summary = "Open, set pending or resolve a conversation (agent)",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = SetStatus,
    responses(
        (status = 200, description = "The conversation as changed", body = Conversation),
        (status = 400, description = "`invalid_status`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn status(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<SetStatus>,
) -> Result<Json<Conversation>, Error> {
    let status = b
        .status
        .parse()
        .map_err(|e| Error::invalid("invalid_status", e))?;
    Ok(Json(state.chat.set_status(&by, &id, status).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Labels {
    /// The conversation's labels from now on (normalised to lower case, repeats dropped).
    labels: Vec<String>,
}

#[utoipa::path(
    put, path = "/conversations/{id}/labels", tag = "conversations", operation_id = "set_conversation_labels",
    summary = "Replace a conversation's labels (agent)",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = Labels,
    responses(
        (status = 200, description = "The conversation as changed", body = Conversation),
        (status = 400, description = "`invalid_label`, `too_many_labels`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many writes with this token (Retry-After)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn labels(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Body(b): Body<Labels>,
) -> Result<Json<Conversation>, Error> {
    super::charge_write(&state, &by)?;
    Ok(Json(state.chat.set_labels(&by, &id, &b.labels).await?))
}
