//! API tokens for integrations: `atendo_at_<id>_<secret>`, the secret 32 random bytes shown
//! once and stored only as its SHA-256.
//!
//! The secret is minted and hashed as [`super::secrets`] says (a fast hash, since every REST
//! call an integration makes verifies one). The token is looked up in the store on each request, so deleting it takes effect on every
//! replica at once; an API token acts as an agent (role `agent`) on REST, never on the
//! websocket (see [`super::Authenticated::is_api_token`]).

use super::revocation::Issued;
use super::secrets::{self, sha256_hex};
use super::{Authenticated, Principal};
use crate::error::Error;
use crate::model::{ApiTokenRecord, Role};
use crate::store::Store;

pub const PREFIX: &str = "atendo_at_";
/// The revocation subject of an API token's principal; no revocation record names it (deleting
/// the token is the revocation), but it keeps API tokens apart from agents' sessions.
pub const SUBJECT_PREFIX: &str = "api_token:";

/// A new secret for token `id`: the token to show once, and the hash to store.
pub fn mint(id: &str) -> (String, String) {
    let secret = secrets::random();
    (format!("{PREFIX}{id}_{secret}"), sha256_hex(&secret))
}

/// Whether `token` is shaped like one of ours (the caller then owes a store lookup).
pub fn looks_like(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// `(id, secret)` of a well-formed token.
fn parse(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let well_formed = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && secret.len() == 43;
    well_formed.then_some((id, secret))
}

/// The agent an API token acts as, or 401 when it is malformed, unknown or deleted.
pub async fn authenticate(store: &dyn Store, token: &str) -> Result<Authenticated, Error> {
    let refused = || Error::unauthenticated("API token is not valid");
    let (id, secret) = parse(token).ok_or_else(refused)?;
    let Some(ApiTokenRecord {
        token,
        secret_sha256,
    }) = store.api_token(id).await?
    else {
        // Deleting is how a token is revoked; a made-up id lands here too, and learns nothing.
        return Err(Error::new(
            crate::error::Kind::Unauthenticated,
            "token_revoked",
            "this API token was deleted (or never existed); ask an admin for a new one",
        ));
    };
    // Comparing hashes: what an attacker controls (the secret) is hashed first, so timing
    // tells nothing about the stored value.
    if sha256_hex(secret) != secret_sha256 {
        return Err(refused());
    }
    Ok(Authenticated {
        issued: Issued {
            subject: format!("{SUBJECT_PREFIX}{}", token.id),
            session: None,
            at: token.created_at,
        },
        principal: Principal::Agent {
            id: token.id,
            name: token.name,
            role: Role::Agent,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_parses_back_to_its_id_and_the_stored_hash_matches() {
        let (token, hash) = mint("01jtokenid");
        let (id, secret) = parse(&token).expect("parses");
        assert_eq!(id, "01jtokenid");
        assert_eq!(sha256_hex(secret), hash);
        assert!(looks_like(&token));
        assert_ne!(mint("01jtokenid").0, token, "secrets are random");
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "atendo_at_",
            "atendo_at_id",
            "atendo_at__secret",
            "atendo_at_a b_0123456789012345678901234567890123456789012",
            "atendo_at_id_short",
            "eyJhbGciOi.x.y",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
