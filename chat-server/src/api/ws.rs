//! `GET /api/v1/ws?token=…`: authenticate, then hand the socket to a delivery session.

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::ClientIp;
use crate::delivery::session;

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

pub async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Browsers always send Origin on a websocket upgrade and CORS does not apply to it, so this
    // is where a page outside CHAT_ALLOWED_ORIGINS is turned away.
    if let Some(origin) = headers.get(header::ORIGIN)
        && !state.origins.allows(origin)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin is not in the tenant's allowed origins (spec.widget.allowedOrigins)",
        ));
    }
    // Before the token check: a loop of upgrades costs the server even when the token is bad.
    let limits = &state.limits;
    limits.check(&limits.ws_connect, &ip, "ws_connect", || {
        format!("too many websocket connections from {ip}; wait, then reconnect with backoff")
    })?;
    let token = q
        .token
        .ok_or_else(|| ApiError::unauthorized("missing ?token= on the websocket URL"))?;
    let principal = state.chat.auth.authenticate(&token).await?;
    if state.shutdown.is_cancelled() {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "this replica is shutting down; reconnect",
        ));
    }
    let settings = state.ws.clone();
    Ok(ws
        .read_buffer_size(settings.read_buffer)
        // Write each frame through at once instead of holding a 128 KiB buffer per socket.
        .write_buffer_size(0)
        .max_write_buffer_size(settings.max_frame_bytes.max(64 * 1024) * 4)
        .max_message_size(settings.max_frame_bytes)
        .max_frame_size(settings.max_frame_bytes)
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            state.sessions.track_future(session::run(
                state.chat.clone(),
                principal,
                settings.session,
                sink,
                stream,
                state.shutdown.clone(),
            ))
        }))
}
