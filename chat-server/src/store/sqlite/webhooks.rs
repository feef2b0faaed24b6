//! Webhook endpoints, their deliveries (the outbox) and the attempt log. Enqueueing fans an
//! event out to the subscribed endpoints in one transaction under the single writer, and ids are
//! made there too, so delivery ids sort in the order the events were stored. A claim is one
//! `UPDATE … RETURNING` that only picks the head of each (endpoint, conversation).

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::connections::in_transaction;
use super::rows::{conflict_or, millis, store_error, time};
use crate::model::new_id;
use crate::store::webhooks::first_id_at;
use crate::store::{
    DeliveryNext, DeliveryState, NewWebhookEvent, Page, StoreError, StoreResult, WebhookAttempt,
    WebhookDelivery, WebhookEndpoint,
};

const ENDPOINT_COLUMNS: &str = "id, url, events, secret, created_by, created_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, conversation_id, body, \
                                created_at, state, attempts, due_at, claimed_by";
const ATTEMPT_COLUMNS: &str =
    "id, webhook_id, event_id, event_type, attempt, status, response_status, error, at";

fn endpoint(row: &Row) -> rusqlite::Result<WebhookEndpoint> {
    let events: String = row.get(2)?;
    Ok(WebhookEndpoint {
        id: row.get(0)?,
        url: row.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        secret: row.get(3)?,
        created_by: row.get(4)?,
        created_at: time(row, 5)?,
    })
}

fn delivery(row: &Row) -> rusqlite::Result<WebhookDelivery> {
    let state: String = row.get(7)?;
    Ok(WebhookDelivery {
        id: row.get(0)?,
        webhook_id: row.get(1)?,
        event_id: row.get(2)?,
        event_type: row.get(3)?,
        conversation_id: row.get(4)?,
        body: row.get(5)?,
        created_at: time(row, 6)?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Failed),
        attempts: row.get(8)?,
        due_at: time(row, 9)?,
        claimed_by: row.get(10)?,
    })
}

fn attempt(row: &Row) -> rusqlite::Result<WebhookAttempt> {
    Ok(WebhookAttempt {
        id: row.get(0)?,
        webhook_id: row.get(1)?,
        event_id: row.get(2)?,
        event_type: row.get(3)?,
        attempt: row.get(4)?,
        status: row.get(5)?,
        response_status: row.get(6)?,
        error: row.get(7)?,
        at: time(row, 8)?,
    })
}

pub fn create(conn: &Connection, path: &Path, e: WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
    let events = serde_json::to_string(&e.events).unwrap_or_else(|_| "[]".into());
    conn.execute(
        &format!("INSERT INTO webhooks ({ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
        params![
            e.id,
            e.url,
            events,
            e.secret,
            e.created_by,
            millis(e.created_at)
        ],
    )
    .map_err(|err| conflict_or(path, || format!("webhook {}", e.id), err))?;
    Ok(e)
}

pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<WebhookEndpoint>> {
    conn.query_row(
        &format!("SELECT {ENDPOINT_COLUMNS} FROM webhooks WHERE id = ?"),
        [id],
        endpoint,
    )
    .optional()
}

pub fn list(conn: &Connection, page: &Page) -> rusqlite::Result<Vec<WebhookEndpoint>> {
    super::teams::list(conn, "webhooks", ENDPOINT_COLUMNS, page, endpoint)
}

pub fn delete(conn: &mut Connection, path: &Path, id: &str) -> StoreResult<()> {
    in_transaction(conn, path, |tx| {
        let gone = tx
            .execute("DELETE FROM webhooks WHERE id = ?", [id])
            .map_err(|e| store_error(path, e))?;
        if gone == 0 {
            return Err(StoreError::NotFound(format!("webhook {id}")));
        }
        tx.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", [id])
            .map_err(|e| store_error(path, e))?;
        Ok(())
    })
}

pub fn enqueue(conn: &mut Connection, path: &Path, event: NewWebhookEvent) -> StoreResult<u32> {
    in_transaction(conn, path, |tx| enqueue_in(tx, path, &event))
}

/// [`enqueue`] inside a write transaction that is already open (a sent message's, see
/// `super::append`).
pub fn enqueue_in(
    tx: &rusqlite::Transaction,
    path: &Path,
    event: &NewWebhookEvent,
) -> StoreResult<u32> {
    let endpoints = {
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhooks ORDER BY id"
            ))
            .map_err(|e| store_error(path, e))?;
        let rows = stmt
            .query_map([], endpoint)
            .map_err(|e| store_error(path, e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| store_error(path, e))?
    };
    let mut stored = 0;
    for e in endpoints
        .iter()
        .filter(|e| e.events.contains(&event.event_type))
    {
        // OR IGNORE: the (webhook_id, event_id) pair is unique, so an event enqueued again
        // (a retried request) is not delivered twice.
        stored += tx
            .prepare_cached(&format!(
                "INSERT OR IGNORE INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    new_id(),
                    e.id,
                    event.event_id,
                    event.event_type,
                    event.conversation_id,
                    event.body,
                    millis(event.created_at),
                    millis(event.created_at)
                ])
            })
            .map_err(|e| store_error(path, e))? as u32;
    }
    Ok(stored)
}

