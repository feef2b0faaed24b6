//! Conversation writes beyond create/update: read positions (and, beside them, labels, teams
//! and routing). Each is a read-check-write inside one `BEGIN IMMEDIATE` transaction, so it is
//! atomic against every other writer of the file.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::connections::in_transaction;
use super::rows::{self, CONVERSATION_COLUMNS, conflict_or, millis, store_error, to_json};
use crate::model::{Conversation, ConversationStatus, ReadState, Reader, now};
use crate::store::{StoreError, StoreResult};

pub fn mark_read(
    conn: &mut Connection,
    path: &Path,
    conversation_id: &str,
    reader: &Reader,
    seq: u64,
) -> StoreResult<Option<Conversation>> {
    in_transaction(conn, path, |tx| {
        let mut conversation = find(tx, path, conversation_id)?;
        let rose = raise_read(
            tx,
            path,
            conversation_id,
            &mut conversation.read,
            reader,
            seq,
        )?;
        Ok(rose.then_some(conversation))
    })
}

/// Raises `reader`'s position in `read` (the conversation's, as read in this transaction) to
/// `seq`, and stores the positions if it rose; whether it did. Also a sent message's, inside its
/// append (`append::send`).
pub fn raise_read(
    tx: &Transaction,
    path: &Path,
    conversation_id: &str,
    read: &mut ReadState,
    reader: &Reader,
    seq: u64,
) -> StoreResult<bool> {
    if !reader.raise(read, seq) {
        return Ok(false);
    }
    let read = serde_json::to_string(read)
        .map_err(|e| StoreError::Other(format!("encoding read positions: {e}")))?;
    tx.prepare_cached("UPDATE conversations SET read = ? WHERE id = ?")
        .and_then(|mut stmt| stmt.execute(params![read, conversation_id]))
        .map_err(|e| store_error(path, e))?;
    Ok(true)
}

fn find(tx: &Transaction, path: &Path, id: &str) -> StoreResult<Conversation> {
    tx.query_row(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?"),
        [id],
        rows::conversation,
    )
    .optional()
    .map_err(|e| store_error(path, e))?
    .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
}

pub fn create(
    conn: &mut Connection,
    path: &Path,
    conversation: Conversation,
) -> StoreResult<Conversation> {
    // The seqs and read positions belong to the store: a new conversation has no messages yet.
    let c = Conversation {
        last_seq: 0,
        last_public_seq: 0,
        read: Default::default(),
        labels: distinct(&conversation.labels),
        ..conversation
    };
    in_transaction(conn, path, |tx| {
        tx.execute(
            "INSERT INTO conversations (id, status, visitor_id, visitor_name, assignee, created_at,
                 updated_at, last_seq, last_public_seq, labels, team_id, resolved_at,
                 rating_score, rating_comment, rated_at, awaiting_desk)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?)",
            params![
                c.id,
                c.status.as_str(),
                c.visitor.id,
                c.visitor.name,
                c.assignee,
                millis(c.created_at),
                millis(c.updated_at),
                to_json(&c.labels)?,
                c.team_id,
                c.resolved_at.map(millis),
                c.rating.as_ref().map(|r| r.score),
                c.rating.as_ref().and_then(|r| r.comment.as_deref()),
                c.rating.as_ref().map(|r| millis(r.created_at)),
                c.status == ConversationStatus::Pending,
            ],
        )
        .map_err(|e| conflict_or(path, || format!("conversation {}", c.id), e))?;
        index_labels(tx, path, &c.id, &c.labels)?;
        Ok(c)
    })
}

/// Served by `conversations_awaiting_desk` (schema V19).
pub fn waiting_for_desk(
    conn: &Connection,
    after: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<Conversation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations
         WHERE awaiting_desk = 1 AND status = 'pending' AND assignee IS NULL AND id > ?
         ORDER BY id LIMIT ?"
    ))?;
    let found = stmt.query_map(params![after.unwrap_or(""), limit], rows::conversation)?;
    found.collect()
}

pub fn set_labels(
    conn: &mut Connection,
    path: &Path,
    conversation_id: &str,
    labels: &[String],
) -> StoreResult<Conversation> {
    let labels = distinct(labels);
    in_transaction(conn, path, |tx| {
        let err = |e| store_error(path, e);
        let changed = tx
            .query_row(
                &format!(
                    "UPDATE conversations SET labels = ?1, updated_at = max(updated_at, ?2)
                     WHERE id = ?3 RETURNING {CONVERSATION_COLUMNS}"
                ),
                params![to_json(&labels)?, millis(now()), conversation_id],
                rows::conversation,
            )
            .optional()
            .map_err(err)?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {conversation_id}")))?;
        tx.execute(
            "DELETE FROM conversation_labels WHERE conversation_id = ?",
            [conversation_id],
        )
        .map_err(err)?;
        index_labels(tx, path, conversation_id, &labels)?;
        Ok(changed)
    })
}

pub(super) fn index_labels(
    tx: &Transaction,
    path: &Path,
    id: &str,
    labels: &[String],
) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached("INSERT INTO conversation_labels (label, conversation_id) VALUES (?, ?)")
        .map_err(|e| store_error(path, e))?;
    for label in labels {
        stmt.execute(params![label, id])
            .map_err(|e| store_error(path, e))?;
    }
    Ok(())
}

/// Without repeats, first occurrence kept.
pub fn distinct(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .cloned()
        .collect()
}
