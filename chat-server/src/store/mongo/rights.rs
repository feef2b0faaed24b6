//! Data rights: the export's visitor pages, and erasing conversations (a visitor's, or those
//! retention let go) with everything in them.
//!
//! Without a multi-document transaction, an erasure removes the conversation document last: a
//! replica that dies halfway leaves the conversation findable (by its visitor, by retention), so
//! running the erasure again finishes it. Messages and webhook deliveries are removed once more
//! after the conversation, for an append (and the event it enqueues) that read the conversation
//! just before it went and inserted just after the first pass.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::doc;

use super::MongoStore;
use super::docs::{AttachmentDoc, ConversationDoc, bson_time};
use super::errors::store_error;
use crate::model::{Attachment, Conversation, Visitor};
use crate::store::{Erased, Page, StoreResult};

impl MongoStore {
    pub(super) async fn page_of_visitors(&self, page: &Page) -> StoreResult<Vec<Visitor>> {
        self.page_of(&self.visitors, page, "listing visitors").await
    }

    pub(super) async fn find_attachments_of(
        &self,
        conversation_id: &str,
    ) -> StoreResult<Vec<Attachment>> {
        let what = || format!("listing the attachments of conversation {conversation_id}");
        let docs: Vec<AttachmentDoc> = self
            .attachments
            .find(doc! { "conversation_id": conversation_id })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(|e| store_error(&what(), e))?
            .try_collect()
            .await
            .map_err(|e| store_error(&what(), e))?;
        Ok(docs.into_iter().map(Attachment::from).collect())
    }

    pub(super) async fn erase(&self, id: &str) -> StoreResult<Option<Erased>> {
        let what = |step: &str| format!("erasing conversation {id}: {step}");
        let in_it = doc! { "conversation_id": id };
        let messages = self
            .messages
            .delete_many(in_it.clone())
            .await
            .map_err(|e| store_error(&what("messages"), e))?
            .deleted_count;
        let attachments = self
            .attachments
            .delete_many(in_it.clone())
            .await
            .map_err(|e| store_error(&what("attachments"), e))?
            .deleted_count;
        // A pending delivery's body holds a message (none is sent once it is gone); a settled
        // one's body is already blank, but the row still ties the event to the conversation.
        self.webhook_deliveries()
            .delete_many(in_it.clone())
            .await
            .map_err(|e| store_error(&what("webhook deliveries"), e))?;
        // Mails about it name its visitor (recipient, subject, Reply-To), sent ones too.
        self.outbox
            .delete_many(in_it.clone())
            .await
            .map_err(|e| store_error(&what("mails"), e))?;
        // Its visitor's email, kept for a transcript asked for by mail.
        self.transcript_requests()
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&what("the transcript request"), e))?;
        let conversations = self
            .conversations
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&what("the conversation"), e))?
            .deleted_count;
        let late = self
            .messages
            .delete_many(in_it.clone())
            .await
            .map_err(|e| store_error(&what("late messages"), e))?
            .deleted_count;
        self.webhook_deliveries()
            .delete_many(in_it)
            .await
            .map_err(|e| store_error(&what("late webhook deliveries"), e))?;
        Ok((conversations > 0).then_some(Erased {
            messages: messages + late,
            attachments,
        }))
    }

    pub(super) async fn remove_visitor(&self, id: &str) -> StoreResult<bool> {
        let deleted = self
            .visitors
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("deleting visitor {id}"), e))?;
        Ok(deleted.deleted_count > 0)
    }

    /// Served by the `retention` index.
    pub(super) async fn resolved_updated_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let what = "listing resolved conversations for retention";
        let docs: Vec<ConversationDoc> = self
            .conversations
            .find(doc! { "status": "resolved", "updated_at": { "$lt": bson_time(before) } })
            .sort(doc! { "updated_at": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(|e| store_error(what, e))?
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs.into_iter().map(Conversation::from).collect())
    }
}
