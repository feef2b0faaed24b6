//! Attachments on local disk, for deployments without a bucket (the embedded mode).
//!
//! The server plays S3's part itself: it hands out HMAC-signed URLs under
//! `/api/v1/blobs/{key}` and [`LocalBlobStore::router`] accepts the PUT and serves the GET at
//! them. A PUT URL binds the key, expiry and exact size, and the client must send the declared
//! `Content-Type` (it is part of the signature, as with S3). A GET URL binds key and expiry.
//!
//! On disk: the object at `{dir}/{key}`, its content type at `{dir}/.meta/{key}`, uploads in
//! progress in `{dir}/.tmp/`. Keys never have a segment starting with `.`, so these never
//! collide, and an object appears only by `rename`, complete.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeFile;

use super::{BlobError, BlobStore, Download, PresignedUrl};

/// The route both methods are served on; `key` may contain `/`.
pub const ROUTE: &str = "/api/v1/blobs/{*key}";
const PREFIX: &str = "/api/v1/blobs/";
/// Default lifetime of a signed URL, as for S3.
pub const EXPIRY: Duration = Duration::from_secs(15 * 60);
const MAX_KEY_BYTES: usize = 1024;
const MAX_SEGMENT_BYTES: usize = 255;
/// Everything but RFC 3986 unreserved characters is escaped in a key segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub struct LocalBlobStore {
    dir: PathBuf,
    secret: Vec<u8>,
    base_url: String,
    expiry: Duration,
}

impl LocalBlobStore {
    /// `secret` signs the URLs (share it across restarts or URLs handed out die with the
    /// process); `public_url` prefixes them, else they are relative (`/api/v1/blobs/…`).
    pub fn new(dir: impl Into<PathBuf>, secret: &[u8], public_url: Option<&str>) -> Self {
        Self {
            dir: dir.into(),
            secret: secret.to_vec(),
            base_url: public_url.unwrap_or("").trim_end_matches('/').to_string(),
            expiry: EXPIRY,
        }
    }

    pub fn with_expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// The PUT and GET routes for the URLs this store hands out, to merge into the app; any
    /// page may use them.
    pub fn router(self: Arc<Self>) -> Router {
        self.router_for(AllowOrigin::any())
    }

    /// [`Self::router`] for pages of `origins` only (CHAT_ALLOWED_ORIGINS).
    pub fn router_for(self: Arc<Self>, origins: AllowOrigin) -> Router {
        Router::new()
            .route(ROUTE, get(get_blob).put(put_blob))
            .with_state(self)
            // The widget uploads and downloads from customers' sites, as it does with the
            // bucket's CORS rule, which admits the same origins. The signed URL is the only
            // credential; no cookies.
            .layer(
                CorsLayer::new()
                    .allow_origin(origins)
                    .allow_methods([Method::GET, Method::PUT])
                    // Listed, not `*`: a wildcard never covers Authorization, which a download
                    // redirected from /api/v1/attachments still carries.
                    .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
                    .max_age(Duration::from_secs(3600)),
            )
    }

