//! The tenant's domain objects, serialized exactly as the public contract (chat-api-v1) shows them.
//! Stores persist these; the API and the bus send them as they are. The ones that travel in
//! websocket frames live in `chat-protocol` and are re-exported here.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

pub use chat_protocol::model::{
    AttachmentRef, Author, AuthorKind, Conversation, ConversationStatus, Message, Rating,
    ReadState, VisitorRef,
};

/// Current time truncated to milliseconds: both stores keep millisecond precision, and a value
/// must read back equal to what was written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Time-ordered, so sorting by id is sorting by creation. Within one process ids also rise
/// inside one millisecond (a monotonic generator), so "newest first by id" is the order things
/// were made in, which the search's cursor relies on.
pub fn new_id() -> String {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let next = GENERATOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .generate();
    // Only fails when 2^80 ids were made in one millisecond; a random one is still unique.
    next.unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
        .to_lowercase()
}

/// What a sender asks the store to append; the store assigns `id`, `seq` and `created_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation_id: String,
    pub client_msg_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub attachments: Vec<AttachmentRef>,
    /// A private note: takes the next seq like any message but leaves `last_public_seq`.
    pub private: bool,
}

/// A group of agents conversations can be routed to. `name` is unique, compared ignoring case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: String,
    pub name: String,
    /// In the order they were given, without repeats.
    pub agent_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A saved reply agents insert by typing `/` + `shortcut`; `shortcut` is unique, compared
/// ignoring case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CannedResponse {
    pub id: String,
    pub shortcut: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An integration's credential as clients see it: never the secret, which is shown once when
/// it is made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The admin who made it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// An API token as stored: the secret only as its SHA-256 (hex), so a copy of the database
/// signs no one in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub token: ApiToken,
    pub secret_sha256: String,
}

/// Whose read position `Store::mark_read` moves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reader {
    Visitor,
    Agent(String),
}

impl Reader {
    /// Raises this reader's position in `read` to `seq`; whether it rose. A read position never
    /// goes back: reads and appends finish out of order.
    pub fn raise(&self, read: &mut ReadState, seq: u64) -> bool {
        let stored = match self {
            Reader::Visitor => &mut read.visitor,
            Reader::Agent(id) => read.agents.entry(id.clone()).or_default(),
        };
        let rose = *stored < seq;
        *stored = (*stored).max(seq);
        rose
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// A disabled agent keeps its history but cannot sign in. Absent in what older servers
    /// stored, which reads as enabled.
    #[serde(default)]
    #[schema(required = true)]
    pub disabled: bool,
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

/// "Tokens of `key` issued before `not_before` are no longer valid", as every replica must learn
/// within seconds. `key` names what the tokens belong to: `agent:<id>`, `session:<sid>`,
/// `visitor:<id>`, `api_token:<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub key: String,
    pub not_before: DateTime<Utc>,
    /// After this instant no token the revocation covers can still be valid (they have all
    /// expired by themselves), so the record may be forgotten.
    pub expires_at: DateTime<Utc>,
    /// When it was written: replicas poll for the ones written since they last looked.
    pub at: DateTime<Utc>,
    /// One sign-in session this revocation spares (a password change keeps the session that
    /// made it). Belongs to `not_before`: a later revocation of the key replaces it.
    #[serde(default)]
    pub keep_session: Option<String>,
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
