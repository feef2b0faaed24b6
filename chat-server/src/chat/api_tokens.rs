//! API tokens for integrations: admins make them (the secret is shown once), list them
//! without secrets and delete them, which revokes them on every replica at once.

use super::paging::{self, Paged};
use super::{Chat, require_admin};
use crate::auth::{Principal, api_tokens};
use crate::error::Error;
use crate::model::{ApiToken, ApiTokenRecord, new_id, now};
use crate::store::Page;

const MAX_NAME_CHARS: usize = 100;

/// A token just made: the only moment its secret exists outside the caller's hands.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NewApiToken {
    #[serde(flatten)]
    pub api_token: ApiToken,
    /// The bearer token itself; stored nowhere.
    pub token: String,
}

impl Chat {
    pub async fn create_api_token(&self, by: &Principal, name: &str) -> Result<NewApiToken, Error> {
        require_admin(by, "manage API tokens")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(
                "invalid_name",
                format!("name must be 1 to {MAX_NAME_CHARS} characters (say what uses the token)"),
            ));
        }
        let id = new_id();
        let (token, secret_sha256) = api_tokens::mint(&id);
        let api_token = self
            .store
            .create_api_token(ApiTokenRecord {
                token: ApiToken {
                    id,
                    name: name.to_string(),
                    created_by: by.id().to_string(),
                    created_at: now(),
                },
                secret_sha256,
            })
            .await?;
        Ok(NewApiToken { api_token, token })
    }

    pub async fn list_api_tokens(
        &self,
        by: &Principal,
        page: Page,
    ) -> Result<Paged<ApiToken>, Error> {
        require_admin(by, "manage API tokens")?;
        let fetched = self.store.list_api_tokens(&paging::probe(&page)).await?;
        Ok(paging::paged(fetched, &page, |t| &t.id))
    }

    pub async fn delete_api_token(&self, by: &Principal, id: &str) -> Result<(), Error> {
        require_admin(by, "manage API tokens")?;
        Ok(self.store.delete_api_token(id).await?)
    }
}
