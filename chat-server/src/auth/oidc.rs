//! Optional single sign-on for agents: bearer tokens from an OIDC issuer (Cognito in the
//! original plan), verified against the issuer's JWKS (see [`super::jwks`]).
//!
//! Who may sign in, and as whom:
//! - The token must be signed by the issuer, for this audience, within `exp`/`nbf`, of a kind
//!   we accept (`token_use` absent or `id`; Cognito `access` tokens name the client in
//!   `client_id`), and carry `email` with `email_verified: true`. An unverified email is exactly
//!   what a self-sign-up user can set to someone else's address.
//! - With `CHAT_OIDC_ALLOWED_DOMAINS`, only emails in those domains (exact match) get in.
//! - The account is found by the identity `(iss, sub)`, never by email alone. The first sign-in
//!   creates it (or adopts a password-less account made by OIDC before identities were stored).
//!   It never takes over an account that has a password (the bootstrap admin, say): that is
//!   409 `oidc_account_conflict`, and the person keeps signing in with the password.
//! - With `CHAT_OIDC_ADMIN_GROUP`, the token's groups decide the role on every request (`admin`
//!   when the group is in `cognito:groups` or `groups`, else `agent`); without it, the stored role.

use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use super::jwks::{JwksCache, KeyError, REFRESH_COOLDOWN};
use super::revocation::Issued;
use super::{Authenticated, Principal};
use crate::error::{Error, Kind};
use crate::model::{Agent, AgentRecord, OidcSubject, Role, new_id, now};
use crate::store::{Store, StoreError};

/// Who may sign in and as what; from `CHAT_OIDC_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OidcPolicy {
    /// Lowercase email domains; empty admits every verified email.
    pub allowed_domains: Vec<String>,
    pub admin_group: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OidcClaims {
    iss: String,
    sub: String,
    /// Issued-at, which revocations of the agent are compared with.
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    /// Kept raw: only JSON `true` counts (not `"true"`, not absent).
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    name: Option<String>,
    /// Cognito: `id` or `access`; other issuers leave it out.
    #[serde(default)]
    token_use: Option<String>,
    /// Cognito access tokens carry the app client here instead of `aud`.
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default, rename = "cognito:groups")]
    cognito_groups: Option<Value>,
    #[serde(default)]
    groups: Option<Value>,
}

pub struct OidcVerifier {
    issuer: String,
    audience: String,
    keys: JwksCache,
    policy: OidcPolicy,
}

impl OidcVerifier {
    pub fn new(issuer: String, audience: String, jwks_url: String, policy: OidcPolicy) -> Self {
        Self {
            issuer,
            audience,
            keys: JwksCache::new(jwks_url, REFRESH_COOLDOWN),
            policy,
        }
    }

    pub async fn authenticate(
        &self,
        token: &str,
        store: &dyn Store,
    ) -> Result<Authenticated, Error> {
        let claims = self.verify(token).await?;
        let email = self.admitted_email(&claims)?;
        let identity = OidcSubject {
            issuer: claims.iss.clone(),
            subject: claims.sub.clone(),
        };
        let role = self.role_from_groups(&claims);
        let record = match store.agent_by_oidc(&identity).await? {
            Some(r) => r,
            None => first_sign_in(store, &identity, &email, claims.name, role).await?,
        };
        // The issuer may still vouch for a person the tenant has disabled.
        if record.agent.disabled {
            return Err(Error::forbidden_code(
                "agent_disabled",
                "this account is disabled; ask an admin",
            ));
        }
        let principal = Principal::Agent {
            id: record.agent.id,
            name: record.agent.name,
            role: role.unwrap_or(record.agent.role),
        };
        // An issuer's token has no session of ours: revoking the agent covers it; a token
        // without `iat` is taken as issued just now, so only later revocations reach it.
        let at = claims
            .iat
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .unwrap_or_else(chrono::Utc::now);
        Ok(Authenticated {
            issued: Issued {
                subject: Issued::subject_of(&principal),
                session: None,
                at,
            },
            principal,
        })
    }

