//! Driver errors as store errors: what a caller can act on (`Conflict`), what may pass by itself
//! (`Unavailable`: the readiness probe reports it and a retry may succeed), and the rest.

use mongodb::error::{Error, ErrorKind, WriteFailure};

use crate::store::StoreError;

const DUPLICATE_KEY: i32 = 11000;

/// Server codes meaning "not now": the node is stepping down, shutting down or unreachable.
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

pub fn is_duplicate_key(e: &Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// `what` names the operation, e.g. "reading conversation 01h…".
pub fn store_error(what: &str, e: Error) -> StoreError {
    let transient = match e.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        // Bad or rotated credentials leave the store unusable until the secret is fixed; the
        // readiness probe must say so.
        | ErrorKind::Authentication { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(c) => TRANSIENT_CODES.contains(&c.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
        _ => e.contains_label("RetryableWriteError"),
    };
    if transient {
        StoreError::Unavailable(format!("MongoDB, {what}: {e}"))
    } else {
        StoreError::Other(format!("MongoDB, {what}: {e}"))
    }
}
