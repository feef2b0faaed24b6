//! Webhook endpoints (`webhooks`), their deliveries (`webhook_deliveries`, the outbox) and the
//! attempt log (`webhook_attempts`), as plain documents.
//!
//! Enqueueing inserts one delivery per subscribed endpoint; the unique index
//! `(webhook_id, event_id)` makes a second enqueue of one event a no-op. Delivery ids are ULIDs
//! made at insert, so they sort in the order the events were stored (across replicas, as far as
//! their clocks agree). A claim reads the oldest pending deliveries in id order, keeps the first
//! one of each (endpoint, conversation) (the head) and takes each due head with
//! `find_one_and_update` on `{_id, state: pending, due_at <= now}`: one document write, atomic
//! on any MongoDB, so two replicas never claim one delivery at once, and a delivery behind a
//! pending one is never taken.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::docs::bson_time;
use super::errors::{is_duplicate_key, store_error};
use super::inserted;
use crate::model::new_id;
use crate::store::webhooks::first_id_at;
use crate::store::{
    DeliveryNext, DeliveryState, NewWebhookEvent, Page, StoreError, StoreResult, WebhookAttempt,
    WebhookDelivery, WebhookEndpoint,
};

/// Pending deliveries read per claim to find heads: the oldest first, so the backlog's front
/// always makes progress however long it is.
const SCAN: i64 = 1000;

fn time(d: &Document, key: &str) -> StoreResult<DateTime<Utc>> {
    let t = d
        .get_datetime(key)
        .map_err(|e| StoreError::Other(format!("webhook field {key}: {e}")))?;
    Ok(DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default())
}

fn text(d: &Document, key: &str) -> String {
    d.get_str(key).unwrap_or_default().to_string()
}

fn endpoint(d: &Document) -> StoreResult<WebhookEndpoint> {
    let events = d
        .get_array("events")
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(WebhookEndpoint {
        id: text(d, "_id"),
        url: text(d, "url"),
        events,
        secret: text(d, "secret"),
        created_by: text(d, "created_by"),
        created_at: time(d, "created_at")?,
    })
}

fn delivery(d: &Document) -> StoreResult<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: text(d, "_id"),
        webhook_id: text(d, "webhook_id"),
        event_id: text(d, "event_id"),
        event_type: text(d, "event_type"),
        conversation_id: text(d, "conversation_id"),
        body: text(d, "body"),
        created_at: time(d, "created_at")?,
        state: DeliveryState::parse(d.get_str("state").unwrap_or_default())
            .unwrap_or(DeliveryState::Failed),
        attempts: d.get_i32("attempts").unwrap_or_default().max(0) as u32,
        due_at: time(d, "due_at")?,
        claimed_by: d.get_str("claimed_by").ok().map(str::to_string),
    })
}

fn attempt(d: &Document) -> StoreResult<WebhookAttempt> {
    Ok(WebhookAttempt {
        id: text(d, "_id"),
        webhook_id: text(d, "webhook_id"),
        event_id: text(d, "event_id"),
        event_type: text(d, "event_type"),
        attempt: d.get_i32("attempt").unwrap_or_default().max(0) as u32,
        status: text(d, "status"),
        response_status: d
            .get_i32("response_status")
            .ok()
            .and_then(|s| u16::try_from(s).ok()),
        error: d.get_str("error").ok().map(str::to_string),
        at: time(d, "at")?,
    })
}

impl MongoStore {
    fn webhooks(&self) -> Collection<Document> {
        self.db.collection("webhooks")
    }
    pub(super) fn webhook_deliveries(&self) -> Collection<Document> {
        self.db.collection("webhook_deliveries")
    }
    fn webhook_attempts(&self) -> Collection<Document> {
        self.db.collection("webhook_attempts")
    }

