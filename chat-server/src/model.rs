//! The tenant's domain objects, serialized exactly as the public contract (chat-api-v1) shows them.
//! Stores persist these; the API and the bus send them as they are.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

/// Current time truncated to milliseconds: both stores keep millisecond precision, and a value
/// must read back equal to what was written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Time-ordered, so sorting by id is sorting by creation.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    Open,
    Pending,
    Resolved,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
        }
    }
}

impl std::str::FromStr for ConversationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "pending" => Ok(Self::Pending),
            "resolved" => Ok(Self::Resolved),
            other => Err(format!(
                "unknown status {other:?}; expected open, pending or resolved"
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub status: ConversationStatus,
    pub visitor: VisitorRef,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorKind {
    Visitor,
    Agent,
    System,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub kind: AuthorKind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An attachment as carried inside a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    pub author: Author,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    pub created_at: DateTime<Utc>,
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
