//! The mail outbox and password-reset tokens. A claim is one `UPDATE … RETURNING` under the
//! single writer, so two claimers (threads or processes on the file) never get the same mail.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::rows::{conflict_or, millis, store_error, time};
use crate::store::webhooks::first_id_at;
use crate::store::{MailState, NewMail, OutboxMail, ResetToken, StoreResult};

const COLUMNS: &str = "id, recipient, subject, body, created_at, state, attempts, due_at, \
                       claimed_by, last_error, html, reply_to, conversation_id";

fn mail(row: &Row) -> rusqlite::Result<OutboxMail> {
    let state: String = row.get(5)?;
    Ok(OutboxMail {
        id: row.get(0)?,
        to: row.get(1)?,
        subject: row.get(2)?,
        body: row.get(3)?,
        created_at: time(row, 4)?,
        state: MailState::parse(&state).unwrap_or(MailState::Failed),
        attempts: row.get(6)?,
        due_at: time(row, 7)?,
        claimed_by: row.get(8)?,
        last_error: row.get(9)?,
        html: row.get(10)?,
        reply_to: row.get(11)?,
        conversation_id: row.get(12)?,
    })
}

pub fn enqueue(conn: &Connection, path: &Path, m: NewMail) -> StoreResult<()> {
    conn.execute(
        &format!(
            "INSERT INTO outbox ({COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, NULL, NULL, ?, ?, ?)"
        ),
        params![
            m.id,
            m.to,
            m.subject,
            m.body,
            millis(m.created_at),
            millis(m.created_at),
            m.html,
            m.reply_to,
            m.conversation_id
        ],
    )
    .map_err(|e| conflict_or(path, || format!("mail {}", m.id), e))?;
    Ok(())
}

pub fn claim(
    conn: &Connection,
    claimer: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> rusqlite::Result<Vec<OutboxMail>> {
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE outbox SET claimed_by = ?1, due_at = ?2 WHERE id IN (
             SELECT id FROM outbox WHERE state = 'pending' AND due_at <= ?3
             ORDER BY due_at LIMIT ?4)
         RETURNING {COLUMNS}"
    ))?;
    let rows = stmt.query_map(
        params![claimer, millis(lease_until), millis(now), limit],
        mail,
    )?;
    let mut claimed = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    claimed.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(claimed)
}

pub fn sent(conn: &Connection, path: &Path, id: &str, claimer: &str) -> StoreResult<bool> {
    let changed = conn
        .execute(
            "UPDATE outbox SET state = 'sent', body = '', html = NULL \
             WHERE id = ? AND claimed_by = ? AND state = 'pending'",
            params![id, claimer],
        )
        .map_err(|e| store_error(path, e))?;
    Ok(changed == 1)
}

pub fn failed(
    conn: &Connection,
    path: &Path,
    id: &str,
    claimer: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let changed = match retry_at {
        Some(at) => conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, due_at = ? \
             WHERE id = ? AND claimed_by = ? AND state = 'pending'",
            params![error, millis(at), id, claimer],
        ),
        None => conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, state = 'failed', body = '', html = NULL \
             WHERE id = ? AND claimed_by = ? AND state = 'pending'",
            params![error, id, claimer],
        ),
    }
    .map_err(|e| store_error(path, e))?;
    Ok(changed == 1)
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<OutboxMail>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?"),
        [id],
        mail,
    )
    .optional()
}

pub fn create_reset(conn: &Connection, path: &Path, t: ResetToken) -> StoreResult<()> {
    // Purging here keeps the table at the live tokens without a timer of its own.
    conn.execute(
        "DELETE FROM password_resets WHERE expires_at <= ?",
        [millis(t.created_at)],
    )
    .map_err(|e| store_error(path, e))?;
    conn.execute(
        "INSERT INTO password_resets (token_sha256, agent_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?)",
        params![
            t.token_sha256,
            t.agent_id,
            millis(t.created_at),
            millis(t.expires_at)
        ],
    )
    .map_err(|e| conflict_or(path, || "reset token".into(), e))?;
    Ok(())
}

/// No index on `agent_id`: `create_reset` purges expired rows, so the table holds only the live
/// links of the last half hour, a handful of rows.
pub fn drop_resets(conn: &Connection, path: &Path, agent_id: &str) -> StoreResult<u64> {
    let n = conn
        .execute("DELETE FROM password_resets WHERE agent_id = ?", [agent_id])
        .map_err(|e| store_error(path, e))?;
    Ok(n as u64)
}

/// One `DELETE … RETURNING`: the row goes with the read, so a second taker finds nothing.
pub fn take_reset(
    conn: &Connection,
    path: &Path,
    sha256: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<ResetToken>> {
    conn.query_row(
        "DELETE FROM password_resets WHERE token_sha256 = ? AND expires_at > ? \
         RETURNING token_sha256, agent_id, created_at, expires_at",
        params![sha256, millis(now)],
        |row| {
            Ok(ResetToken {
                token_sha256: row.get(0)?,
                agent_id: row.get(1)?,
                created_at: time(row, 2)?,
                expires_at: time(row, 3)?,
            })
        },
    )
    .optional()
    .map_err(|e| store_error(path, e))
}

/// By primary key range: no scan of what stays.
pub fn purge(conn: &Connection, path: &Path, before: DateTime<Utc>) -> StoreResult<u64> {
    conn.execute(
        "DELETE FROM outbox WHERE id < ? AND state != 'pending'",
        [first_id_at(before)],
    )
    .map(|n| n as u64)
    .map_err(|e| store_error(path, e))
}
