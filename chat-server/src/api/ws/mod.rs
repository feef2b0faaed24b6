//! `GET /api/v1/ws`: authenticate, then hand the socket to a delivery session whose frames
//! [`commands`] answers.
//!
//! The token travels in `Sec-WebSocket-Protocol`: the client offers [`PROTOCOL`] and
//! `atendo.bearer.<token>`, and the server answers with [`PROTOCOL`] alone, so the token is never
//! echoed. A token in the URL (`?token=`) still works for old clients but is deprecated: ingress
//! and proxy access logs record URLs, and a long-lived credential does not belong in them.

mod commands;
mod duplex;

pub use duplex::Duplex;

use std::sync::Arc;

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::error::ErrorBody;
use super::extract::ClientIp;
use crate::auth::Authenticated;
use crate::delivery::session;
use crate::error::{Error, Kind};
use commands::ChatCommands;

/// The subprotocol both sides speak; the server selects it when the client offers it.
pub const PROTOCOL: &str = "atendo.v1";
/// Prefix of the offered subprotocol that carries the token (JWTs use only token characters).
pub const BEARER_PREFIX: &str = "atendo.bearer.";
/// Frames a session feeds between flushes gather up to this many bytes before a write: dozens
/// of small frames per system call, and a bounded buffer per socket.
const WRITE_BATCH_BYTES: usize = 8 * 1024;

#[derive(Deserialize)]
pub struct WsQuery {
    /// Deprecated: see the module comment.
    token: Option<String>,
}

/// The token offered as a subprotocol, if any.
fn offered_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(BEARER_PREFIX).map(str::to_string))
}

#[utoipa::path(
    get, path = "/ws", tag = "websocket", operation_id = "websocket",
    summary = "Open the websocket (frames: docs/websocket.md)",
    description = "Offer the subprotocols `atendo.v1` and `atendo.bearer.<token>` in \
                   `Sec-WebSocket-Protocol`; the server selects `atendo.v1`. `?token=` on the URL \
                   still works but is deprecated (access logs record URLs). The frames, close codes \
                   and ordering guarantees are in docs/websocket.md; their JSON Schemas are the \
                   `ClientFrame` and `ServerFrame` components.",
    params(
        ("Sec-WebSocket-Protocol" = String, Header, description = "`atendo.v1, atendo.bearer.<token>`"),
        ("token" = Option<String>, Query, deprecated, description = "Deprecated: the token in the URL"),
    ),
    responses(
        (status = 101, description = "Switching protocols: the socket is open"),
        (status = 401, description = "`unauthorized`, `token_revoked`: no valid token", body = ErrorBody),
        (status = 403, description = "`origin_not_allowed`: the page's Origin is not in \
                                      CHAT_ALLOWED_ORIGINS", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many connections from this address (Retry-After)", body = ErrorBody),
        (status = 503, description = "`shutting_down`: reconnect (to another replica)", body = ErrorBody),
    ),
)]
pub async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, Error> {
    // Browsers always send Origin on a websocket upgrade and CORS does not apply to it, so this
    // is where a page outside CHAT_ALLOWED_ORIGINS is turned away.
    if let Some(origin) = headers.get(header::ORIGIN)
        && !state.origins.allows(origin)
    {
        return Err(Error::new(
            Kind::Forbidden,
            "origin_not_allowed",
            "this page's origin is not in the tenant's allowed origins (spec.widget.allowedOrigins)",
        ));
    }
    // Before the token check: a loop of upgrades costs the server even when the token is bad.
    let limits = &state.limits;
    limits.check(&limits.ws_connect, &ip, "ws_connect", || {
        format!("too many websocket connections from {ip}; wait, then reconnect with backoff")
    })?;
    let token = match (offered_token(&headers), q.token) {
        (Some(token), _) => token,
        (None, Some(token)) => {
            state.delivery.metrics.ws_token_in_url.inc();
            token
        }
        (None, None) => {
            return Err(Error::unauthenticated(format!(
                "no token: offer the subprotocols \"{PROTOCOL}, {BEARER_PREFIX}<token>\" \
                 (Sec-WebSocket-Protocol)"
            )));
        }
    };
    let who = state.chat.authenticate(&token).await?;
    if who.is_api_token() {
        // An integration's token lives long and sits in config files; a socket would keep it
        // connected past revocation checks that REST makes on every call.
        return Err(Error::forbidden_code(
            "api_token_not_allowed",
            "API tokens work on REST only; the websocket takes an agent's or visitor's sign-in token",
        ));
    }
    if state.shutdown.is_cancelled() {
        return Err(Error::new(
            Kind::Unavailable,
            "shutting_down",
            "this replica is shutting down; reconnect",
        ));
    }
    let settings = state.ws.clone();
    Ok(ws
        // Selected only when offered: a client that sends its token in the URL offers none.
        .protocols([PROTOCOL])
        .read_buffer_size(settings.read_buffer)
        // The session flushes at the end of each turn (`delivery::session`); in between, frames
        // gather up to this many bytes per write, rather than tungstenite's 128 KiB per socket.
        .write_buffer_size(WRITE_BATCH_BYTES)
        .max_write_buffer_size(settings.max_frame_bytes.max(64 * 1024) * 4)
        .max_message_size(settings.max_frame_bytes)
        .max_frame_size(settings.max_frame_bytes)
        // The session gets a task of its own, and axum's upgrade task ends here: awaited
        // inside that task, the session would carry the upgrade's state beside its own for the
        // socket's whole life (about 400 bytes per idle socket in a heap profile).
        .on_upgrade(move |socket| {
            state.sessions.spawn(run_session(&state, who, socket));
            std::future::ready(())
        }))
}

/// One websocket session for `principal` over any socket that is both a sink and a stream of
/// frames (tests drive it with channels joined in a [`Duplex`]), with this deployment's
/// delivery, chat and limits.
pub fn run_session<T, E>(
    state: &AppState,
    who: Authenticated,
    socket: T,
) -> impl std::future::Future<Output = ()> + use<T, E>
where
    T: futures::Sink<axum::extract::ws::Message>
        + futures::Stream<Item = Result<axum::extract::ws::Message, E>>
        + Unpin,
    <T as futures::Sink<axum::extract::ws::Message>>::Error: std::fmt::Display,
    E: std::fmt::Display,
{
    session::run(
        state.delivery.clone(),
        Arc::new(ChatCommands(state.chat.clone())),
        who,
        state.ws.session.clone(),
        socket,
    )
}
