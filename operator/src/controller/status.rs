//! Conditions from what a reconcile observed: pure, so every combination is unit-tested.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::providers::ProviderError;

pub const READY: &str = "Ready";
pub const NAMESPACE_READY: &str = "NamespaceReady";
pub const STORAGE_READY: &str = "StorageReady";
pub const DATABASE_READY: &str = "DatabaseReady";
pub const BUS_READY: &str = "BusReady";
pub const CHAT_SERVER_READY: &str = "ChatServerReady";
pub const INGRESS_READY: &str = "IngressReady";

/// One step's outcome before it becomes a Condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub kind: &'static str,
    pub ok: bool,
    pub reason: String,
    pub message: String,
}

impl Step {
    pub fn ok(kind: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Step {
            kind,
            ok: true,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn failed(kind: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Step {
            kind,
            ok: false,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn from_provider(
        kind: &'static str,
        result: &Result<(), ProviderError>,
        done: String,
    ) -> Self {
        match result {
            Ok(()) => Step::ok(kind, "Provisioned", done),
            Err(e) => Step::failed(kind, &e.reason, e.message.clone()),
        }
    }
}

pub fn chat_server_step(deployment: &Deployment, suspended: bool) -> Step {
    if suspended {
        return Step::ok(
            CHAT_SERVER_READY,
            "Suspended",
            "scaled to zero; data and configuration are kept",
        );
    }
    let generation = deployment.metadata.generation.unwrap_or(0);
    let status = deployment.status.clone().unwrap_or_default();
    let available = status.available_replicas.unwrap_or(0);
    let wanted = status.replicas.unwrap_or(0);
    if available >= 1 && status.observed_generation.unwrap_or(0) >= generation {
        Step::ok(
            CHAT_SERVER_READY,
            "Available",
            format!("{available} of {wanted} replicas available"),
        )
    } else {
        Step::failed(
            CHAT_SERVER_READY,
            "Progressing",
            "waiting for a chat-server replica to become available",
        )
    }
}

pub fn ingress_step(ingress: &Ingress, host: &str) -> Step {
    let addresses: Vec<String> = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|list| {
            list.iter()
                .filter_map(|i| i.hostname.clone().or(i.ip.clone()))
                .collect()
        })
        .unwrap_or_default();
    if addresses.is_empty() {
        Step::failed(
            INGRESS_READY,
            "AwaitingAddress",
            format!("the ingress controller has not admitted {host} yet"),
        )
    } else {
        Step::ok(
            INGRESS_READY,
            "Admitted",
            format!("{host} served at {}", addresses.join(", ")),
        )
    }
}

/// Ready plus one condition per step. Ready is the first failing step's reason, or Provisioned
/// (Suspended when the chat-server is scaled to zero). A condition whose status did not change
/// keeps its lastTransitionTime, so a repeated reconcile produces an identical status.
pub fn conditions(
    previous: &[Condition],
    steps: &[Step],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    let ready = match steps.iter().find(|s| !s.ok) {
        Some(failed) => Step::failed(
            READY,
            &failed.reason,
            format!("{}: {}", failed.kind, failed.message),
        ),
        None if steps.iter().any(|s| s.reason == "Suspended") => Step::ok(
            READY,
            "Suspended",
            "everything is provisioned; the chat-server is scaled to zero",
        ),
        None => Step::ok(
            READY,
            "Provisioned",
            "everything is provisioned and serving",
        ),
    };
    std::iter::once(&ready)
        .chain(steps)
        .map(|s| condition(previous, s, generation, now))
        .collect()
}

/// `Ready` alone, for outcomes that stop before any step (invalid spec, paused, cleanup).
pub fn ready_only(
    previous: &[Condition],
    step: Step,
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = previous
        .iter()
        .filter(|c| c.type_ != READY)
        .cloned()
        .collect();
    out.insert(
        0,
        condition(
            previous,
            &Step {
                kind: READY,
                ..step
            },
            generation,
            now,
        ),
    );
    out
}

fn condition(
    previous: &[Condition],
    step: &Step,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = if step.ok { "True" } else { "False" }.to_string();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == step.kind && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: step.kind.into(),
        status,
        reason: step.reason.clone(),
        message: step.message.clone(),
        observed_generation: generation,
        last_transition_time,
    }
}
