//! What automatic assignment reads and the one write it must not race on.

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
