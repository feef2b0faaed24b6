//! Conversation writes beyond create/update: read positions (and, beside them, labels, teams
//! and routing). Each is one conditional single-document update, which MongoDB applies
//! atomically, so replicas racing on one conversation need no lock.

use futures::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::docs::ConversationDoc;
use super::errors::store_error;
use crate::model::{Conversation, Reader};
use crate::store::{StoreError, StoreResult};

impl MongoStore {
    pub(super) async fn raise_read(
        &self,
        conversation_id: &str,
        reader: &Reader,
        seq: u64,
    ) -> StoreResult<Option<Conversation>> {
        let field = read_field(reader)?;
        if seq == 0 {
            // Every position starts at 0: nothing to raise.
            return self.existing(conversation_id).await.map(|_| None);
        }
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        // Matching only when the stored seq is lower (or absent) makes "nothing changed" a
        // miss, told apart from a missing conversation by one more read.
        let raised = self
            .conversations
            .find_one_and_update(
                doc! { "_id": conversation_id, &field: { "$not": { "$gte": seq } } },
                doc! { "$max": { &field: seq } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| store_error(&format!("marking conversation {conversation_id} read"), e))?;
        if let Some(raised) = raised {
            return Ok(Some(Conversation::from(raised)));
        }
        self.existing(conversation_id).await.map(|_| None)
    }

    /// Served by the `routing` index (status, assignee, _id). A document from before
    /// `awaiting_desk` has none, and counts as waiting (see `ConversationDoc`).
    pub(super) async fn find_waiting_for_desk(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let what = "listing the conversations waiting for the desk";
        let docs: Vec<ConversationDoc> = self
            .conversations
            .find(doc! {
                "status": "pending",
                "assignee": null,
                "_id": { "$gt": after.unwrap_or("") },
                "awaiting_desk": { "$ne": false },
            })
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit.max(1)))
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs.into_iter().map(Conversation::from).collect())
    }

    async fn existing(&self, conversation_id: &str) -> StoreResult<Conversation> {
        use crate::store::Store;
        self.conversation(conversation_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {conversation_id}")))
    }
}

/// The document field of `reader`'s read position.
pub(super) fn read_field(reader: &Reader) -> StoreResult<String> {
    match reader {
        Reader::Visitor => Ok("read.visitor".to_string()),
        // Agent ids are the store's own ULIDs; a dot or a leading `$` would name another
        // field, so such an id is refused rather than written.
        Reader::Agent(id) if !id.is_empty() && !id.contains('.') && !id.starts_with('$') => {
            Ok(format!("read.agents.{id}"))
        }
        Reader::Agent(id) => Err(StoreError::Other(format!(
            "agent id {id:?} cannot key a read position"
        ))),
    }
}
