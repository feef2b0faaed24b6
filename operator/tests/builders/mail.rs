//! Mail for the tenants (`--smtp-url`, `--mail-from`): the relay's URL travels in the tenant's
//! chat-credentials Secret and reaches the pods as CHAT_SMTP_URL, the sender is in the ConfigMap
//! as CHAT_MAIL_FROM with the tenant's own name, and without the settings neither appears.

use std::collections::BTreeMap;

use atendo_operator::resources::{Credentials, build, config_map, secrets};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{full_tenant_json, minimal_json, settings, with};
use super::{as_json, ctx, stored};

const SMTP_URL: &str =
    "smtp://AKIAEXAMPLE:ses%2Fsmtp-password@email-smtp.sa-east-1.amazonaws.com:587";
const MAIL: [&str; 2] = [
    "--smtp-url=smtp://AKIAEXAMPLE:ses%2Fsmtp-password@email-smtp.sa-east-1.amazonaws.com:587",
    "--mail-from=no-reply@chat.example.com",
];

/// The chat-server container's env, by name.
fn pod_env(doc: Value, flags: &[&str]) -> Vec<Value> {
    let settings = settings(flags);
    let tenant = stored(doc);
    let objects = build(&ctx(&tenant, &settings), &Credentials::placeholders());
    as_json(&objects.deployment)["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone()
}

fn config(doc: Value, flags: &[&str]) -> Value {
    let settings = settings(flags);
    let tenant = stored(doc);
    as_json(&config_map::build(&ctx(&tenant, &settings)))["data"].clone()
}

/// The chat-credentials Secret's data, decoded.
fn credentials_data(flags: &[&str]) -> BTreeMap<String, String> {
    let settings = settings(flags);
    let tenant = stored(minimal_json("acme", "professional"));
    secrets::credentials(&ctx(&tenant, &settings), &Credentials::placeholders())
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect()
}

#[test]
fn with_mail_the_relay_url_is_in_the_credentials_secret_and_the_pods_read_chat_smtp_url_from_it() {
    assert_eq!(credentials_data(&MAIL)["smtpUrl"], SMTP_URL);
    let from_a_file = format!("--smtp-url={SMTP_URL}\n");
    assert_eq!(
        credentials_data(&[&from_a_file, MAIL[1]])["smtpUrl"],
        SMTP_URL,
        "the line break a Secret made from a file ends in is not copied"
    );
    let env = pod_env(minimal_json("acme", "professional"), &MAIL);
    let smtp: Vec<&Value> = env
        .iter()
        .filter(|e| e["name"] == "CHAT_SMTP_URL")
        .collect();
    assert_eq!(
        smtp,
        [
            &json!({"name": "CHAT_SMTP_URL", "valueFrom": {"secretKeyRef": {"name": "chat-credentials", "key": "smtpUrl", "optional": false}}})
        ]
    );
}

#[test]
fn with_mail_the_config_map_names_the_sender_with_the_tenants_name_and_never_the_relay() {
    let data = config(full_tenant_json(), &MAIL);
    assert_eq!(
        data["CHAT_MAIL_FROM"],
        json!("\"ACME Suporte\" <no-reply@chat.example.com>"),
        "spec.branding.productName"
    );
    assert!(data.get("CHAT_SMTP_URL").is_none(), "{data}");
    let printed = data.to_string();
    assert!(
        !printed.contains("smtp-password") && !printed.contains("AKIAEXAMPLE"),
        "the relay's credentials are never in the ConfigMap: {printed}"
    );
    let data = config(minimal_json("acme", "starter"), &MAIL);
    let display_name = minimal_json("acme", "starter")["spec"]["displayName"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        data["CHAT_MAIL_FROM"],
        json!(format!("\"{display_name}\" <no-reply@chat.example.com>")),
        "without a product name, spec.displayName"
    );
}

#[test]
fn without_mail_settings_no_tenant_gets_a_relay_or_a_sender() {
    assert!(!credentials_data(&[]).contains_key("smtpUrl"));
    let env = pod_env(minimal_json("acme", "professional"), &[]);
    assert!(!env.iter().any(|e| e["name"] == "CHAT_SMTP_URL"), "{env:?}");
    let data = config(full_tenant_json(), &[]);
    assert!(data.get("CHAT_MAIL_FROM").is_none(), "{data}");
}

#[test]
fn the_sender_the_operator_writes_is_one_the_chat_servers_mail_parser_reads_back_whole() {
    // Product names a customer may choose: quotes, a backslash, accents, a line break (which
    // would otherwise end the header and stop the chat-server at start).
    for (name, shown) in [
        ("ACME Suporte", "ACME Suporte"),
        ("Padaria \"Sol\" & Cia", "Padaria \"Sol\" & Cia"),
        ("Atendimento São João", "Atendimento São João"),
        (r"Back\slash, Ltda.", r"Back\slash, Ltda."),
        ("Two\nLines", "Two Lines"),
    ] {
        let doc = with(
            full_tenant_json(),
            "/spec/branding/productName",
            json!(name),
        );
        let data = config(doc, &MAIL);
        let from = data["CHAT_MAIL_FROM"].as_str().unwrap();
        let parsed: lettre::message::Mailbox = from.parse().unwrap_or_else(|e| {
            panic!("{name:?} gave {from:?}, which the chat-server refuses: {e}")
        });
        assert_eq!(parsed.name.as_deref(), Some(shown), "{from}");
        assert_eq!(parsed.email.to_string(), "no-reply@chat.example.com");
    }
}

#[test]
fn the_container_env_with_mail_uses_only_names_the_chat_server_accepts() {
    let accepted = super::chat_server_env_names();
    for var in pod_env(full_tenant_json(), &MAIL) {
        let name = var["name"].as_str().unwrap();
        assert!(accepted.iter().any(|a| a == name), "{name}");
    }
    for key in config(full_tenant_json(), &MAIL)
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(accepted.contains(key), "{key}");
    }
}
