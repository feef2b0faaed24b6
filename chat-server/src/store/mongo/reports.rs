//! Ratings, report facts and bulk imports on MongoDB. A rating is one conditional update of
//! the conversation document (resolved, no rating yet), which MongoDB applies atomically: of
//! two replicas rating at once, one matches and the other misses. Report facts are one range
//! read of the `created` index, projected to the few fields a summary uses.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use serde::Deserialize;

use super::MongoStore;
use super::docs::{ConversationDoc, MessageDoc, RatingDoc, bson_time};
use super::errors::store_error;
use crate::model::{Conversation, ConversationStatus, Rating};
use crate::store::reports::message_times;
use crate::store::{ConversationFacts, Imported, Rated, StoreError, StoreResult};

/// The projection [`MongoStore::facts`] reads.
#[derive(Deserialize)]
struct FactsDoc {
    created_at: mongodb::bson::DateTime,
    #[serde(default)]
    assignee: Option<String>,
    status: ConversationStatus,
    #[serde(default)]
    resolved_at: Option<mongodb::bson::DateTime>,
    #[serde(default)]
    first_visitor_at: Option<mongodb::bson::DateTime>,
    #[serde(default)]
    first_response_at: Option<mongodb::bson::DateTime>,
    #[serde(default)]
    rating: Option<ScoreDoc>,
}

#[derive(Deserialize)]
struct ScoreDoc {
    score: i32,
}

fn time(t: Option<mongodb::bson::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp_millis(t.timestamp_millis()))
}

impl MongoStore {
    pub(super) async fn rate(&self, conversation_id: &str, rating: &Rating) -> StoreResult<Rated> {
        let what = || format!("rating conversation {conversation_id}");
        let rating_doc = mongodb::bson::to_bson(&RatingDoc::from(rating.clone()))
            .map_err(|e| StoreError::Other(format!("{}: {e}", what())))?;
        let stored = self
            .conversations
            .find_one_and_update(
                doc! { "_id": conversation_id, "status": "resolved", "rating": null },
                doc! { "$set": { "rating": rating_doc } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| store_error(&what(), e))?;
        if let Some(c) = stored {
            return Ok(Rated::Stored(Conversation::from(c)));
        }
        let c = self
            .conversations
            .find_one(doc! { "_id": conversation_id })
            .await
            .map_err(|e| store_error(&what(), e))?
            .map(Conversation::from)
            .ok_or_else(|| StoreError::NotFound(format!("conversation {conversation_id}")))?;
        Ok(match c.rating {
            Some(_) => Rated::AlreadyRated(c),
            None => Rated::NotResolved(c),
        })
    }

    pub(super) async fn facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ConversationFacts>> {
        let what = "reading the report's conversations";
        let mut cursor = self
            .conversations
            .clone_with_type::<FactsDoc>()
            .find(doc! { "created_at": { "$gte": bson_time(from), "$lt": bson_time(to) } })
            .projection(doc! {
                "_id": 0, "created_at": 1, "assignee": 1, "status": 1, "resolved_at": 1,
                "first_visitor_at": 1, "first_response_at": 1, "rating.score": 1,
            })
            .batch_size(10_000)
            .await
            .map_err(|e| store_error(what, e))?;
        let mut facts = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(|e| store_error(what, e))? {
            facts.push(ConversationFacts {
                created_at: time(Some(d.created_at)).unwrap_or_default(),
                assignee: d.assignee,
                resolved: d.status == ConversationStatus::Resolved,
                resolved_at: time(d.resolved_at),
                first_visitor_at: time(d.first_visitor_at),
                first_response_at: time(d.first_response_at),
                score: d.rating.map(|r| r.score.clamp(0, 255) as u8),
            });
        }
        Ok(facts)
    }

    pub(super) async fn import(&self, batch: Vec<Imported>) -> StoreResult<()> {
        let what = "importing conversations";
        let mut conversations = Vec::with_capacity(batch.len());
        let mut messages = Vec::new();
        for (c, ms) in batch {
            let (first_visitor_at, first_response_at) = message_times(&ms);
            let last_seq = ms.iter().map(|m| m.seq).max().unwrap_or(0);
            let last_public = ms.iter().filter(|m| !m.private).map(|m| m.seq).max();
            let resolved = c.status == ConversationStatus::Resolved;
            conversations.push(ConversationDoc {
                last_seq,
                last_public_seq: Some(last_public.unwrap_or(0)),
                resolved_at: c.resolved_at.filter(|_| resolved),
                first_visitor_at,
                first_response_at,
                ..ConversationDoc::from(c)
            });
            messages.extend(ms.into_iter().map(MessageDoc::from));
        }
        if !conversations.is_empty() {
            self.conversations
                .insert_many(conversations)
                .await
                .map_err(|e| store_error(what, e))?;
        }
        if !messages.is_empty() {
            self.messages
                .insert_many(messages)
                .await
                .map_err(|e| store_error(what, e))?;
        }
        Ok(())
    }

    /// Conversations stored before reports existed have no resolution or message times (schema
    /// step 2, see [`super::schema`]): a resolved one takes `updated_at` as its
    /// resolution time (the best record there is, as on the embedded store), and each gets the
    /// times its stored messages give, by `$min`, so an append racing this keeps the earlier
    /// time. Replicas starting together may both run it; they write the same values.
    pub(super) async fn backfill_report_facts(&self) -> StoreResult<()> {
        let what = "working out report times for older conversations";
        let mut old = self
            .conversations
            .clone_with_type::<Document>()
            .find(doc! { "first_visitor_at": { "$exists": false } })
            .projection(doc! { "_id": 1, "status": 1, "updated_at": 1, "resolved_at": 1 })
            .await
            .map_err(|e| store_error(what, e))?;
        while let Some(c) = old.try_next().await.map_err(|e| store_error(what, e))? {
            let Ok(id) = c.get_str("_id") else { continue };
            let messages: Vec<crate::model::Message> = self
                .messages
                .find(doc! { "conversation_id": id })
                .await
                .map_err(|e| store_error(what, e))?
                .map_ok(crate::model::Message::from)
                .try_collect()
                .await
                .map_err(|e| store_error(what, e))?;
            let mut earliest = Document::new();
            let (first_visitor_at, first_response_at) = message_times(&messages);
            if let Some(t) = first_visitor_at {
                earliest.insert("first_visitor_at", bson_time(t));
            }
            if let Some(t) = first_response_at {
                earliest.insert("first_response_at", bson_time(t));
            }
            if !earliest.is_empty() {
                self.conversations
                    .update_one(doc! { "_id": id }, doc! { "$min": earliest })
                    .await
                    .map_err(|e| store_error(what, e))?;
            }
            let resolved = c.get_str("status") == Ok("resolved");
            let unstamped = c.get_datetime("resolved_at").is_err();
            if let (true, true, Ok(updated)) = (resolved, unstamped, c.get_datetime("updated_at")) {
                self.conversations
                    .update_one(
                        doc! { "_id": id, "status": "resolved", "resolved_at": null },
                        doc! { "$set": { "resolved_at": *updated } },
                    )
                    .await
                    .map_err(|e| store_error(what, e))?;
            }
        }
        Ok(())
    }
}
