//! API tokens: one document each, the secret only as its hash.

use mongodb::bson::doc;

use super::docs::ApiTokenDoc;
use super::errors::store_error;
use super::{MongoStore, inserted};
use crate::model::{ApiToken, ApiTokenRecord};
use crate::store::{Page, StoreError, StoreResult};

impl MongoStore {
    pub(super) async fn insert_api_token(&self, record: ApiTokenRecord) -> StoreResult<ApiToken> {
        let token = record.token.clone();
        let result = self.api_tokens.insert_one(ApiTokenDoc::from(record)).await;
        inserted(|| format!("API token {}", token.id), result)?;
        Ok(token)
    }

    pub(super) async fn find_api_token(&self, id: &str) -> StoreResult<Option<ApiTokenRecord>> {
        let found = self
            .api_tokens
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading API token {id}"), e))?;
        Ok(found.map(ApiTokenRecord::from))
    }

    pub(super) async fn page_of_api_tokens(&self, page: &Page) -> StoreResult<Vec<ApiToken>> {
        self.page_of(&self.api_tokens, page, "listing API tokens")
            .await
    }

    pub(super) async fn remove_api_token(&self, id: &str) -> StoreResult<()> {
        let deleted = self
            .api_tokens
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("deleting API token {id}"), e))?;
        match deleted.deleted_count {
            0 => Err(StoreError::NotFound(format!("API token {id}"))),
            _ => Ok(()),
        }
    }
}
