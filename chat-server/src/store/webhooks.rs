//! What the webhook endpoints and their durable outbox store (see `Store::enqueue_webhook_event`
//! and `crate::webhooks`).
//!
//! An event is stored once per subscribed endpoint, as a *delivery*, in the one store call that
//! records it: from then on it survives a crash and is sent at least once. Deliveries of one
//! conversation to one endpoint go out in the order they were stored: a delivery is claimed only
//! while no earlier one of the same (endpoint, conversation) is still pending (it is the *head*).

use chrono::{DateTime, Utc};

/// The smallest id `crate::model::new_id` can make at `at`: ids are ULIDs, so every id made
/// earlier sorts before it, and the id index answers "stored before `at`".
pub fn first_id_at(at: DateTime<Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    ulid::Ulid::from_parts(ms, 0).to_string().to_lowercase()
}

/// A webhook endpoint as stored. The secret (`whsec_…`) is kept readable: every request is
/// signed with it (unlike API tokens, whose secret only has to be recognised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Event types it receives (`conversation.created`, …), each once.
    pub events: Vec<String>,
    pub secret: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// An event to store for every endpoint subscribed to its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhookEvent {
    /// `msg_…`: the `webhook-id` header, the same on every attempt and every endpoint. Storing
    /// the same event id again for an endpoint stores nothing (an idempotent re-enqueue).
    pub event_id: String,
    pub event_type: String,
    /// Deliveries are ordered per (endpoint, conversation).
    pub conversation_id: String,
    /// The request body, `{"type","timestamp","data"}`, serialized once so that every attempt
    /// sends (and signs) the same bytes.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its due time, for an earlier delivery of its conversation, or claimed.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up after the retry window (24 h).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One event for one endpoint, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Time-ordered; the order of delivery within a conversation.
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub conversation_id: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it may be claimed next (a claim moves it to the end of the claimer's lease).
    pub due_at: DateTime<Utc>,
    pub claimed_by: Option<String>,
}

/// One attempt, for the delivery log (`GET /api/v1/webhooks/{id}/deliveries`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttempt {
    /// Time-ordered; pages the log.
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `delivered`, `retrying` or `failed` (the last attempt of an abandoned delivery).
    pub status: String,
    /// The endpoint's HTTP status, when it answered.
    pub response_status: Option<u16>,
    /// Why it failed (`timeout`, `HTTP 500`, a refused address, …).
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// What becomes of a claimed delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryNext {
    Delivered,
    /// Pending again, due at this time.
    RetryAt(DateTime<Utc>),
    Failed,
}
