//! Visitors, agents and sign-in.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::{Auth, Body, ClientIp};
use crate::auth::Principal;
use crate::error::Error;
use crate::model::Role;

#[derive(Deserialize)]
pub struct NewVisitor {
    name: Option<String>,
    email: Option<String>,
}

pub async fn create_visitor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), Error> {
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
        Json(json!({"visitor_id": visitor.id, "token": token})),
    ))
}

#[derive(Deserialize)]
pub struct Login {
    email: String,
    password: String,
}

/// Limited per address and per account before any password work, so guessing is slow and a
/// flood costs no hashing.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(b): Body<Login>,
) -> Result<Json<Value>, Error> {
    state.limits.check_login(ip, &b.email)?;
    let (agent, token) = state.chat.login(&b.email, &b.password).await?;
    Ok(Json(json!({
        "agent_id": agent.id, "token": token, "role": agent.role, "name": agent.name,
    })))
}

#[derive(Deserialize)]
pub struct NewAgent {
    email: String,
    password: String,
    name: String,
    role: Role,
}

pub async fn create_agent(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<NewAgent>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let agent = state
        .chat
        .create_agent(&by, &b.email, &b.password, &b.name, b.role)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(agent))))
}

pub async fn list_agents(
    State(state): State<AppState>,
    Auth(by): Auth,
) -> Result<Json<Value>, Error> {
    let agents: Vec<Value> = state
        .chat
        .list_agents(&by)
        .await?
        .into_iter()
        .map(|listed| {
            let mut v = json!(listed.agent);
            v["teams"] = json!(listed.teams);
            v["presence"] = json!(listed.presence);
            v
        })
        .collect();
    Ok(Json(json!({ "agents": agents })))
}

/// Who the token belongs to (the console and widget use it to restore a session).
pub async fn me(Auth(by): Auth) -> Json<Value> {
    match by {
        Principal::Visitor { id, name } => Json(json!({"kind": "visitor", "id": id, "name": name})),
        Principal::Agent { id, name, role } => {
            Json(json!({"kind": "agent", "id": id, "name": name, "role": role}))
        }
    }
}
