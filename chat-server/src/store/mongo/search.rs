//! Message search on the multikey index `{words: 1, _id: -1}` of each message's folded words.
//!
//! The query is an equality on one word (the longest, as a guess at the rarest) walked newest
//! first, with the other words checked here on a projection of `_id` and `words`; the full
//! documents of the page are read afterwards by `_id`. Why not `{words: {$all: [...]}}`:
//! SecantusDB, the test stand-in, serves equality, `$in` and ranges from an index but not `$all`,
//! which it answers by scanning the collection (a million documents: seconds). MongoDB itself
//! plans `$all` the same way as this: the index for one word, a filter for the rest.

use std::collections::HashSet;

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::MongoStore;
use super::docs::MessageDoc;
use super::errors::store_error;
use crate::model::Message;
use crate::store::search as folding;
use crate::store::{Page, StoreResult};

/// Candidates fetched per round trip while looking for a page's matches.
const BATCH: u32 = 1000;

impl MongoStore {
    pub(super) async fn search(&self, query: &str, page: &Page) -> StoreResult<Vec<Message>> {
        let words = folding::query_words(query);
        let Some(driver) = words.iter().max_by_key(|w| w.chars().count()) else {
            return Ok(Vec::new());
        };
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let what = "searching messages";
        let mut filter = doc! { "words": driver.as_str() };
        if let Some(before) = &page.before_id {
            filter.insert("_id", doc! { "$lt": before.as_str() });
        }
        let mut candidates = self
            .messages
            .clone_with_type::<Document>()
            .find(filter)
            .projection(doc! { "_id": 1, "words": 1 })
            .sort(doc! { "_id": -1 })
            .batch_size(BATCH)
            .await
            .map_err(|e| store_error(what, e))?;
        let mut ids = Vec::new();
        while let Some(candidate) = candidates
            .try_next()
            .await
            .map_err(|e| store_error(what, e))?
        {
            let has: HashSet<&str> = candidate
                .get_array("words")
                .map(|ws| ws.iter().filter_map(Bson::as_str).collect())
                .unwrap_or_default();
            if words.iter().all(|w| has.contains(w.as_str()))
                && let Ok(id) = candidate.get_str("_id")
            {
                ids.push(id.to_string());
                if ids.len() == page.limit as usize {
                    break;
                }
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: Vec<Message> = self
            .messages
            .find(doc! { "_id": { "$in": ids.clone() } })
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect::<Vec<MessageDoc>>()
            .await
            .map_err(|e| store_error(what, e))?
            .into_iter()
            .map(Message::from)
            .collect();
        found.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(found)
    }

    /// Indexes the messages stored before search existed (schema step 1, see [`super::schema`]).
    /// Replicas starting together may both run it; it writes the same words twice, harmlessly.
    pub(super) async fn backfill_search_words(&self) -> StoreResult<()> {
        let what = "indexing older messages for search";
        let mut old = self
            .messages
            .clone_with_type::<Document>()
            .find(doc! { "words": { "$exists": false } })
            .projection(doc! { "_id": 1, "body": 1 })
            .await
            .map_err(|e| store_error(what, e))?;
        while let Some(message) = old.try_next().await.map_err(|e| store_error(what, e))? {
            let (Ok(id), Ok(body)) = (message.get_str("_id"), message.get_str("body")) else {
                continue;
            };
            self.messages
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "words": folding::words(body) } },
                )
                .await
                .map_err(|e| store_error(what, e))?;
        }
        Ok(())
    }
}
