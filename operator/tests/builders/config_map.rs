//! The chat-server's ConfigMap: chat contract, plan limits, branding.

use atendo_operator::resources::config_map;
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::{full_tenant_json, minimal_json, settings};
use super::{as_json, chat_labels, ctx, owner, stored};

fn expected(plan: &str, data: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "chat-server", "namespace": "tenant-acme", "labels": chat_labels(plan), "ownerReferences": owner()},
        "data": data
    })
}

#[test]
fn each_plan_sets_its_limits_and_the_chat_contract() {
    let settings = settings(&[]);
    for (plan, upload, rate, burst, visitor, retention) in [
        ("starter", "10", "10", "30", "20", "30"),
        ("professional", "25", "20", "60", "30", "90"),
        ("enterprise", "100", "40", "120", "60", "365"),
    ] {
        let tenant = stored(minimal_json("acme", plan));
        assert_eq!(
            as_json(&config_map::build(&ctx(&tenant, &settings))),
            expected(
                plan,
                json!({
                    "CHAT_LISTEN": "0.0.0.0:8080",
                    "CHAT_METRICS_LISTEN": "0.0.0.0:9090",
                    "CHAT_PUBLIC_URL": "https://acme.chat.example.com",
                    "CHAT_ALLOWED_ORIGINS": "https://acme.chat.example.com",
                    "CHAT_BUS_NAMESPACE": "tenant-acme",
                    "CHAT_LOG_FORMAT": "json",
                    "CHAT_TRUSTED_PROXY_HOPS": "1",
                    "CHAT_SHUTDOWN_GRACE_SECS": "15",
                    "CHAT_S3_BUCKET": "atendo-acme-uploads",
                    "CHAT_S3_REGION": "us-east-1",
                    "CHAT_MAX_UPLOAD_MB": upload,
                    "CHAT_WS_RATE": rate,
                    "CHAT_WS_BURST": burst,
                    "CHAT_VISITOR_RATE": visitor,
                    "CHAT_RETENTION_DAYS": retention,
                    "CHAT_BRAND_PRODUCT_NAME": "ACME Ltda",
                    "CHAT_ADMIN_EMAIL": "admin@acme.chat.example.com"
                })
            ),
            "{plan}"
        );
    }
}

#[test]
fn branding_overrides_and_an_s3_endpoint_appear_when_set() {
    let tenant = stored(full_tenant_json());
    let settings = settings(&[
        "--s3-endpoint=http://minio.storage:9000",
        "--s3-region=sa-east-1",
        "--bucket-name-template=prod-{tenant}-files",
        "--base-domain=atendo.example.com.br",
    ]);
    assert_eq!(
        as_json(&config_map::build(&ctx(&tenant, &settings))),
        expected(
            "professional",
            json!({
                "CHAT_LISTEN": "0.0.0.0:8080",
                "CHAT_METRICS_LISTEN": "0.0.0.0:9090",
                "CHAT_PUBLIC_URL": "https://acme.atendo.example.com.br",
                "CHAT_ALLOWED_ORIGINS": "https://acme.atendo.example.com.br",
                "CHAT_BUS_NAMESPACE": "tenant-acme",
                "CHAT_LOG_FORMAT": "json",
                "CHAT_TRUSTED_PROXY_HOPS": "1",
                "CHAT_SHUTDOWN_GRACE_SECS": "15",
                "CHAT_S3_BUCKET": "prod-acme-files",
                "CHAT_S3_REGION": "sa-east-1",
                "CHAT_S3_ENDPOINT": "http://minio.storage:9000",
                "CHAT_MAX_UPLOAD_MB": "25",
                "CHAT_WS_RATE": "20",
                "CHAT_WS_BURST": "60",
                "CHAT_VISITOR_RATE": "30",
                "CHAT_RETENTION_DAYS": "90",
                "CHAT_BRAND_PRODUCT_NAME": "ACME Suporte",
                "CHAT_BRAND_PRIMARY_COLOR": "#0b5fff",
                "CHAT_BRAND_LOGO_URL": "https://cdn.acme.example/logo.svg",
                "CHAT_BRAND_LOCALE": "pt-BR",
                "CHAT_BRAND_WELCOME_MESSAGE": "Olá! Como podemos ajudar?",
                "CHAT_ADMIN_EMAIL": "admin@acme.atendo.example.com.br"
            })
        )
    );
}