    fn mac(
        &self,
        method: &str,
        key: &str,
        expires: u64,
        size: u64,
        content_type: &str,
    ) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        // Keys and header values cannot contain '\n', so the fields cannot run into each other.
        mac.update(
            format!("atendo-blob-v1\n{method}\n{key}\n{expires}\n{size}\n{content_type}")
                .as_bytes(),
        );
        mac
    }

    fn signed_url(
        &self,
        method: &str,
        key: &str,
        size: u64,
        content_type: &str,
    ) -> Result<PresignedUrl, BlobError> {
        check_key(key).map_err(|e| BlobError::Refused(format!("key {key:?}: {e}")))?;
        let expires = unix_now() + self.expiry.as_secs();
        let sig = URL_SAFE_NO_PAD.encode(
            self.mac(method, key, expires, size, content_type)
                .finalize()
                .into_bytes(),
        );
        let path = key
            .split('/')
            .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/");
        let size_param = if method == "PUT" {
            format!("&size={size}")
        } else {
            String::new()
        };
        Ok(PresignedUrl {
            url: format!(
                "{}{PREFIX}{path}?expires={expires}{size_param}&sig={sig}",
                self.base_url
            ),
            expires_at: DateTime::<Utc>::from(UNIX_EPOCH + Duration::from_secs(expires)),
            headers: Vec::new(),
        })
    }

    fn verify(
        &self,
        method: &str,
        key: &str,
        expires: u64,
        size: u64,
        content_type: &str,
        sig: &str,
    ) -> Result<(), HttpError> {
        let valid = URL_SAFE_NO_PAD.decode(sig).is_ok_and(|sig| {
            self.mac(method, key, expires, size, content_type)
                .verify_slice(&sig)
                .is_ok()
        });
        if !valid {
            let what = if method == "PUT" {
                "key, expiry, size and Content-Type"
            } else {
                "key and expiry"
            };
            return Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "invalid_signature",
                format!("the URL's signature does not match this {what}"),
            ));
        }
        if unix_now() > expires {
            return Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "url_expired",
                "this URL has expired; ask for a new one",
            ));
        }
        Ok(())
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.dir.join(".meta").join(key)
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    fn url_lifetime(&self) -> Duration {
        self.expiry
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
    ) -> Result<PresignedUrl, BlobError> {
        if content_type.is_empty() || HeaderValue::from_str(content_type).is_err() {
            return Err(BlobError::Refused(format!(
                "{content_type:?} is not a valid Content-Type"
            )));
        }
        self.signed_url("PUT", key, size, content_type)
    }

    /// Does not look at the disk: a URL for a missing object answers 404 when used. The GET
    /// route derives the disposition itself, from the stored type and the key's last segment
    /// (the file name), which is what `_download` says for keys the chat makes.
    async fn presign_get(
        &self,
        key: &str,
        _download: Download<'_>,
    ) -> Result<PresignedUrl, BlobError> {
        self.signed_url("GET", key, 0, "")
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        check_key(key).map_err(|e| BlobError::Refused(format!("key {key:?}: {e}")))?;
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(BlobError::Unavailable(format!("checking {key}: {e}"))),
        }
    }

    /// The object and its stored type; the per-conversation folders left empty stay (they
    /// name nothing but ids).
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key).map_err(|e| BlobError::Refused(format!("key {key:?}: {e}")))?;
        for path in [self.object_path(key), self.meta_path(key)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(BlobError::Unavailable(format!("deleting {key}: {e}")));
                }
            }
        }
        Ok(())
    }
}

/// Keys are relative paths of non-empty segments that never climb out of the directory nor
/// reach the store's own `.meta` and `.tmp` folders.
pub fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err("must be 1 to 1024 bytes long");
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return Err("must not contain control characters or backslashes");
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment.starts_with('.') || segment.len() > MAX_SEGMENT_BYTES {
            return Err("every /-separated segment must be 1 to 255 bytes and not start with '.'");
        }
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Deserialize)]
struct PutQuery {
    expires: u64,
    size: u64,
    sig: String,
}

#[derive(Deserialize)]
struct GetQuery {
    expires: u64,
    sig: String,
}

async fn put_blob(
    State(store): State<Arc<LocalBlobStore>>,
    UrlPath(key): UrlPath<String>,
    query: Result<Query<PutQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, HttpError> {
    check_key(&key).map_err(HttpError::invalid_key)?;
    let Query(q) = query.map_err(HttpError::malformed_url)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    store.verify("PUT", &key, q.expires, q.size, content_type, &q.sig)?;
    let target = store.object_path(&key);
    // Checked again when the file is linked into place; this spares reading a doomed body.
    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        return Err(HttpError::already_uploaded(&key));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(declared) = declared {
        check_size(declared, q.size)?;
    }

    let tmp_dir = store.dir.join(".tmp");
    tokio::fs::create_dir_all(&tmp_dir)
        .await
        .map_err(HttpError::storage)?;
    let tmp = TempFile(tmp_dir.join(crate::model::new_id()));
    let mut file = tokio::fs::File::create(&tmp.0)
        .await
        .map_err(HttpError::storage)?;
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                "upload_interrupted",
                format!("reading the upload failed: {e}"),
            )
        })?;
        received += chunk.len() as u64;
        // Stops reading at the first byte too many; nothing beyond the declared size is kept.
        if received > q.size {
            return Err(HttpError::too_large(q.size));
        }
        file.write_all(&chunk).await.map_err(HttpError::storage)?;
    }
    check_size(received, q.size)?;
    file.sync_all().await.map_err(HttpError::storage)?;
    drop(file);

    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(HttpError::storage)?;
    }
    // The type first: an object is never visible without it. Then a link, not a rename: it
    // fails if the object exists, so of two PUTs racing on one URL only the first lands.
    write_atomically(&store.meta_path(&key), content_type.as_bytes(), &tmp_dir).await?;
    match tokio::fs::hard_link(&tmp.0, &target).await {
        Ok(()) => Ok(StatusCode::OK),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(HttpError::already_uploaded(&key))
        }
        Err(e) => Err(HttpError::storage(e)),
    }
    // `tmp` is removed on drop either way.
}

