//! API tokens: one row each, the secret only as its hash.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{self, API_TOKEN_COLUMNS, conflict_or, millis, store_error};
use crate::model::{ApiToken, ApiTokenRecord};
use crate::store::{Page, StoreError, StoreResult};

pub fn create(conn: &Connection, path: &Path, record: ApiTokenRecord) -> StoreResult<ApiToken> {
    let t = &record.token;
    conn.execute(
        &format!("INSERT INTO api_tokens ({API_TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
        params![
            t.id,
            t.name,
            t.created_by,
            millis(t.created_at),
            record.secret_sha256
        ],
    )
    .map_err(|e| conflict_or(path, || format!("API token {}", t.id), e))?;
    Ok(record.token)
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<ApiTokenRecord>> {
    conn.query_row(
        &format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?"),
        [id],
        |row| {
            Ok(ApiTokenRecord {
                token: rows::api_token(row)?,
                secret_sha256: row.get(4)?,
            })
        },
    )
    .optional()
}

pub fn list(conn: &Connection, page: &Page) -> rusqlite::Result<Vec<ApiToken>> {
    super::teams::list(conn, "api_tokens", API_TOKEN_COLUMNS, page, rows::api_token)
}

pub fn delete(conn: &Connection, path: &Path, id: &str) -> StoreResult<()> {
    match conn
        .execute("DELETE FROM api_tokens WHERE id = ?", [id])
        .map_err(|e| store_error(path, e))?
    {
        0 => Err(StoreError::NotFound(format!("API token {id}"))),
        _ => Ok(()),
    }
}
