//! Attachments in an S3 bucket (AWS, or an S3-compatible endpoint such as MinIO or moto).
//!
//! Clients upload and download directly with presigned URLs; the server never sees the bytes.
//! Credentials come from the AWS default chain: environment (`AWS_ACCESS_KEY_ID`, …), profile,
//! web identity (IRSA on EKS), container or instance metadata.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use chrono::{DateTime, Utc};

use super::{BlobError, BlobStore, Download, PresignedUrl};

/// Listing-and-deleting rounds before a key whose versions keep coming back is reported.
const MAX_DELETE_ROUNDS: usize = 20;

/// Lifetime of every presigned URL unless configured otherwise.
pub const EXPIRY: Duration = Duration::from_secs(15 * 60);

pub struct S3BlobStore {
    client: tokio::sync::OnceCell<aws_sdk_s3::Client>,
    /// Where the client comes from at its first use; `None` when it was given at construction.
    source: Option<Source>,
    bucket: String,
    expiry: Duration,
}

struct Source {
    region: String,
    endpoint: Option<String>,
}

impl S3BlobStore {
    /// Uses the AWS default credentials chain. `endpoint` (an S3-compatible server) switches
    /// to path-style addressing, which such servers expect.
    ///
    /// The SDK's configuration and client are built at the first request, not here: building
    /// them at start put 1.4 MiB of code and data into the memory of every tenant's server,
    /// idle or not, before its first upload. Loading reads only the environment and profile
    /// files (credentials themselves are fetched when a request is signed), so nothing that
    /// could fail at start is put off.
    pub fn from_default_chain(bucket: &str, region: &str, endpoint: Option<&str>) -> Self {
        Self {
            client: tokio::sync::OnceCell::new(),
            source: Some(Source {
                region: region.to_string(),
                endpoint: endpoint.map(str::to_string),
            }),
            bucket: bucket.to_string(),
            expiry: EXPIRY,
        }
    }

    pub fn new(config: aws_sdk_s3::Config, bucket: &str) -> Self {
        Self {
            client: tokio::sync::OnceCell::new_with(Some(aws_sdk_s3::Client::from_conf(config))),
            source: None,
            bucket: bucket.to_string(),
            expiry: EXPIRY,
        }
    }

    pub fn with_expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                let source = self
                    .source
                    .as_ref()
                    .expect("a store made without a client has where to load one from");
                let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(Region::new(source.region.clone()))
                    .load()
                    .await;
                aws_sdk_s3::Client::from_conf(client_config(&sdk, source.endpoint.as_deref()))
            })
            .await
    }
}

/// Pure: the S3 client configuration for `sdk`, with path-style addressing when an endpoint
/// is given.
pub fn client_config(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Config {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk)
        // Otherwise the SDK signs a checksum of the empty body it presigns, and every upload
        // of real bytes to that URL fails the checksum.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    builder.build()
}

fn presigning(now: SystemTime, expiry: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::builder()
        .start_time(now)
        .expires_in(expiry)
        .build()
        .map_err(|e| BlobError::Other(format!("presigning configuration: {e}")))
}

fn url(request: PresignedRequest, now: SystemTime, expiry: Duration) -> PresignedUrl {
    PresignedUrl {
        url: request.uri().to_string(),
        expires_at: DateTime::<Utc>::from(now + expiry),
        headers: Vec::new(),
    }
}

/// Presigning fails only before any request is sent, nearly always for want of credentials.
fn presign_error(key: &str, e: impl std::error::Error) -> BlobError {
    let mut message = format!("presigning {key}: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    BlobError::Unavailable(message)
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn url_lifetime(&self) -> Duration {
        self.expiry
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
    ) -> Result<PresignedUrl, BlobError> {
        let length = i64::try_from(size)
            .map_err(|_| BlobError::Other(format!("size {size} is out of range")))?;
        let now = SystemTime::now();
        let request = self
            .client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            // A conditional write (S3 since 2024, MinIO, moto): signed, so the client must send
            // it, and S3 answers 412 once the object exists. The URL is good for one upload.
            .if_none_match("*")
            .presigned(presigning(now, self.expiry)?)
            .await
            .map_err(|e| presign_error(key, e))?;
        let mut url = url(request, now, self.expiry);
        url.headers.push(("if-none-match", "*".into()));
        Ok(url)
    }

    async fn presign_get(
        &self,
        key: &str,
        download: Download<'_>,
    ) -> Result<PresignedUrl, BlobError> {
        let now = SystemTime::now();
        let request = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            // The bucket serves what the URL says, whatever type the uploader declared.
            .response_content_disposition(download.content_disposition())
            .response_content_type(download.content_type)
            .presigned(presigning(now, self.expiry)?)
            .await
            .map_err(|e| presign_error(key, e))?;
        Ok(url(request, now, self.expiry))
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self
            .client()
            .await
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(e) => Err(BlobError::Unavailable(format!(
                "checking {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ))),
        }
    }

    /// Every version of the key and every delete marker, not only the current object: the
    /// tenant bucket is versioned (the operator keeps deleted uploads for a while, for recovery),
    /// and an erased file must not linger as an old version. Keys name one attachment each, so
    /// a key has few versions; the listing is repeated until none is left. A key that was never
    /// there lists nothing and is done.
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let failed = |step: &str, e: &dyn std::fmt::Display| {
            BlobError::Unavailable(format!("deleting {key} ({step}): {e}"))
        };
        for _ in 0..MAX_DELETE_ROUNDS {
            let listed = self
                .client()
                .await
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key)
                .send()
                .await
                .map_err(|e| failed("listing its versions", &DisplayErrorContext(&e)))?;
            let versions = listed
                .versions()
                .iter()
                .filter(|v| v.key() == Some(key))
                .map(|v| v.version_id().map(str::to_string));
            let markers = listed
                .delete_markers()
                .iter()
                .filter(|m| m.key() == Some(key))
                .map(|m| m.version_id().map(str::to_string));
            let ids: Vec<Option<String>> = versions.chain(markers).collect();
            if ids.is_empty() {
                return Ok(());
            }
            for id in ids {
                self.client()
                    .await
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .set_version_id(id)
                    .send()
                    .await
                    .map_err(|e| failed("a version", &DisplayErrorContext(&e)))?;
            }
        }
        Err(BlobError::Unavailable(format!(
            "deleting {key}: versions kept appearing after {MAX_DELETE_ROUNDS} rounds"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::S3BlobStore;

    #[tokio::test]
    async fn the_default_chain_client_is_built_at_its_first_use_not_before() {
        let store =
            S3BlobStore::from_default_chain("uploads", "us-east-1", Some("http://127.0.0.1:9"));
        assert!(store.client.get().is_none(), "built before any request");
        let client = store.client().await;
        assert_eq!(
            client.config().region().map(|r| r.as_ref()),
            Some("us-east-1")
        );
        assert!(store.client.get().is_some(), "built once and kept");
    }
}
