//! `Store::send_message`: everything a sent message asks of the store, in one call. The
//! ownership check, the append and the `message.created` webhook event used to be three
//! round trips; on the embedded store each was a hand-off to the blocking pool and back, and
//! together they were a third of the publishing replica's CPU per message (docs/benchmarks.md).
//! SQLite does all three in one write, inside the group commit; MongoDB, without
//! multi-document transactions, checks the owner on the read the append needs anyway and
//! stores the event after it, before the caller answers. An agent author's read position (a
//! fourth write once, `mark_read`) goes with the append: in SQLite's transaction, and in the
//! conversation update MongoDB's append makes.

use super::{Appended, NewWebhookEvent, StoreResult};
use crate::model::{Conversation, Message, NewMessage, Reader};

/// Builds the webhook event a stored message makes. A plain `fn` so that a store can call it
/// inside its own write, on whatever thread that runs, without knowing the event's format.
pub type MessageEvent = fn(&Message) -> StoreResult<NewWebhookEvent>;

pub struct NewSend {
    pub message: NewMessage,
    /// Only this visitor's conversation takes the message; `None` (an agent) takes any.
    pub owner: Option<String>,
    /// Stored for every subscribed endpoint with the message, also for a replayed
    /// `client_msg_id` (the event id is the message's, so it stores nothing new then).
    pub event: Option<MessageEvent>,
    /// Has read the conversation up to a created message, in the same write (an agent has read
    /// what it wrote). A read position only rises, as with `mark_read`; a replay moves none.
    pub read_by: Option<Reader>,
}

// A return value, moved once per send and never kept in bulk: boxing `Stored` would only add
// an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Stored {
        appended: Appended,
        /// The conversation just before this append, read with it.
        before: Conversation,
        /// Webhook deliveries stored for the event (0 without one, or when it was stored
        /// before).
        events: u32,
    },
    /// The conversation belongs to another visitor than `owner`; nothing was stored.
    NotOwner,
}

/// Whether `owner` (a visitor, or nobody in particular) may write to `conversation`.
pub fn owns(owner: &Option<String>, conversation: &Conversation) -> bool {
    owner.as_ref().is_none_or(|v| *v == conversation.visitor.id)
}