    async fn verify(&self, token: &str) -> Result<OidcClaims, Error> {
        let header =
            decode_header(token).map_err(|_| Error::unauthenticated("token is malformed"))?;
        let kid = header
            .kid
            .ok_or_else(|| Error::unauthenticated("OIDC token has no key id"))?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256
        ) {
            return Err(Error::unauthenticated(
                "OIDC token algorithm is not accepted",
            ));
        }
        let key = self.keys.key(&kid).await.map_err(key_error)?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_nbf = true;
        // Checked below, per token kind: Cognito access tokens have `client_id`, not `aud`.
        validation.validate_aud = false;
        let claims = decode::<OidcClaims>(token, &key, &validation)
            .map_err(|e| Error::unauthenticated(format!("OIDC token rejected: {e}")))?
            .claims;
        let for_us = match claims.token_use.as_deref() {
            None | Some("id") => self.in_aud(&claims.aud),
            Some("access") => claims.client_id.as_deref() == Some(&self.audience),
            Some(other) => {
                return Err(Error::unauthenticated(format!(
                    "OIDC token_use {other:?} is not accepted (only id or access tokens)"
                )));
            }
        };
        if !for_us {
            return Err(Error::unauthenticated(format!(
                "OIDC token is not for audience {}",
                self.audience
            )));
        }
        Ok(claims)
    }

    fn in_aud(&self, aud: &Option<Value>) -> bool {
        match aud {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        }
    }

    fn admitted_email(&self, claims: &OidcClaims) -> Result<String, Error> {
        let email = claims.email.as_deref().ok_or_else(|| {
            Error::unauthenticated("OIDC token carries no email claim (send the ID token)")
        })?;
        if claims.email_verified != Some(Value::Bool(true)) {
            return Err(Error::new(
                Kind::Unauthenticated,
                "email_not_verified",
                "the identity provider has not verified this email address (email_verified is not true)",
            ));
        }
        let email = crate::fields::email(email)?;
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_lowercase());
        let allowed = self.policy.allowed_domains.is_empty()
            || domain.is_some_and(|d| self.policy.allowed_domains.contains(&d));
        if !allowed {
            return Err(Error::new(
                Kind::Forbidden,
                "email_domain_not_allowed",
                format!(
                    "{email} is not in a domain allowed to sign in here (CHAT_OIDC_ALLOWED_DOMAINS)"
                ),
            ));
        }
        Ok(email)
    }

    fn role_from_groups(&self, claims: &OidcClaims) -> Option<Role> {
        let group = self.policy.admin_group.as_deref()?;
        let member = |claim: &Option<Value>| match claim {
            Some(Value::Array(list)) => list.iter().any(|g| g.as_str() == Some(group)),
            Some(Value::String(g)) => g == group,
            _ => false,
        };
        Some(
            if member(&claims.cognito_groups) || member(&claims.groups) {
                Role::Admin
            } else {
                Role::Agent
            },
        )
    }
}

fn key_error(e: KeyError) -> Error {
    match e {
        KeyError::Unavailable => Error::new(Kind::Unavailable, "oidc_unavailable", e.to_string()),
        other => Error::unauthenticated(other.to_string()),
    }
}

fn account_conflict(why: &str) -> Error {
    Error::new(Kind::Conflict, "oidc_account_conflict", why)
}

/// No agent holds `identity` yet: adopt an unlinked password-less account with this email (made
/// by OIDC sign-in before identities were stored), or create one; never merge into anything else.
async fn first_sign_in(
    store: &dyn Store,
    identity: &OidcSubject,
    email: &str,
    name: Option<String>,
    role: Option<Role>,
) -> Result<AgentRecord, Error> {
    if let Some(existing) = store.agent_by_email(email).await? {
        if existing.password_hash.is_some() {
            return Err(account_conflict(
                "an account with this email signs in with a password; single sign-on is not merged into it",
            ));
        }
        return match store.link_oidc(&existing.agent.id, identity).await {
            Ok(()) => Ok(AgentRecord {
                oidc: Some(identity.clone()),
                ..existing
            }),
            Err(StoreError::Conflict(_)) => Err(account_conflict(
                "the account with this email belongs to another single sign-on identity",
            )),
            Err(e) => Err(e.into()),
        };
    }
    let record = AgentRecord {
        agent: Agent {
            id: new_id(),
            email: email.to_string(),
            name: crate::fields::optional_name(name)
                .ok()
                .flatten()
                .unwrap_or_else(|| email.to_string()),
            role: role.unwrap_or(Role::Agent),
            disabled: false,
            created_at: now(),
        },
        password_hash: None,
        oidc: Some(identity.clone()),
    };
    match store.create_agent(record.clone()).await {
        Ok(_) => Ok(record),
        // Two first sign-ins at once: one created it; or the email was taken meanwhile.
        Err(StoreError::Conflict(_)) => store.agent_by_oidc(identity).await?.ok_or_else(|| {
            account_conflict("an account with this email was created meanwhile; sign in again")
        }),
        Err(e) => Err(e.into()),
    }
}
