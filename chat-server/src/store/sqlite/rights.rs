//! Data rights: the export's visitor pages, and erasing conversations (a visitor's, or those
//! retention let go) with everything in them, in one transaction.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::connections::in_transaction;
use super::rows::{
    self, ATTACHMENT_COLUMNS, CONVERSATION_COLUMNS, VISITOR_COLUMNS, millis, store_error,
};
use crate::model::{Attachment, Conversation, Visitor};
use crate::store::{Erased, Page, StoreResult};

pub fn list_visitors(conn: &Connection, page: &Page) -> rusqlite::Result<Vec<Visitor>> {
    super::teams::list(conn, "visitors", VISITOR_COLUMNS, page, rows::visitor)
}

pub fn attachments_of(
    conn: &Connection,
    conversation_id: &str,
) -> rusqlite::Result<Vec<Attachment>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE conversation_id = ? ORDER BY id"
    ))?;
    let found = stmt.query_map([conversation_id], rows::attachment)?;
    found.collect()
}

/// Messages (and their search entries, which the contentless FTS table only drops by rowid),
/// labels, attachment records, a transcript request, webhook deliveries (a pending one's body
/// holds a message; none is sent once it is gone), the mails about it in the outbox, whatever
/// their state (a sent one still names the visitor in its subject and Reply-To) and the
/// conversation row, which holds the read state.
pub fn erase_conversation(
    conn: &mut Connection,
    path: &Path,
    id: &str,
) -> StoreResult<Option<Erased>> {
    in_transaction(conn, path, |tx| {
        let run = |sql: &str| tx.execute(sql, [id]).map_err(|e| store_error(path, e));
        run("DELETE FROM message_search WHERE rowid IN \
             (SELECT rowid FROM messages WHERE conversation_id = ?)")?;
        let messages = run("DELETE FROM messages WHERE conversation_id = ?")?;
        let attachments = run("DELETE FROM attachments WHERE conversation_id = ?")?;
        run("DELETE FROM conversation_labels WHERE conversation_id = ?")?;
        run("DELETE FROM transcript_requests WHERE conversation_id = ?")?;
        run("DELETE FROM webhook_deliveries WHERE conversation_id = ?")?;
        run("DELETE FROM outbox WHERE conversation_id = ?")?;
        let conversations = run("DELETE FROM conversations WHERE id = ?")?;
        Ok((conversations > 0).then_some(Erased {
            messages: messages as u64,
            attachments: attachments as u64,
        }))
    })
}

pub fn delete_visitor(conn: &Connection, path: &Path, id: &str) -> StoreResult<bool> {
    let deleted = conn
        .execute("DELETE FROM visitors WHERE id = ?", [id])
        .map_err(|e| store_error(path, e))?;
    Ok(deleted > 0)
}

/// Served by `conversations_by_status_updated` (schema V13).
pub fn resolved_before(
    conn: &Connection,
    before: DateTime<Utc>,
    limit: u32,
) -> rusqlite::Result<Vec<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations
         WHERE status = 'resolved' AND updated_at < ? ORDER BY updated_at, id LIMIT ?"
    ))?;
    let found = stmt.query_map(params![millis(before), limit], rows::conversation)?;
    found.collect()
}
