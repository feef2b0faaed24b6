//! Optional single sign-on for agents: bearer tokens from an OIDC issuer (Cognito in the
//! original plan), verified against the issuer's JWKS.
//!
//! A verified token maps to an agent by its `email` claim. An unknown email becomes an agent
//! with role `agent` and no password (admins can pre-create accounts to give them `admin`).
//! Keys are cached and re-fetched when a token names a key id we have not seen, at most once
//! per `REFRESH_COOLDOWN`, so a flood of forged key ids cannot hammer the issuer.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tokio::sync::RwLock;

use super::Principal;
use crate::api::error::ApiError;
use crate::model::{Agent, AgentRecord, Role, new_id, now};
use crate::store::{Store, StoreError};

const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
struct OidcClaims {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// Cognito access tokens carry the app client here instead of `aud`.
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
}

pub struct OidcVerifier {
    issuer: String,
    audience: String,
    jwks_url: String,
    http: reqwest::Client,
    keys: RwLock<(JwkSet, Option<Instant>)>,
}

impl OidcVerifier {
    pub fn new(issuer: String, audience: String, jwks_url: String) -> Self {
        Self {
            issuer,
            audience,
            jwks_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a default reqwest client builds"),
            keys: RwLock::new((JwkSet { keys: vec![] }, None)),
        }
    }

    async fn refresh(&self) -> Result<(), ApiError> {
        let mut keys = self.keys.write().await;
        if keys.1.is_some_and(|at| at.elapsed() < REFRESH_COOLDOWN) {
            return Ok(());
        }
        keys.1 = Some(Instant::now());
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| unavailable(&self.jwks_url, e))?
            .json()
            .await
            .map_err(|e| unavailable(&self.jwks_url, e))?;
        keys.0 = set;
        Ok(())
    }

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, ApiError> {
        for attempt in 0..2 {
            if let Some(jwk) = self.keys.read().await.0.find(kid) {
                return DecodingKey::from_jwk(jwk)
                    .map_err(|e| ApiError::unauthorized(format!("unusable OIDC key {kid}: {e}")));
            }
            if attempt == 0 {
                self.refresh().await?;
            }
        }
        Err(ApiError::unauthorized(format!(
            "OIDC token signed with unknown key id {kid}"
        )))
    }

    pub async fn authenticate(
        &self,
        token: &str,
        store: &dyn Store,
    ) -> Result<Principal, ApiError> {
        let header =
            decode_header(token).map_err(|_| ApiError::unauthorized("token is malformed"))?;
        let kid = header
            .kid
            .ok_or_else(|| ApiError::unauthorized("OIDC token has no key id"))?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::PS256
        ) {
            return Err(ApiError::unauthorized(
                "OIDC token algorithm is not accepted",
            ));
        }
        let key = self.key_for(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        // Audience is checked below so that Cognito access tokens (client_id) also pass.
        validation.validate_aud = false;
        let claims = decode::<OidcClaims>(token, &key, &validation)
            .map_err(|e| ApiError::unauthorized(format!("OIDC token rejected: {e}")))?
            .claims;
        if !self.audience_matches(&claims) {
            return Err(ApiError::unauthorized(format!(
                "OIDC token is not for audience {}",
                self.audience
            )));
        }
        let email = claims.email.ok_or_else(|| {
            ApiError::unauthorized("OIDC token carries no email claim (send the ID token)")
        })?;
        let record = match store.agent_by_email(&email).await? {
            Some(r) => r,
            None => provision(store, &email, claims.name).await?,
        };
        Ok(Principal::Agent {
            id: record.agent.id,
            name: record.agent.name,
            role: record.agent.role,
        })
    }

    fn audience_matches(&self, c: &OidcClaims) -> bool {
        let in_aud = match &c.aud {
            Some(serde_json::Value::String(a)) => *a == self.audience,
            Some(serde_json::Value::Array(list)) => {
                list.iter().any(|a| a.as_str() == Some(&self.audience))
            }
            _ => false,
        };
        in_aud || c.client_id.as_deref() == Some(&self.audience)
    }
}

async fn provision(
    store: &dyn Store,
    email: &str,
    name: Option<String>,
) -> Result<AgentRecord, ApiError> {
    let record = AgentRecord {
        agent: Agent {
            id: new_id(),
            email: email.to_string(),
            name: name.unwrap_or_else(|| email.to_string()),
            role: Role::Agent,
            created_at: now(),
        },
        password_hash: None,
    };
    match store.create_agent(record.clone()).await {
        Ok(_) => Ok(record),
        // Two first sign-ins at once: the other one created it.
        Err(StoreError::Conflict(_)) => store
            .agent_by_email(email)
            .await?
            .ok_or_else(|| ApiError::unauthorized("agent vanished during sign-in")),
        Err(e) => Err(e.into()),
    }
}

fn unavailable(url: &str, e: reqwest::Error) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "oidc_unavailable",
        format!("could not fetch OIDC keys from {url}: {e}"),
    )
}