#[test]
fn the_trusted_proxy_hops_setting_reaches_the_chat_server() {
    let tenant = stored(minimal_json("acme", "starter"));
    for (flags, hops) in [(&[][..], "1"), (&["--trusted-proxy-hops=2"][..], "2")] {
        let cm = as_json(&config_map::build(&ctx(&tenant, &settings(flags))));
        assert_eq!(
            cm["data"]["CHAT_TRUSTED_PROXY_HOPS"],
            json!(hops),
            "{flags:?}"
        );
        assert!(cm["data"].get("CHAT_TRUST_PROXY").is_none());
    }
}

#[test]
fn the_widgets_sites_join_the_tenants_own_host_in_the_allowed_origins() {
    let doc = super::common::with(
        minimal_json("acme", "starter"),
        "/spec/widget",
        json!({"allowedOrigins": ["https://www.acme.example", "https://*.acme-shop.example"]}),
    );
    let tenant = stored(doc);
    let cm = as_json(&config_map::build(&ctx(&tenant, &settings(&[]))));
    assert_eq!(
        cm["data"]["CHAT_ALLOWED_ORIGINS"],
        json!("https://acme.chat.example.com,https://www.acme.example,https://*.acme-shop.example")
    );
}

#[test]
fn an_explicit_upload_limit_overrides_the_plan() {
    let doc = super::common::with(
        minimal_json("acme", "starter"),
        "/spec/storage/maxUploadMB",
        json!(50),
    );
    let tenant = stored(doc);
    let settings = settings(&[]);
    let cm = as_json(&config_map::build(&ctx(&tenant, &settings)));
    assert_eq!(cm["data"]["CHAT_MAX_UPLOAD_MB"], json!("50"));
}

#[test]
fn single_sign_on_and_a_chosen_admin_email_reach_the_chat_server() {
    let mut doc = minimal_json("acme", "starter");
    doc["spec"]["adminEmail"] = json!("lead@acme.com.br");
    doc["spec"]["sso"] = json!({
        "issuer": "https://cognito-idp.sa-east-1.amazonaws.com/sa-east-1_AbCdEf",
        "audience": "6example0client0id",
        "jwksUrl": "https://cognito-idp.sa-east-1.amazonaws.com/sa-east-1_AbCdEf/.well-known/jwks.json"
    });
    let tenant = stored(doc);
    let settings = settings(&[]);
    let data = as_json(&config_map::build(&ctx(&tenant, &settings)))["data"].clone();
    let picked: Vec<_> = [
        "CHAT_ADMIN_EMAIL",
        "CHAT_OIDC_ISSUER",
        "CHAT_OIDC_AUDIENCE",
        "CHAT_OIDC_JWKS_URL",
    ]
    .iter()
    .map(|k| data[k].clone())
    .collect();
    assert_eq!(
        picked,
        [
            json!("lead@acme.com.br"),
            json!("https://cognito-idp.sa-east-1.amazonaws.com/sa-east-1_AbCdEf"),
            json!("6example0client0id"),
            json!(
                "https://cognito-idp.sa-east-1.amazonaws.com/sa-east-1_AbCdEf/.well-known/jwks.json"
            ),
        ]
    );
}

