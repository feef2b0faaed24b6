//! Atendo's websocket wire protocol (chat-api-v1): one JSON object per text frame.
//!
//! Why a crate of its own: the frames, the objects they carry ([`model`]) and the frame parser
//! ([`parse`]) are the contract between the chat-server and every client (widget, console, load
//! tool), and they are fuzzed (`chat-protocol/fuzz`). Apart from the server, they need only serde
//! and chrono, so a fuzz build instruments a few crates instead of the server's whole tree
//! (axum, mongodb, fred, the AWS SDK), which took half an hour on a 2-core CI machine.

use serde::{Deserialize, Serialize};

pub mod model;
mod parse;

use crate::model::{Author, Conversation, ConversationStatus, Message};
pub use crate::parse::{FrameError, parse};

/// Close codes this server uses. Clients resume with `subscribe` + the last seq they saw after
/// any of them except `POLICY_VIOLATION`-style misuse, where they should fix themselves first.
pub mod close_code {
    /// The server is shutting down or restarting: reconnect (to another replica) and resume.
    pub const SERVICE_RESTART: u16 = 1012;
    /// A frame or message above the configured size limit (RFC 6455 "message too big").
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The client did not read fast enough and its bounded outbound queue overflowed:
    /// reconnect and resume with `after_seq`; nothing was lost on the server.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The client kept sending bad or too many frames after being told so with error frames.
    pub const MISBEHAVING: u16 = 4029;
    /// The client sent nothing, not even a ping, for the idle timeout (RFC 6455 "going away"):
    /// reconnect and resume. Clients that ping every 25 s never see it.
    pub const IDLE: u16 = 1001;
    /// Signed out: the token was revoked (logout, password or role change, agent disabled or
    /// deleted). Do not reconnect with the same token.
    pub const SIGNED_OUT: u16 = 4001;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Subscribe {
        conversation_id: String,
        #[serde(default)]
        after_seq: Option<u64>,
    },
    /// Extension: stop receiving a conversation's events.
    Unsubscribe {
        conversation_id: String,
    },
    Send {
        conversation_id: String,
        client_msg_id: String,
        body: String,
        /// Extension: ids from `POST /api/v1/uploads` for this conversation.
        #[serde(default)]
        attachments: Vec<String>,
        /// A private note: agents only, never delivered to the visitor.
        #[serde(default)]
        private: bool,
    },
    Typing {
        conversation_id: String,
        state: bool,
    },
    Read {
        conversation_id: String,
        seq: u64,
    },
    /// Extension: an agent sets its presence (`online` or `away`).
    Presence {
        state: PresenceState,
    },
    Ping,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    Online,
    Away,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Ack {
        client_msg_id: String,
        message: Message,
    },
    Message {
        message: Message,
    },
    Typing {
        conversation_id: String,
        author: Author,
        state: bool,
    },
    Read {
        conversation_id: String,
        author: Author,
        seq: u64,
    },
    Conversation {
        conversation: Conversation,
    },
    Presence {
        agent_id: String,
        state: PresenceState,
    },
    Error {
        code: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
        reference: Option<String>,
    },
    /// Extension: an agent set the conversation's status; sent to the conversation's
    /// subscribers, so its visitor (who gets no `conversation` frames) learns it was resolved.
    Status {
        conversation_id: String,
        status: ConversationStatus,
    },
    /// Extension: replay of a `subscribe` is complete; what follows is live.
    Subscribed {
        conversation_id: String,
        last_seq: u64,
    },
    Pong,
}

impl ServerFrame {
    pub fn error(code: &str, message: impl Into<String>, reference: Option<String>) -> Self {
        Self::Error {
            code: code.to_string(),
            message: message.into(),
            reference,
        }
    }

    pub fn to_text(&self) -> String {
        // Serializing these types cannot fail: no maps with non-string keys, no foreign types.
        serde_json::to_string(self).expect("server frames serialize")
    }
}
