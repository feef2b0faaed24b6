//! Sample Tenants shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use atendo_operator::tenant::Tenant;
use serde_json::{Value, json};

/// A Tenant with every field set, as a platform team would write it.
pub fn full_tenant_json() -> Value {
    json!({
        "apiVersion": "atendo.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": "acme"},
        "spec": {
            "displayName": "ACME Ltda",
            "plan": "professional",
            "subdomain": "acme",
            "branding": {
                "productName": "ACME Suporte",
                "primaryColor": "#0b5fff",
                "logoUrl": "https://cdn.acme.example/logo.svg",
                "locale": "pt-BR",
                "welcomeMessage": "Olá! Como podemos ajudar?"
            },
            "chat": {"replicas": 2, "autoscaling": {"minReplicas": 2, "maxReplicas": 6, "targetCPUUtilization": 70}},
            "storage": {"retentionDays": 90, "maxUploadMB": 25},
            "deletionPolicy": "Retain",
            "suspended": false
        }
    })
}

/// `full_tenant_json` with one JSON pointer set to `value` (created along the way if missing).
pub fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    let mut node = &mut doc;
    for key in pointer.trim_start_matches('/').split('/') {
        if !node.is_object() {
            *node = json!({});
        }
        node = node
            .as_object_mut()
            .unwrap()
            .entry(key.to_string())
            .or_insert(Value::Null);
    }
    *node = value;
    doc
}

/// `doc` without the field at `pointer`.
pub fn without(mut doc: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(obj) = doc.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(key);
    }
    doc
}

pub fn tenant(doc: Value) -> Tenant {
    serde_json::from_value(doc).expect("sample is a well-formed Tenant")
}

/// Operator settings as the Helm chart would pass them, plus `extra` flags.
pub fn settings(extra: &[&str]) -> atendo_operator::settings::Settings {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        settings: atendo_operator::settings::Settings,
    }
    let base = [
        "atendo-operator",
        // (the program name is never overridden: no extra flag starts with it)
        "--base-domain=chat.example.com",
        "--chat-image=registry.example.com/atendo/chat-server:1.0.0",
        "--redis-url=redis://redis.atendo:6379",
        "--database-url=mongodb+srv://cluster0.abcde.mongodb.net/?retryWrites=true",
        "--ingress-class=nginx",
    ];
    let flag = |a: &&str| a.split('=').next().unwrap().to_string();
    let overridden: Vec<String> = extra.iter().map(flag).collect();
    let base = base.iter().filter(|a| !overridden.contains(&flag(a)));
    Wrapper::try_parse_from(base.chain(extra))
        .expect("valid settings")
        .settings
}

/// Minimal Tenant on `plan`.
pub fn minimal_json(name: &str, plan: &str) -> Value {
    json!({
        "apiVersion": "atendo.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"displayName": "ACME Ltda", "plan": plan}
    })
}

/// Cases both the CRD's CEL rules and `validation.rs` must judge alike (the same table drives
/// crd_cel_rules.rs and validation_rules.rs).
pub const BAD_LOCALES: &[&str] = &[
    "p",
    "portuguese",
    "pt_BR",
    "pt-",
    "pt-B",
    // Tags the chat-server's widget and console do not speak: it would refuse to start.
    "fr",
    "zh-Hant-TW",
    "es-419",
];
pub const GOOD_LOCALES: &[&str] = &["en", "EN", "en-GB", "pt-BR", "pt-PT", "pt-br"];
/// spec.widget.allowedOrigins entries: what browsers send as Origin, and near misses.
pub const GOOD_ORIGINS: &[&str] = &[
    "https://www.acme.com",
    "https://acme.com:8443",
    "https://*.acme.com",
    "https://*.shop.acme.com.br:8443",
    "https://xn--padaria-joo-s7a.com.br",
    "http://localhost",
    "http://localhost:3000",
    "http://127.0.0.1:65535",
];
pub const BAD_ORIGINS: &[&str] = &[
    "",
    "null",
    "www.acme.com",
    "ftp://acme.com",
    "https://www.acme.com/",
    "https://www.acme.com/chat",
    "https://WWW.acme.com",
    "https://www.acme.com:443",
    "http://localhost:80",
    "http://www.acme.com",
    "https://acme.com:0",
    "https://acme.com:65536",
    "https://acme.com:",
    "https://acme_corp.com",
    "https://user@acme.com",
    "https://*",
    "https://*.com",
    "https://a.*.acme.com",
];
pub const BAD_EMAILS: &[&str] = &[
    "admin",
    "@acme.com",
    "admin@",
    "admin@acme",
    "admin@.acme.com",
    "admin@acme.",
    "ad min@acme.com",
    "admin@acme.com\n",
    "admin@ac\u{a0}me.com",
    "admin@ac\u{7}me.com",
    "a@b@acme.com",
];
pub const GOOD_EMAILS: &[&str] = &[
    "admin@acme.com",
    "suporte+lead@acme.com.br",
    "a@b.c",
    "joão@padaria.com.br",
    "a@b.c.",
];
