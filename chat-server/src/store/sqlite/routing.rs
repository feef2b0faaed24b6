//! What automatic assignment reads, the one write it must not race on, the lease that lets one
//! process route at a time and the turns that break ties.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::rows::{self, CONVERSATION_COLUMNS, millis, store_error};
use crate::model::{Conversation, now};
use crate::store::{StoreError, StoreResult};

pub fn open_counts(conn: &Connection) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT assignee, count(*) FROM conversations
         WHERE status = 'open' AND assignee IS NOT NULL GROUP BY assignee",
    )?;
    let counts = stmt.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?;
    counts.collect()
}

/// One statement, and SQLite runs one writer at a time: the `assignee IS NULL` test and the
/// write cannot be split by another assignment.
pub fn assign_if_unassigned(
    conn: &Connection,
    path: &Path,
    conversation_id: &str,
    agent_id: &str,
) -> StoreResult<Option<Conversation>> {
    let err = |e| store_error(path, e);
    let assigned = conn
        .query_row(
            &format!(
                "UPDATE conversations SET assignee = ?1, updated_at = max(updated_at, ?2)
                 WHERE id = ?3 AND assignee IS NULL RETURNING {CONVERSATION_COLUMNS}"
            ),
            params![agent_id, millis(now()), conversation_id],
            rows::conversation,
        )
        .optional()
        .map_err(err)?;
    if assigned.is_some() {
        return Ok(assigned);
    }
    let exists = conn
        .query_row(
            "SELECT 1 FROM conversations WHERE id = ?",
            [conversation_id],
            |_| Ok(()),
        )
        .optional()
        .map_err(err)?;
    match exists {
        Some(()) => Ok(None),
        None => Err(StoreError::NotFound(format!(
            "conversation {conversation_id}"
        ))),
    }
}

pub fn oldest_unassigned(
    conn: &Connection,
    teams: Option<&[String]>,
    limit: u32,
) -> rusqlite::Result<Vec<Conversation>> {
    let mut sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations
         WHERE status = 'open' AND assignee IS NULL"
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some(teams) = teams {
        let marks = vec!["?"; teams.len()].join(", ");
        sql.push_str(&format!(" AND (team_id IS NULL OR team_id IN ({marks}))"));
        args.extend(teams.iter().map(|t| Value::Text(t.clone())));
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push(Value::Integer(limit.into()));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), rows::conversation)?;
    rows.collect()
}

/// One statement: the upsert matches a free, expired or already-held-by-`holder` lease and
/// returns a row only when it wrote, so two processes cannot both see `true`.
pub fn try_lease(
    conn: &Connection,
    path: &Path,
    name: &str,
    holder: &str,
    until: i64,
) -> StoreResult<bool> {
    conn.query_row(
        "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE until < ?4 OR holder = excluded.holder
         RETURNING 1",
        params![name, holder, until, millis(now())],
        |_| Ok(()),
    )
    .optional()
    .map(|taken| taken.is_some())
    .map_err(|e| store_error(path, e))
}

pub fn release_lease(conn: &Connection, path: &Path, name: &str, holder: &str) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM leases WHERE name = ? AND holder = ?",
        params![name, holder],
    )
    .map(drop)
    .map_err(|e| store_error(path, e))
}

pub fn turns(conn: &Connection) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut stmt = conn.prepare_cached("SELECT agent_id, turn FROM routing_turns")?;
    let turns = stmt.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?;
    turns.collect()
}

pub fn record_turn(conn: &Connection, path: &Path, agent_id: &str, turn: u64) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO routing_turns (agent_id, turn) VALUES (?1, ?2)
         ON CONFLICT (agent_id) DO UPDATE SET turn = excluded.turn",
        params![agent_id, turn as i64],
    )
    .map(drop)
    .map_err(|e| store_error(path, e))
}
