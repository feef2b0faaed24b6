//! Report: the status from what apply saw (one condition per step, Ready from the first failing
//! one), written only when it changed, with an Event when Ready or a step changes and the
//! "tenant ready" notice of a Ready transition (announce.rs). A failed external step
//! is returned after its condition is written, so the error policy retries it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::announce;
use super::apply::Applied;
use super::external::External;
use crate::context::TenantContext;
use crate::controller::providers::{CLUSTER_CREATING, CLUSTER_UPDATING};
use crate::controller::status::{self, Step};
use crate::controller::{CONVERGING, Context, Error, RESYNC};
use crate::tenant::{AppliedStatus, BusStatus, DatabaseStatus, Tenant, TenantStatus};

pub(super) async fn report(
    tenant: &Tenant,
    ctx: &Context,
    tc: &TenantContext<'_>,
    applied: Applied,
) -> Result<Action, Error> {
    let Applied {
        external,
        deployment,
        ingress,
    } = applied;
    let External {
        storage,
        database,
        bus,
        requested,
    } = external;
    let previous = tenant.status.clone().unwrap_or_default();
    let recorded = previous.applied.clone().unwrap_or_default();
    let steps = [
        Step::ok(
            status::NAMESPACE_READY,
            "Applied",
            format!("namespace {} and its policies are applied", tc.namespace),
        ),
        Step::from_provider(
            status::STORAGE_READY,
            &storage.result,
            format!("bucket {}", tc.bucket),
        ),
        match (&database.ensured.result, &database.updating) {
            // Serving while its cluster changes: True, with what is going on.
            (Ok(()), Some(updating)) => {
                Step::ok(status::DATABASE_READY, CLUSTER_UPDATING, updating.clone())
            }
            (result, _) => Step::from_provider(
                status::DATABASE_READY,
                result,
                match &tc.dedicated {
                    None => format!("user {} on database {}", tc.database_user, tc.database),
                    Some(d) => format!(
                        "user {} on database {} of the tenant's own cluster {}",
                        tc.database_user, tc.database, d.cluster
                    ),
                },
            ),
        },
        Step::from_provider(
            status::BUS_READY,
            &bus.result,
            format!(
                "Redis user {} on channels {}:*",
                tc.bus_user, tc.bus_namespace
            ),
        ),
        status::chat_server_step(&deployment, tenant.spec.suspended),
        status::ingress_step(&ingress, &tc.host),
    ];
    let all_ensured =
        storage.result.is_ok() && database.ensured.result.is_ok() && bus.result.is_ok();
    // A fingerprint is recorded only once its system holds it; a failure keeps the last success,
    // and so does a cluster still being changed (the next pass must look at it again).
    let database_updating = database.updating.is_some();
    let fingerprint =
        |ensured: &super::external::Ensured, last: &Option<String>, settling: bool| {
            if ensured.result.is_ok() && !settling {
                Some(ensured.fingerprint.clone())
            } else {
                last.clone()
            }
        };
    let conditions = status::conditions(
        &previous.conditions,
        &steps,
        tenant.metadata.generation,
        &now(),
    );
    let (notice, notice_retry) = announce::notice(tenant, ctx, tc, &conditions).await;
    let new_status = TenantStatus {
        observed_generation: tenant.metadata.generation,
        conditions,
        url: Some(tc.url.clone()),
        namespace: Some(tc.namespace.clone()),
        bucket: Some(tc.bucket.clone()),
        database: Some(DatabaseStatus {
            name: tc.database.clone(),
            user: tc.database_user.clone(),
            // Recorded from the first reconcile on, before the cluster exists: deletion then
            // retires it even if it was only being made.
            cluster: tc.dedicated.as_ref().map(|d| d.cluster.clone()),
            address: tc.dedicated.as_ref().and_then(|d| {
                database
                    .address
                    .as_ref()
                    .or(d.address.as_ref())
                    .map(|a| a.address())
            }),
        }),
        bus: Some(BusStatus {
            user: tc.bus_user.clone(),
        }),
        applied: Some(AppliedStatus {
            storage: fingerprint(&storage, &recorded.storage, false),
            database: fingerprint(&database.ensured, &recorded.database, database_updating),
            bus: fingerprint(&bus, &recorded.bus, false),
            reconcile_requested_at: if all_ensured {
                requested
            } else {
                recorded.reconcile_requested_at.clone()
            },
        }),
        notice,
    };
    write_status(tenant, ctx, new_status).await?;
    for (step, ensured) in [
        (status::STORAGE_READY, storage),
        (status::DATABASE_READY, database.ensured),
        (status::BUS_READY, bus),
    ] {
        match ensured.result {
            // Still being made (a dedicated cluster): looked at again soon, not backed off.
            Err(source) if source.is_pending() => {}
            Err(source) => return Err(Error::Provider { step, source }),
            Ok(()) => {}
        }
    }
    ctx.failures
        .lock()
        .expect("failure counts")
        .remove(&tc.name);
    let next = if steps.iter().all(|s| s.ok) && !database_updating {
        RESYNC
    } else {
        CONVERGING
    };
    // A notice still owed comes back when its backoff ends, not at the next resync.
    Ok(Action::requeue(
        notice_retry.map_or(next, |retry| retry.min(next)),
    ))
}

