//! The CRD's CEL rules, evaluated by kube-rs's client-side CEL validator (with the Kubernetes CEL
//! libraries: `isURL`, `url()`, …) against sample Tenants. This tests the rule strings in the
//! schema; OpenAPI bounds (minimum, maxLength, enum) are the API server's own and are mirrored by
//! `validation.rs`, tested in validation_rules.rs.

mod common;

use atendo_operator::tenant::Tenant;
use common::{
    BAD_EMAILS, BAD_LOCALES, BAD_ORIGINS, GOOD_EMAILS, GOOD_LOCALES, GOOD_ORIGINS,
    full_tenant_json, with, without,
};
use kube::CustomResourceExt;
use kube_cel::Validator;
use serde_json::{Value, json};

fn schema() -> Value {
    let crd = Tenant::crd();
    let schema = crd.spec.versions[0].schema.as_ref().unwrap();
    serde_json::to_value(schema.open_api_v3_schema.as_ref().unwrap()).unwrap()
}

/// Paths of the fields whose rules `doc` breaks (on update when `old` is given).
fn broken(doc: &Value, old: Option<&Value>) -> Vec<String> {
    match Validator::new().validate(&schema(), doc, old) {
        Ok(()) => vec![],
        Err(errors) => errors
            .iter()
            .map(|e| format!("{} ({})", e.field_path, e.message))
            .collect(),
    }
}

fn assert_broken(doc: Value, field: &str) {
    let broken = broken(&doc, None);
    assert!(
        broken.len() == 1 && broken[0].starts_with(&format!("{field} (")),
        "expected one broken rule on {field}, got {broken:?}"
    );
}

