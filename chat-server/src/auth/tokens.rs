//! Tokens this deployment issues: HS256 JWTs signed with `CHAT_SIGNING_KEY`. A token from
//! another deployment (another tenant, another key) fails the signature check.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::Principal;
use super::revocation::Issued;
use crate::error::Error;
use crate::model::Role;

/// Tokens name this issuer; it documents who made them and rejects tokens minted for other
/// purposes with the same key.
const ISSUER: &str = "atendo-chat";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    iat: i64,
    exp: i64,
    /// "visitor" or "agent".
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    /// The sign-in session: logout revokes exactly this one. Absent in tokens issued before
    /// sessions existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// Issued-at in milliseconds: `iat` has whole seconds, and a token issued in the same second
    /// as a revocation, just after it, must not be caught by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_ms: Option<i64>,
}

/// A token of ours, checked: who it names and which sign-in it belongs to.
#[derive(Debug)]
pub struct Verified {
    pub principal: Principal,
    pub issued: Issued,
}

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl TokenIssuer {
    pub fn new(secret: &[u8], ttl_hours: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs: i64::try_from(ttl_hours.saturating_mul(3600)).unwrap_or(i64::MAX / 2),
        }
    }

    /// How long a token lives.
    pub fn ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.ttl_secs)
    }

    /// A token for a new sign-in session.
    pub fn issue(&self, principal: &Principal) -> String {
        self.issue_for(principal, &crate::model::new_id())
    }

    /// A token for sign-in session `sid` (a refreshed token keeps its session).
    pub fn issue_for(&self, principal: &Principal, sid: &str) -> String {
        let at = chrono::Utc::now();
        let now = at.timestamp();
        let mut claims = match principal {
            Principal::Visitor { id, name } => Claims {
                sub: id.clone(),
                iss: ISSUER.into(),
                iat: now,
                exp: now + self.ttl_secs,
                kind: "visitor".into(),
                name: name.clone(),
                role: None,
                sid: None,
                iat_ms: None,
            },
            Principal::Agent { id, name, role } => Claims {
                sub: id.clone(),
                iss: ISSUER.into(),
                iat: now,
                exp: now + self.ttl_secs,
                kind: "agent".into(),
                name: Some(name.clone()),
                role: Some(*role),
                sid: None,
                iat_ms: None,
            },
        };
        claims.sid = Some(sid.to_string());
        claims.iat_ms = Some(at.timestamp_millis());
        // HS256 over serializable claims cannot fail.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding succeeds")
    }

    pub fn verify(&self, token: &str) -> Result<Verified, Error> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            let why = match e.kind() {
                ErrorKind::ExpiredSignature => "token expired",
                ErrorKind::InvalidSignature => "token signature is not valid for this deployment",
                ErrorKind::InvalidIssuer => "token was not issued by this chat server",
                ErrorKind::InvalidAlgorithm => "token algorithm is not accepted",
                _ => "token is malformed",
            };
            Error::unauthenticated(why)
        })?;
        let c = data.claims;
        let principal = match (c.kind.as_str(), c.role) {
            ("visitor", _) => Principal::Visitor {
                id: c.sub,
                name: c.name,
            },
            ("agent", Some(role)) => Principal::Agent {
                id: c.sub,
                name: c.name.unwrap_or_default(),
                role,
            },
            _ => {
                return Err(Error::unauthenticated(
                    "token carries an unknown principal kind",
                ));
            }
        };
        let at_ms = c.iat_ms.unwrap_or(c.iat.saturating_mul(1000));
        let issued = Issued {
            subject: Issued::subject_of(&principal),
            session: c.sid,
            at: chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
        };
        Ok(Verified { principal, issued })
    }
}

/// Whether a JWT's header names an asymmetric algorithm (an OIDC token, not one of ours).
pub fn looks_asymmetric(token: &str) -> bool {
    jsonwebtoken::decode_header(token)
        .map(|h| {
            !matches!(
                h.alg,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            )
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn agent() -> Principal {
        Principal::Agent {
            id: "a1".into(),
            name: "Ana".into(),
            role: Role::Admin,
        }
    }

    #[test]
    fn a_token_round_trips_to_the_same_principal() {
        let t = TokenIssuer::new(&[7; 32], 1);
        assert_eq!(t.verify(&t.issue(&agent())).unwrap().principal, agent());
        let v = Principal::Visitor {
            id: "v1".into(),
            name: None,
        };
        assert_eq!(t.verify(&t.issue(&v)).unwrap().principal, v);
    }

    #[test]
    fn a_token_signed_by_another_deployment_is_rejected() {
        let ours = TokenIssuer::new(&[7; 32], 1);
        let theirs = TokenIssuer::new(&[8; 32], 1);
        let err = ours.verify(&theirs.issue(&agent())).unwrap_err();
        assert_eq!(err.kind, Kind::Unauthenticated);
        assert!(err.message.contains("not valid for this deployment"));
    }

    #[test]
    fn garbage_is_rejected_as_malformed() {
        let t = TokenIssuer::new(&[7; 32], 1);
        assert_eq!(
            t.verify("not.a.jwt").unwrap_err().message,
            "token is malformed"
        );
    }
}
