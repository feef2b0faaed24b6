//! Who is calling: visitors and agents, proven by tokens this deployment signed, or (for
//! agents) by an OIDC bearer token from the configured issuer; integrations by API tokens,
//! which act as an agent on REST.

pub mod api_tokens;
pub mod jwks;
pub mod oidc;
pub mod password_policy;
pub mod passwords;
pub mod revocation;
pub mod secrets;
pub mod tokens;

use std::sync::Arc;

use crate::error::Error;
use crate::model::{Author, AuthorKind, Role};
use crate::store::Store;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Visitor {
        id: String,
        name: Option<String>,
    },
    Agent {
        id: String,
        name: String,
        role: Role,
    },
}

impl Principal {
    pub fn id(&self) -> &str {
        match self {
            Self::Visitor { id, .. } | Self::Agent { id, .. } => id,
        }
    }
    pub fn is_agent(&self) -> bool {
        matches!(self, Self::Agent { .. })
    }
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Self::Agent {
                role: Role::Admin,
                ..
            }
        )
    }
    pub fn author(&self) -> Author {
        match self {
            Self::Visitor { id, name } => Author {
                kind: AuthorKind::Visitor,
                id: id.clone(),
                name: name.clone(),
            },
            Self::Agent { id, name, .. } => Author {
                kind: AuthorKind::Agent,
                id: id.clone(),
                name: Some(name.clone()),
            },
        }
    }
}

/// Checks bearer tokens: our own first, then OIDC when configured.
pub struct Authenticator {
    pub tokens: tokens::TokenIssuer,
    pub oidc: Option<oidc::OidcVerifier>,
    /// The bounded gate password hashes and verifies go through; replaced at start from the
    /// configuration.
    pub passwords: passwords::Passwords,
    /// What this replica knows to be revoked (kept current by `revocation::watch`).
    pub revoked: Arc<revocation::Revocations>,
    store: Arc<dyn Store>,
}

/// A caller proven by a token that is not revoked.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub principal: Principal,
    pub issued: revocation::Issued,
}

impl Authenticated {
    /// An integration's API token: REST only, never a websocket.
    pub fn is_api_token(&self) -> bool {
        self.issued.subject.starts_with(api_tokens::SUBJECT_PREFIX)
    }

    /// `principal` signed in just now in session `session` (tests that skip the token).
    pub fn now(principal: Principal, session: Option<String>) -> Self {
        Self {
            issued: revocation::Issued {
                subject: revocation::Issued::subject_of(&principal),
                session,
                at: chrono::Utc::now(),
            },
            principal,
        }
    }
}

impl Authenticator {
    pub fn new(
        tokens: tokens::TokenIssuer,
        oidc: Option<oidc::OidcVerifier>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            tokens,
            oidc,
            passwords: passwords::Passwords::default(),
            revoked: Arc::default(),
            store,
        }
    }

    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, Error> {
        if token.is_empty() {
            return Err(Error::unauthenticated("missing token"));
        }
        if api_tokens::looks_like(token) {
            return api_tokens::authenticate(self.store.as_ref(), token).await;
        }
        let who = match self.tokens.verify(token) {
            Ok(v) => Authenticated {
                principal: v.principal,
                issued: v.issued,
            },
            Err(own) => match &self.oidc {
                Some(oidc) if tokens::looks_asymmetric(token) => {
                    oidc.authenticate(token, self.store.as_ref()).await?
                }
                _ => return Err(own),
            },
        };
        self.revoked.check(&who.issued)?;
        Ok(who)
    }
}
