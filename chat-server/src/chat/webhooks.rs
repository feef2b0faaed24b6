//! Webhook endpoints (admin only): made with a secret shown once, listed, removed, and their
//! delivery log; and the events the chat's changes put in the outbox (`crate::webhooks`).

use serde::Serialize;
use utoipa::ToSchema;

use super::paging::{self, Paged};
use super::{Chat, require_admin};
use crate::auth::Principal;
use crate::error::Error;
use crate::model::{Conversation, Rating, new_id, now};
use crate::store::{Page, WebhookAttempt, WebhookEndpoint};
use crate::webhooks::{EVENT_TYPES, address, sign};

/// An endpoint as listed: never its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<WebhookEndpoint> for Webhook {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            events: e.events,
            created_at: e.created_at,
        }
    }
}

/// An endpoint just made: the only answer that carries its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NewWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_<base64>`: verifies the `webhook-signature` of every request (Standard Webhooks).
    pub secret: String,
}

/// One delivery attempt, newest first in the log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    /// The attempt's own id (the log's paging cursor).
    pub id: String,
    /// The `webhook-id` header: the same on every attempt of one event.
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// 1 for the first attempt of the event.
    pub attempt: u32,
    /// `delivered`, `retrying` (failed; tried again later) or `failed` (given up after 24 h).
    pub status: String,
    /// The endpoint's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// Why the attempt failed (`timeout`, `HTTP 500`, a refused address, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl From<WebhookAttempt> for DeliveryAttempt {
    fn from(a: WebhookAttempt) -> Self {
        Self {
            id: a.id,
            event_id: a.event_id,
            event_type: a.event_type,
            attempt: a.attempt,
            status: a.status,
            response_status: a.response_status,
            error: a.error,
            at: a.at,
        }
    }
}

const WHAT: &str = "manage webhooks";

impl Chat {
    pub async fn create_webhook(
        &self,
        by: &Principal,
        url: &str,
        events: &[String],
    ) -> Result<NewWebhook, Error> {
        require_admin(by, WHAT)?;
        // Events first: checking them costs no DNS lookup.
        let events = event_types(events)?;
        let parsed = address::parse(url, "url")?;
        address::check(&parsed, self.webhooks.settings.allow_private, "url").await?;
        let secret = sign::new_secret();
        let stored = self
            .store
            .create_webhook(WebhookEndpoint {
                id: new_id(),
                url: parsed.to_string(),
                events,
                secret: secret.clone(),
                created_by: by.id().to_string(),
                created_at: now(),
            })
            .await?;
        Ok(NewWebhook {
            webhook: stored.into(),
            secret,
        })
    }

    pub async fn list_webhooks(&self, by: &Principal, page: Page) -> Result<Paged<Webhook>, Error> {
        require_admin(by, WHAT)?;
        let fetched = self.store.list_webhooks(&paging::probe(&page)).await?;
        let listed = fetched.into_iter().map(Webhook::from).collect();
        Ok(paging::paged(listed, &page, |w: &Webhook| &w.id))
    }

    pub async fn webhook(&self, by: &Principal, id: &str) -> Result<Webhook, Error> {
        require_admin(by, WHAT)?;
        match self.store.webhook(id).await? {
            Some(e) => Ok(e.into()),
            None => Err(Error::not_found(format!("webhook {id}"))),
        }
    }

    pub async fn delete_webhook(&self, by: &Principal, id: &str) -> Result<(), Error> {
        require_admin(by, WHAT)?;
        Ok(self.store.delete_webhook(id).await?)
    }

    pub async fn webhook_deliveries(
        &self,
        by: &Principal,
        id: &str,
        page: Page,
    ) -> Result<Paged<DeliveryAttempt>, Error> {
        self.webhook(by, id).await?;
        let fetched = self
            .store
            .webhook_attempts(id, &paging::probe(&page))
            .await?;
        let listed = fetched.into_iter().map(DeliveryAttempt::from).collect();
        Ok(paging::paged(listed, &page, |a: &DeliveryAttempt| &a.id))
    }

    /// `conversation.created`, stored before the request answers (see `crate::webhooks`).
    pub(super) async fn conversation_created_event(&self, c: &Conversation) -> Result<(), Error> {
        Ok(self.webhooks.conversation_created(c).await?)
    }

    /// `conversation.updated`, stored before the request answers.
    pub(super) async fn conversation_updated_event(&self, c: &Conversation) -> Result<(), Error> {
        Ok(self.webhooks.conversation_updated(c).await?)
    }

    /// `rating.created`, stored before the request answers.
    pub(super) async fn rating_created_event(
        &self,
        conversation_id: &str,
        rating: &Rating,
    ) -> Result<(), Error> {
        Ok(self
            .webhooks
            .rating_created(conversation_id, rating)
            .await?)
    }
}

/// The requested event types, each known and once, in the order of [`EVENT_TYPES`].
fn event_types(raw: &[String]) -> Result<Vec<String>, Error> {
    if raw.is_empty() {
        return Err(Error::invalid(
            "invalid_events",
            format!(
                "events must name at least one of {}",
                EVENT_TYPES.join(", ")
            ),
        ));
    }
    if let Some((i, bad)) = raw
        .iter()
        .enumerate()
        .find(|(_, e)| !EVENT_TYPES.contains(&e.as_str()))
    {
        return Err(Error::invalid(
            "invalid_events",
            format!(
                "events[{i}] {bad:?} is not an event type; use {}",
                EVENT_TYPES.join(", ")
            ),
        ));
    }
    Ok(EVENT_TYPES
        .iter()
        .filter(|t| raw.iter().any(|r| r == *t))
        .map(|t| t.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_known_kept_once_and_named_by_position() {
        let raw = ["message.created", "conversation.created", "message.created"].map(String::from);
        assert_eq!(
            event_types(&raw).unwrap(),
            ["conversation.created", "message.created"]
        );
        let e = event_types(&["message.created", "nope"].map(String::from)).unwrap_err();
        assert!(e.message.starts_with("events[1]"), "{}", e.message);
        assert_eq!(event_types(&[]).unwrap_err().code, "invalid_events");
    }
}
