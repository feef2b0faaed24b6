//! The one place API errors become responses: `{"error": {"code", "message"}}` with a status.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::bus::BusError;
use crate::store::StoreError;
use crate::uploads::BlobError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, at least 1) on refusals that pass with time.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", what.into()),
        )
    }
    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // A refusal that passes with time (503 busy under a flood) is load shedding, not a fault:
        // logging it at ERROR would let any client fill the logs.
        if self.status.is_server_error() && self.retry_after.is_none() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict(what) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            StoreError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                e.to_string(),
            ),
            StoreError::Other(_) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store_error",
                e.to_string(),
            ),
        }
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bus_unavailable",
            e.to_string(),
        )
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound(what) => Self::not_found(what),
            // The client's doing, not an outage: a 4xx, and a WARN rather than an ERROR line
            // that any visitor could trigger at will.
            BlobError::Refused(why) => {
                tracing::warn!(reason = %why, "upload refused");
                Self::bad_request("upload_refused", why)
            }
            other => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "object_storage_unavailable",
                other.to_string(),
            ),
        }
    }
}
