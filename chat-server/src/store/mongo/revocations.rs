//! Revocation records: one document per key, merged by an upsert (`$max` keeps the later
//! `not_before`), polled through the `at` index and purged by a TTL index on `expires_at`
//! (MongoDB's TTL monitor runs about once a minute, so the poll also filters out expired ones).

use futures::TryStreamExt;
use mongodb::bson::doc;

use super::MongoStore;
use super::docs::{RevocationDoc, bson_time};
use super::errors::{is_duplicate_key, store_error};
use crate::model::{Revocation, now};
use crate::store::StoreResult;

impl MongoStore {
    pub(super) async fn upsert_revocation(&self, r: &Revocation) -> StoreResult<()> {
        let what = || format!("storing the revocation of {}", r.key);
        // The session a revocation spares belongs to its `not_before`: it is written only where
        // this record's `not_before` wins, in one conditional upsert.
        let newer = doc! {
            "$set": {
                "not_before": bson_time(r.not_before),
                "at": bson_time(r.at),
                "keep_session": r.keep_session.as_deref(),
            },
            "$max": { "expires_at": bson_time(r.expires_at) },
        };
        let filter = doc! { "_id": &r.key, "not_before": { "$lte": bson_time(r.not_before) } };
        // A duplicate `_id` means the key exists with a later `not_before`, or a replica
        // inserted it at the same moment (then the second try sees its record).
        for _ in 0..2 {
            match self
                .revocations
                .update_one(filter.clone(), newer.clone())
                .upsert(true)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(store_error(&what(), e)),
            }
        }
        // A later revocation is stored: keep it (and whom it spares), note the write time.
        let older = doc! {
            "$max": { "not_before": bson_time(r.not_before), "expires_at": bson_time(r.expires_at) },
            "$set": { "at": bson_time(r.at) },
        };
        self.revocations
            .update_one(doc! { "_id": &r.key }, older)
            .await
            .map_err(|e| store_error(&what(), e))?;
        Ok(())
    }

    pub(super) async fn revocations_written_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<Revocation>> {
        let what = "reading revocations";
        let docs: Vec<RevocationDoc> = self
            .revocations
            .find(doc! {
                "at": { "$gte": bson_time(since) },
                "expires_at": { "$gt": bson_time(now()) },
            })
            .sort(doc! { "at": 1 })
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs.into_iter().map(Revocation::from).collect())
    }
}