async fn get_blob(
    State(store): State<Arc<LocalBlobStore>>,
    UrlPath(key): UrlPath<String>,
    query: Result<Query<GetQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, HttpError> {
    check_key(&key).map_err(HttpError::invalid_key)?;
    let Query(q) = query.map_err(HttpError::malformed_url)?;
    store.verify("GET", &key, q.expires, 0, "", &q.sig)?;
    let path = store.object_path(&key);
    if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no object {key}"),
        ));
    }
    let content_type = tokio::fs::read(store.meta_path(&key))
        .await
        .ok()
        .and_then(|v| HeaderValue::from_bytes(&v).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    // ServeFile brings Range, HEAD and conditional requests.
    let Ok(response) = ServeFile::new(&path).oneshot(request).await;
    let mut response = response.map(Body::new);
    let headers = response.headers_mut();
    let filename = key.rsplit('/').next().unwrap_or(&key);
    let download = Download {
        filename,
        content_type: content_type.to_str().unwrap_or("application/octet-stream"),
    };
    if let Ok(disposition) = HeaderValue::from_str(&download.content_disposition()) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CONTENT_TYPE, content_type);
    // Uploaded bytes are served from the app's own origin: never let them run as a page.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}

fn check_size(actual: u64, declared: u64) -> Result<(), HttpError> {
    if actual > declared {
        Err(HttpError::too_large(declared))
    } else if actual < declared {
        Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "size_mismatch",
            format!("the upload has {actual} bytes but the URL was issued for exactly {declared}"),
        ))
    } else {
        Ok(())
    }
}

async fn write_atomically(target: &Path, bytes: &[u8], tmp_dir: &Path) -> Result<(), HttpError> {
    let tmp = TempFile(tmp_dir.join(crate::model::new_id()));
    tokio::fs::write(&tmp.0, bytes)
        .await
        .map_err(HttpError::storage)?;
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(HttpError::storage)?;
    }
    tokio::fs::rename(&tmp.0, target)
        .await
        .map_err(HttpError::storage)?;
    tmp.keep();
    Ok(())
}

/// Removes a partial upload when the handler fails or the client goes away mid-body.
struct TempFile(PathBuf);

impl TempFile {
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `{"error": {"code", "message"}}`, as everywhere in the API.
#[derive(Debug)]
struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl HttpError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid_key(reason: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            format!("invalid object key: it {reason}"),
        )
    }

    fn malformed_url(e: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_url",
            format!("this is not a signed blob URL: {e}"),
        )
    }

    fn already_uploaded(key: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "already_uploaded",
            format!("{key} has its bytes already; an upload URL is good for one upload"),
        )
    }

    fn too_large(declared: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the upload is larger than the {declared} bytes this URL was issued for"),
        )
    }

    fn storage(e: std::io::Error) -> Self {
        tracing::error!(error = %e, "local blob storage failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            "storing the object failed",
        )
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys_that_could_leave_the_directory_are_refused() {
        for key in [
            "",
            "../x",
            "a/../../x",
            "/abs",
            "a//b",
            "a/./b",
            ".meta/x",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_key(key).is_err(), "{key:?} must be refused");
        }
    }

    #[test]
    fn ordinary_keys_are_accepted() {
        for key in [
            "x",
            "conversations/01h/01j/report final (1).pdf",
            "a/b.c/d_e-f~g",
            "ação.png",
        ] {
            assert!(check_key(key).is_ok(), "{key:?} must be accepted");
        }
    }
}
