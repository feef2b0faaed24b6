//! Transcript requests: an upsert to ask, one `DELETE … RETURNING` to take (so of a resolution
//! and a request racing, exactly one takes it).

use std::path::Path;

use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{millis, store_error};
use crate::store::{StoreResult, TranscriptRequest};

pub fn request(conn: &Connection, path: &Path, r: &TranscriptRequest) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO transcript_requests (conversation_id, email, requested_at) VALUES (?, ?, ?) \
         ON CONFLICT (conversation_id) DO UPDATE SET email = excluded.email, \
         requested_at = excluded.requested_at",
        params![r.conversation_id, r.email, millis(r.requested_at)],
    )
    .map_err(|e| store_error(path, e))?;
    Ok(())
}

pub fn take(
    conn: &Connection,
    path: &Path,
    conversation_id: &str,
) -> StoreResult<Option<TranscriptRequest>> {
    conn.query_row(
        "DELETE FROM transcript_requests WHERE conversation_id = ? \
         RETURNING conversation_id, email, requested_at",
        [conversation_id],
        |row| {
            Ok(TranscriptRequest {
                conversation_id: row.get(0)?,
                email: row.get(1)?,
                requested_at: DateTime::from_timestamp_millis(row.get(2)?).unwrap_or_default(),
            })
        },
    )
    .optional()
    .map_err(|e| store_error(path, e))
}
