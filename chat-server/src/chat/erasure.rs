//! Erasure (GDPR/LGPD): an admin erases a visitor, and with it every conversation it started and
//! everything in them: messages, notes, read state, labels, attachment records, and the files in
//! the bucket. Retention ([`super::retention`]) erases old conversations the same way.
//!
//! Order makes it safe to repeat: the visitor's tokens are revoked first (no replica lets it
//! write while it is being erased); each conversation's files go before its records, so a file
//! that cannot be deleted leaves the conversation, and its attachment records, in place; the
//! visitor record goes last. An erasure that fails partway reports it (503 `erase_incomplete`)
//! and the same request later finishes the job.

use super::{Chat, require_admin};
use crate::auth::Principal;
use crate::auth::revocation::visitor_key;
use crate::error::Error;
use crate::store::{ConversationFilter, Erased};

/// What erasing a visitor removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ErasedVisitor {
    pub conversations: u64,
    /// Messages and private notes.
    pub messages: u64,
    /// Attachments, records and files.
    pub attachments: u64,
}

/// A visitor's conversations read per store query while erasing them.
const BATCH: u32 = 100;

impl Chat {
    pub async fn erase_visitor(
        &self,
        by: &Principal,
        visitor_id: &str,
    ) -> Result<ErasedVisitor, Error> {
        require_admin(by, "erase visitors")?;
        if self.store.visitor(visitor_id).await?.is_none() {
            return Err(Error::not_found(format!("visitor {visitor_id}")));
        }
        // Its open sockets close with 4001 here at once and on the other replicas within
        // seconds; from then on it can start nothing new.
        self.revoke(visitor_key(visitor_id), None).await?;
        let mut erased = ErasedVisitor::default();
        loop {
            // Each round lists what is left: erased conversations drop out of the list.
            let filter = ConversationFilter {
                visitor_id: Some(visitor_id.to_string()),
                limit: BATCH,
                ..ConversationFilter::default()
            };
            let left = self.store.list_conversations(&filter).await?;
            if left.is_empty() {
                break;
            }
            for c in left {
                if let Some(e) = self.erase_conversation(&c.id).await? {
                    erased.conversations += 1;
                    erased.messages += e.messages;
                    erased.attachments += e.attachments;
                }
            }
        }
        self.store.delete_visitor(visitor_id).await?;
        tracing::info!(
            visitor = visitor_id,
            conversations = erased.conversations,
            messages = erased.messages,
            attachments = erased.attachments,
            "visitor erased"
        );
        Ok(erased)
    }

    /// Deletes the conversation's files from the bucket, then the conversation and all it holds
    /// from the store; `None` when it was already gone.
    pub(super) async fn erase_conversation(&self, id: &str) -> Result<Option<Erased>, Error> {
        let attachments = self.store.attachments_of(id).await?;
        // Before the files go: a URL used between their deletion and this would otherwise
        // leave bytes that nothing remembers.
        self.keep_for_late_uploads(&attachments).await?;
        for a in attachments {
            if let Err(e) = self.blobs.delete(&a.key).await {
                tracing::warn!(conversation = id, attachment = %a.id, error = %e, "erasing a file failed");
                return Err(Error::unavailable(
                    "erase_incomplete",
                    format!(
                        "the file of attachment {} (conversation {id}) could not be deleted from \
                         storage ({e}); conversation {id} and what is left of it were kept: run \
                         the erasure again to finish it",
                        a.id
                    ),
                ));
            }
        }
        Ok(self.store.erase_conversation(id).await?)
    }
}
