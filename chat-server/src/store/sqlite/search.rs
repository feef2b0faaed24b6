//! Message search on the FTS5 index `message_search` (schema V7), and the bulk import the
//! search benchmark loads its million messages with.
//!
//! Newest first is FTS5 rowid order, descending: the rowid is the message's insertion order,
//! which is also its id order (one writer, monotonic ids). The cursor `before_id` becomes "rowid
//! at most that of the newest message with a lower id", so it works for an id that is gone too.

use std::path::Path;

use rusqlite::{Connection, params};

use super::rows::{self, MESSAGE_COLUMNS, millis, signed, store_error, to_json};
use crate::model::Message;
use crate::store::search as folding;
use crate::store::{Page, StoreResult};

pub fn search(conn: &Connection, query: &str, page: &Page) -> rusqlite::Result<Vec<Message>> {
    let words = folding::query_words(query);
    if words.is_empty() || page.limit == 0 {
        return Ok(Vec::new());
    }
    // Each word a quoted string: FTS5 syntax in the query cannot get in, and the words are
    // ANDed. (Folded words have no quote character: they are letters and digits.)
    let fts_query = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let upper = match &page.before_id {
        None => i64::MAX,
        Some(before) => conn
            .prepare_cached("SELECT rowid FROM messages WHERE id < ? ORDER BY id DESC LIMIT 1")?
            .query_row([before], |row| row.get::<_, i64>(0))
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                e => Err(e),
            })?,
    };
    let columns = MESSAGE_COLUMNS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {columns} FROM message_search JOIN messages m ON m.rowid = message_search.rowid
         WHERE message_search MATCH ?1 AND message_search.rowid <= ?2
         ORDER BY message_search.rowid DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![fts_query, upper, page.limit], rows::message)?;
    rows.collect()
}

/// Bulk inserts of messages with their search entries, inside the caller's transaction
/// (`import_conversations`).
pub(super) fn insert_messages(
    tx: &rusqlite::Transaction,
    path: &Path,
    messages: &[Message],
) -> StoreResult<()> {
    {
        let err = |e| store_error(path, e);
        let mut insert = tx
            .prepare_cached(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .map_err(err)?;
        let mut index = tx
            .prepare_cached("INSERT INTO message_search (rowid, words) VALUES (?, ?)")
            .map_err(err)?;
        let mut bump = tx
            .prepare_cached(
                "UPDATE conversations SET last_seq = max(last_seq, ?1),
                     last_public_seq = CASE WHEN ?2 THEN last_public_seq
                         ELSE max(last_public_seq, ?1) END
                 WHERE id = ?3",
            )
            .map_err(err)?;
        for m in messages {
            insert
                .execute(params![
                    m.id,
                    m.conversation_id,
                    signed(m.seq),
                    m.client_msg_id,
                    m.author.kind.as_str(),
                    m.author.id,
                    m.author.name,
                    m.body,
                    to_json(&m.attachments)?,
                    millis(m.created_at),
                    m.private
                ])
                .map_err(err)?;
            index
                .execute(params![
                    tx.last_insert_rowid(),
                    folding::words(&m.body).join(" ")
                ])
                .map_err(err)?;
            bump.execute(params![signed(m.seq), m.private, m.conversation_id])
                .map_err(err)?;
        }
        Ok(())
    }
}
