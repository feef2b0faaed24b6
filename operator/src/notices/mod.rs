//! "Tenant ready" notices: one per Ready transition (False or absent → True), published to an
//! optional sink (an SNS topic or a CloudEvents HTTP endpoint) besides the Kubernetes Events.
//!
//! What was announced lives in `status.notice` (the transition, the notice id, attempts, the last
//! error, when it was delivered), so an operator restart neither loses a notice nor sends it
//! twice, and a failing sink is retried with backoff without holding the reconcile: the rest of
//! the status is written as usual and the Tenant is requeued for the next attempt.
//! Delivery is at least once: a publish that succeeded just before a failed status write is
//! published again, with the same id, which receivers use to drop the repeat.

pub mod cloudevents;
pub mod sns;

use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::tenant::NoticeStatus;

/// The CloudEvents `type`, and the SNS `event_type` message attribute.
pub const TENANT_READY: &str = "io.atendo.tenant.ready";

/// What a notice says; the same JSON is the SNS message and the CloudEvent's `data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// Stable across retries (see [`notice_id`]).
    pub id: String,
    pub tenant: String,
    pub subdomain: String,
    pub url: String,
    pub plan: String,
    /// When the Tenant became Ready (the Ready condition's lastTransitionTime), RFC 3339.
    pub ready_at: String,
}

/// Why a publish failed; the message goes to `status.notice.lastError`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoticeError(pub String);

/// Where notices go. Each implementation is run through the same conformance suite
/// (operator/tests/notices/conformance.rs).
#[async_trait]
pub trait NoticeSink: Send + Sync {
    /// Publishes once; Ok only when the sink accepted the notice.
    async fn publish(&self, notice: &Notice) -> Result<(), NoticeError>;
}

/// The id of the notice for a Tenant (by uid, so a re-created Tenant of the same name is a new
/// one) becoming Ready at `ready_since`: derived, not random, so every retry and every operator
/// instance sends the same one.
pub fn notice_id(tenant_uid: &str, ready_since: &Time) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{tenant_uid}|{}", ready_since.0).as_bytes());
    let hex = format!("{digest:x}");
    // UUID-shaped for receivers that store ids as UUIDs.
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// What the report stage does about the notice in this reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Nothing to announce (not Ready, or this transition was delivered): `status.notice` stays.
    Keep,
    /// Publish now, then record the outcome on top of `record` (attempts not yet counted).
    Publish { record: NoticeStatus },
    /// The last attempt failed too recently: try again after this long.
    Wait(Duration),
}

/// Decides from the new Ready condition and what was recorded. A Ready that is True since a time
/// other than the recorded one is a new transition (its notice starts at attempt 0); the same
/// one is published until delivered, no sooner than [`backoff`] after the last attempt.
pub fn next(
    ready: Option<&Condition>,
    recorded: Option<&NoticeStatus>,
    tenant_uid: &str,
    base: Duration,
    now: Timestamp,
) -> Next {
    let Some(ready) = ready.filter(|c| c.status == "True") else {
        return Next::Keep;
    };
    // Whole seconds, as the API server stores a Time: the condition just computed has more.
    let since =
        &Time(Timestamp::from_second(ready.last_transition_time.0.as_second()).unwrap_or(now));
    let same = |r: &NoticeStatus| r.ready_since.0.as_second() == since.0.as_second();
    match recorded {
        Some(r) if same(r) && r.delivered_at.is_some() => Next::Keep,
        Some(r) if same(r) => {
            let due = r
                .last_attempt_at
                .as_ref()
                .map(|t| {
                    t.0 + SignedDuration::try_from(backoff(base, r.attempts)).unwrap_or_default()
                })
                .unwrap_or(now);
            if due > now {
                let wait = now.duration_until(due).unsigned_abs();
                Next::Wait(wait)
            } else {
                Next::Publish { record: r.clone() }
            }
        }
        _ => Next::Publish {
            record: NoticeStatus {
                ready_since: since.clone(),
                id: notice_id(tenant_uid, since),
                attempts: 0,
                last_attempt_at: None,
                delivered_at: None,
                last_error: None,
            },
        },
    }
}

/// The wait after `attempts` failed attempts: `base`, doubling, at most 64 × `base` and at most
/// five minutes.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1 << attempts.saturating_sub(1).min(6))
        .min(Duration::from_secs(300))
}

/// `record` after one attempt with `result`, made at `now`.
pub fn recorded(
    mut record: NoticeStatus,
    result: &Result<(), NoticeError>,
    now: Timestamp,
) -> NoticeStatus {
    record.attempts = record.attempts.saturating_add(1);
    record.last_attempt_at = Some(Time(now));
    match result {
        Ok(()) => {
            record.delivered_at = Some(Time(now));
            record.last_error = None;
        }
        Err(e) => record.last_error = Some(e.0.chars().take(500).collect()),
    }
    record
}
