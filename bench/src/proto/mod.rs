//! The one adapter between the load tool and a chat system: how to reach a room, join it,
//! publish to it, and what a frame from the server means. Everything else (connecting,
//! numbering, timing, counting) is shared, so both systems are measured the same way.

pub mod atendo;
pub mod socketio;

use std::borrow::Cow;

/// A room as the tool knows it: an Atendo conversation (and the visitor token that may use it)
/// or a Socket.IO room name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    pub index: usize,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What a text frame from the server means to the tool.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The session is open and may join (Socket.IO's namespace CONNECT).
    Ready,
    /// The join was confirmed: what is published from now on reaches this socket.
    Joined,
    /// A room message; `seq` where the system numbers messages (Atendo).
    Delivered {
        seq: Option<u64>,
        body: Cow<'a, str>,
    },
    /// The server accepted publish number `id` of this socket.
    Acked {
        id: u64,
    },
    /// The server pings at the application level and expects [`Protocol::pong`].
    Ping,
    /// The server refused something or is closing the session.
    Rejected(String),
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("unexpected frame from the server ({reason}): {excerpt}")]
pub struct ProtoError {
    pub reason: String,
    pub excerpt: String,
}

impl ProtoError {
    pub fn new(reason: impl Into<String>, frame: &str) -> Self {
        Self {
            reason: reason.into(),
            excerpt: frame.chars().take(200).collect(),
        }
    }
}

pub trait Protocol: Send + Sync {
    /// Path and query of the WebSocket endpoint for a client of `room`.
    fn path(&self, room: &Room) -> String;
    /// Sent as soon as the WebSocket is open; `None` means the session is ready at once.
    fn greeting(&self) -> Option<String>;
    /// Joins `room`, asking (where the system can) for what was published after `after_seq`.
    fn join(&self, room: &Room, after_seq: u64) -> String;
    /// Publishes `body` to `room` as this socket's publish number `id` (ids start at 1).
    fn publish(&self, room: &Room, id: u64, body: &str) -> String;
    /// The answer to [`Incoming::Ping`], for systems that ping at the application level.
    fn pong(&self) -> Option<&'static str>;
    fn parse<'a>(&self, frame: &'a str) -> Result<Incoming<'a>, ProtoError>;
}

/// Bodies carry the room-local message number and the send time (nanoseconds on the tool's
/// clock), padded with `x` to exactly `size` bytes when `size` allows.
pub fn body(number: u64, sent_ns: u64, size: usize) -> String {
    let mut b = format!("{number}.{sent_ns}.");
    if b.len() < size {
        b.extend(std::iter::repeat_n('x', size - b.len()));
    }
    b
}

/// The message number and send time of a body made by [`body`].
pub fn parse_body(body: &str) -> Option<(u64, u64)> {
    let mut parts = body.splitn(3, '.');
    let number = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((number, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_asked_size_and_read_back() {
        let b = body(42, 1_234_567, 100);
        assert_eq!(b.len(), 100);
        assert_eq!(parse_body(&b), Some((42, 1_234_567)));
        assert_eq!(parse_body(&body(7, 9, 0)), Some((7, 9)));
        assert_eq!(parse_body("hello"), None);
    }
}
