//! The tenant's secret values: generated once, read back on every reconcile, regenerated only
//! when the Tenant asks for rotation with a new `atendo.io/rotate-credentials` value (except the
//! first admin's initial password, which rotation leaves alone).

use k8s_openapi::api::core::v1::Secret;
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::resources::Credentials;
use crate::resources::secrets::{
    ADMIN_PASSWORD_KEY, BUS_PASSWORD_KEY, DATABASE_URI_KEY, ROTATED_FOR_ANNOTATION, SIGNING_KEY_KEY,
};

pub const ROTATE_ANNOTATION: &str = "atendo.io/rotate-credentials";

/// Letters and digits only, so they need no escaping in a connection string.
fn random(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

pub fn generate(rotated_for: Option<String>) -> Credentials {
    Credentials {
        database_password: random(32),
        // ~190 bits; ElastiCache wants 16 to 128 printable characters.
        bus_password: random(32),
        // ~380 bits, well above the chat-server's 32-byte minimum.
        signing_key: random(64),
        // ~140 bits; typed by a person once, then changed or replaced by SSO.
        admin_password: random(24),
        rotated_for,
    }
}

/// The credentials for this reconcile: the stored ones, or new ones when there are none or a
/// new rotation is requested; the admin's initial password is kept whenever one is stored.
pub fn resolve(
    database: Option<&Secret>,
    credentials: Option<&Secret>,
    admin: Option<&Secret>,
    rotate_request: Option<&str>,
) -> Credentials {
    let mut resolved = existing(database, credentials, rotate_request)
        .unwrap_or_else(|| generate(rotate_request.map(String::from)));
    if let Some(kept) = admin.and_then(|a| value(a, ADMIN_PASSWORD_KEY)) {
        resolved.admin_password = kept;
    }
    resolved
}

fn value(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?.0.clone();
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
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
    // A hand-edited Secret missing a key regenerates. The URI may be missing only while a
    // dedicated database has no address yet (the Secret then holds the password alone).
    if value(database, DATABASE_URI_KEY).is_none()
        && database
            .data
            .as_ref()
            .is_some_and(|d| d.contains_key(DATABASE_URI_KEY))
    {
        return None;
    }
    Some(Credentials {
        database_password: value(database, "password")?,
        // A Secret from before per-tenant Redis users has none: only this one is new.
        bus_password: value(credentials, BUS_PASSWORD_KEY).unwrap_or_else(|| random(32)),
        signing_key: value(credentials, SIGNING_KEY_KEY)?,
        // Replaced by the stored one in `resolve`; only a first admin Secret uses this.
        admin_password: random(24),
        rotated_for,
    })
}
