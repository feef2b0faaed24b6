//! Read state: `read` frames move the reader's stored read seq, and agents' inboxes learn of
//! new messages and reads through `conversation` frames, so unread counts survive a reload
//! and stay live for conversations an agent has not opened.

use super::Chat;
use crate::auth::Principal;
use crate::error::Error;
use crate::model::{Conversation, Message, Reader};
use crate::protocol::ServerFrame;

impl Chat {
    /// Stores that `by` has read the conversation up to `seq`, then tells its subscribers (the
    /// receipt) and, for an agent, every agent (its other tabs clear the unread badge). A seq
    /// at or below the stored one changes nothing and tells no one.
    pub async fn read(&self, by: &Principal, conversation_id: &str, seq: u64) -> Result<(), Error> {
        let seen = self.conversation(by, conversation_id).await?;
        if seq > seen.last_seq {
            return Err(Error::invalid(
                "invalid_seq",
                format!(
                    "seq {seq} is beyond the conversation's last message ({})",
                    seen.last_seq
                ),
            ));
        }
        let reader = match by {
            Principal::Agent { id, .. } => Reader::Agent(id.clone()),
            Principal::Visitor { .. } => Reader::Visitor,
        };
        let Some(updated) = self.store.mark_read(conversation_id, &reader, seq).await? else {
            return Ok(());
        };
        // One frame goes to every subscriber, the visitor included: an agent who read a
        // trailing note has, for the visitor, read the last public message (a higher seq
        // would tell the visitor that notes exist).
        let frame = ServerFrame::Read {
            conversation_id: conversation_id.to_string(),
            author: by.author(),
            seq: seq.min(updated.last_public_seq),
        };
        self.tell_subscribers(conversation_id, &frame).await;
        if by.is_agent() {
            self.announce(&updated).await;
        }
        Ok(())
    }

    /// After a new message is stored and published: every agent's inbox hears that the
    /// conversation moved. `before` is the conversation as read before the append, which also
    /// stored that an agent author has read its own message (`NewSend::read_by`).
    pub(super) async fn after_sent(&self, by: &Principal, before: Conversation, message: &Message) {
        let mut conversation = advanced(before, message);
        if let Principal::Agent { id, .. } = by {
            Reader::Agent(id.clone()).raise(&mut conversation.read, message.seq);
        }
        self.announce(&conversation).await;
    }
}

/// The conversation as the append left it, without reading it back: frames from concurrent
/// appends may arrive in any order, so receivers keep the highest `last_seq` they saw.
fn advanced(mut conversation: Conversation, message: &Message) -> Conversation {
    conversation.last_seq = conversation.last_seq.max(message.seq);
    if !message.private {
        conversation.last_public_seq = conversation.last_public_seq.max(message.seq);
    }
    conversation.updated_at = conversation.updated_at.max(message.created_at);
    conversation
}

/// The conversation as `by` asked for it: a visitor's view counts no note; an agent's carries
/// its unread count.
pub(super) fn as_seen_by(by: &Principal, conversation: Conversation) -> Conversation {
    match by {
        Principal::Agent { id, .. } => {
            let unread = conversation.unread_for(id);
            Conversation {
                unread: Some(unread),
                ..conversation
            }
        }
        Principal::Visitor { .. } => conversation.as_visitor_sees_it(),
    }
}