    pub(super) async fn create_webhook_indexes(&self) -> StoreResult<()> {
        use mongodb::IndexModel;
        use mongodb::options::IndexOptions;
        let index = |keys: Document, name: &str, unique: bool| {
            IndexModel::builder()
                .keys(keys)
                .options(
                    IndexOptions::builder()
                        .name(name.to_string())
                        .unique(unique.then_some(true))
                        .build(),
                )
                .build()
        };
        let what = |c: &str| format!("creating the indexes of {c}");
        self.webhooks()
            .create_index(index(doc! { "events": 1 }, "events", false))
            .await
            .map_err(|e| store_error(&what("webhooks"), e))?;
        self.webhook_deliveries()
            .create_indexes([
                // A re-enqueued event stores nothing new.
                index(
                    doc! { "webhook_id": 1, "event_id": 1 },
                    "event_unique",
                    true,
                ),
                // Claims scan pending deliveries oldest first.
                index(doc! { "state": 1, "_id": 1 }, "pending_in_order", false),
                index(doc! { "webhook_id": 1 }, "webhook", false),
                // Erasing a conversation removes its deliveries.
                index(doc! { "conversation_id": 1 }, "conversation", false),
            ])
            .await
            .map_err(|e| store_error(&what("webhook deliveries"), e))?;
        self.webhook_attempts()
            .create_index(index(
                doc! { "webhook_id": 1, "_id": -1 },
                "webhook_newest",
                false,
            ))
            .await
            .map_err(|e| store_error(&what("webhook attempts"), e))?;
        Ok(())
    }

    pub(super) async fn insert_webhook(&self, e: WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
        let result = self
            .webhooks()
            .insert_one(doc! {
                "_id": &e.id,
                "url": &e.url,
                "events": &e.events,
                "secret": &e.secret,
                "created_by": &e.created_by,
                "created_at": bson_time(e.created_at),
            })
            .await;
        inserted(|| format!("webhook {}", e.id), result)?;
        Ok(e)
    }

    pub(super) async fn find_webhook(&self, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
        let found = self
            .webhooks()
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading webhook {id}"), e))?;
        found.as_ref().map(endpoint).transpose()
    }

    pub(super) async fn page_of_webhooks(&self, page: &Page) -> StoreResult<Vec<WebhookEndpoint>> {
        let docs: Vec<Document> = self
            .page_of(&self.webhooks(), page, "listing webhooks")
            .await?;
        docs.iter().map(endpoint).collect()
    }