/// Ready alone, for outcomes that stop before any step (invalid spec, paused, cleanup).
pub(in crate::controller) async fn write_ready_only(
    tenant: &Tenant,
    ctx: &Context,
    step: Step,
) -> Result<(), Error> {
    let previous = tenant.status.clone().unwrap_or_default();
    let conditions = status::ready_only(
        &previous.conditions,
        step,
        tenant.metadata.generation,
        &now(),
    );
    write_status(
        tenant,
        ctx,
        TenantStatus {
            observed_generation: tenant.metadata.generation,
            conditions,
            ..previous
        },
    )
    .await
}

/// Writes the status only when it differs from the stored one: a no-op reconcile writes nothing.
async fn write_status(tenant: &Tenant, ctx: &Context, new: TenantStatus) -> Result<(), Error> {
    if tenant.status.as_ref() == Some(&new) {
        return Ok(());
    }
    let api: Api<Tenant> = Api::all(ctx.client.clone());
    api.patch_status(
        &tenant.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": new })),
    )
    .await
    .map_err(Error::Status)?;
    ctx.wrote_status_from(tenant);
    let before = tenant
        .status
        .as_ref()
        .map_or(&[][..], |s| &s.conditions[..]);
    for event in announce::step_events(before, &new.conditions) {
        publish(tenant, ctx, &event).await;
    }
    let ready = |s: Option<&TenantStatus>| {
        s.and_then(|s| s.conditions.iter().find(|c| c.type_ == status::READY))
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    let converging = |state: &str, reason: &str| {
        state == "False" && matches!(reason, "Progressing" | "AwaitingAddress" | CLUSTER_CREATING)
    };
    let was = ready(tenant.status.as_ref()).map(|(s, r, _)| (s, r));
    if let Some((state, reason, message)) = ready(Some(&new))
        && was != Some((state.clone(), reason.clone()))
        // On its way before and still: the Event that said so stands (the step that moved on
        // has its own, e.g. ChatServerReady when only the ingress address is awaited).
        && !(converging(&state, &reason) && was.is_some_and(|(s, r)| converging(&s, &r)))
    {
        // Events are for people reading `kubectl describe`: one per change of Ready, never per
        // reconcile; failing to record one must not fail the reconcile.
        let converging = converging(&state, &reason);
        let event = KubeEvent {
            type_: if state == "True" || converging {
                EventType::Normal
            } else {
                EventType::Warning
            },
            reason,
            note: Some(message.chars().take(1000).collect()),
            action: "Reconcile".into(),
            secondary: None,
        };
        publish(tenant, ctx, &event).await;
    }
    Ok(())
}

/// Failing to record an Event must not fail the reconcile.
async fn publish(tenant: &Tenant, ctx: &Context, event: &KubeEvent) {
    if let Err(error) = ctx.recorder.publish(event, &tenant.object_ref(&())).await {
        tracing::warn!(tenant = %tenant.name_any(), %error, "recording an event failed");
    }
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}
