//! Tenant database users on MongoDB Atlas (`--database-provider atlas`) through the Atlas Admin
//! API v2 `databaseUsers` resource: HTTP digest auth with a programmatic API key, the versioned
//! media type, users in the admin database with readWrite on the tenant's database only, scoped
//! to the one configured cluster.
//!
//! The Admin API cannot drop a database. `deletionPolicy: Delete` therefore drops the tenant's
//! data through an optional admin connection (`--mongodb-admin-uri`); without one it says so
//! instead of pretending the data is gone.

use std::time::Duration;

use async_trait::async_trait;
use diqwest::WithDigestAuth;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::providers::{
    Database, DatabaseUser, DedicatedCluster, DedicatedDatabase, ProviderError,
};
use crate::tenant::DeletionPolicy;

/// The Admin API version this client speaks, as Accept and Content-Type.
pub const MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

/// Where the Admin API is and who the operator is to it.
#[derive(Clone, Debug)]
pub struct AtlasConfig {
    /// e.g. https://cloud.mongodb.com
    pub api_url: String,
    pub project_id: String,
    pub cluster: String,
    pub public_key: String,
    pub private_key: String,
    /// A hung call must not hold a reconcile for ever; the error policy retries it.
    pub request_timeout: Duration,
    /// Where dedicated clusters go (Atlas providerName and regionName, e.g. AWS, US_EAST_1).
    pub dedicated_provider: String,
    pub dedicated_region: String,
}

impl AtlasConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
}

/// One failed Admin API call.
#[derive(Debug, thiserror::Error)]
pub enum AtlasError {
    #[error("{method} {path}: {source}")]
    Transport {
        method: Method,
        path: String,
        source: diqwest::error::Error,
    },
    #[error("{method} {path} answered {status}{}: {detail}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        /// Atlas's errorCode, e.g. USER_ALREADY_EXISTS.
        code: Option<String>,
        detail: String,
    },
    #[error("dropping database {database}: {source}")]
    Drop {
        database: String,
        source: mongodb::error::Error,
    },
    #[error(
        "deletionPolicy Delete must drop database {database}, which the Atlas Admin API cannot do; give the operator --mongodb-admin-uri, or set atendo.io/skip-external-cleanup=true to keep the data"
    )]
    NoDataConnection { database: String },
}

impl AtlasError {
    /// Throttling, server errors and transport failures pass; the rest needs someone to act.
    pub fn is_retryable(&self) -> bool {
        match self {
            AtlasError::Transport { .. } | AtlasError::Drop { .. } => true,
            AtlasError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            AtlasError::NoDataConnection { .. } => false,
        }
    }

    /// The condition reason it surfaces as.
    pub fn reason(&self) -> &'static str {
        match self {
            AtlasError::Transport { .. } => "Unavailable",
            AtlasError::Status { status, .. } => match status.as_u16() {
                401 | 403 => "AccessDenied",
                429 => "RateLimited",
                500.. => "Unavailable",
                _ => "AtlasError",
            },
            AtlasError::Drop { .. } => "DatabaseError",
            AtlasError::NoDataConnection { .. } => "DropUnavailable",
        }
    }
}

