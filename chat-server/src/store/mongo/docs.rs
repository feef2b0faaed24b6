//! The documents as stored: the model's fields, `_id` for the id, BSON datetimes for times (so
//! range queries and TTL indexes work, and millisecond values read back equal), and whatever
//! the indexes need (`email_key`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Agent, AgentRecord, ApiToken, ApiTokenRecord, Attachment, AttachmentRef, Author,
    CannedResponse, Conversation, ConversationStatus, Message, OidcSubject, Rating, ReadState,
    Revocation, Role, Team, Visitor, VisitorRef,
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

/// [`bson_time`] for an optional time, absent when `None` (with `skip_serializing_if`): `$min`
/// sets a missing field but keeps a null, which sorts before every date.
mod bson_time_opt {
    use chrono::{DateTime, Utc};
    use mongodb::bson;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        t.map(|t| bson::DateTime::from_millis(t.timestamp_millis()))
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let t = Option::<bson::DateTime>::deserialize(d)?;
        Ok(t.and_then(|t| DateTime::from_timestamp_millis(t.timestamp_millis())))
    }
}

/// A visitor's rating inside its conversation document.
#[derive(Debug, Serialize, Deserialize)]
pub struct RatingDoc {
    pub score: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
}

impl From<Rating> for RatingDoc {
    fn from(r: Rating) -> Self {
        Self {
            score: r.score.into(),
            comment: r.comment,
            created_at: r.created_at,
        }
    }
}

impl From<RatingDoc> for Rating {
    fn from(d: RatingDoc) -> Self {
        Self {
            score: d.score.clamp(0, 255) as u8,
            comment: d.comment,
            created_at: d.created_at,
        }
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
    /// Missing in documents older servers wrote: enabled.
    #[serde(default)]
    pub disabled: bool,
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
            disabled: r.agent.disabled,
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
                disabled: d.disabled,
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

/// Names are unique ignoring case through `name_key`, as emails are.
#[derive(Debug, Serialize, Deserialize)]
pub struct TeamDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub name_key: String,
    /// Multikey-indexed for `teams_of` and for taking a deleted agent out.
    pub agent_ids: Vec<String>,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
}

impl From<Team> for TeamDoc {
    fn from(t: Team) -> Self {
        Self {
            name_key: t.name.to_lowercase(),
            id: t.id,
            name: t.name,
            agent_ids: t.agent_ids,
            created_at: t.created_at,
        }
    }
}

impl From<TeamDoc> for Team {
    fn from(d: TeamDoc) -> Self {
        Self {
            id: d.id,
            name: d.name,
            agent_ids: d.agent_ids,
            created_at: d.created_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CannedDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub shortcut: String,
    pub shortcut_key: String,
    pub body: String,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "bson_time")]
    pub updated_at: DateTime<Utc>,
}

impl From<CannedResponse> for CannedDoc {
    fn from(c: CannedResponse) -> Self {
        Self {
            shortcut_key: c.shortcut.to_lowercase(),
            id: c.id,
            shortcut: c.shortcut,
            body: c.body,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<CannedDoc> for CannedResponse {
    fn from(d: CannedDoc) -> Self {
        Self {
            id: d.id,
            shortcut: d.shortcut,
            body: d.body,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ApiTokenDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub created_by: String,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
    pub secret_sha256: String,
}

impl From<ApiTokenRecord> for ApiTokenDoc {
    fn from(r: ApiTokenRecord) -> Self {
        Self {
            id: r.token.id,
            name: r.token.name,
            created_by: r.token.created_by,
            created_at: r.token.created_at,
            secret_sha256: r.secret_sha256,
        }
    }
}

impl From<ApiTokenDoc> for ApiTokenRecord {
    fn from(d: ApiTokenDoc) -> Self {
        Self {
            secret_sha256: d.secret_sha256,
            token: ApiToken {
                id: d.id,
                name: d.name,
                created_by: d.created_by,
                created_at: d.created_at,
            },
        }
    }
}

impl From<ApiTokenDoc> for ApiToken {
    fn from(d: ApiTokenDoc) -> Self {
        ApiTokenRecord::from(d).token
    }
}

/// One per key: the upsert in `revoke` merges a second revocation of the same key.
#[derive(Debug, Serialize, Deserialize)]
pub struct RevocationDoc {
    #[serde(rename = "_id")]
    pub key: String,
    #[serde(with = "bson_time")]
    pub not_before: DateTime<Utc>,
    #[serde(with = "bson_time")]
    pub expires_at: DateTime<Utc>,
    #[serde(with = "bson_time")]
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_session: Option<String>,
}

impl From<RevocationDoc> for Revocation {
    fn from(d: RevocationDoc) -> Self {
        Self {
            key: d.key,
            not_before: d.not_before,
            expires_at: d.expires_at,
            at: d.at,
            keep_session: d.keep_session,
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
    /// Missing in documents written before private notes, when every message was public: read
    /// as `last_seq` then. The first note's append writes it (see `append`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_public_seq: Option<u64>,
    /// `read.visitor` and `read.agents.<agent id>`, each raised with `$max`.
    #[serde(default)]
    pub read: ReadState,
    /// Multikey-indexed for the label filter.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    /// Present while resolved; `$unset` on reopening.
    #[serde(
        default,
        with = "bson_time_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Created pending and no status change since: waiting for the desk. Missing in documents
    /// from before it, when every pending one counted as waiting, so a missing one still does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_desk: Option<bool>,
    /// Set once, by a write that matches only while it is absent (see `reports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingDoc>,
    /// The report's message times, lowered with `$min` by appends (see `append`); absent until
    /// there is one.
    #[serde(
        default,
        with = "bson_time_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_visitor_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "bson_time_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_response_at: Option<DateTime<Utc>>,
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
            last_public_seq: Some(c.last_public_seq),
            awaiting_desk: Some(c.status == ConversationStatus::Pending),
            read: c.read,
            labels: c.labels,
            team_id: c.team_id,
            resolved_at: c.resolved_at,
            rating: c.rating.map(RatingDoc::from),
            first_visitor_at: None,
            first_response_at: None,
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
            last_public_seq: d.last_public_seq.unwrap_or(d.last_seq),
            read: d.read,
            labels: d.labels,
            team_id: d.team_id,
            resolved_at: d.resolved_at,
            rating: d.rating.map(Rating::from),
            unread: None,
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
    /// Left out when false, as older documents are.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
    #[serde(with = "bson_time")]
    pub created_at: DateTime<Utc>,
    /// The body's folded words (`store::search`), multikey-indexed for search. Always written,
    /// also empty, so `{words: {$exists: false}}` finds exactly the documents to backfill.
    #[serde(default)]
    pub words: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl From<Message> for MessageDoc {
    fn from(m: Message) -> Self {
        Self {
            words: crate::store::search::words(&m.body),
            id: m.id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            client_msg_id: m.client_msg_id,
            author: m.author,
            body: m.body,
            attachments: m.attachments,
            private: m.private,
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
            private: d.private,
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
