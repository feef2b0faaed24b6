//! Revocation records: an upsert by key, and the indexed "written since" poll.

use std::path::Path;

use rusqlite::{Connection, params};

use super::rows::{self, REVOCATION_COLUMNS, millis, store_error};
use crate::model::{Revocation, now};
use crate::store::StoreResult;

pub fn revoke(conn: &Connection, path: &Path, r: &Revocation) -> StoreResult<()> {
    let err = |e| store_error(path, e);
    // Purging here keeps the table at the unexpired records without a timer of its own.
    conn.prepare_cached("DELETE FROM revocations WHERE expires_at <= ?")
        .and_then(|mut stmt| stmt.execute([millis(now())]))
        .map_err(err)?;
    conn.prepare_cached(&format!(
        "INSERT INTO revocations ({REVOCATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key) DO UPDATE SET not_before = max(not_before, excluded.not_before),
             expires_at = max(expires_at, excluded.expires_at), at = excluded.at,
             keep_session = CASE WHEN excluded.not_before >= not_before
                 THEN excluded.keep_session ELSE keep_session END"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            r.key,
            millis(r.not_before),
            millis(r.expires_at),
            millis(r.at),
            r.keep_session
        ])
    })
    .map_err(err)?;
    Ok(())
}

pub fn since(conn: &Connection, since: i64) -> rusqlite::Result<Vec<Revocation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REVOCATION_COLUMNS} FROM revocations WHERE at >= ? AND expires_at > ?
         ORDER BY at"
    ))?;
    let rows = stmt.query_map(params![since, millis(now())], rows::revocation)?;
    rows.collect()
}
