//! Visitors' contact details: one `UPDATE … RETURNING` under the single writer.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{self, VISITOR_COLUMNS, store_error};
use crate::model::Visitor;
use crate::store::{StoreError, StoreResult, VisitorPatch};

pub fn update(
    conn: &Connection,
    path: &Path,
    id: &str,
    patch: &VisitorPatch,
) -> StoreResult<Visitor> {
    conn.query_row(
        &format!(
            "UPDATE visitors SET name = COALESCE(?, name), email = COALESCE(?, email) \
             WHERE id = ? RETURNING {VISITOR_COLUMNS}"
        ),
        params![patch.name, patch.email, id],
        rows::visitor,
    )
    .optional()
    .map_err(|e| store_error(path, e))?
    .ok_or_else(|| StoreError::NotFound(format!("visitor {id}")))
}
