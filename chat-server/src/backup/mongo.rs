//! A MongoDB store in a backup: every collection of the tenant's database, each a gzip stream of
//! its BSON documents in `_id` order, all read in one snapshot session (MongoDB 5.0+ replica
//! sets, Atlas included, read every collection at one point in time; the window is the
//! server's `minSnapshotHistoryWindowInSeconds`, 5 minutes by default). Indexes are not copied:
//! the store makes them when it opens, after a restore as at any start.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use mongodb::bson::{RawDocumentBuf, doc};
use mongodb::{Client, Database};

use super::manifest::{FileEntry, Manifest};
use super::{BackupError, file_in};
use crate::store::mongo::MongoStore;

pub const STORE: &str = "mongodb";
/// Documents per insert on restore; also bounded by [`BATCH_BYTES`].
const BATCH: usize = 1_000;
const BATCH_BYTES: usize = 8 << 20;

fn store_error(what: &str) -> impl FnOnce(mongodb::error::Error) -> BackupError + '_ {
    move |e| BackupError::Store(format!("{what}: {e}"))
}

async fn connect(uri: &str, database: &str) -> Result<Database, BackupError> {
    let client = Client::with_uri_str(uri)
        .await
        .map_err(store_error("connecting to MongoDB (CHAT_STORE)"))?;
    Ok(client.database(database))
}

/// The tenant's collections, without MongoDB's own.
async fn collections(db: &Database) -> Result<Vec<String>, BackupError> {
    let mut names: Vec<String> = db
        .list_collection_names()
        .await
        .map_err(store_error("listing the collections"))?
        .into_iter()
        .filter(|n| !n.starts_with("system."))
        .collect();
    names.sort();
    Ok(names)
}

pub async fn dump(uri: &str, database: &str, staging: &Path) -> Result<Manifest, BackupError> {
    let db = connect(uri, database).await?;
    let started_at = crate::model::now();
    let mut session = db
        .client()
        .start_session()
        .snapshot(true)
        .await
        .map_err(store_error("starting a snapshot session"))?;
    let mut manifest = Manifest::new(STORE, None, started_at);
    for name in collections(&db).await? {
        let file = format!("{name}.bson.gz");
        let path = file_in(staging, &file).map_err(|e| {
            BackupError::Store(format!("collection {name:?} cannot be a backup file: {e}"))
        })?;
        let what = format!("reading collection {name}");
        let mut cursor = db
            .collection::<RawDocumentBuf>(&name)
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .session(&mut session)
            .await
            .map_err(store_error(&what))?;
        let output =
            File::create(&path).map_err(BackupError::io(format!("writing {}", path.display())))?;
        let mut encoder = GzEncoder::new(BufWriter::new(output), Compression::default());
        let mut documents = 0u64;
        while let Some(document) = cursor.next(&mut session).await {
            let document = document.map_err(store_error(&what))?;
            encoder
                .write_all(document.as_bytes())
                .map_err(BackupError::io(format!("writing {}", path.display())))?;
            documents += 1;
        }
        encoder
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .and_then(|f| f.sync_all())
            .map_err(BackupError::io(format!("writing {}", path.display())))?;
        manifest.files.push(FileEntry {
            name: file,
            collection: Some(name),
            documents: Some(documents),
            bytes: 0,
            sha256: String::new(),
        });
    }
    Ok(manifest)
}

pub async fn load(
    manifest: &Manifest,
    files: &Path,
    uri: &str,
    database: &str,
    force: bool,
    at: &str,
) -> Result<(), BackupError> {
    let invalid = |problem: String| BackupError::Invalid {
        at: at.to_string(),
        problem,
    };
    let db = connect(uri, database).await?;
    let existing = collections(&db).await?;
    if !force {
        let mut held = Vec::new();
        for name in &existing {
            let n = db
                .collection::<RawDocumentBuf>(name)
                .estimated_document_count()
                .await
                .map_err(store_error("counting documents"))?;
            if n > 0 {
                held.push(format!("{n} in {name}"));
            }
        }
        if !held.is_empty() {
            return Err(BackupError::NotEmpty(format!(
                "database {database} holds documents: {}",
                held.join(", ")
            )));
        }
    }
    for name in &existing {
        db.collection::<RawDocumentBuf>(name)
            .drop()
            .await
            .map_err(store_error(&format!("dropping collection {name}")))?;
    }
    for entry in &manifest.files {
        let Some(collection) = &entry.collection else {
            return Err(invalid(format!("{} names no collection", entry.name)));
        };
        let path = file_in(files, &entry.name).map_err(invalid)?;
        let restored = load_collection(&db, collection, &path).await?;
        if Some(restored) != entry.documents {
            return Err(invalid(format!(
                "{} held {restored} documents, the manifest says {:?}",
                entry.name, entry.documents
            )));
        }
    }
    MongoStore::open(uri, database)
        .await
        .map(drop)
        .map_err(|e| BackupError::Store(e.to_string()))
}

/// Inserts the documents of one file; how many.
async fn load_collection(db: &Database, name: &str, path: &Path) -> Result<u64, BackupError> {
    let what = format!("reading {}", path.display());
    let input = File::open(path).map_err(BackupError::io(what.clone()))?;
    let mut reader = GzDecoder::new(BufReader::new(input));
    let collection = db.collection::<RawDocumentBuf>(name);
    let mut batch = Vec::with_capacity(BATCH);
    let mut batch_bytes = 0;
    let mut total = 0u64;
    loop {
        let document = next_document(&mut reader).map_err(BackupError::io(what.clone()))?;
        let done = document.is_none();
        if let Some(document) = document {
            batch_bytes += document.as_bytes().len();
            batch.push(document);
        }
        if (done && !batch.is_empty()) || batch.len() >= BATCH || batch_bytes >= BATCH_BYTES {
            total += batch.len() as u64;
            collection
                .insert_many(std::mem::take(&mut batch))
                .await
                .map_err(store_error(&format!("restoring collection {name}")))?;
            batch_bytes = 0;
        }
        if done {
            return Ok(total);
        }
    }
}

/// One BSON document (its length prefix included), or `None` at the end of the stream.
fn next_document(reader: &mut impl Read) -> std::io::Result<Option<RawDocumentBuf>> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let n = i32::from_le_bytes(length);
    if !(5..=16 << 20).contains(&n) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a document of {n} bytes is not BSON"),
        ));
    }
    let mut bytes = length.to_vec();
    bytes.resize(n as usize, 0);
    reader.read_exact(&mut bytes[4..])?;
    RawDocumentBuf::from_bytes(bytes)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}
