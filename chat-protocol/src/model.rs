//! The objects websocket frames carry, serialized exactly as the public contract (chat-api-v1)
//! shows them. The chat-server stores and publishes these same types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: String,
    pub status: ConversationStatus,
    pub visitor: VisitorRef,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The highest seq, private notes included (agents see every message).
    pub last_seq: u64,
    /// The highest seq of a message that is not a private note: what a visitor is shown as
    /// `last_seq` (see [`Conversation::as_visitor_sees_it`]). Stored conversations that predate
    /// notes have only public messages, so stores read it as `last_seq` there.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_public_seq: u64,
    /// How far each reader has read, as stored; never moves back.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub read: ReadState,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub labels: Vec<String>,
    /// The team the conversation is routed to, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub team_id: Option<String>,
    /// When it was resolved (the last time, if it was reopened); null while open or pending.
    /// Conversations resolved before this was stored carry their `updated_at` there.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The visitor's satisfaction rating, once given (a conversation is rated at most once).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub rating: Option<Rating>,
    /// For the agent who asked: messages after its read seq. Only in answers to one agent (a
    /// list or a GET); frames broadcast to every agent leave it out, and a client works it out
    /// from `last_seq` and `read.agents` (see [`Conversation::unread_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
}

/// A visitor's satisfaction with a resolved conversation (CSAT).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    /// 1 (very unsatisfied) to 5 (very satisfied).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadState {
    /// The visitor's last read seq (0: nothing read).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub visitor: u64,
    /// Each agent's last read seq, by agent id; agents that never read are absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub agents: std::collections::BTreeMap<String, u64>,
}

impl Conversation {
    /// Messages (notes included) after `agent_id`'s read seq.
    pub fn unread_for(&self, agent_id: &str) -> u64 {
        let read = self.read.agents.get(agent_id).copied().unwrap_or(0);
        self.last_seq.saturating_sub(read)
    }

    /// The conversation as its visitor may see it: `last_seq` counts no private note, so the
    /// visitor never waits for a seq it will not get, and `last_public_seq` says nothing more.
    /// The agents' read seqs are capped there too: an agent who read a trailing note has, for
    /// the visitor, read the last public message.
    pub fn as_visitor_sees_it(mut self) -> Self {
        self.last_seq = self.last_public_seq;
        for seq in self.read.agents.values_mut() {
            *seq = (*seq).min(self.last_public_seq);
        }
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    pub kind: AuthorKind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An attachment as carried inside a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentRef {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    pub author: Author,
    pub body: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub attachments: Vec<AttachmentRef>,
    /// A note agents write for each other: never shown to the visitor. On the wire only when
    /// true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
    pub created_at: DateTime<Utc>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
