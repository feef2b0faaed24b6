//! `manifest.json`: what a backup holds, and the checks a restore makes before writing.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{BackupError, file_in};

/// What `kind` says; anything else is not an Atendo chat backup.
pub const KIND: &str = "atendo-chat-backup";
/// Bumped when the layout changes in a way an older server cannot read.
pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "manifest.json";

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub format: u32,
    /// `embedded` or `mongodb`: a backup is restored into the same kind of store.
    pub store: String,
    /// The embedded store's schema version; the MongoDB store has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<i64>,
    pub server_version: String,
    pub started_at: DateTime<Utc>,
    pub files: Vec<FileEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub name: String,
    /// The collection a MongoDB file holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// Documents in a MongoDB file (rows are not counted in the embedded one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<u64>,
    /// Compressed size and SHA-256, filled in by [`Manifest::finish`].
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub sha256: String,
}

impl Manifest {
    pub fn new(store: &str, schema: Option<i64>, started_at: DateTime<Utc>) -> Self {
        Self {
            kind: KIND.into(),
            format: FORMAT,
            store: store.into(),
            schema,
            server_version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            files: Vec::new(),
        }
    }

    /// The backup's folder below the target: its start time, sortable.
    pub fn folder_name(&self) -> String {
        self.started_at.format("%Y%m%dT%H%M%S%.3fZ").to_string()
    }

    /// Records each file's size and checksum, and writes `manifest.json` beside them.
    pub fn finish(&mut self, dir: &Path) -> Result<(), BackupError> {
        for file in &mut self.files {
            let (bytes, sha256) = digest(&dir.join(&file.name))?;
            file.bytes = bytes;
            file.sha256 = sha256;
        }
        let json = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        std::fs::write(dir.join(FILE_NAME), json).map_err(BackupError::io("writing manifest.json"))
    }

    pub fn parse(bytes: &[u8], at: &str) -> Result<Self, BackupError> {
        let invalid = |problem: String| BackupError::Invalid {
            at: at.to_string(),
            problem,
        };
        let manifest: Self = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("manifest.json is not a backup manifest: {e}")))?;
        if manifest.kind != KIND {
            return Err(invalid(format!(
                "manifest.json is of kind {:?}, not {KIND:?}",
                manifest.kind
            )));
        }
        if manifest.format > FORMAT {
            return Err(invalid(format!(
                "it is in backup format {}, newer than this server's {FORMAT}; restore with a newer chat-server",
                manifest.format
            )));
        }
        for file in &manifest.files {
            file_in(Path::new("."), &file.name)
                .map_err(|e| invalid(format!("manifest.json: {e}")))?;
        }
        Ok(manifest)
    }

    /// Every file the manifest names is there, whole and unaltered.
    pub fn verify(&self, dir: &Path, at: &str) -> Result<(), BackupError> {
        for file in &self.files {
            let path = dir.join(&file.name);
            let (bytes, sha256) = digest(&path).map_err(|e| BackupError::Invalid {
                at: at.to_string(),
                problem: format!("{} is missing or unreadable ({e})", file.name),
            })?;
            if bytes != file.bytes || sha256 != file.sha256 {
                return Err(BackupError::Invalid {
                    at: at.to_string(),
                    problem: format!(
                        "{} is {bytes} bytes with SHA-256 {sha256}, but the manifest says {} bytes with {}: it is truncated or altered",
                        file.name, file.bytes, file.sha256
                    ),
                });
            }
        }
        Ok(())
    }
}

fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    let what = format!("reading {}", path.display());
    let mut file = std::fs::File::open(path).map_err(BackupError::io(what.clone()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(BackupError::io(what.clone()))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((total, hex))
}
