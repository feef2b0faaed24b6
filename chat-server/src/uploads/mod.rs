//! Attachments: where the bytes of an upload go.
//!
//! The server never proxies bytes when a bucket is configured: [`s3`] presigns a PUT (and a GET
//! for downloads) on the tenant bucket. With no bucket, [`local`] keeps files on disk below the
//! data directory and the server itself accepts the PUT and serves the GET at the URLs it hands
//! out, so the embedded mode is complete.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("object storage unavailable: {0}")]
    Unavailable(String),
    #[error("object storage error: {0}")]
    Other(String),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A URL a client can PUT exactly `size` bytes of `content_type` to, under `key`.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
    ) -> Result<PresignedUrl, BlobError>;
    /// A URL a client can GET the object from.
    async fn presign_get(&self, key: &str) -> Result<PresignedUrl, BlobError>;
}
