//! What automatic assignment reads and the one write it must not race on. The compare-and-set
//! is a single-document conditional update (`assignee: null` in the filter), which MongoDB
//! applies atomically: of two replicas assigning one conversation, one matches and the other
//! finds nothing to update.
//!
//! One replica routes at a time under a named lease in the `leases` collection (the same
//! documents and guarantee as [`super::lease`], taken without waiting); the turn each agent last
//! took is one small document per agent in `routing_turns`.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::docs::{ConversationDoc, bson_time};
use super::errors::{is_duplicate_key, store_error};
use crate::model::{Conversation, now};
use crate::store::{StoreError, StoreResult};

impl MongoStore {
    pub(super) async fn count_open_by_assignee(&self) -> StoreResult<BTreeMap<String, u64>> {
        let what = "counting open conversations by assignee";
        let groups: Vec<Document> = self
            .conversations
            .aggregate([
                doc! { "$match": { "status": "open", "assignee": { "$ne": Bson::Null } } },
                doc! { "$group": { "_id": "$assignee", "n": { "$sum": 1 } } },
            ])
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(groups
            .iter()
            .filter_map(|g| {
                let n = match g.get("n")? {
                    Bson::Int32(n) => *n as u64,
                    Bson::Int64(n) => *n as u64,
                    _ => return None,
                };
                Some((g.get_str("_id").ok()?.to_string(), n))
            })
            .collect())
    }

    pub(super) async fn assign_when_unassigned(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let assigned = self
            .conversations
            .find_one_and_update(
                doc! { "_id": conversation_id, "assignee": Bson::Null },
                doc! {
                    "$set": { "assignee": agent_id },
                    "$max": { "updated_at": bson_time(now()) },
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| store_error(&format!("assigning conversation {conversation_id}"), e))?;
        if let Some(assigned) = assigned {
            return Ok(Some(Conversation::from(assigned)));
        }
        use crate::store::Store;
        match self.conversation(conversation_id).await? {
            Some(_) => Ok(None),
            None => Err(StoreError::NotFound(format!(
                "conversation {conversation_id}"
            ))),
        }
    }

    pub(super) async fn unassigned_oldest_first(
        &self,
        teams: Option<&[String]>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let what = "listing unassigned conversations";
        let mut filter = doc! { "status": "open", "assignee": Bson::Null };
        if let Some(teams) = teams {
            let mut allowed = vec![Bson::Null];
            allowed.extend(teams.iter().map(|t| Bson::from(t.as_str())));
            filter.insert("team_id", doc! { "$in": allowed });
        }
        let docs: Vec<ConversationDoc> = self
            .conversations
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs.into_iter().map(Conversation::from).collect())
    }
}

impl MongoStore {
    /// One conditional upsert: a free, expired or `holder`'s own lease matches and is written; a
    /// lease held by another does not match, so the upsert tries to insert `_id: name` and fails
    /// on the `_id` index.
    pub(super) async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<bool> {
        let at = now();
        // No lease needs a day; the cap keeps the sum from overflowing.
        let ttl = ttl.min(std::time::Duration::from_secs(86_400));
        let until = at + chrono::TimeDelta::from_std(ttl).expect("a day fits a TimeDelta");
        let taken = self
            .leases
            .update_one(
                doc! {
                    "_id": name,
                    "$or": [ { "until": { "$lt": bson_time(at) } }, { "holder": holder } ],
                },
                doc! { "$set": { "holder": holder, "until": bson_time(until) } },
            )
            .upsert(true)
            .await;
        match taken {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(store_error(&format!("taking the {name} lease"), e)),
        }
    }

    pub(super) async fn give_up_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.leases
            .delete_one(doc! { "_id": name, "holder": holder })
            .await
            .map(drop)
            .map_err(|e| store_error(&format!("releasing the {name} lease"), e))
    }

    pub(super) async fn turns(&self) -> StoreResult<BTreeMap<String, u64>> {
        let what = "reading the routing turns";
        let docs: Vec<Document> = self
            .routing_turns
            .find(doc! {})
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs
            .iter()
            .filter_map(|d| {
                let turn = match d.get("turn")? {
                    Bson::Int64(n) => *n as u64,
                    Bson::Int32(n) => *n as u64,
                    _ => return None,
                };
                Some((d.get_str("_id").ok()?.to_string(), turn))
            })
            .collect())
    }

    pub(super) async fn record_turn(&self, agent_id: &str, turn: u64) -> StoreResult<()> {
        self.routing_turns
            .update_one(
                doc! { "_id": agent_id },
                doc! { "$set": { "turn": turn as i64 } },
            )
            .upsert(true)
            .await
            .map(drop)
            .map_err(|e| store_error("recording a routing turn", e))
    }
}