/// The chat-server settings a Tenant's chat section and SSO extras turn into, each by name.
fn hours_routing_and_sso(doc: serde_json::Value) -> serde_json::Value {
    let mut doc = doc;
    doc["spec"]["chat"]["businessHours"] = json!({
        "timezone": "America/Sao_Paulo",
        "weekly": [
            {"day": "mon", "from": "09:00", "to": "12:00"},
            {"day": "mon", "from": "13:00", "to": "18:00"},
            {"day": "sat", "from": "10:00", "to": "14:00"}
        ],
        "holidays": ["2026-12-25", "2027-01-01"]
    });
    doc["spec"]["chat"]["routing"] = json!({"mode": "roundRobin", "agentCapacity": 4});
    doc["spec"]["storage"]["retentionDays"] = json!(45);
    doc["spec"]["sso"] = json!({
        "issuer": "https://cognito-idp.sa-east-1.amazonaws.com/sa-east-1_AbCdEf",
        "audience": "6example0client0id",
        "jwksUrl": "https://cognito-idp.sa-east-1.amazonaws.com/sa-east-1_AbCdEf/.well-known/jwks.json",
        "allowedDomains": ["acme.com", "acme.com.br"],
        "adminGroup": "atendo-admins",
        "displayName": "ACME Cognito",
        "tokenEndpoint": "https://acme.auth.sa-east-1.amazoncognito.com/oauth2/token"
    });
    doc
}

#[test]
fn business_hours_routing_retention_and_sso_extras_reach_the_chat_server_by_name() {
    let tenant = stored(hours_routing_and_sso(full_tenant_json()));
    let data = as_json(&config_map::build(&ctx(&tenant, &settings(&[]))))["data"].clone();
    let hours: serde_json::Value =
        serde_json::from_str(data["CHAT_BUSINESS_HOURS"].as_str().unwrap()).unwrap();
    assert_eq!(
        hours,
        json!({
            "timezone": "America/Sao_Paulo",
            "weekly": [
                {"day": "mon", "from": "09:00", "to": "12:00"},
                {"day": "mon", "from": "13:00", "to": "18:00"},
                {"day": "sat", "from": "10:00", "to": "14:00"}
            ],
            "holidays": ["2026-12-25", "2027-01-01"]
        }),
        "the contract's JSON shape"
    );
    let picked: Vec<(&str, serde_json::Value)> = [
        "CHAT_RETENTION_DAYS",
        "CHAT_AUTO_ASSIGN",
        "CHAT_AGENT_CAPACITY",
        "CHAT_OIDC_ALLOWED_DOMAINS",
        "CHAT_OIDC_ADMIN_GROUP",
        "CHAT_OIDC_DISPLAY_NAME",
        "CHAT_OIDC_TOKEN_ENDPOINT",
    ]
    .into_iter()
    .map(|k| (k, data[k].clone()))
    .collect();
    assert_eq!(
        picked,
        [
            ("CHAT_RETENTION_DAYS", json!("45")),
            ("CHAT_AUTO_ASSIGN", json!("round_robin")),
            ("CHAT_AGENT_CAPACITY", json!("4")),
            ("CHAT_OIDC_ALLOWED_DOMAINS", json!("acme.com,acme.com.br")),
            ("CHAT_OIDC_ADMIN_GROUP", json!("atendo-admins")),
            ("CHAT_OIDC_DISPLAY_NAME", json!("ACME Cognito")),
            (
                "CHAT_OIDC_TOKEN_ENDPOINT",
                json!("https://acme.auth.sa-east-1.amazoncognito.com/oauth2/token")
            ),
        ]
    );
}

#[test]
fn routing_off_says_off_and_without_a_capacity_leaves_the_chat_servers_default() {
    let mut doc = minimal_json("acme", "starter");
    doc["spec"]["chat"] = json!({"routing": {"mode": "off"}});
    let tenant = stored(doc);
    let data = as_json(&config_map::build(&ctx(&tenant, &settings(&[]))))["data"].clone();
    assert_eq!(data["CHAT_AUTO_ASSIGN"], json!("off"));
    assert!(data.get("CHAT_AGENT_CAPACITY").is_none(), "{data}");
    assert!(data.get("CHAT_BUSINESS_HOURS").is_none(), "{data}");
}

#[test]
fn every_chat_setting_is_one_the_chat_server_accepts() {
    let accepted = super::chat_server_env_names();
    let doc = hours_routing_and_sso(full_tenant_json());
    let tenant = stored(doc);
    let settings = settings(&["--s3-endpoint=http://minio:9000"]);
    let cm = config_map::build(&ctx(&tenant, &settings));
    for key in cm.data.unwrap().keys() {
        assert!(
            accepted.contains(key),
            "{key} is not in chat_settings::names"
        );
    }
}
