//! Durable state of one tenant: agents, visitors, conversations, messages, attachments.
//!
//! Two implementations share one conformance suite (`tests/store_conformance.rs`):
//! [`mongo`] for production (MongoDB / Atlas) and [`sqlite`] for the embedded default.
//!
//! Invariants every implementation keeps, because delivery depends on them:
//! - `seq` is per conversation, starts at 1, increases by exactly 1 and is never reused;
//!   concurrent appends (from several replicas) never leave a hole. Both implementations
//!   keep this even across a crash (a seq exists only on a stored message); delivery still
//!   skips a hole after a grace period, so a future store that can leave one stays live.
//! - `append_message` with a `(conversation_id, client_msg_id)` that already exists stores
//!   nothing and returns the original message as [`Appended::Existing`].
//! - A message returned by `append_message` is durable.

pub mod mongo;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{
    Agent, AgentRecord, Attachment, Conversation, ConversationStatus, Message, NewMessage,
    OidcSubject, Visitor,
};

/// Clone: one failed read can be the answer to several sessions (`delivery::catch_up`).
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store `location` names, creating its schema or indexes if missing.
pub async fn open(location: &crate::config::StoreLocation) -> StoreResult<Arc<dyn Store>> {
    use crate::config::StoreLocation;
    Ok(match location {
        StoreLocation::Embedded(dir) => Arc::new(sqlite::SqliteStore::open(dir).await?),
        StoreLocation::Mongo { uri, database } => {
            Arc::new(mongo::MongoStore::open(uri, database).await?)
        }
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    Created(Message),
    /// The `client_msg_id` was seen before; nothing new was stored.
    Existing(Message),
}

impl Appended {
    pub fn message(&self) -> &Message {
        match self {
            Self::Created(m) | Self::Existing(m) => m,
        }
    }
    pub fn into_message(self) -> Message {
        match self {
            Self::Created(m) | Self::Existing(m) => m,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AssigneeFilter {
    #[default]
    Any,
    Unassigned,
    Agent(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub assignee: AssigneeFilter,
    /// Only this visitor's conversations.
    pub visitor_id: Option<String>,
    /// Only conversations with an id lower than this (paging; ids are time-ordered).
    pub before_id: Option<String>,
    pub limit: u32,
}

impl Default for ConversationFilter {
    fn default() -> Self {
        Self {
            status: None,
            assignee: AssigneeFilter::Any,
            visitor_id: None,
            before_id: None,
            limit: 100,
        }
    }
}

/// A change to a conversation; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationPatch {
    pub status: Option<ConversationStatus>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip for `/health/ready`.
    async fn ping(&self) -> StoreResult<()>;

    /// Fails with `Conflict` when the email (compared case-insensitively) or the OIDC identity
    /// is taken.
    async fn create_agent(&self, record: AgentRecord) -> StoreResult<Agent>;
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>>;
    /// The agent holding this OIDC identity (issuer and subject compared exactly).
    async fn agent_by_oidc(&self, oidc: &OidcSubject) -> StoreResult<Option<AgentRecord>>;
    /// Gives agent `agent_id` the identity `oidc`, atomically and only if it has none yet (the
    /// same identity again is a no-op). `Conflict` when the agent holds another identity or
    /// another agent holds this one; `NotFound` when there is no such agent.
    async fn link_oidc(&self, agent_id: &str, oidc: &OidcSubject) -> StoreResult<()>;
    async fn agent_by_id(&self, id: &str) -> StoreResult<Option<AgentRecord>>;
    async fn list_agents(&self) -> StoreResult<Vec<Agent>>;

    async fn create_visitor(&self, visitor: Visitor) -> StoreResult<()>;
    async fn visitor(&self, id: &str) -> StoreResult<Option<Visitor>>;

    async fn create_conversation(&self, conversation: Conversation) -> StoreResult<Conversation>;
    async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>>;
    /// Newest first (descending id).
    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<Conversation>>;
    /// Applies the patch, bumps `updated_at`, and returns the result; `NotFound` if absent.
    async fn update_conversation(
        &self,
        id: &str,
        patch: &ConversationPatch,
    ) -> StoreResult<Conversation>;

    /// Assigns the next seq atomically and stores the message (see the module invariants).
    /// Also bumps the conversation's `last_seq` and `updated_at`. `NotFound` if the
    /// conversation does not exist.
    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended>;
    /// Messages with `seq > after_seq`, ascending, at most `limit`.
    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;

    async fn create_attachment(&self, attachment: Attachment) -> StoreResult<()>;
    async fn attachment(&self, id: &str) -> StoreResult<Option<Attachment>>;
}
