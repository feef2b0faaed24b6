//! Whole-object tests of the pure builders: each compares the full object as JSON.
//! Every plan is covered here for the plan-dependent kinds and, for every kind, by the rendered
//! examples in render_examples.rs.

#[path = "../common/mod.rs"]
mod common;

mod backup_cron_job;
mod bus_ca;
mod config_map;
mod deployment;
mod mail;
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

/// Every `CHAT_*` variable the chat-server reads: the settings contract both sides compile
/// against (the chat-server's own test checks its clap `Config` declares exactly these), each by
/// its full name.
pub fn chat_server_env_names() -> Vec<String> {
    chat_settings::names::ALL
        .iter()
        .map(|n| n.to_string())
        .collect()
}

/// Builders must not depend on the pipeline: the pure modules, and the settings and context they
/// read, never name the controller (`crate::controller::…`, `use crate::{controller, …}`), so a
/// change to the reconcile cannot change what `render` prints or a builder test sees.
#[test]
fn the_pure_builders_and_what_they_read_never_reach_the_controller() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = ["settings.rs", "context.rs", "render.rs", "ca_bundle.rs"]
        .iter()
        .map(|f| src.join(f))
        .collect();
    for entry in std::fs::read_dir(src.join("resources")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut found = vec![];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            // A path segment `controller` (`controller::x`, `{controller, …}`), not a word such
            // as `controller_owner_ref`.
            let names_it = code
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == "controller");
            if names_it {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert_eq!(found, Vec::<String>::new());
}
