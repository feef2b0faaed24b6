//! Webhooks (Standard Webhooks): events about conversations, messages and ratings, POSTed to the
//! endpoints an admin registered, signed ([`sign`]), from a durable outbox in the store.
//!
//! Durability. An event is stored (`Store::enqueue_webhook_event`, one delivery per subscribed
//! endpoint) after the change it describes is stored and *before* the request that made the
//! change answers, so an answered success means the event is durable and survives a `kill -9`.
//! It is not the change's own write, except for a sent message on the embedded store
//! (`Store::send_message`, the one change made at chat rates): doing that everywhere would
//! thread the outbox through every store method (and need multi-document transactions on
//! MongoDB, which the store avoids, see `store::mongo`). The window it leaves, a crash between the two writes, is one the caller sees
//! as a failed request; event ids derived from the stored object (`msg_<message id>`,
//! `msg_<conversation id>`) make the client's retry (same `client_msg_id`) store the event then,
//! once, because an endpoint takes each event id once.
//!
//! Delivery ([`sender`]): every replica runs one sender that claims due deliveries with a lease
//! (so replicas do not send one delivery twice, routinely), only the oldest pending one per
//! endpoint and conversation (so a conversation's events arrive in order, also under retries),
//! POSTs them with a 10 s timeout, and records each attempt. Failures back off exponentially
//! (5 s first) for 24 h, then the delivery is marked failed. At least once: a crash after the
//! receiver's 2xx and before it is recorded sends that event again after the lease.

pub mod address;
pub mod sender;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::Notify;

use crate::model::{Conversation, Message, Rating, new_id, now};
use crate::store::{NewWebhookEvent, Store, StoreResult};

/// Every event type, as endpoints subscribe to them.
pub const EVENT_TYPES: [&str; 4] = [
    CONVERSATION_CREATED,
    CONVERSATION_UPDATED,
    MESSAGE_CREATED,
    RATING_CREATED,
];
pub const CONVERSATION_CREATED: &str = "conversation.created";
/// Status, assignee, team or labels changed (read positions do not count).
pub const CONVERSATION_UPDATED: &str = "conversation.updated";
/// A message or a private note (`"private": true`).
pub const MESSAGE_CREATED: &str = "message.created";
/// A visitor rated a resolved conversation ([`Webhooks::rating_created`]).
pub const RATING_CREATED: &str = "rating.created";

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// CHAT_WEBHOOK_ALLOW_PRIVATE: endpoints may be on loopback, private or link-local
    /// addresses.
    pub allow_private: bool,
    /// The first retry's delay (5 s); each next one doubles, up to [`sender::MAX_BACKOFF`].
    pub retry_base: Duration,
    /// How long failures are retried before the delivery is marked failed (24 h).
    pub retry_for: Duration,
    /// How long a claim holds a delivery: longer than a request may take (10 s).
    pub lease: Duration,
    /// How long one request may take, connecting included.
    pub timeout: Duration,
    /// CHAT_WEBHOOK_LOG_DAYS: how long the attempt log and settled deliveries are kept.
    pub keep_log: Duration,
    /// How often the outbox is read without a wake-up (for other replicas' events).
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            retry_base: Duration::from_secs(5),
            retry_for: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            keep_log: Duration::from_secs(30 * 86_400),
            poll: Duration::from_secs(1),
        }
    }
}

/// Stores events in the outbox and wakes this replica's sender.
pub struct Webhooks {
    store: Arc<dyn Store>,
    pub settings: WebhookSettings,
    wake: Notify,
    /// Names this replica's claims.
    claimer: String,
}

/// The request body: `{"type","timestamp","data"}`.
#[derive(Serialize)]
struct Body<'a, T: Serialize> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: &'a T,
}

impl Webhooks {
    pub fn new(store: Arc<dyn Store>, settings: WebhookSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            settings,
            wake: Notify::new(),
            claimer: new_id(),
        })
    }

    /// The conversation as it was created; the id is derived from it (see the module comment).
    pub async fn conversation_created(&self, c: &Conversation) -> StoreResult<()> {
        let id = format!("msg_{}", c.id);
        self.enqueue(id, CONVERSATION_CREATED, &c.id, c, c.created_at)
            .await
    }

    pub async fn conversation_updated(&self, c: &Conversation) -> StoreResult<()> {
        let id = format!("msg_{}", new_id());
        self.enqueue(id, CONVERSATION_UPDATED, &c.id, c, c.updated_at)
            .await
    }

    /// `stored` deliveries were stored by someone else's write (a sent message's, see
    /// `Store::send_message`): the sender should look at the outbox now.
    pub fn stored(&self, stored: u32) {
        if stored > 0 {
            self.wake.notify_one();
        }
    }

    /// A visitor's rating: a conversation is rated once, so the event id is derived from the
    /// conversation and storing it again stores nothing new.
    pub async fn rating_created(&self, conversation_id: &str, rating: &Rating) -> StoreResult<()> {
        #[derive(Serialize)]
        struct Rated<'a> {
            conversation_id: &'a str,
            #[serde(flatten)]
            rating: &'a Rating,
        }
        let id = format!("msg_rating_{conversation_id}");
        let body = Rated {
            conversation_id,
            rating,
        };
        self.enqueue(
            id,
            RATING_CREATED,
            conversation_id,
            &body,
            rating.created_at,
        )
        .await
    }

    async fn enqueue<T: Serialize>(
        &self,
        event_id: String,
        event_type: &str,
        conversation_id: &str,
        data: &T,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.store_event(event(event_id, event_type, conversation_id, data, at)?)
            .await
    }

    async fn store_event(&self, event: NewWebhookEvent) -> StoreResult<()> {
        let stored = self.store.enqueue_webhook_event(event).await?;
        self.stored(stored);
        Ok(())
    }
}

/// The `message.created` event of a message or note, which the store writes with the message
/// (`Store::send_message`); storing it again for a replayed send stores nothing new. The id is derived from
/// the message (see the module comment).
pub fn message_created_event(m: &Message) -> StoreResult<NewWebhookEvent> {
    event(
        format!("msg_{}", m.id),
        MESSAGE_CREATED,
        &m.conversation_id,
        m,
        m.created_at,
    )
}

fn event<T: Serialize>(
    event_id: String,
    event_type: &str,
    conversation_id: &str,
    data: &T,
    at: DateTime<Utc>,
) -> StoreResult<NewWebhookEvent> {
    let body = serde_json::to_string(&Body {
        event_type,
        timestamp: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        data,
    })
    .map_err(|e| crate::store::StoreError::Other(format!("serializing an event: {e}")))?;
    Ok(NewWebhookEvent {
        event_id,
        event_type: event_type.to_string(),
        conversation_id: conversation_id.to_string(),
        body,
        created_at: now(),
    })
}
