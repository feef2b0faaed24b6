//! Object keys to delete again once the upload URLs that could refill them have run out
//! (`chat::late_uploads`).

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::connections::in_transaction;
use super::rows::{millis, store_error};
use crate::store::StoreResult;

pub fn schedule(
    conn: &mut Connection,
    path: &Path,
    keys: &[String],
    due_at: DateTime<Utc>,
) -> StoreResult<()> {
    in_transaction(conn, path, |tx| {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO blob_sweeps (key, due_at) VALUES (?, ?)
                 ON CONFLICT (key) DO UPDATE SET due_at = max(due_at, excluded.due_at)",
            )
            .map_err(|e| store_error(path, e))?;
        for key in keys {
            stmt.execute(params![key, millis(due_at)])
                .map_err(|e| store_error(path, e))?;
        }
        Ok(())
    })
}

/// Served by `blob_sweeps_due` (schema V18).
pub fn due(conn: &Connection, now: DateTime<Utc>, limit: u32) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key FROM blob_sweeps WHERE due_at <= ? ORDER BY due_at, key LIMIT ?",
    )?;
    let keys = stmt.query_map(params![millis(now), limit], |row| row.get(0))?;
    keys.collect()
}

pub fn swept(conn: &Connection, path: &Path, key: &str) -> StoreResult<()> {
    conn.execute("DELETE FROM blob_sweeps WHERE key = ?", [key])
        .map_err(|e| store_error(path, e))?;
    Ok(())
}
