//! The documents as stored: the model's fields, `_id` for the id, BSON datetimes for times (so
//! range queries and TTL indexes work, and millisecond values read back equal), and whatever
//! the indexes need (`email_key`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Agent, AgentRecord, Attachment, AttachmentRef, Author, Conversation, ConversationStatus,
    Message, OidcSubject, Role, Visitor, VisitorRef,
};

/// `chrono` times as BSON datetimes, without the driver's optional chrono feature.
mod bson_time {
    use chrono::{DateTime, Utc};
    use mongodb::bson;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        bson::DateTime::from_millis(t.timestamp_millis()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let ms = bson::DateTime::deserialize(d)?.timestamp_millis();
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| D::Error::custom(format!("{ms} ms is outside chrono's range")))
    }
}

/// A BSON datetime value for filters and updates.
pub fn bson_time(t: DateTime<Utc>) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_millis(t.timestamp_millis())
}

/// Agents are looked up by this, so "Ana@X" and "ana@x" are one account.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AgentDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub email: String,
    pub email_key: String,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
    /// Absent (not null) when unlinked: the unique index on it is partial on `$exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcDoc {
    pub iss: String,
    pub sub: String,
}

impl From<&OidcSubject> for OidcDoc {
    fn from(o: &OidcSubject) -> Self {
        Self {
            iss: o.issuer.clone(),
            sub: o.subject.clone(),
        }
    }
}

impl From<&AgentRecord> for AgentDoc {
    fn from(r: &AgentRecord) -> Self {
        Self {
            id: r.agent.id.clone(),
            email: r.agent.email.clone(),
            email_key: email_key(&r.agent.email),
            name: r.agent.name.clone(),
            role: r.agent.role,
            password_hash: r.password_hash.clone(),
            created_at: r.agent.created_at,
            oidc: r.oidc.as_ref().map(OidcDoc::from),
        }
    }
}

impl From<AgentDoc> for AgentRecord {
    fn from(d: AgentDoc) -> Self {
        Self {
            agent: Agent {
                id: d.id,
                email: d.email,
                name: d.name,
                role: d.role,
                created_at: d.created_at,
            },
            password_hash: d.password_hash,
            oidc: d.oidc.map(|o| OidcSubject {
                issuer: o.iss,
                subject: o.sub,
            }),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VisitorDoc {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
}

impl From<Visitor> for VisitorDoc {
    fn from(v: Visitor) -> Self {
        Self {
            id: v.id,
            name: v.name,
            email: v.email,
            created_at: v.created_at,
        }
    }
}

impl From<VisitorDoc> for Visitor {
    fn from(d: VisitorDoc) -> Self {
        Self {
            id: d.id,
            name: d.name,
            email: d.email,
            created_at: d.created_at,
        }
    }
}

/// `assignee` is always present (null when unassigned) so the filter `{assignee: null}` and its
/// index mean the same thing.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConversationDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub status: ConversationStatus,
    pub visitor: VisitorRef,
    pub assignee: Option<String>,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "bson_time")]
    pub updated_at: DateTime<Utc>,
    pub last_seq: u64,
}

impl From<Conversation> for ConversationDoc {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id,
            status: c.status,
            visitor: c.visitor,
            assignee: c.assignee,
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_seq: c.last_seq,
        }
    }
}

impl From<ConversationDoc> for Conversation {
    fn from(d: ConversationDoc) -> Self {
        Self {
            id: d.id,
            status: d.status,
            visitor: d.visitor,
            assignee: d.assignee,
            created_at: d.created_at,
            updated_at: d.updated_at,
            last_seq: d.last_seq,
        }
    }
}

/// `client_msg_id` is left out, not null, when absent: the unique index on it is partial
/// (`$exists: true`), and a null would make every message without one collide.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessageDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub conversation_id: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    pub author: Author,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageDoc {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            client_msg_id: m.client_msg_id,
            author: m.author,
            body: m.body,
            attachments: m.attachments,
            created_at: m.created_at,
        }
    }
}

impl From<MessageDoc> for Message {
    fn from(d: MessageDoc) -> Self {
        Self {
            id: d.id,
            conversation_id: d.conversation_id,
            seq: d.seq,
            client_msg_id: d.client_msg_id,
            author: d.author,
            body: d.body,
            attachments: d.attachments,
            created_at: d.created_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AttachmentDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub conversation_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub key: String,
    pub uploaded_by: Author,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
}

impl From<Attachment> for AttachmentDoc {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id,
            conversation_id: a.conversation_id,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            key: a.key,
            uploaded_by: a.uploaded_by,
            created_at: a.created_at,
        }
    }
}

impl From<AttachmentDoc> for Attachment {
    fn from(d: AttachmentDoc) -> Self {
        Self {
            id: d.id,
            conversation_id: d.conversation_id,
            filename: d.filename,
            content_type: d.content_type,
            size: d.size,
            key: d.key,
            uploaded_by: d.uploaded_by,
            created_at: d.created_at,
        }
    }
}