#[test]
fn every_rule_compiles() {
    let compiled = kube_cel::compile_schema(&schema());
    fn errors(node: &kube_cel::CompiledSchema, out: &mut Vec<String>) {
        out.extend(node.compilation_errors().iter().map(|e| e.to_string()));
        node.properties
            .values()
            .for_each(|child| errors(child, out));
    }
    let mut found = vec![];
    errors(&compiled, &mut found);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn a_complete_tenant_passes_every_rule() {
    assert_eq!(broken(&full_tenant_json(), None), Vec::<String>::new());
}

#[test]
fn name_rule_rejects_names_too_long_for_the_namespace() {
    assert_broken(
        with(full_tenant_json(), "/metadata/name", json!("a".repeat(57))),
        "",
    );
    assert_broken(
        with(full_tenant_json(), "/metadata/name", json!("acme.corp")),
        "",
    );
}

#[test]
fn subdomain_rule_rejects_non_dns_labels() {
    for bad in ["ACME", "acme_support", "acme-", "a.b"] {
        assert_broken(
            with(full_tenant_json(), "/spec/subdomain", json!(bad)),
            "spec.subdomain",
        );
    }
}

#[test]
fn subdomain_cannot_change_after_creation() {
    let old = full_tenant_json();
    let changed = with(old.clone(), "/spec/subdomain", json!("other"));
    assert_eq!(
        broken(&changed, Some(&old)).len(),
        1,
        "{:?}",
        broken(&changed, Some(&old))
    );
    assert_eq!(broken(&old, Some(&old)), Vec::<String>::new());
}

#[test]
fn a_defaulted_subdomain_may_be_spelled_out_but_not_changed() {
    let old = without(full_tenant_json(), "/spec/subdomain");
    let spelled_out = with(old.clone(), "/spec/subdomain", json!("acme"));
    assert_eq!(broken(&spelled_out, Some(&old)), Vec::<String>::new());
    let changed = with(old.clone(), "/spec/subdomain", json!("other"));
    assert_eq!(broken(&changed, Some(&old)).len(), 1);
    // ...and removing a subdomain that differs from the name would change it too.
    let old_other = with(old.clone(), "/spec/subdomain", json!("other"));
    assert_eq!(broken(&old, Some(&old_other)).len(), 1);
}

#[test]
fn primary_color_rule_wants_rrggbb() {
    for bad in ["#fff", "0b5fff", "#0b5ffg"] {
        assert_broken(
            with(
                full_tenant_json(),
                "/spec/branding/primaryColor",
                json!(bad),
            ),
            "spec.branding.primaryColor",
        );
    }
}

#[test]
fn logo_url_rule_wants_absolute_https() {
    for bad in ["http://cdn.acme.example/logo.svg", "/logo.svg", "not a url"] {
        assert_broken(
            with(full_tenant_json(), "/spec/branding/logoUrl", json!(bad)),
            "spec.branding.logoUrl",
        );
    }
}

#[test]
fn locale_rule_wants_a_language_the_widget_speaks() {
    for bad in BAD_LOCALES {
        assert_broken(
            with(full_tenant_json(), "/spec/branding/locale", json!(bad)),
            "spec.branding.locale",
        );
    }
    for good in GOOD_LOCALES {
        let doc = with(full_tenant_json(), "/spec/branding/locale", json!(good));
        assert_eq!(broken(&doc, None), Vec::<String>::new(), "{good}");
    }
}

#[test]
fn admin_email_rule_matches_what_the_chat_server_accepts() {
    for bad in BAD_EMAILS {
        assert_broken(
            with(full_tenant_json(), "/spec/adminEmail", json!(bad)),
            "spec.adminEmail",
        );
    }
    for good in GOOD_EMAILS {
        let doc = with(full_tenant_json(), "/spec/adminEmail", json!(good));
        assert_eq!(broken(&doc, None), Vec::<String>::new(), "{good}");
    }
}

#[test]
fn sso_rules_want_https_urls() {
    let sso = |issuer: &str, jwks: &str| {
        with(
            full_tenant_json(),
            "/spec/sso",
            json!({"issuer": issuer, "audience": "chat", "jwksUrl": jwks}),
        )
    };
    let (issuer, jwks) = ("https://id.acme.com", "https://id.acme.com/jwks.json");
    assert_eq!(broken(&sso(issuer, jwks), None), Vec::<String>::new());
    assert_broken(sso("http://id.acme.com", jwks), "spec.sso.issuer");
    assert_broken(sso(issuer, "jwks.json"), "spec.sso.jwksUrl");
}

#[test]
fn autoscaling_rule_rejects_min_above_max() {
    let doc = without(full_tenant_json(), "/spec/chat/replicas");
    let doc = with(
        doc,
        "/spec/chat/autoscaling",
        json!({"minReplicas": 5, "maxReplicas": 4}),
    );
    assert_broken(doc, "spec.chat.autoscaling");
}

#[test]
fn chat_rule_keeps_replicas_inside_the_autoscaling_range() {
    assert_broken(
        with(full_tenant_json(), "/spec/chat/replicas", json!(7)),
        "spec.chat",
    );
    assert_broken(
        with(full_tenant_json(), "/spec/chat/replicas", json!(1)),
        "spec.chat",
    );
    let no_autoscaling = without(full_tenant_json(), "/spec/chat/autoscaling");
    assert_eq!(
        broken(&with(no_autoscaling, "/spec/chat/replicas", json!(7)), None),
        Vec::<String>::new()
    );
}

#[test]
fn allowed_origins_rule_agrees_with_what_the_chat_server_accepts() {
    let doc = |origin: &str| {
        with(
            full_tenant_json(),
            "/spec/widget/allowedOrigins",
            json!([origin]),
        )
    };
    for good in GOOD_ORIGINS {
        assert_eq!(broken(&doc(good), None), Vec::<String>::new(), "{good}");
    }
    for bad in BAD_ORIGINS {
        assert_broken(doc(bad), "spec.widget.allowedOrigins");
    }
    // The CEL rule and the Rust rule the chat-server parses CHAT_ALLOWED_ORIGINS with give the
    // same verdict on every entry either list holds.
    for origin in GOOD_ORIGINS.iter().chain(BAD_ORIGINS) {
        let cel = broken(&doc(origin), None).is_empty();
        let rust = chat_settings::origins::allowed_origin(origin).is_ok();
        assert_eq!(cel, rust, "{origin:?}");
    }
}

#[test]
fn business_hours_rules_reject_bad_zones_times_spans_and_dates() {
    let good = json!({
        "timezone": "America/Sao_Paulo",
        "weekly": [{"day": "mon", "from": "09:00", "to": "18:00"}],
        "holidays": ["2026-12-25"]
    });
    let doc = |pointer: &str, value: Value| {
        let mut doc = with(full_tenant_json(), "/spec/chat/businessHours", good.clone());
        *doc.pointer_mut(pointer).unwrap() = value;
        doc
    };
    assert_eq!(
        broken(&doc("/spec/chat/businessHours/holidays", json!([])), None),
        Vec::<String>::new()
    );
    assert_broken(
        doc(
            "/spec/chat/businessHours/timezone",
            json!("America/Sao Paulo"),
        ),
        "spec.chat.businessHours.timezone",
    );
    assert_broken(
        doc("/spec/chat/businessHours/weekly/0/from", json!("9:00")),
        "spec.chat.businessHours.weekly[0].from",
    );
    assert_broken(
        doc("/spec/chat/businessHours/weekly/0/to", json!("24:01")),
        "spec.chat.businessHours.weekly[0].to",
    );
    assert_eq!(
        broken(
            &doc("/spec/chat/businessHours/weekly/0/to", json!("24:00")),
            None
        ),
        Vec::<String>::new(),
        "24:00 ends the day"
    );
    assert_broken(
        doc("/spec/chat/businessHours/weekly/0/from", json!("19:00")),
        "spec.chat.businessHours.weekly[0]",
    );
    assert_broken(
        doc("/spec/chat/businessHours/holidays", json!(["2026-13-01"])),
        "spec.chat.businessHours.holidays",
    );
}

#[test]
fn sso_extra_rules_reject_wildcard_domains_blank_groups_and_plain_http() {
    let sso = json!({"issuer": "https://id.example", "audience": "a", "jwksUrl": "https://id.example/jwks",
                     "allowedDomains": ["acme.com"], "adminGroup": "admins",
                     "tokenEndpoint": "https://auth.acme.example/oauth2/token"});
    let doc = |field: &str, value: Value| {
        let mut sso = sso.clone();
        sso[field] = value;
        with(full_tenant_json(), "/spec/sso", sso)
    };
    assert_eq!(
        broken(&doc("displayName", json!("ACME")), None),
        Vec::<String>::new()
    );
    assert_broken(
        doc("allowedDomains", json!(["*.acme.com"])),
        "spec.sso.allowedDomains",
    );
    assert_broken(doc("adminGroup", json!("   ")), "spec.sso.adminGroup");
    assert_broken(
        doc("tokenEndpoint", json!("http://auth.acme.example/token")),
        "spec.sso.tokenEndpoint",
    );
}

#[test]
fn a_dedicated_database_is_refused_on_the_starter_plan() {
    let starter = with(full_tenant_json(), "/spec/plan", json!("starter"));
    let starter = common::without(starter, "/spec/chat");
    let starter = common::without(starter, "/spec/storage");
    assert_eq!(broken(&starter, None), Vec::<String>::new());
    let refused = with(
        starter.clone(),
        "/spec/database",
        json!({"dedicated": true}),
    );
    let errors = broken(&refused, None);
    assert!(
        errors.len() == 1 && errors[0].contains("spec.database.dedicated"),
        "{errors:?}"
    );
    let declined = with(starter, "/spec/database", json!({"dedicated": false}));
    assert_eq!(broken(&declined, None), Vec::<String>::new());
}

#[test]
fn the_database_placement_cannot_change_after_creation() {
    let enterprise = with(full_tenant_json(), "/spec/plan", json!("enterprise"));
    let explicit = |v: bool| {
        with(
            enterprise.clone(),
            "/spec/database",
            json!({"dedicated": v}),
        )
    };
    let professional = full_tenant_json();
    let cases = [
        // (old, new, allowed)
        (explicit(true), explicit(false), false),
        (explicit(false), explicit(true), false),
        // The enterprise default, spelled out: the same placement.
        (enterprise.clone(), explicit(true), true),
        (explicit(true), enterprise.clone(), true),
        // A plan change that moves the default moves the data: refused...
        (enterprise.clone(), professional.clone(), false),
        (professional.clone(), enterprise.clone(), false),
        // ...unless the Tenant keeps its placement explicitly.
        (
            professional.clone(),
            with(
                enterprise.clone(),
                "/spec/database",
                json!({"dedicated": false}),
            ),
            true,
        ),
        (
            explicit(true),
            with(
                professional.clone(),
                "/spec/database",
                json!({"dedicated": true}),
            ),
            true,
        ),
    ];
    for (i, (old, new, allowed)) in cases.into_iter().enumerate() {
        let errors = broken(&new, Some(&old));
        if allowed {
            assert_eq!(errors, Vec::<String>::new(), "case {i}");
        } else {
            assert!(
                errors.len() == 1 && errors[0].contains("spec.database.dedicated cannot change"),
                "case {i}: {errors:?}"
            );
        }
    }
}
