//! The tenant's secret values: generated once, read back on every reconcile, regenerated only
//! when the Tenant asks for rotation with a new `atendo.io/rotate-credentials` value.

use k8s_openapi::api::core::v1::Secret;
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::resources::Credentials;
use crate::resources::secrets::{DATABASE_URI_KEY, ROTATED_FOR_ANNOTATION, SIGNING_KEY_KEY};

pub const ROTATE_ANNOTATION: &str = "atendo.io/rotate-credentials";

/// Letters and digits only, so they need no escaping in a connection string.
pub fn generate(rotated_for: Option<String>) -> Credentials {
    let random = |n: usize| -> String {
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(n)
            .map(char::from)
            .collect()
    };
    Credentials {
        database_password: random(32),
        // ~380 bits, well above the chat-server's 32-byte minimum.
        signing_key: random(64),
        rotated_for,
    }
}

/// The credentials to use, given the stored Secrets (if any) and the Tenant's rotation request.
/// Returns `None` when new ones must be generated.
pub fn existing(
    database: Option<&Secret>,
    credentials: Option<&Secret>,
    rotate_request: Option<&str>,
) -> Option<Credentials> {
    let (database, credentials) = (database?, credentials?);
    let rotated_for = credentials
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ROTATED_FOR_ANNOTATION))
        .cloned();
    if rotate_request.is_some() && rotate_request != rotated_for.as_deref() {
        return None;
    }
    let value = |secret: &Secret, key: &str| {
        let bytes = secret.data.as_ref()?.get(key)?.0.clone();
        String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    };
    // Present only if the stored URI still exists; a hand-edited Secret missing a key regenerates.
    value(database, DATABASE_URI_KEY)?;
    Some(Credentials {
        database_password: value(database, "password")?,
        signing_key: value(credentials, SIGNING_KEY_KEY)?,
        rotated_for,
    })
}
