//! Object keys to delete again once the upload URLs that could refill them have run out
//! (`chat::late_uploads`), in `blob_sweeps` keyed by the object key.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};

use super::MongoStore;
use super::docs::bson_time;
use super::errors::store_error;
use crate::store::{StoreError, StoreResult};

impl MongoStore {
    pub(super) fn blob_sweeps(&self) -> mongodb::Collection<Document> {
        self.db.collection("blob_sweeps")
    }

    pub(super) async fn schedule_sweeps(
        &self,
        keys: &[String],
        due_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        for key in keys {
            self.blob_sweeps()
                .update_one(
                    doc! { "_id": key },
                    doc! { "$max": { "due_at": bson_time(due_at) } },
                )
                .upsert(true)
                .await
                .map_err(|e| store_error(&format!("keeping {key} for a later sweep"), e))?;
        }
        Ok(())
    }

    pub(super) async fn due_sweeps(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        let what = "listing the object keys due for a sweep";
        let docs: Vec<Document> = self
            .blob_sweeps()
            .find(doc! { "due_at": { "$lte": bson_time(now) } })
            .sort(doc! { "due_at": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        docs.iter()
            .map(|d| {
                d.get_str("_id")
                    .map(str::to_string)
                    .map_err(|e| StoreError::Other(format!("{what}: {e}")))
            })
            .collect()
    }

    pub(super) async fn forget_sweep(&self, key: &str) -> StoreResult<()> {
        self.blob_sweeps()
            .delete_one(doc! { "_id": key })
            .await
            .map_err(|e| store_error(&format!("forgetting the sweep of {key}"), e))?;
        Ok(())
    }
}