impl From<AtlasError> for ProviderError {
    fn from(e: AtlasError) -> Self {
        ProviderError::new(e.reason(), e.to_string())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: Option<String>,
    detail: Option<String>,
}

pub struct AtlasDatabase {
    http: reqwest::Client,
    pub(super) config: AtlasConfig,
    /// Only for dropping a Delete tenant's data.
    data: Option<mongodb::Client>,
}

impl AtlasDatabase {
    pub fn new(config: AtlasConfig, data: Option<mongodb::Client>) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(config.request_timeout))
            .timeout(config.request_timeout)
            .user_agent(concat!("atendo-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ProviderError::new("AtlasError", format!("building the HTTP client: {e}"))
            })?;
        Ok(AtlasDatabase { http, config, data })
    }

    pub(super) fn users_path(&self) -> String {
        format!(
            "/api/atlas/v2/groups/{}/databaseUsers",
            self.config.project_id
        )
    }

    /// Users live in the admin database, as Atlas requires for SCRAM users.
    fn user_path(&self, user: &str) -> String {
        format!("{}/admin/{}", self.users_path(), encode_segment(user))
    }

    /// [`Self::call_json`] without the answer's body.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &[StatusCode],
    ) -> Result<StatusCode, AtlasError> {
        Ok(self.call_json(method, path, body, accept).await?.0)
    }

    /// One call: digest challenge, answer, and the versioned media type both ways. Returns the
    /// status (a success, or one that `accept` lets through) and the body as JSON (Null when
    /// empty or not JSON).
    pub(super) async fn call_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: &[StatusCode],
    ) -> Result<(StatusCode, Value), AtlasError> {
        let url = format!("{}{path}", self.config.api_url.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(reqwest::header::ACCEPT, MEDIA_TYPE);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
                .body(body.to_string());
        }
        let transport = |source| AtlasError::Transport {
            method: method.clone(),
            path: path.to_string(),
            source,
        };
        let response = request
            .send_with_digest_auth(&self.config.public_key, &self.config.private_key)
            .await
            .map_err(transport)?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() || accept.contains(&status) {
            return Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
        }
        let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
        Err(AtlasError::Status {
            method,
            path: path.to_string(),
            status,
            code: parsed.as_ref().and_then(|b| b.error_code.clone()),
            detail: parsed
                .and_then(|b| b.detail)
                .unwrap_or_else(|| text.chars().take(300).collect()),
        })
    }

    /// The user, scoped to `cluster` only (the shared one, or the tenant's dedicated one).
    pub(super) async fn ensure(
        &self,
        user: &DatabaseUser,
        cluster: &str,
    ) -> Result<(), AtlasError> {
        let roles = json!([{ "databaseName": user.database, "roleName": "readWrite" }]);
        let scopes = json!([{ "name": cluster, "type": "CLUSTER" }]);
        let create = json!({
            "databaseName": "admin",
            "groupId": self.config.project_id,
            "username": user.user,
            "password": user.password,
            "roles": roles,
            "scopes": scopes,
        });
        let status = self
            .call(
                Method::POST,
                &self.users_path(),
                Some(&create),
                &[StatusCode::CONFLICT],
            )
            .await?;
        if status == StatusCode::CONFLICT {
            // It exists (an earlier reconcile, or a crash after the POST): converge it, which is
            // also how a rotated password reaches Atlas.
            let update = json!({ "password": user.password, "roles": roles, "scopes": scopes });
            self.call(
                Method::PATCH,
                &self.user_path(&user.user),
                Some(&update),
                &[],
            )
            .await?;
        }
        Ok(())
    }

    /// Removes the user; a missing one is success.
    pub(super) async fn remove_only_user(&self, user: &str) -> Result<(), AtlasError> {
        self.call(
            Method::DELETE,
            &self.user_path(user),
            None,
            &[StatusCode::NOT_FOUND],
        )
        .await?;
        Ok(())
    }

    async fn remove(
        &self,
        user: &str,
        database: &str,
        policy: DeletionPolicy,
    ) -> Result<(), AtlasError> {
        self.remove_only_user(user).await?;
        if policy == DeletionPolicy::Delete {
            let data = self
                .data
                .as_ref()
                .ok_or_else(|| AtlasError::NoDataConnection {
                    database: database.into(),
                })?;
            data.database(database)
                .drop()
                .await
                .map_err(|source| AtlasError::Drop {
                    database: database.into(),
                    source,
                })?;
        }
        Ok(())
    }
}

#[async_trait]
impl Database for AtlasDatabase {
    async fn ensure_user(&self, user: &DatabaseUser) -> Result<(), ProviderError> {
        Ok(self.ensure(user, &self.config.cluster).await?)
    }

    async fn remove_user(
        &self,
        user: &str,
        database: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError> {
        Ok(self.remove(user, database, policy).await?)
    }

    async fn ensure_dedicated(
        &self,
        cluster: &DedicatedCluster,
        user: &DatabaseUser,
    ) -> Result<DedicatedDatabase, ProviderError> {
        self.ensure_cluster_and_user(cluster, user).await
    }

    async fn retire_dedicated(
        &self,
        cluster: &DedicatedCluster,
        user: &str,
        _database: &str,
    ) -> Result<(), ProviderError> {
        self.retire_cluster(cluster, user).await
    }
}

/// Percent-encodes a path segment (user names are DNS-label-like today; this keeps it safe).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
