//! What automatic assignment reads and the one write it must not race on. The compare-and-set
//! is a single-document conditional update (`assignee: null` in the filter), which MongoDB
//! applies atomically: of two replicas assigning one conversation, one matches and the other
//! finds nothing to update.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::docs::{ConversationDoc, bson_time};
use super::errors::store_error;
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
