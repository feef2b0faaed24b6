//! Attachments: where the bytes of an upload go.
//!
//! The server never proxies bytes when a bucket is configured: [`s3`] presigns a PUT (and a GET
//! for downloads) on the tenant bucket. With no bucket, [`local`] keeps files on disk below the
//! data directory and the server itself accepts the PUT and serves the GET at the URLs it hands
//! out, so the embedded mode is complete.

pub mod local;
pub mod s3;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::config::Config;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// Headers the client must send with the request besides Content-Type (lower-case names):
    /// they are part of what the URL signs.
    pub headers: Vec<(&'static str, String)>,
}

/// What a download is served as: the browser shows only the image types below inline; anything
/// else (HTML, SVG, PDF, scripts) is saved as a file, so bytes a visitor uploaded never render as
/// a page on the storage origin.
#[derive(Clone, Copy, Debug)]
pub struct Download<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
}

/// Raster images the browser renders without running anything. Not SVG: it can carry script.
pub const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

impl Download<'_> {
    /// `Content-Disposition`: `inline` for [`INLINE_TYPES`], else `attachment`, with the name
    /// both as a plain ASCII fallback and as RFC 8187 UTF-8.
    pub fn content_disposition(&self) -> String {
        let kind = if INLINE_TYPES.contains(&self.content_type) {
            "inline"
        } else {
            "attachment"
        };
        let ascii: String = self
            .filename
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded = percent_encoding::utf8_percent_encode(self.filename, RFC8187).to_string();
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// RFC 8187's attr-char set kept as is; everything else percent-encoded.
const RFC8187: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("object storage unavailable: {0}")]
    Unavailable(String),
    #[error("object storage error: {0}")]
    Other(String),
    /// The request itself cannot be served (a client's mistake, not the storage's).
    #[error("{0}")]
    Refused(String),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// How long the URLs this store hands out stay valid.
    fn url_lifetime(&self) -> std::time::Duration;
    /// A URL a client can PUT exactly `size` bytes of `content_type` to, under `key`, once:
    /// a second PUT to an object that exists is refused, so a leaked URL cannot replace the
    /// bytes a message already points at.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
    ) -> Result<PresignedUrl, BlobError>;
    /// A URL a client can GET the object from, served as `download` says.
    async fn presign_get(
        &self,
        key: &str,
        download: Download<'_>,
    ) -> Result<PresignedUrl, BlobError>;
    /// Whether the bytes of `key` have arrived.
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;
    /// Removes the object for good; one that is not there counts as removed, so an erasure
    /// that failed halfway can simply run again.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}

/// The attachment store a deployment uses, and the routes it needs the app to serve.
pub struct Uploads {
    pub store: Arc<dyn BlobStore>,
    /// The local store's PUT/GET routes; empty for S3, where clients talk to the bucket.
    pub routes: axum::Router,
}

/// S3 when `CHAT_S3_BUCKET` is set, else files in `CHAT_UPLOAD_DIR` behind URLs signed with
/// `local_secret` (which must be the same on every replica and across restarts).
/// The local routes answer browsers on `origins` only, as the bucket's CORS rule does.
pub fn from_config(
    config: &Config,
    local_secret: &[u8],
    origins: tower_http::cors::AllowOrigin,
) -> Uploads {
    let lifetime = std::time::Duration::from_secs(config.upload_url_secs);
    match &config.s3_bucket {
        Some(bucket) => Uploads {
            store: Arc::new(
                s3::S3BlobStore::from_default_chain(
                    bucket,
                    &config.s3_region,
                    config.s3_endpoint.as_deref(),
                )
                .with_expiry(lifetime),
            ),
            routes: axum::Router::new(),
        },
        None => {
            let store = Arc::new(
                local::LocalBlobStore::new(
                    &config.upload_dir,
                    local_secret,
                    config.public_url.as_deref(),
                )
                .with_expiry(lifetime),
            );
            Uploads {
                store: store.clone(),
                routes: store.router_for(origins),
            }
        }
    }
}
