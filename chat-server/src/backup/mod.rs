//! `chat-server backup` and `chat-server restore`: one tenant's store as a snapshot, compressed,
//! with a manifest, in a directory or under an S3 prefix.
//!
//! A backup is a folder (or prefix) holding `manifest.json` and gzip files: the embedded store
//! as one SQLite file ([`sqlite`], `VACUUM INTO`, a consistent copy while servers keep writing),
//! or every collection of the MongoDB database as a stream of BSON documents ([`mongo`], read
//! in one snapshot session). The manifest names each file with its size, SHA-256 and document
//! count, so a restore refuses a truncated or altered backup before it writes anything.
//!
//! Files are staged on local disk ([`location`]): written there, then uploaded; downloaded
//! there, then read. Memory stays flat whatever the tenant's size.
//!
//! A restore goes only into an empty store unless forced, and only into the kind of store the
//! backup came from; the store is then opened as a server would open it, so an older backup is
//! migrated forward and indexes are made.

pub mod location;
mod manifest;
mod mongo;
mod sqlite;

use std::path::{Path, PathBuf};

pub use location::Location;
pub use manifest::{FileEntry, Manifest};

use crate::config::{Command, Config, StoreLocation};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Location(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("S3: {0}")]
    S3(String),
    #[error("the store: {0}")]
    Store(String),
    /// The backup is not one this server can restore, or not whole.
    #[error("the backup at {at}: {problem}")]
    Invalid { at: String, problem: String },
    #[error(
        "the store is not empty ({0}); restore into an empty store, or pass --force to replace what is there"
    )]
    NotEmpty(String),
}

impl BackupError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}

/// Where S3 locations are reached: the same settings the attachment bucket uses.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    pub region: String,
    pub endpoint: Option<String>,
}

/// Runs `chat-server backup` or `chat-server restore`, saying what it did on stdout.
pub async fn run(command: &Command, config: &Config) -> Result<(), BackupError> {
    let s3 = S3Settings {
        region: config.s3_region.clone(),
        endpoint: config.s3_endpoint.clone(),
    };
    match command {
        Command::Backup { to } => {
            let (at, manifest) = backup(&config.store, to, &s3).await?;
            let documents: u64 = manifest.files.iter().filter_map(|f| f.documents).sum();
            let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
            println!(
                "backup of the {} store written to {at} ({} files, {bytes} bytes compressed{})",
                manifest.store,
                manifest.files.len() + 1,
                if manifest.store == "mongodb" {
                    format!(", {documents} documents")
                } else {
                    String::new()
                }
            );
        }
        Command::Restore { from, force } => {
            let manifest = restore(&config.store, from, *force, &s3).await?;
            println!(
                "restored the backup of {} from {from} into the store",
                manifest.started_at.to_rfc3339()
            );
        }
    }
    Ok(())
}

/// Takes a backup of `store` into a new folder below `to` named after the time; its location
/// and manifest.
pub async fn backup(
    store: &StoreLocation,
    to: &Location,
    s3: &S3Settings,
) -> Result<(Location, Manifest), BackupError> {
    let staging = staging_dir()?;
    let mut manifest = match store {
        StoreLocation::Embedded(dir) => sqlite::dump(dir, staging.path()).await?,
        StoreLocation::Mongo { uri, database } => {
            mongo::dump(uri, database, staging.path()).await?
        }
    };
    manifest.finish(staging.path())?;
    let at = to.child(&manifest.folder_name());
    at.upload(staging.path(), &manifest, s3).await?;
    Ok((at, manifest))
}

/// Restores the backup at `from` into `store`, which must be empty unless `force`.
pub async fn restore(
    store: &StoreLocation,
    from: &Location,
    force: bool,
    s3: &S3Settings,
) -> Result<Manifest, BackupError> {
    let staging = staging_dir()?;
    let at = from.to_string();
    let (manifest, files) = from.download(staging.path(), s3).await?;
    let kind = match store {
        StoreLocation::Embedded(_) => sqlite::STORE,
        StoreLocation::Mongo { .. } => mongo::STORE,
    };
    if manifest.store != kind {
        return Err(BackupError::Invalid {
            at,
            problem: format!(
                "it holds a {} store; restore it into one, not into the {kind} store CHAT_STORE names",
                manifest.store
            ),
        });
    }
    manifest.verify(&files, &at)?;
    match store {
        StoreLocation::Embedded(dir) => sqlite::load(&manifest, &files, dir, force, &at).await?,
        StoreLocation::Mongo { uri, database } => {
            mongo::load(&manifest, &files, uri, database, force, &at).await?
        }
    }
    Ok(manifest)
}

fn staging_dir() -> Result<tempfile::TempDir, BackupError> {
    tempfile::Builder::new()
        .prefix("atendo-backup-")
        .tempdir()
        .map_err(BackupError::io("making a staging directory (TMPDIR)"))
}

/// `name` inside `dir`, refusing names that would leave it (a manifest is input).
fn file_in(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.starts_with('.');
    if plain {
        Ok(dir.join(name))
    } else {
        Err(format!("{name:?} is not a plain file name"))
    }
}
