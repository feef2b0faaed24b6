//! Visitors, agents and sign-in.

use crate::protocol::PresenceState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body, ClientIp, Params};
use super::paging::PageQuery;
use crate::auth::Principal;
use crate::chat::paging::Paged;
use crate::error::Error;
use crate::model::{Agent, Role};

#[derive(Deserialize, ToSchema)]
pub struct NewVisitor {
    name: Option<String>,
    email: Option<String>,
}

/// A visitor's session: its id and the token its REST calls and websocket carry.
#[derive(Serialize, ToSchema)]
pub struct VisitorSession {
    visitor_id: String,
    token: String,
}

#[utoipa::path(
    post, path = "/visitors", tag = "identity", operation_id = "create_visitor",
    summary = "Start an anonymous visitor session",
    description = "The body is optional: an empty body is an anonymous visitor. Rate-limited per \
                   client address.",
    request_body(content = Option<NewVisitor>, content_type = "application/json"),
    responses(
        (status = 201, description = "The visitor and its token", body = VisitorSession),
        (status = 400, description = "`invalid_body`, `invalid_name`, `invalid_email`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many visitor sessions from this address \
                                      (Retry-After says when to try again)", body = ErrorBody),
    ),
)]
pub async fn create_visitor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<VisitorSession>), Error> {
    let limits = &state.limits;
    limits.check(&limits.visitor, &ip, "visitor_create", || {
        format!("too many visitor sessions from {ip}; try again in a minute")
    })?;
    // The body is optional: an anonymous visitor may send nothing at all.
    let NewVisitor { name, email } = if body.iter().all(u8::is_ascii_whitespace) {
        NewVisitor {
            name: None,
            email: None,
        }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::invalid("invalid_body", format!("invalid JSON body: {e}")))?
    };
    let (visitor, token) = state.chat.create_visitor(name, email).await?;
    Ok((
        StatusCode::CREATED,
        Json(VisitorSession {
            visitor_id: visitor.id,
            token,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct Login {
    email: String,
    password: String,
}

/// A signed-in agent's session.
#[derive(Serialize, ToSchema)]
pub struct AgentSession {
    agent_id: String,
    token: String,
    role: Role,
    name: String,
}

/// Limited per address and per account before any password work, so guessing is slow and a
/// flood costs no hashing.
#[utoipa::path(
    post, path = "/agents/login", tag = "identity", operation_id = "login",
    summary = "Sign an agent in with email and password",
    request_body = Login,
    responses(
        (status = 200, description = "The agent and its token", body = AgentSession),
        (status = 401, description = "`unauthorized`: wrong email or password", body = ErrorBody),
        (status = 403, description = "`agent_disabled`: right password, disabled account", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many attempts from this address or for \
                                      this account (Retry-After)", body = ErrorBody),
        (status = 503, description = "`busy`: too many sign-ins being checked at once (Retry-After)", body = ErrorBody),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(b): Body<Login>,
) -> Result<Json<AgentSession>, Error> {
    state.limits.check_login(ip, &b.email)?;
    let (agent, token) = state.chat.login(&b.email, &b.password).await?;
    Ok(Json(AgentSession {
        agent_id: agent.id,
        token,
        role: agent.role,
        name: agent.name,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewAgent {
    email: String,
    /// At least 12 characters, not on the common-password list.
    password: String,
    name: String,
    role: Role,
}

#[utoipa::path(
    post, path = "/agents", tag = "identity", operation_id = "create_agent",
    summary = "Create an agent (admin)",
    request_body = NewAgent,
    responses(
        (status = 201, description = "The new agent", body = Agent),
        (status = 400, description = "`invalid_email`, `invalid_name`, `weak_password` (under 12 \
                                      characters or on the common-password list)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 409, description = "`conflict`: an agent with this email exists", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_agent(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewAgent>,
) -> Result<(StatusCode, Json<Agent>), Error> {
    let agent = state
        .chat
        .create_agent(&by, &b.email, &b.password, &b.name, b.role)
        .await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

/// An agent as the list shows it: the account, its teams and its presence across replicas.
#[derive(Serialize, ToSchema)]
pub struct ListedAgent {
    #[serde(flatten)]
    agent: Agent,
    /// Ids of the teams the agent is a member of.
    teams: Vec<String>,
    presence: PresenceState,
}

super::paging::page_body! {
    /// A page of agents, newest first.
    AgentPage { agents: ListedAgent }
}

#[utoipa::path(
    get, path = "/agents", tag = "identity", operation_id = "list_agents",
    summary = "The tenant's agents, with teams and presence (agent)",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of agents", body = AgentPage),
        (status = 400, description = "`invalid_limit`, `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_agents(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<PageQuery>,
) -> Result<Json<AgentPage>, Error> {
    let page = state.chat.list_agents(&by, q.page()?).await?;
    Ok(Json(
        Paged {
            items: page
                .items
                .into_iter()
                .map(|listed| ListedAgent {
                    agent: listed.agent,
                    teams: listed.teams,
                    presence: listed.presence,
                })
                .collect(),
            next: page.next,
        }
        .into(),
    ))
}

/// Who a token belongs to.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Me {
    Visitor {
        id: String,
        #[schema(required = true)]
        name: Option<String>,
    },
    Agent {
        id: String,
        name: String,
        role: Role,
    },
}

/// Who the token belongs to (the console and widget use it to restore a session).
#[utoipa::path(
    get, path = "/me", tag = "identity", operation_id = "me",
    summary = "Who the token belongs to",
    responses((status = 200, description = "The caller", body = Me)),
    security(("bearer" = [])),
)]
pub async fn me(Auth(by): Auth) -> Json<Me> {
    Json(match by {
        Principal::Visitor { id, name } => Me::Visitor { id, name },
        Principal::Agent { id, name, role } => Me::Agent { id, name, role },
    })
}
