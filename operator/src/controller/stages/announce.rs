//! What the report stage tells people and systems besides the status: an Event per step that
//! becomes True or fails, and the "tenant ready" notice of each Ready transition (crate::notices).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::{Event as KubeEvent, EventType};

use crate::context::TenantContext;
use crate::controller::providers::{CLUSTER_CREATING, CLUSTER_UPDATING};
use crate::controller::status;
use crate::controller::{Context, PROVIDER_TIMEOUT};
use crate::notices::{self, Next, Notice, NoticeError};
use crate::tenant::{NoticeStatus, Tenant};

/// Reasons of a step that is on its way rather than failing: Ready's own Event says so (Normal),
/// and a step Event would only repeat it, as a Warning.
const CONVERGING: [&str; 3] = ["Progressing", "AwaitingAddress", CLUSTER_CREATING];

/// The Event when a dedicated cluster's in-place change is over.
pub(super) const CLUSTER_UPDATED: &str = "ClusterUpdated";

/// One Event per step condition that changed: Normal with the condition type as reason (e.g.
/// StorageReady) when it became True, Normal ClusterUpdating and then ClusterUpdated when a step
/// that serves has its cluster changed in place, Warning with the condition's reason when it became False
/// or failed for another reason. A step that stays as it was is silent, so a resync records
/// nothing. The action is the condition type, which also keeps a step's Warning apart from
/// Ready's Event of the same reason (the recorder folds equal type, reason and action into one).
pub(super) fn step_events(previous: &[Condition], new: &[Condition]) -> Vec<KubeEvent> {
    new.iter()
        .filter(|c| c.type_ != status::READY)
        .filter_map(|c| {
            let before = previous.iter().find(|p| p.type_ == c.type_);
            let (type_, reason) = if c.status == "True" {
                let updating = c.reason == CLUSTER_UPDATING;
                match before {
                    // Serving all along: only the start and the end of an in-place change of
                    // its cluster (a resize) are news, each once.
                    Some(p) if p.status == "True" => {
                        let was_updating = p.reason == CLUSTER_UPDATING;
                        if updating && !was_updating {
                            (EventType::Normal, CLUSTER_UPDATING.to_string())
                        } else if was_updating && !updating {
                            (EventType::Normal, CLUSTER_UPDATED.to_string())
                        } else {
                            return None;
                        }
                    }
                    _ if updating => (EventType::Normal, CLUSTER_UPDATING.to_string()),
                    _ => (EventType::Normal, c.type_.clone()),
                }
            } else {
                if CONVERGING.contains(&c.reason.as_str())
                    || before.is_some_and(|p| p.status == c.status && p.reason == c.reason)
                {
                    return None;
                }
                (EventType::Warning, c.reason.clone())
            };
            Some(KubeEvent {
                type_,
                reason,
                note: Some(c.message.chars().take(1000).collect()),
                action: c.type_.clone(),
                secondary: None,
            })
        })
        .collect()
}

/// The notice record to write, and how soon to come back for a notice still owed. Publishes at
/// most once per reconcile, bounded by the provider timeout; a failure is recorded, never
/// returned: the rest of the reconcile stands.
pub(super) async fn notice(
    tenant: &Tenant,
    ctx: &Context,
    tc: &TenantContext<'_>,
    conditions: &[Condition],
) -> (Option<NoticeStatus>, Option<Duration>) {
    let recorded = tenant.status.as_ref().and_then(|s| s.notice.clone());
    let Some(sink) = &ctx.notices else {
        return (recorded, None);
    };
    let ready = conditions.iter().find(|c| c.type_ == status::READY);
    let uid = tenant.metadata.uid.as_deref().unwrap_or_default();
    let now = k8s_openapi::jiff::Timestamp::now();
    let record = match notices::next(ready, recorded.as_ref(), uid, ctx.notice_backoff, now) {
        Next::Keep => return (recorded, None),
        Next::Wait(wait) => return (recorded, Some(wait)),
        Next::Publish { record } => record,
    };
    let notice = Notice {
        id: record.id.clone(),
        tenant: tc.name.clone(),
        subdomain: tenant.subdomain().to_string(),
        url: tc.url.clone(),
        plan: tenant.spec.plan.as_str().to_string(),
        ready_at: record.ready_since.0.to_string(),
    };
    let limit = ctx.provider_timeout.min(PROVIDER_TIMEOUT);
    let result = tokio::time::timeout(limit, sink.publish(&notice))
        .await
        .unwrap_or_else(|_| Err(NoticeError(format!("no answer within {limit:?}"))));
    match &result {
        Ok(()) => {
            tracing::info!(tenant = %tc.name, id = %notice.id, "tenant-ready notice delivered")
        }
        Err(error) => {
            tracing::warn!(tenant = %tc.name, id = %notice.id, %error, "tenant-ready notice failed; it is retried")
        }
    }
    let record = notices::recorded(record, &result, k8s_openapi::jiff::Timestamp::now());
    let retry = result
        .is_err()
        .then(|| notices::backoff(ctx.notice_backoff, record.attempts));
    (Some(record), retry)
}
