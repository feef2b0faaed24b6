//! Between the model and SQLite rows: column lists, row readers, and error mapping.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::Type;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{
    Agent, AgentRecord, ApiToken, Attachment, Author, CannedResponse, Conversation, Message,
    OidcSubject, Rating, Revocation, Role, Team, Visitor, VisitorRef,
};
use crate::store::StoreError;

pub const AGENT_COLUMNS: &str =
    "id, email, name, role, password_hash, created_at, oidc_issuer, oidc_subject, disabled";
pub const VISITOR_COLUMNS: &str = "id, name, email, created_at";
pub const CONVERSATION_COLUMNS: &str = "id, status, visitor_id, visitor_name, assignee, \
     created_at, updated_at, last_seq, last_public_seq, read, labels, team_id, resolved_at, \
     rating_score, rating_comment, rated_at";
pub const TEAM_COLUMNS: &str = "id, name, agent_ids, created_at";
pub const CANNED_COLUMNS: &str = "id, shortcut, body, created_at, updated_at";
pub const API_TOKEN_COLUMNS: &str = "id, name, created_by, created_at, secret_sha256";
pub const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, client_msg_id, author_kind, author_id, \
     author_name, body, attachments, created_at, private";
pub const ATTACHMENT_COLUMNS: &str = "id, conversation_id, filename, content_type, size, key, \
     uploaded_by_kind, uploaded_by_id, uploaded_by_name, created_at";

pub const REVOCATION_COLUMNS: &str = "key, not_before, expires_at, at, keep_session";

pub fn revocation(row: &Row) -> rusqlite::Result<Revocation> {
    Ok(Revocation {
        key: row.get(0)?,
        not_before: time(row, 1)?,
        expires_at: time(row, 2)?,
        at: time(row, 3)?,
        keep_session: row.get(4)?,
    })
}

pub fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time; a value outside chrono's range is a conversion error, not a silent 1970.
pub fn time(row: &Row, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let ms: i64 = row.get(idx)?;
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            Type::Integer,
            format!("{ms} ms is outside the representable time range").into(),
        )
    })
}

fn optional_time(row: &Row, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => time(row, idx).map(Some),
    }
}

fn unsigned(row: &Row, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, e.into()))
}

pub fn signed(v: u64) -> i64 {
    // Seqs and byte sizes never come near 2^63; saturating keeps a corrupt value from wrapping.
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The enum's name on the wire (`"open"`, `"agent"`, …), which is also its stored text.
pub fn text<T: Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("unit enums serialize to strings, got {other:?}"),
    }
}

fn from_text<T: DeserializeOwned>(row: &Row, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_value(serde_json::Value::String(s))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.into()))
}

pub fn agent_record(row: &Row) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        agent: Agent {
            id: row.get(0)?,
            email: row.get(1)?,
            name: row.get(2)?,
            role: from_text::<Role>(row, 3)?,
            disabled: row.get(8)?,
            created_at: time(row, 5)?,
        },
        password_hash: row.get(4)?,
        oidc: match (row.get(6)?, row.get(7)?) {
            (Some(issuer), Some(subject)) => Some(OidcSubject { issuer, subject }),
            _ => None,
        },
    })
}

pub fn visitor(row: &Row) -> rusqlite::Result<Visitor> {
    Ok(Visitor {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        created_at: time(row, 3)?,
    })
}

pub fn conversation(row: &Row) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: row.get(0)?,
        status: from_text(row, 1)?,
        visitor: VisitorRef {
            id: row.get(2)?,
            name: row.get(3)?,
        },
        assignee: row.get(4)?,
        created_at: time(row, 5)?,
        updated_at: time(row, 6)?,
        last_seq: unsigned(row, 7)?,
        last_public_seq: unsigned(row, 8)?,
        read: json(row, 9)?,
        labels: json(row, 10)?,
        team_id: row.get(11)?,
        resolved_at: optional_time(row, 12)?,
        rating: match row.get::<_, Option<u8>>(13)? {
            None => None,
            Some(score) => Some(Rating {
                score,
                comment: row.get(14)?,
                created_at: time(row, 15)?,
            }),
        },
        unread: None,
    })
}

pub fn team(row: &Row) -> rusqlite::Result<Team> {
    Ok(Team {
        id: row.get(0)?,
        name: row.get(1)?,
        agent_ids: json(row, 2)?,
        created_at: time(row, 3)?,
    })
}

/// Reads [`API_TOKEN_COLUMNS`]; the secret's hash is the last column, so a list reads the
/// first four only.
pub fn api_token(row: &Row) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0)?,
        name: row.get(1)?,
        created_by: row.get(2)?,
        created_at: time(row, 3)?,
    })
}

pub fn canned(row: &Row) -> rusqlite::Result<CannedResponse> {
    Ok(CannedResponse {
        id: row.get(0)?,
        shortcut: row.get(1)?,
        body: row.get(2)?,
        created_at: time(row, 3)?,
        updated_at: time(row, 4)?,
    })
}

fn json<T: DeserializeOwned>(row: &Row, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.into()))
}

pub fn message(row: &Row) -> rusqlite::Result<Message> {
    let attachments: String = row.get(8)?;
    Ok(Message {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        seq: unsigned(row, 2)?,
        client_msg_id: row.get(3)?,
        author: Author {
            kind: from_text(row, 4)?,
            id: row.get(5)?,
            name: row.get(6)?,
        },
        body: row.get(7)?,
        attachments: serde_json::from_str(&attachments)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(8, Type::Text, e.into()))?,
        private: row.get(10)?,
        created_at: time(row, 9)?,
    })
}

pub fn attachment(row: &Row) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        filename: row.get(2)?,
        content_type: row.get(3)?,
        size: unsigned(row, 4)?,
        key: row.get(5)?,
        uploaded_by: Author {
            kind: from_text(row, 6)?,
            id: row.get(7)?,
            name: row.get(8)?,
        },
        created_at: time(row, 9)?,
    })
}

/// JSON text for a column (labels, member lists).
pub fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("encoding JSON: {e}")))
}

/// `Conflict` naming `what` for a unique violation, the usual mapping otherwise.
pub fn conflict_or(
    path: &std::path::Path,
    what: impl FnOnce() -> String,
    e: rusqlite::Error,
) -> StoreError {
    match is_unique_violation(&e) {
        true => StoreError::Conflict(what()),
        false => store_error(path, e),
    }
}

pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation
            && matches!(f.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY))
}

/// Maps an error that is not a caller's conflict. `path` is the database file, named in errors
/// an operator has to act on (permissions, full disk, corruption).
pub fn store_error(path: &std::path::Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            DatabaseBusy | DatabaseLocked => StoreError::Unavailable(format!(
                "embedded store {} stayed locked by another writer: {e}",
                path.display()
            )),
            ReadOnly | CannotOpen | PermissionDenied | DiskFull | SystemIoFailure
            | DatabaseCorrupt | NotADatabase => {
                StoreError::Other(format!("embedded store {}: {e}", path.display()))
            }
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}
