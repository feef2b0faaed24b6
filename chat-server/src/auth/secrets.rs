//! Bearer secrets we mint (API tokens, password-reset links): 256 random bits, kept only as a
//! SHA-256. A fast hash is enough for a secret nobody chose: there is nothing to guess from it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url without padding (43 characters).
pub fn random() -> String {
    let mut secret = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut secret[..]);
    URL_SAFE_NO_PAD.encode(secret)
}

/// The form a secret is stored in: SHA-256, lowercase hex.
pub fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
