//! Whole-object tests of the pure builders: each compares the full object as JSON.
//! Every plan is covered here for the plan-dependent kinds and, for every kind, by the rendered
//! examples in render_examples.rs.

#[path = "../common/mod.rs"]
mod common;

mod config_map;
mod deployment;
mod namespaced_policies;
mod networking;
mod secrets_and_account;

use atendo_operator::context::TenantContext;
use atendo_operator::settings::Settings;
use atendo_operator::tenant::Tenant;
use serde_json::{Value, json};

/// The object as the API server would receive it.
pub fn as_json(object: &impl serde::Serialize) -> Value {
    serde_json::to_value(object).unwrap()
}

pub fn ctx<'a>(tenant: &'a Tenant, settings: &'a Settings) -> TenantContext<'a> {
    TenantContext::new(tenant, settings).expect("valid tenant")
}

pub fn common_labels(plan: &str) -> Value {
    json!({
        "app.kubernetes.io/managed-by": "atendo-operator",
        "app.kubernetes.io/part-of": "atendo",
        "atendo.io/plan": plan,
        "atendo.io/tenant": "acme"
    })
}

pub fn chat_labels(plan: &str) -> Value {
    let mut labels = common_labels(plan);
    labels["app.kubernetes.io/name"] = json!("chat-server");
    labels["app.kubernetes.io/instance"] = json!("acme");
    labels
}

pub fn selector() -> Value {
    json!({"app.kubernetes.io/instance": "acme", "app.kubernetes.io/name": "chat-server"})
}

/// A Tenant as the API server returns it: with a uid, so owned objects get an ownerReference.
pub fn stored(mut doc: Value) -> Tenant {
    doc["metadata"]["uid"] = json!("0b5f-uid");
    common::tenant(doc)
}

pub fn owner() -> Value {
    json!([{
        "apiVersion": "atendo.io/v1alpha1",
        "kind": "Tenant",
        "name": "acme",
        "uid": "0b5f-uid",
        "controller": true
    }])
}

/// Every `env = "CHAT_…"` the chat-server declares, read from its source so the two cannot drift.
pub fn chat_server_env_names() -> Vec<String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../chat-server/src/config.rs");
    let source =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names: Vec<String> = source
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|name| name.starts_with("CHAT_"))
        .map(String::from)
        .collect();
    assert!(
        names.len() > 20,
        "found only {names:?} in {}",
        path.display()
    );
    names
}
