//! The embedded store in a backup: the SQLite file copied with `VACUUM INTO`, which reads in
//! one transaction (a consistent snapshot while servers keep writing through WAL) and writes a
//! compact copy, then gzip.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rusqlite::{Connection, OpenFlags};

use super::manifest::{FileEntry, Manifest};
use super::{BackupError, file_in};
use crate::store::sqlite::{FILE_NAME, SqliteStore, schema_version};

pub const STORE: &str = "embedded";
const DATA: &str = "store.sqlite.gz";

pub async fn dump(dir: &Path, staging: &Path) -> Result<Manifest, BackupError> {
    let source = dir.join(FILE_NAME);
    let staging = staging.to_path_buf();
    blocking(move || {
        if !source.exists() {
            return Err(BackupError::Store(format!(
                "no embedded store at {} (CHAT_STORE)",
                source.display()
            )));
        }
        let started_at = crate::model::now();
        let sql = |e: rusqlite::Error| BackupError::Store(format!("{}: {e}", source.display()));
        let conn =
            Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        let schema: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sql)?;
        let copy = staging.join("store.sqlite");
        conn.execute("VACUUM INTO ?", [copy.display().to_string()])
            .map_err(sql)?;
        drop(conn);
        gzip(&copy, &staging.join(DATA))?;
        std::fs::remove_file(&copy)
            .map_err(BackupError::io(format!("removing {}", copy.display())))?;
        let mut manifest = Manifest::new(STORE, Some(schema), started_at);
        manifest.files.push(FileEntry {
            name: DATA.into(),
            collection: None,
            documents: None,
            bytes: 0,
            sha256: String::new(),
        });
        Ok(manifest)
    })
    .await
}

pub async fn load(
    manifest: &Manifest,
    files: &Path,
    dir: &Path,
    force: bool,
    at: &str,
) -> Result<(), BackupError> {
    let invalid = |problem: String| BackupError::Invalid {
        at: at.to_string(),
        problem,
    };
    let schema = manifest.schema.unwrap_or(0);
    if schema > schema_version() {
        return Err(invalid(format!(
            "its schema version {schema} is newer than this server's {}; restore with a newer chat-server",
            schema_version()
        )));
    }
    let Some(data) = manifest.files.iter().find(|f| f.name == DATA) else {
        return Err(invalid(format!("the manifest names no {DATA}")));
    };
    let data = file_in(files, &data.name).map_err(invalid)?;
    let dir = dir.to_path_buf();
    let target = dir.join(FILE_NAME);
    let into = dir.clone();
    blocking(move || {
        let dir = into;
        std::fs::create_dir_all(&dir)
            .map_err(BackupError::io(format!("creating {}", dir.display())))?;
        if target.exists() {
            if !force {
                refuse_unless_empty(&target)?;
            }
            for suffix in ["", "-wal", "-shm"] {
                let path = dir.join(format!("{FILE_NAME}{suffix}"));
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(BackupError::io(format!("removing {}", path.display()))(e));
                    }
                    _ => {}
                }
            }
        }
        // Written beside, then renamed: a restore cut short leaves no half a database.
        let partial = dir.join(format!("{FILE_NAME}.restoring"));
        if let Err(e) = gunzip(&data, &partial) {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        std::fs::rename(&partial, &target).map_err(BackupError::io(format!(
            "moving the restored store to {}",
            target.display()
        )))
    })
    .await?;
    // Opened as a server opens it: an older backup is migrated forward here.
    SqliteStore::open(dir.as_path())
        .await
        .map(drop)
        .map_err(|e| BackupError::Store(e.to_string()))
}

/// A store file is empty when it holds no agent, visitor or conversation: a server that ran
/// against it even once has made its bootstrap admin.
fn refuse_unless_empty(path: &Path) -> Result<(), BackupError> {
    let sql = |e: rusqlite::Error| BackupError::Store(format!("{}: {e}", path.display()));
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql)?;
    let mut held = Vec::new();
    for table in ["agents", "visitors", "conversations"] {
        let exists: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?",
                [table],
                |row| row.get(0),
            )
            .map_err(sql)?;
        if !exists {
            continue;
        }
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .map_err(sql)?;
        if n > 0 {
            held.push(format!("{n} {table}"));
        }
    }
    if held.is_empty() {
        Ok(())
    } else {
        Err(BackupError::NotEmpty(format!(
            "{} holds {}",
            path.display(),
            held.join(", ")
        )))
    }
}

fn gzip(from: &Path, to: &Path) -> Result<(), BackupError> {
    let mut input =
        File::open(from).map_err(BackupError::io(format!("reading {}", from.display())))?;
    let output = File::create(to).map_err(BackupError::io(format!("writing {}", to.display())))?;
    let mut encoder = GzEncoder::new(output, Compression::default());
    std::io::copy(&mut input, &mut encoder)
        .and_then(|_| encoder.finish())
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io(format!(
            "compressing into {}",
            to.display()
        )))
}

fn gunzip(from: &Path, to: &Path) -> Result<(), BackupError> {
    let input = File::open(from).map_err(BackupError::io(format!("reading {}", from.display())))?;
    let mut decoder = GzDecoder::new(BufReader::new(input));
    let mut output =
        File::create(to).map_err(BackupError::io(format!("writing {}", to.display())))?;
    std::io::copy(&mut decoder, &mut output)
        .and_then(|_| output.sync_all())
        .map_err(BackupError::io(format!(
            "decompressing {} into {}",
            from.display(),
            to.display()
        )))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::Store(format!("the backup task failed: {e}")))?
}
