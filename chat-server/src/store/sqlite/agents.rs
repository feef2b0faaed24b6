//! Changing and removing agents. Both run in one `BEGIN IMMEDIATE` transaction, which holds the
//! write lock from its first statement: the "is another enabled admin left?" check and the write
//! it guards cannot interleave with another process doing the same, so two admins demoting each
//! other at once end with one of them refused (`LastAdmin`), never with no admin at all.

use std::path::Path;

use rusqlite::{OptionalExtension, Transaction, params};

use super::connections::in_transaction;
use super::rows::{self, AGENT_COLUMNS, CONVERSATION_COLUMNS, millis, store_error, text};
use crate::model::{Agent, AgentRecord, Conversation, Role, now};
use crate::store::{AgentPatch, StoreError, StoreResult};

pub fn update(
    conn: &mut rusqlite::Connection,
    path: &Path,
    id: &str,
    patch: &AgentPatch,
) -> StoreResult<Agent> {
    in_transaction(conn, path, |tx| {
        let current = find(tx, path, id)?;
        let stays_enabled_admin = patch.role.unwrap_or(current.agent.role) == Role::Admin
            && !patch.disabled.unwrap_or(current.agent.disabled);
        if !stays_enabled_admin {
            guard_last_admin(tx, path, &current.agent)?;
        }
        tx.query_row(
            &format!(
                "UPDATE agents SET name = coalesce(?1, name), role = coalesce(?2, role),
                     disabled = coalesce(?3, disabled), password_hash = coalesce(?4, password_hash)
                 WHERE id = ?5 RETURNING {AGENT_COLUMNS}"
            ),
            params![
                patch.name,
                patch.role.map(text),
                patch.disabled,
                patch.password_hash,
                id
            ],
            rows::agent_record,
        )
        .map(|r| r.agent)
        .map_err(|e| store_error(path, e))
    })
}

pub fn delete(
    conn: &mut rusqlite::Connection,
    path: &Path,
    id: &str,
) -> StoreResult<Vec<Conversation>> {
    in_transaction(conn, path, |tx| {
        let current = find(tx, path, id)?;
        guard_last_admin(tx, path, &current.agent)?;
        let err = |e| store_error(path, e);
        tx.execute("DELETE FROM agents WHERE id = ?", [id])
            .map_err(err)?;
        super::teams::remove_member(tx, path, id)?;
        let mut stmt = tx
            .prepare(&format!(
                "UPDATE conversations SET assignee = NULL, updated_at = max(updated_at, ?1)
                 WHERE assignee = ?2 AND status IN ('open', 'pending')
                 RETURNING {CONVERSATION_COLUMNS}"
            ))
            .map_err(err)?;
        let changed = stmt
            .query_map(params![millis(now()), id], rows::conversation)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(err)?;
        Ok(changed)
    })
}

fn find(tx: &Transaction, path: &Path, id: &str) -> StoreResult<AgentRecord> {
    tx.query_row(
        &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?"),
        [id],
        rows::agent_record,
    )
    .optional()
    .map_err(|e| store_error(path, e))?
    .ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
}

/// `LastAdmin` when `agent` is an enabled admin and no other enabled admin exists.
fn guard_last_admin(tx: &Transaction, path: &Path, agent: &Agent) -> StoreResult<()> {
    if agent.role != Role::Admin || agent.disabled {
        return Ok(());
    }
    let others: i64 = tx
        .query_row(
            "SELECT count(*) FROM agents WHERE role = 'admin' AND disabled = 0 AND id != ?",
            [&agent.id],
            |row| row.get(0),
        )
        .map_err(|e| store_error(path, e))?;
    match others {
        0 => Err(StoreError::LastAdmin(agent.id.clone())),
        _ => Ok(()),
    }
}