    pub(super) async fn remove_webhook(&self, id: &str) -> StoreResult<()> {
        let deleted = self
            .webhooks()
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("deleting webhook {id}"), e))?;
        if deleted.deleted_count == 0 {
            return Err(StoreError::NotFound(format!("webhook {id}")));
        }
        self.webhook_deliveries()
            .delete_many(doc! { "webhook_id": id })
            .await
            .map_err(|e| store_error(&format!("deleting the deliveries of webhook {id}"), e))?;
        Ok(())
    }

    pub(super) async fn insert_webhook_event(&self, event: NewWebhookEvent) -> StoreResult<u32> {
        let endpoints: Vec<Document> = self
            .webhooks()
            .find(doc! { "events": &event.event_type })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(|e| store_error("reading webhooks", e))?
            .try_collect()
            .await
            .map_err(|e| store_error("reading webhooks", e))?;
        let mut stored = 0;
        for e in &endpoints {
            let result = self
                .webhook_deliveries()
                .insert_one(doc! {
                    "_id": new_id(),
                    "webhook_id": e.get_str("_id").unwrap_or_default(),
                    "event_id": &event.event_id,
                    "event_type": &event.event_type,
                    "conversation_id": &event.conversation_id,
                    "body": &event.body,
                    "created_at": bson_time(event.created_at),
                    "state": DeliveryState::Pending.as_str(),
                    "attempts": 0,
                    "due_at": bson_time(event.created_at),
                })
                .await;
            match result {
                Ok(_) => stored += 1,
                Err(err) if is_duplicate_key(&err) => {}
                Err(err) => return Err(store_error("storing a webhook delivery", err)),
            }
        }
        Ok(stored)
    }

    pub(super) async fn claim_due_webhook_deliveries(
        &self,
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let pending: Vec<Document> = self
            .webhook_deliveries()
            .find(doc! { "state": "pending" })
            .sort(doc! { "_id": 1 })
            .limit(SCAN)
            .projection(doc! { "webhook_id": 1, "conversation_id": 1, "due_at": 1 })
            .await
            .map_err(|e| store_error("reading webhook deliveries", e))?
            .try_collect()
            .await
            .map_err(|e| store_error("reading webhook deliveries", e))?;
        let mut seen = HashSet::new();
        let mut claimed = Vec::new();
        for d in &pending {
            let key = (text(d, "webhook_id"), text(d, "conversation_id"));
            if !seen.insert(key) {
                continue; // behind an earlier pending delivery of its conversation
            }
            if time(d, "due_at")? > now {
                continue;
            }
            let found = self
                .webhook_deliveries()
                .find_one_and_update(
                    doc! {
                        "_id": d.get("_id").cloned().unwrap_or(Bson::Null),
                        "state": "pending",
                        "due_at": { "$lte": bson_time(now) },
                    },
                    doc! { "$set": { "claimed_by": claimer, "due_at": bson_time(lease_until) } },
                )
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| store_error("claiming webhook deliveries", e))?;
            if let Some(d) = found {
                claimed.push(delivery(&d)?);
                if claimed.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok(claimed)
    }

    pub(super) async fn settle_webhook_delivery(
        &self,
        id: &str,
        claimer: &str,
        a: WebhookAttempt,
        next: DeliveryNext,
    ) -> StoreResult<bool> {
        let update = match next {
            DeliveryNext::RetryAt(at) => {
                doc! { "$inc": { "attempts": 1 }, "$set": { "due_at": bson_time(at) } }
            }
            DeliveryNext::Delivered => doc! {
                "$inc": { "attempts": 1 },
                "$set": { "state": DeliveryState::Delivered.as_str(), "body": "" },
            },
            DeliveryNext::Failed => doc! {
                "$inc": { "attempts": 1 },
                "$set": { "state": DeliveryState::Failed.as_str(), "body": "" },
            },
        };
        // Two documents, the log line first: a crash between the two leaves an attempt logged
        // and the delivery pending, to be sent (and logged) again, so the log never misses an
        // attempt that happened. A claim lost meanwhile takes its line back out.
        let mut log = doc! {
            "_id": &a.id,
            "webhook_id": &a.webhook_id,
            "event_id": &a.event_id,
            "event_type": &a.event_type,
            "attempt": i32::try_from(a.attempt).unwrap_or(i32::MAX),
            "status": &a.status,
            "at": bson_time(a.at),
        };
        if let Some(s) = a.response_status {
            log.insert("response_status", i32::from(s));
        }
        if let Some(e) = &a.error {
            log.insert("error", e);
        }
        let result = self.webhook_attempts().insert_one(log).await;
        inserted(|| format!("webhook attempt {}", a.id), result)?;
        let done = self
            .webhook_deliveries()
            .update_one(
                doc! { "_id": id, "claimed_by": claimer, "state": "pending" },
                update,
            )
            .await
            .map_err(|e| store_error(&format!("updating webhook delivery {id}"), e))?;
        if done.matched_count != 1 {
            self.webhook_attempts()
                .delete_one(doc! { "_id": &a.id })
                .await
                .map_err(|e| store_error(&format!("removing webhook attempt {}", a.id), e))?;
            return Ok(false);
        }
        Ok(true)
    }

    pub(super) async fn find_webhook_delivery(
        &self,
        id: &str,
    ) -> StoreResult<Option<WebhookDelivery>> {
        let found = self
            .webhook_deliveries()
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading webhook delivery {id}"), e))?;
        found.as_ref().map(delivery).transpose()
    }

    pub(super) async fn page_of_webhook_attempts(
        &self,
        webhook_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let mut filter = doc! { "webhook_id": webhook_id };
        if let Some(before) = &page.before_id {
            filter.insert("_id", doc! { "$lt": before.as_str() });
        }
        let docs: Vec<Document> = self
            .webhook_attempts()
            .find(filter)
            .sort(doc! { "_id": -1 })
            .limit(i64::from(page.limit))
            .await
            .map_err(|e| store_error("reading webhook attempts", e))?
            .try_collect()
            .await
            .map_err(|e| store_error("reading webhook attempts", e))?;
        docs.iter().map(attempt).collect()
    }

    /// By `_id` range (ids are ULIDs), so the `_id` index finds what goes.
    pub(super) async fn delete_webhook_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let bound = first_id_at(before);
        let attempts = self
            .webhook_attempts()
            .delete_many(doc! { "_id": { "$lt": &bound } })
            .await
            .map_err(|e| store_error("purging old webhook attempts", e))?;
        let deliveries = self
            .webhook_deliveries()
            .delete_many(doc! { "_id": { "$lt": &bound }, "state": { "$ne": "pending" } })
            .await
            .map_err(|e| store_error("purging settled webhook deliveries", e))?;
        Ok(attempts.deleted_count + deliveries.deleted_count)
    }
}
