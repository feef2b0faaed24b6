//! Who is calling: visitors and agents, proven by tokens this deployment signed, or (for
//! agents) by an OIDC bearer token from the configured issuer.

pub mod jwks;
pub mod oidc;
pub mod password_policy;
pub mod passwords;
pub mod tokens;

use std::sync::Arc;

use crate::api::error::ApiError;
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
    store: Arc<dyn Store>,
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
            store,
        }
    }

    pub async fn authenticate(&self, token: &str) -> Result<Principal, ApiError> {
        if token.is_empty() {
            return Err(ApiError::unauthorized("missing token"));
        }
        match self.tokens.verify(token) {
            Ok(p) => Ok(p),
            Err(own) => match &self.oidc {
                Some(oidc) if tokens::looks_asymmetric(token) => {
                    oidc.authenticate(token, self.store.as_ref()).await
                }
                _ => Err(own),
            },
        }
    }
}
