//! The embedded store's connections: one writer (SQLite admits one at a time anyway) and a few
//! readers, which WAL lets proceed while a write is fsyncing. Every call runs on tokio's
//! blocking pool, because SQLite calls block.
//!
//! A reader opens at its first read, not at start: every open connection holds SQLite's lookaside
//! allocator (about 48 KB) whether it reads or not, and an idle tenant's server reads nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::rows::store_error;
use super::{FILE_NAME, schema};
use crate::store::{StoreError, StoreResult};

const READERS: usize = 4;
/// How long a writer waits for another process's write lock before giving up with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Connections {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// `None` until the reader's first read.
    readers: Vec<Mutex<Option<Connection>>>,
    next_reader: AtomicUsize,
}

pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Other(format!("embedded store task failed: {e}")))?
}

impl Connections {
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Other(format!(
                "cannot create the embedded store directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(FILE_NAME);
        let unusable = |e: &dyn std::fmt::Display| {
            StoreError::Other(format!(
                "cannot open the embedded store {} (is the directory writable?): {e}",
                path.display()
            ))
        };
        let mut writer = connect(&path).map_err(|e| unusable(&e))?;
        // SQLite silently falls back to read-only on a write-protected file; say so now rather
        // than at the first message.
        if writer
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| unusable(&e))?
        {
            return Err(unusable(&"the file is read-only"));
        }
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| unusable(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unusable(&format!(
                "the file system does not support WAL (journal mode stayed {mode})"
            )));
        }
        schema::migrate(&mut writer).map_err(|e| unusable(&e))?;
        // The pages the migrations read stay in the writer's cache otherwise, up to its 2 MB
        // limit, although the first messages need others.
        writer
            .execute_batch("PRAGMA shrink_memory")
            .map_err(|e| unusable(&e))?;
        let readers = (0..READERS).map(|_| Mutex::new(None)).collect();
        Ok(Self {
            path,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> StoreResult<T> + Send + 'static,
    {
        // A panic mid-call leaves no open transaction (rusqlite rolls back on drop), so a
        // poisoned lock still guards a usable connection.
        let conns = self.clone();
        blocking(move || conns.with_writer(f)).await
    }

    /// Runs `f` on the writer connection on the current (blocking) thread.
    pub fn with_writer<T>(&self, f: impl FnOnce(&mut Connection, &Path) -> T) -> T {
        let mut conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn, &self.path)
    }

    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conns = self.clone();
        blocking(move || {
            let i = conns.next_reader.fetch_add(1, Ordering::Relaxed) % conns.readers.len();
            let mut slot = conns.readers[i]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let conn = match &mut *slot {
                Some(conn) => conn,
                // The writer opened this file at start, so this fails only when the process is
                // out of descriptors or the file was taken away; the next read tries again.
                None => slot.insert(reader(&conns.path).map_err(|e| store_error(&conns.path, e))?),
            };
            f(conn).map_err(|e| store_error(&conns.path, e))
        })
        .await
    }

    #[cfg(test)]
    fn open_readers(&self) -> usize {
        self.readers
            .iter()
            .filter(|r| r.lock().unwrap_or_else(PoisonError::into_inner).is_some())
            .count()
    }
}

fn reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = connect(path)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// Runs `f` in a write transaction that holds the lock from its first statement (see the module
/// comment); commits only if `f` succeeds.
pub fn in_transaction<T>(
    conn: &mut Connection,
    path: &Path,
    f: impl FnOnce(&rusqlite::Transaction) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| store_error(path, e))?;
    let out = f(&tx)?;
    tx.commit().map_err(|e| store_error(path, e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_opens_at_its_first_read_and_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let conns = Arc::new(Connections::open(dir.path()).unwrap());
        assert_eq!(conns.open_readers(), 0, "no reader is opened before a read");
        for _ in 0..READERS {
            let one: i64 = conns
                .read(|conn| conn.query_row("SELECT 1", [], |row| row.get(0)))
                .await
                .unwrap();
            assert_eq!(one, 1);
        }
        assert_eq!(conns.open_readers(), READERS, "reads go round the readers");
        conns
            .read(|conn| conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0)))
            .await
            .unwrap();
        assert_eq!(conns.open_readers(), READERS, "an opened reader is reused");
        let refused = conns
            .read(|conn| conn.execute("CREATE TABLE t (x)", []))
            .await;
        assert!(
            refused.is_err(),
            "a reader must stay read-only: {refused:?}"
        );
    }
}
