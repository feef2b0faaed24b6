//! Ratings, report facts and bulk imports on the embedded store (schema V12).

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::connections::in_transaction;
use super::conversations::index_labels;
use super::rows::{self, CONVERSATION_COLUMNS, conflict_or, millis, signed, store_error, to_json};
use super::search::insert_messages;
use crate::model::{ConversationStatus, Rating};
use crate::store::reports::message_times;
use crate::store::{ConversationFacts, Imported, Rated, StoreError, StoreResult};

/// One conditional UPDATE is the whole rule (resolved, not rated yet), so two writers cannot
/// both store a rating; on a miss, the row read in the same transaction says why.
pub fn rate(
    conn: &mut Connection,
    path: &Path,
    conversation_id: &str,
    rating: &Rating,
) -> StoreResult<Rated> {
    in_transaction(conn, path, |tx| {
        let err = |e| store_error(path, e);
        let stored = tx
            .query_row(
                &format!(
                    "UPDATE conversations SET rating_score = ?1, rating_comment = ?2, rated_at = ?3
                     WHERE id = ?4 AND status = 'resolved' AND rating_score IS NULL
                     RETURNING {CONVERSATION_COLUMNS}"
                ),
                params![
                    rating.score,
                    rating.comment,
                    millis(rating.created_at),
                    conversation_id
                ],
                rows::conversation,
            )
            .optional()
            .map_err(err)?;
        if let Some(c) = stored {
            return Ok(Rated::Stored(c));
        }
        let c = tx
            .query_row(
                &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?"),
                [conversation_id],
                rows::conversation,
            )
            .optional()
            .map_err(err)?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {conversation_id}")))?;
        Ok(match c.rating {
            Some(_) => Rated::AlreadyRated(c),
            None => Rated::NotResolved(c),
        })
    })
}

/// One range scan of the covering index `conversations_report`.
pub fn facts(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> rusqlite::Result<Vec<ConversationFacts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT created_at, assignee, status = 'resolved', resolved_at, first_visitor_at,
             first_response_at, rating_score
         FROM conversations INDEXED BY conversations_report
         WHERE created_at >= ? AND created_at < ?",
    )?;
    let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let rows = stmt.query_map(params![millis(from), millis(to)], |row| {
        Ok(ConversationFacts {
            created_at: time(row.get(0)?),
            assignee: row.get(1)?,
            resolved: row.get(2)?,
            resolved_at: row.get::<_, Option<i64>>(3)?.map(time),
            first_visitor_at: row.get::<_, Option<i64>>(4)?.map(time),
            first_response_at: row.get::<_, Option<i64>>(5)?.map(time),
            score: row.get(6)?,
        })
    })?;
    rows.collect()
}

/// The whole batch in one transaction (one fsync).
pub fn import(conn: &mut Connection, path: &Path, batch: Vec<Imported>) -> StoreResult<()> {
    in_transaction(conn, path, |tx| {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO conversations (id, status, visitor_id, visitor_name, assignee,
                     created_at, updated_at, last_seq, last_public_seq, labels, team_id,
                     resolved_at, rating_score, rating_comment, rated_at, first_visitor_at,
                     first_response_at, awaiting_desk)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .map_err(|e| store_error(path, e))?;
        for (c, messages) in &batch {
            let last_seq = messages.iter().map(|m| m.seq).max().unwrap_or(0);
            let last_public = messages
                .iter()
                .filter(|m| !m.private)
                .map(|m| m.seq)
                .max()
                .unwrap_or(0);
            let (first_visitor, first_response) = message_times(messages);
            // Only a resolved conversation has a resolution time.
            let resolved_at = c
                .resolved_at
                .filter(|_| c.status == ConversationStatus::Resolved);
            insert
                .execute(params![
                    c.id,
                    c.status.as_str(),
                    c.visitor.id,
                    c.visitor.name,
                    c.assignee,
                    millis(c.created_at),
                    millis(c.updated_at),
                    signed(last_seq),
                    signed(last_public),
                    to_json(&c.labels)?,
                    c.team_id,
                    resolved_at.map(millis),
                    c.rating.as_ref().map(|r| r.score),
                    c.rating.as_ref().and_then(|r| r.comment.as_deref()),
                    c.rating.as_ref().map(|r| millis(r.created_at)),
                    first_visitor.map(millis),
                    first_response.map(millis),
                    c.status == ConversationStatus::Pending,
                ])
                .map_err(|e| conflict_or(path, || format!("conversation {}", c.id), e))?;
            index_labels(tx, path, &c.id, &c.labels)?;
            insert_messages(tx, path, messages)?;
        }
        Ok(())
    })
}