pub fn claim(
    conn: &Connection,
    claimer: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> rusqlite::Result<Vec<WebhookDelivery>> {
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE webhook_deliveries SET claimed_by = ?1, due_at = ?2 WHERE id IN (
             SELECT d.id FROM webhook_deliveries d
             WHERE d.state = 'pending' AND d.due_at <= ?3 AND NOT EXISTS (
                 SELECT 1 FROM webhook_deliveries e
                 WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id
                   AND e.state = 'pending' AND e.id < d.id)
             ORDER BY d.due_at, d.id LIMIT ?4)
         RETURNING {DELIVERY_COLUMNS}"
    ))?;
    let rows = stmt.query_map(
        params![claimer, millis(lease_until), millis(now), limit],
        delivery,
    )?;
    let mut claimed = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(claimed)
}

pub fn finish(
    conn: &mut Connection,
    path: &Path,
    id: &str,
    claimer: &str,
    a: WebhookAttempt,
    next: DeliveryNext,
) -> StoreResult<bool> {
    in_transaction(conn, path, |tx| {
        // The body goes once the delivery is settled: the log keeps what happened.
        let changed = match next {
            DeliveryNext::RetryAt(at) => tx.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, due_at = ? \
                 WHERE id = ? AND claimed_by = ? AND state = 'pending'",
                params![millis(at), id, claimer],
            ),
            DeliveryNext::Delivered | DeliveryNext::Failed => {
                let state = match next {
                    DeliveryNext::Delivered => DeliveryState::Delivered,
                    _ => DeliveryState::Failed,
                };
                tx.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, body = '' \
                     WHERE id = ? AND claimed_by = ? AND state = 'pending'",
                    params![state.as_str(), id, claimer],
                )
            }
        }
        .map_err(|e| store_error(path, e))?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute(
            &format!(
                "INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                a.id,
                a.webhook_id,
                a.event_id,
                a.event_type,
                a.attempt,
                a.status,
                a.response_status,
                a.error,
                millis(a.at)
            ],
        )
        .map_err(|e| conflict_or(path, || format!("webhook attempt {}", a.id), e))?;
        Ok(true)
    })
}

pub fn get_delivery(conn: &Connection, id: &str) -> rusqlite::Result<Option<WebhookDelivery>> {
    conn.query_row(
        &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?"),
        [id],
        delivery,
    )
    .optional()
}

pub fn attempts(
    conn: &Connection,
    webhook_id: &str,
    page: &Page,
) -> rusqlite::Result<Vec<WebhookAttempt>> {
    let before = page
        .before_id
        .clone()
        .unwrap_or_else(|| "\u{10ffff}".into());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE webhook_id = ? AND id < ? \
         ORDER BY id DESC LIMIT ?"
    ))?;
    let rows = stmt.query_map(params![webhook_id, before, page.limit], attempt)?;
    rows.collect()
}

/// Both by primary key range (ids are ULIDs): no scan of what stays.
pub fn purge_history(
    conn: &mut Connection,
    path: &Path,
    before: DateTime<Utc>,
) -> StoreResult<u64> {
    let bound = first_id_at(before);
    in_transaction(conn, path, |tx| {
        let attempts = tx
            .execute("DELETE FROM webhook_attempts WHERE id < ?", [&bound])
            .map_err(|e| store_error(path, e))?;
        let deliveries = tx
            .execute(
                "DELETE FROM webhook_deliveries WHERE id < ? AND state != 'pending'",
                [&bound],
            )
            .map_err(|e| store_error(path, e))?;
        Ok((attempts + deliveries) as u64)
    })
}
