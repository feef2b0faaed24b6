//! The outbox's sender: one task per replica. It claims due deliveries (heads of their
//! conversation only, see `Store::claim_webhook_deliveries`) with a lease, POSTs them at once
//! (they belong to different conversations or endpoints, so order is kept), and records each
//! attempt. An enqueue on this replica wakes it; otherwise it polls, so events stored by another
//! replica, or left by one that died, are sent too.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio_util::sync::CancellationToken;

use super::{Webhooks, address, sign};
use crate::metrics::Metrics;
use crate::model::{new_id, now};
use crate::store::{DeliveryNext, StoreResult, WebhookAttempt, WebhookDelivery};

/// Deliveries claimed (and sent concurrently) at once.
const BATCH: u32 = 32;
/// Retries back off exponentially from `retry_base` up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How often a replica removes history older than `keep_log` (every replica does: the deletes
/// are idempotent and by id range, so one sweep finds little left by another).
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Response bodies are not read: a receiver answers with its status.
const USER_AGENT: &str = concat!("Atendo-Webhooks/", env!("CARGO_PKG_VERSION"));

/// What one attempt came to.
struct Outcome {
    response_status: Option<u16>,
    error: Option<String>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

impl Webhooks {
    /// Runs the sender until `stop`. An attempt under way when `stop` fires is abandoned; its
    /// lease runs out and a replica sends the delivery then.
    pub fn spawn(
        self: &Arc<Self>,
        metrics: Arc<Metrics>,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        let http = reqwest::Client::builder()
            .timeout(this.settings.timeout)
            .connect_timeout(this.settings.timeout)
            // Never followed: a redirect could lead anywhere, including inward (see `address`).
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect to addresses this process never checks.
            .no_proxy()
            .dns_resolver(Arc::new(address::PublicResolver {
                allow_private: this.settings.allow_private,
            }))
            .user_agent(USER_AGENT)
            .build()
            .expect("the webhook HTTP client builds (static settings)");
        tokio::spawn(async move {
            let mut next_purge = tokio::time::Instant::now();
            loop {
                if tokio::time::Instant::now() >= next_purge {
                    this.purge_history().await;
                    next_purge += PURGE_EVERY;
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    done = this.send_due(&http, &metrics) => {
                        if let Err(e) = done {
                            tracing::warn!(error = %e, "reading the webhook outbox failed; trying again");
                        }
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = this.wake.notified() => {}
                    _ = tokio::time::sleep(this.settings.poll) => {}
                }
            }
        })
    }

    async fn purge_history(&self) {
        let keep = TimeDelta::from_std(self.settings.keep_log).unwrap_or(TimeDelta::days(30));
        match self.store.purge_webhook_history(now() - keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "old webhook attempts and deliveries removed"),
            Err(e) => {
                tracing::warn!(error = %e, "purging the webhook log failed; trying again later")
            }
        }
    }

    /// Claims and sends due deliveries until none are left.
    async fn send_due(&self, http: &reqwest::Client, metrics: &Metrics) -> StoreResult<()> {
        loop {
            let at = now();
            let lease = TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::seconds(30));
            let batch = self
                .store
                .claim_webhook_deliveries(&self.claimer, at, at + lease, BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(());
            }
            let sends = batch.iter().map(|d| self.send_one(http, metrics, d));
            for done in futures::future::join_all(sends).await {
                done?;
            }
        }
    }

    async fn send_one(
        &self,
        http: &reqwest::Client,
        metrics: &Metrics,
        d: &WebhookDelivery,
    ) -> StoreResult<()> {
        let Some(endpoint) = self.store.webhook(&d.webhook_id).await? else {
            // Deleted since the claim; deleting took its deliveries too.
            return Ok(());
        };
        let outcome = self.attempt(http, &endpoint.url, &endpoint.secret, d).await;
        let attempt = d.attempts + 1;
        let next = if outcome.ok() {
            DeliveryNext::Delivered
        } else {
            let backoff = retry_delay(self.settings.retry_base, attempt);
            let retry_at = now() + TimeDelta::from_std(backoff).unwrap_or(TimeDelta::hours(1));
            let give_up_at = d.created_at
                + TimeDelta::from_std(self.settings.retry_for).unwrap_or(TimeDelta::days(1));
            if retry_at > give_up_at {
                DeliveryNext::Failed
            } else {
                DeliveryNext::RetryAt(retry_at)
            }
        };
        let status = match next {
            DeliveryNext::Delivered => "delivered",
            DeliveryNext::RetryAt(_) => "retrying",
            DeliveryNext::Failed => "failed",
        };
        metrics.webhook_delivery(status);
        match (&next, &outcome.error) {
            (DeliveryNext::RetryAt(at), Some(e)) => {
                tracing::warn!(webhook = %d.webhook_id, event = %d.event_id, attempt, retry_at = %at, error = %e, "a webhook delivery failed; it will be retried")
            }
            (DeliveryNext::Failed, Some(e)) => {
                tracing::error!(webhook = %d.webhook_id, event = %d.event_id, attempt, error = %e, "a webhook delivery failed for 24 h; it is marked failed")
            }
            _ => {}
        }
        let log = WebhookAttempt {
            id: new_id(),
            webhook_id: d.webhook_id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            attempt,
            status: status.to_string(),
            response_status: outcome.response_status,
            error: outcome.error,
            at: now(),
        };
        if !self
            .store
            .finish_webhook_delivery(&d.id, &self.claimer, log, next)
            .await?
        {
            tracing::warn!(event = %d.event_id, "a webhook delivery ended after its lease ran out; another replica may send it again");
        }
        Ok(())
    }

    /// One POST, signed for this moment (receivers refuse old timestamps).
    async fn attempt(
        &self,
        http: &reqwest::Client,
        raw_url: &str,
        secret: &str,
        d: &WebhookDelivery,
    ) -> Outcome {
        let failed = |error: String| Outcome {
            response_status: None,
            error: Some(error),
        };
        // Again at every attempt: the resolver checks names, this checks IP literals.
        let url = match address::parse(raw_url, "url") {
            Ok(url) => url,
            Err(e) => return failed(e.message),
        };
        if let Err(e) = address::check(&url, self.settings.allow_private, "url").await {
            return failed(e.message);
        }
        let timestamp = now().timestamp();
        let Some(signature) = sign::signature(secret, &d.event_id, timestamp, &d.body) else {
            return failed("the endpoint's secret is damaged".into());
        };
        let sent = http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Outcome {
                response_status: Some(r.status().as_u16()),
                error: None,
            },
            Ok(r) => Outcome {
                response_status: Some(r.status().as_u16()),
                error: Some(format!("HTTP {}", r.status().as_u16())),
            },
            Err(e) if e.is_timeout() => failed("timeout".into()),
            Err(e) => failed(error_chain(&e)),
        }
    }
}

/// How long to wait after failed attempt number `attempt` (from 1): `base` after the first,
/// doubling with each next one, never more than [`MAX_BACKOFF`].
fn retry_delay(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF)
}

/// The error and its causes: reqwest's own message alone says only "error sending request".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::WebhookSettings;

    #[test]
    fn retries_wait_the_default_five_seconds_first_then_double_up_to_the_cap() {
        let base = WebhookSettings::default().retry_base;
        assert_eq!(base, Duration::from_secs(5), "the first retry within 10 s");
        let delays: Vec<u64> = (1..=12).map(|n| retry_delay(base, n).as_secs()).collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(MAX_BACKOFF, Duration::from_secs(3600));
        // However many attempts a day of failures makes, the cap and no overflow.
        assert_eq!(retry_delay(base, u32::MAX), MAX_BACKOFF);
    }
}
