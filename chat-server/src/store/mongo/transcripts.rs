//! Transcript requests in `transcript_requests`, keyed by conversation: an upsert to ask,
//! `find_one_and_delete` to take, both atomic on any MongoDB.

use chrono::DateTime;
use mongodb::bson::{Document, doc};

use super::MongoStore;
use super::docs::bson_time;
use super::errors::store_error;
use crate::store::{StoreError, StoreResult, TranscriptRequest};

impl MongoStore {
    pub(super) fn transcript_requests(&self) -> mongodb::Collection<Document> {
        self.db.collection("transcript_requests")
    }

    pub(super) async fn upsert_transcript_request(&self, r: &TranscriptRequest) -> StoreResult<()> {
        self.transcript_requests()
            .update_one(
                doc! { "_id": &r.conversation_id },
                doc! { "$set": { "email": &r.email, "requested_at": bson_time(r.requested_at) } },
            )
            .upsert(true)
            .await
            .map_err(|e| store_error("storing a transcript request", e))?;
        Ok(())
    }

    pub(super) async fn delete_transcript_request(
        &self,
        conversation_id: &str,
    ) -> StoreResult<Option<TranscriptRequest>> {
        let found = self
            .transcript_requests()
            .find_one_and_delete(doc! { "_id": conversation_id })
            .await
            .map_err(|e| store_error("taking a transcript request", e))?;
        found
            .map(|d| {
                let at = d.get_datetime("requested_at").map_err(|e| {
                    StoreError::Other(format!("transcript request requested_at: {e}"))
                })?;
                Ok(TranscriptRequest {
                    conversation_id: conversation_id.to_string(),
                    email: d.get_str("email").unwrap_or_default().to_string(),
                    requested_at: DateTime::from_timestamp_millis(at.timestamp_millis())
                        .unwrap_or_default(),
                })
            })
            .transpose()
    }
}
