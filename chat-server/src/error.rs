//! The core's error: what went wrong, in the domain's words, with a stable `code` clients can
//! act on. It knows nothing of HTTP: the REST edge maps [`Kind`] to a status once
//! (`api/error.rs`), and the websocket edge sends `code` and `message` in an error frame.

use std::time::Duration;

use crate::bus::BusError;
use crate::store::StoreError;
use crate::uploads::BlobError;

/// What kind of failure this is, which decides how an edge reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The request itself is wrong (a field, a frame); the message names what.
    Invalid,
    /// No valid credential, or one that was revoked.
    Unauthenticated,
    /// A valid caller that may not do this.
    Forbidden,
    NotFound,
    /// The request collides with the current state (a duplicate, the last admin).
    Conflict,
    /// A size over a limit.
    TooLarge,
    /// A rate limit; passes with time (`retry_after`).
    Limited,
    /// A dependency (store, bus, bucket) or this replica cannot serve now.
    Unavailable,
    /// A fault of ours.
    Internal,
}

impl Kind {
    /// The caller could have avoided it; repeated, it counts as misbehaving.
    pub fn is_callers_fault(self) -> bool {
        !matches!(self, Self::Unavailable | Self::Internal)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
    /// How long until trying again may succeed, for refusals that pass with time.
    pub retry_after: Option<Duration>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthenticated, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, "forbidden", message)
    }
    pub fn forbidden_code(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, code, message)
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            Kind::NotFound,
            "not_found",
            format!("{} not found", what.into()),
        )
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }
    pub fn limited(message: impl Into<String>) -> Self {
        Self::new(Kind::Limited, "rate_limited", message)
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, code, message)
    }
    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, code, message)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict(what) => {
                Self::conflict("conflict", format!("{what} already exists"))
            }
            StoreError::LastAdmin(_) => Self::conflict("last_admin", e.to_string()),
            StoreError::Unavailable(_) => Self::unavailable("store_unavailable", e.to_string()),
            StoreError::Other(_) => Self::internal("store_error", e.to_string()),
        }
    }
}

impl From<BusError> for Error {
    fn from(e: BusError) -> Self {
        Self::unavailable("bus_unavailable", e.to_string())
    }
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound(what) => Self::not_found(what),
            // The client's doing, not an outage: an `Invalid`, and a WARN rather than an ERROR
            // line that any visitor could trigger at will.
            BlobError::Refused(why) => {
                tracing::warn!(reason = %why, "upload refused");
                Self::invalid("upload_refused", why)
            }
            other => Self::unavailable("object_storage_unavailable", other.to_string()),
        }
    }
}
