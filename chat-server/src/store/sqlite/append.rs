//! A sent message inside the write transaction: the conversation read, the owner check, the
//! append, its author's read position and its webhook event, so that they cost one round trip
//! (see `store::send`). The statements are prepared once per connection (`prepare_cached`):
//! parsing them again for every message was most of an append's CPU time.

use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::rows::{self, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, millis, signed, store_error};
use super::{conversations, webhooks};
use crate::model::{Message, NewMessage, new_id, now};
use crate::store::{Appended, NewSend, Sent, StoreError, StoreResult, search, send};

/// [`crate::store::Store::send_message`] inside the write transaction.
pub fn send(tx: &rusqlite::Transaction, path: &Path, new: NewSend) -> StoreResult<Sent> {
    let id = &new.message.conversation_id;
    let before = tx
        .prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?"
        ))
        .and_then(|mut stmt| stmt.query_row([id], rows::conversation).optional())
        .map_err(|e| store_error(path, e))?
        .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
    if !send::owns(&new.owner, &before) {
        return Ok(Sent::NotOwner);
    }
    let appended = append(tx, path, new.message, before.last_seq)?;
    if let (Appended::Created(message), Some(reader)) = (&appended, &new.read_by) {
        // On a copy: `before` goes back as the conversation before this append.
        let mut read = before.read.clone();
        let id = &message.conversation_id;
        conversations::raise_read(tx, path, id, &mut read, reader, message.seq)?;
    }
    let events = match new.event {
        Some(event) => webhooks::enqueue_in(tx, path, &event(appended.message())?)?,
        None => 0,
    };
    Ok(Sent::Stored {
        appended,
        before,
        events,
    })
}

/// The append itself, after `last_seq` was read in the same write transaction (which is what
/// keeps seqs gap-free and client_msg_ids unique: writes are serialised).
fn append(
    tx: &rusqlite::Transaction,
    path: &Path,
    new: NewMessage,
    last_seq: u64,
) -> StoreResult<Appended> {
    let err = |e| store_error(path, e);
    if let Some(client_msg_id) = &new.client_msg_id {
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND client_msg_id = ?"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(params![new.conversation_id, client_msg_id], rows::message)
                    .optional()
            })
            .map_err(err)?;
        if let Some(original) = existing {
            return Ok(Appended::Existing(original));
        }
    }
    let message = Message {
        id: new_id(),
        conversation_id: new.conversation_id,
        seq: last_seq + 1,
        client_msg_id: new.client_msg_id,
        author: new.author,
        body: new.body,
        attachments: new.attachments,
        private: new.private,
        created_at: now(),
    };
    let attachments = serde_json::to_string(&message.attachments)
        .map_err(|e| StoreError::Other(format!("encoding attachments: {e}")))?;
    tx.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            message.id,
            message.conversation_id,
            signed(message.seq),
            message.client_msg_id,
            message.author.kind.as_str(),
            message.author.id,
            message.author.name,
            message.body,
            attachments,
            millis(message.created_at),
            message.private
        ])
    })
    .map_err(err)?;
    let rowid = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO message_search (rowid, words) VALUES (?, ?)")
        .and_then(|mut stmt| stmt.execute(params![rowid, search::words(&message.body).join(" ")]))
        .map_err(err)?;
    // In the same transaction as the insert: a visitor shown `last_public_seq` never waits for
    // a seq that is not stored yet.
    // The report's times (see schema V12): the visitor's first message, and the first public
    // agent message after it; the right-hand sides read the row before this message.
    tx.prepare_cached(
        "UPDATE conversations SET last_seq = ?1,
             last_public_seq = CASE WHEN ?2 THEN last_public_seq ELSE ?1 END,
             updated_at = max(updated_at, ?3),
             first_visitor_at = CASE WHEN ?5 = 'visitor'
                 THEN coalesce(first_visitor_at, ?3) ELSE first_visitor_at END,
             first_response_at = CASE
                 WHEN ?5 = 'agent' AND NOT ?2 AND first_visitor_at IS NOT NULL
                 THEN coalesce(first_response_at, ?3) ELSE first_response_at END
         WHERE id = ?4",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            signed(message.seq),
            message.private,
            millis(message.created_at),
            message.conversation_id,
            message.author.kind.as_str()
        ])
    })
    .map_err(err)?;
    Ok(Appended::Created(message))
}
