//! Teams and canned responses: small admin-managed lists, unique by a lowercased key.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use super::connections::in_transaction;
use super::conversations::distinct;
use super::rows::{
    self, CANNED_COLUMNS, CONVERSATION_COLUMNS, TEAM_COLUMNS, conflict_or, millis, store_error,
    to_json,
};
use crate::model::{CannedResponse, Conversation, Team, now};
use crate::store::{CannedPatch, Page, StoreError, StoreResult, TeamPatch};

pub fn create_team(conn: &Connection, path: &Path, team: Team) -> StoreResult<Team> {
    let team = Team {
        agent_ids: distinct(&team.agent_ids),
        ..team
    };
    conn.execute(
        &format!("INSERT INTO teams ({TEAM_COLUMNS}, name_key) VALUES (?, ?, ?, ?, ?)"),
        params![
            team.id,
            team.name,
            to_json(&team.agent_ids)?,
            millis(team.created_at),
            team.name.to_lowercase()
        ],
    )
    .map_err(|e| conflict_or(path, || format!("a team named {}", team.name), e))?;
    Ok(team)
}

pub fn team(conn: &Connection, id: &str) -> rusqlite::Result<Option<Team>> {
    conn.query_row(
        &format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = ?"),
        [id],
        rows::team,
    )
    .optional()
}

pub fn list_teams(conn: &Connection, page: &Page) -> rusqlite::Result<Vec<Team>> {
    list(conn, "teams", TEAM_COLUMNS, page, rows::team)
}

pub fn update_team(
    conn: &mut Connection,
    path: &Path,
    id: &str,
    patch: &TeamPatch,
) -> StoreResult<Team> {
    let members = patch.agent_ids.as_deref().map(distinct);
    let name = patch.name.clone();
    let taken = format!("a team named {}", name.as_deref().unwrap_or_default());
    conn.query_row(
        &format!(
            "UPDATE teams SET name = coalesce(?1, name), name_key = coalesce(?2, name_key),
                 agent_ids = coalesce(?3, agent_ids)
             WHERE id = ?4 RETURNING {TEAM_COLUMNS}"
        ),
        params![
            name,
            name.as_ref().map(|n| n.to_lowercase()),
            members.as_ref().map(to_json).transpose()?,
            id
        ],
        rows::team,
    )
    .optional()
    .map_err(|e| conflict_or(path, || taken, e))?
    .ok_or_else(|| StoreError::NotFound(format!("team {id}")))
}

pub fn delete_team(conn: &mut Connection, path: &Path, id: &str) -> StoreResult<Vec<Conversation>> {
    in_transaction(conn, path, |tx| {
        let err = |e| store_error(path, e);
        if tx
            .execute("DELETE FROM teams WHERE id = ?", [id])
            .map_err(err)?
            == 0
        {
            return Err(StoreError::NotFound(format!("team {id}")));
        }
        let mut stmt = tx
            .prepare(&format!(
                "UPDATE conversations SET team_id = NULL, updated_at = max(updated_at, ?1)
                 WHERE team_id = ?2 AND status IN ('open', 'pending')
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

pub fn teams_of(conn: &Connection, agent_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT teams.id FROM teams, json_each(teams.agent_ids) AS member
         WHERE member.value = ? ORDER BY teams.id",
    )?;
    let ids = stmt.query_map([agent_id], |row| row.get(0))?;
    ids.collect()
}

/// Takes `agent_id` out of every team, inside the caller's transaction.
pub fn remove_member(tx: &Transaction, path: &Path, agent_id: &str) -> StoreResult<()> {
    let err = |e| store_error(path, e);
    let teams: Vec<Team> = {
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {TEAM_COLUMNS} FROM teams
                 WHERE EXISTS (SELECT 1 FROM json_each(teams.agent_ids) WHERE value = ?)"
            ))
            .map_err(err)?;
        stmt.query_map([agent_id], rows::team)
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(err)?
    };
    for team in teams {
        let members: Vec<&String> = team.agent_ids.iter().filter(|a| *a != agent_id).collect();
        tx.execute(
            "UPDATE teams SET agent_ids = ? WHERE id = ?",
            params![to_json(&members)?, team.id],
        )
        .map_err(err)?;
    }
    Ok(())
}

pub fn create_canned(
    conn: &Connection,
    path: &Path,
    canned: CannedResponse,
) -> StoreResult<CannedResponse> {
    let c = &canned;
    conn.execute(
        &format!(
            "INSERT INTO canned_responses ({CANNED_COLUMNS}, shortcut_key) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        params![
            c.id,
            c.shortcut,
            c.body,
            millis(c.created_at),
            millis(c.updated_at),
            c.shortcut.to_lowercase()
        ],
    )
    .map_err(|e| conflict_or(path, || format!("a canned response /{}", c.shortcut), e))?;
    Ok(canned)
}

pub fn canned(conn: &Connection, id: &str) -> rusqlite::Result<Option<CannedResponse>> {
    conn.query_row(
        &format!("SELECT {CANNED_COLUMNS} FROM canned_responses WHERE id = ?"),
        [id],
        rows::canned,
    )
    .optional()
}

pub fn list_canned(conn: &Connection, page: &Page) -> rusqlite::Result<Vec<CannedResponse>> {
    list(conn, "canned_responses", CANNED_COLUMNS, page, rows::canned)
}

pub fn update_canned(
    conn: &Connection,
    path: &Path,
    id: &str,
    patch: &CannedPatch,
) -> StoreResult<CannedResponse> {
    let shortcut = patch.shortcut.clone();
    let taken = format!(
        "a canned response /{}",
        shortcut.as_deref().unwrap_or_default()
    );
    conn.query_row(
        &format!(
            "UPDATE canned_responses SET shortcut = coalesce(?1, shortcut),
                 shortcut_key = coalesce(?2, shortcut_key), body = coalesce(?3, body),
                 updated_at = max(updated_at, ?4)
             WHERE id = ?5 RETURNING {CANNED_COLUMNS}"
        ),
        params![
            shortcut,
            shortcut.as_ref().map(|s| s.to_lowercase()),
            patch.body,
            millis(now()),
            id
        ],
        rows::canned,
    )
    .optional()
    .map_err(|e| conflict_or(path, || taken, e))?
    .ok_or_else(|| StoreError::NotFound(format!("canned response {id}")))
}

pub fn delete_canned(conn: &Connection, path: &Path, id: &str) -> StoreResult<()> {
    match conn
        .execute("DELETE FROM canned_responses WHERE id = ?", [id])
        .map_err(|e| store_error(path, e))?
    {
        0 => Err(StoreError::NotFound(format!("canned response {id}"))),
        _ => Ok(()),
    }
}

/// One page of `table`, newest (highest id) first.
pub(super) fn list<T>(
    conn: &Connection,
    table: &str,
    columns: &str,
    page: &Page,
    row: fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut sql = format!("SELECT {columns} FROM {table}");
    let mut args = Vec::new();
    if let Some(before) = &page.before_id {
        sql.push_str(" WHERE id < ?");
        args.push(Value::Text(before.clone()));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Value::Integer(page.limit.into()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let items = stmt.query_map(params_from_iter(args), row)?;
    items.collect()
}
