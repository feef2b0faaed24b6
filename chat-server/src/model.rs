//! The tenant's domain objects, serialized exactly as the public contract (chat-api-v1) shows them.
//! Stores persist these; the API and the bus send them as they are. The ones that travel in
//! websocket frames live in `chat-protocol` and are re-exported here.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

pub use chat_protocol::model::{
    AttachmentRef, Author, AuthorKind, Conversation, ConversationStatus, Message, VisitorRef,
};

/// Current time truncated to milliseconds: both stores keep millisecond precision, and a value
/// must read back equal to what was written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Time-ordered, so sorting by id is sorting by creation.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

/// What a sender asks the store to append; the store assigns `id`, `seq` and `created_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation_id: String,
    pub client_msg_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub attachments: Vec<AttachmentRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// An agent with its credential; never serialized to clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRecord {
    pub agent: Agent,
    /// PHC-format argon2 hash; `None` for agents that only sign in through OIDC.
    pub password_hash: Option<String>,
    /// The OIDC identity this agent signs in as; at most one agent holds a given one.
    pub oidc: Option<OidcSubject>,
}

/// Who an OIDC issuer says signed in: `sub` is stable and unique only within its `iss`, while the
/// `email` claim can change hands or be set by the user, so accounts are linked by this pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OidcSubject {
    pub issuer: String,
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An upload the server has handed out a URL for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub conversation_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    /// Object key in the bucket (or path below the local upload directory).
    pub key: String,
    pub uploaded_by: Author,
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    pub fn as_ref(&self) -> AttachmentRef {
        AttachmentRef {
            id: self.id.clone(),
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
        }
    }
}
