//! The Rust copy of the CRD's rules, one rule at a time.

mod common;

use atendo_operator::validation::{FieldError, validate};
use common::{
    BAD_EMAILS, BAD_LOCALES, BAD_ORIGINS, GOOD_EMAILS, GOOD_LOCALES, GOOD_ORIGINS,
    full_tenant_json, tenant, with, without,
};
use serde_json::{Value, json};

/// The fields `validate` complains about for `doc`.
fn failing_fields(doc: Value) -> Vec<String> {
    match validate(&tenant(doc)) {
        Ok(()) => vec![],
        Err(e) => e
            .errors
            .into_iter()
            .map(|FieldError { field, .. }| field)
            .collect(),
    }
}

fn assert_rejected(doc: Value, field: &str) {
    assert_eq!(failing_fields(doc), vec![field.to_string()]);
}

#[test]
fn a_tenant_with_every_field_set_is_valid() {
    assert_eq!(failing_fields(full_tenant_json()), Vec::<String>::new());
}

#[test]
fn a_tenant_with_only_the_required_fields_is_valid() {
    let doc = json!({"metadata": {"name": "a"}, "spec": {"displayName": "A", "plan": "starter"}});
    assert_eq!(failing_fields(doc), Vec::<String>::new());
}

#[test]
fn name_must_be_a_dns_label_short_enough_for_the_namespace_prefix() {
    for bad in ["Acme", "acme-", "-acme", "ac_me", "a.b", &"a".repeat(57)] {
        assert_rejected(
            with(full_tenant_json(), "/metadata/name", json!(bad)),
            "metadata.name",
        );
    }
    let longest = "a".repeat(56);
    assert_eq!(
        failing_fields(with(full_tenant_json(), "/metadata/name", json!(longest))),
        Vec::<String>::new()
    );
}

#[test]
fn a_tenant_without_a_name_is_rejected() {
    assert_rejected(
        without(full_tenant_json(), "/metadata/name"),
        "metadata.name",
    );
}

#[test]
fn display_name_must_be_1_to_100_characters() {
    assert_rejected(
        with(full_tenant_json(), "/spec/displayName", json!("")),
        "spec.displayName",
    );
    assert_rejected(
        with(
            full_tenant_json(),
            "/spec/displayName",
            json!("é".repeat(101)),
        ),
        "spec.displayName",
    );
    assert_eq!(
        failing_fields(with(
            full_tenant_json(),
            "/spec/displayName",
            json!("é".repeat(100))
        )),
        Vec::<String>::new()
    );
}

#[test]
fn subdomain_must_be_a_dns_label() {
    for bad in [
        "ACME",
        "acme_support",
        "acme.support",
        "",
        "acme-",
        &"a".repeat(64),
    ] {
        assert_rejected(
            with(full_tenant_json(), "/spec/subdomain", json!(bad)),
            "spec.subdomain",
        );
    }
    assert_eq!(
        failing_fields(with(
            full_tenant_json(),
            "/spec/subdomain",
            json!("suporte-1")
        )),
        Vec::<String>::new()
    );
}

#[test]
fn primary_color_must_be_rrggbb() {
    for bad in ["#fff", "0b5fff", "#0b5ffg", "#0b5fff0", "blue"] {
        assert_rejected(
            with(
                full_tenant_json(),
                "/spec/branding/primaryColor",
                json!(bad),
            ),
            "spec.branding.primaryColor",
        );
    }
    assert_eq!(
        failing_fields(with(
            full_tenant_json(),
            "/spec/branding/primaryColor",
            json!("#0B5FFF")
        )),
        Vec::<String>::new()
    );
}

#[test]
fn logo_url_must_be_absolute_https() {
    for bad in [
        "http://cdn.acme.example/logo.svg",
        "/logo.svg",
        "https://",
        "https:///logo.svg",
        "https://cdn acme/logo.svg",
    ] {
        assert_rejected(
            with(full_tenant_json(), "/spec/branding/logoUrl", json!(bad)),
            "spec.branding.logoUrl",
        );
    }
}

#[test]
fn locale_must_be_a_language_the_widget_speaks() {
    for bad in BAD_LOCALES {
        assert_rejected(
            with(full_tenant_json(), "/spec/branding/locale", json!(bad)),
            "spec.branding.locale",
        );
    }
    for good in GOOD_LOCALES {
        assert_eq!(
            failing_fields(with(
                full_tenant_json(),
                "/spec/branding/locale",
                json!(good)
            )),
            Vec::<String>::new(),
            "{good}"
        );
    }
}

#[test]
fn admin_email_must_be_an_address_the_chat_server_accepts() {
    for bad in BAD_EMAILS {
        assert_rejected(
            with(full_tenant_json(), "/spec/adminEmail", json!(bad)),
            "spec.adminEmail",
        );
    }
    for good in GOOD_EMAILS {
        assert_eq!(
            failing_fields(with(full_tenant_json(), "/spec/adminEmail", json!(good))),
            Vec::<String>::new(),
            "{good}"
        );
    }
}

#[test]
fn sso_urls_must_be_https_and_the_audience_non_empty() {
    let sso = |issuer: &str, audience: &str, jwks: &str| {
        with(
            full_tenant_json(),
            "/spec/sso",
            json!({"issuer": issuer, "audience": audience, "jwksUrl": jwks}),
        )
    };
    let (issuer, jwks) = ("https://id.acme.com", "https://id.acme.com/jwks.json");
    assert_eq!(
        failing_fields(sso(issuer, "chat", jwks)),
        Vec::<String>::new()
    );
    assert_rejected(sso("http://id.acme.com", "chat", jwks), "spec.sso.issuer");
    assert_rejected(sso(issuer, "chat", "id.acme.com/jwks"), "spec.sso.jwksUrl");
    assert_rejected(sso(issuer, "", jwks), "spec.sso.audience");
}

#[test]
fn product_name_and_welcome_message_are_bounded() {
    assert_rejected(
        with(full_tenant_json(), "/spec/branding/productName", json!("")),
        "spec.branding.productName",
    );
    assert_rejected(
        with(
            full_tenant_json(),
            "/spec/branding/welcomeMessage",
            json!("x".repeat(501)),
        ),
        "spec.branding.welcomeMessage",
    );
}

#[test]
fn replicas_must_be_between_1_and_50() {
    let doc = without(full_tenant_json(), "/spec/chat/autoscaling");
    let doc = with(doc, "/spec/plan", json!("starter"));
    assert_rejected(
        with(doc.clone(), "/spec/chat/replicas", json!(0)),
        "spec.chat.replicas",
    );
    assert_rejected(
        with(doc.clone(), "/spec/chat/replicas", json!(51)),
        "spec.chat.replicas",
    );
    assert_eq!(
        failing_fields(with(doc, "/spec/chat/replicas", json!(50))),
        Vec::<String>::new()
    );
}

#[test]
fn autoscaling_bounds_are_checked_one_by_one() {
    let doc = without(full_tenant_json(), "/spec/chat/replicas");
    assert_rejected(
        with(doc.clone(), "/spec/chat/autoscaling/minReplicas", json!(0)),
        "spec.chat.autoscaling.minReplicas",
    );
    assert_rejected(
        with(doc.clone(), "/spec/chat/autoscaling/maxReplicas", json!(51)),
        "spec.chat.autoscaling.maxReplicas",
    );
    assert_rejected(
        with(
            doc.clone(),
            "/spec/chat/autoscaling/targetCPUUtilization",
            json!(9),
        ),
        "spec.chat.autoscaling.targetCPUUtilization",
    );
    assert_rejected(
        with(
            doc,
            "/spec/chat/autoscaling/targetCPUUtilization",
            json!(96),
        ),
        "spec.chat.autoscaling.targetCPUUtilization",
    );
}

#[test]
fn min_replicas_must_not_exceed_max_replicas() {
    let doc = without(full_tenant_json(), "/spec/chat/replicas");
    let doc = with(
        doc,
        "/spec/chat/autoscaling",
        json!({"minReplicas": 5, "maxReplicas": 4}),
    );
    assert_rejected(doc, "spec.chat.autoscaling");
}

#[test]
fn replicas_must_lie_within_the_autoscaling_range() {
    assert_rejected(
        with(full_tenant_json(), "/spec/chat/replicas", json!(1)),
        "spec.chat",
    );
    assert_rejected(
        with(full_tenant_json(), "/spec/chat/replicas", json!(7)),
        "spec.chat",
    );
    let only_max = with(
        full_tenant_json(),
        "/spec/chat/autoscaling",
        json!({"maxReplicas": 3}),
    );
    assert_rejected(
        with(only_max.clone(), "/spec/chat/replicas", json!(4)),
        "spec.chat",
    );
    assert_eq!(
        failing_fields(with(only_max, "/spec/chat/replicas", json!(3))),
        Vec::<String>::new()
    );
}

#[test]
fn storage_limits_are_bounded() {
    assert_rejected(
        with(full_tenant_json(), "/spec/storage/retentionDays", json!(0)),
        "spec.storage.retentionDays",
    );
    assert_rejected(
        with(
            full_tenant_json(),
            "/spec/storage/retentionDays",
            json!(3651),
        ),
        "spec.storage.retentionDays",
    );
    assert_rejected(
        with(full_tenant_json(), "/spec/storage/maxUploadMB", json!(0)),
        "spec.storage.maxUploadMB",
    );
    assert_rejected(
        with(full_tenant_json(), "/spec/storage/maxUploadMB", json!(1025)),
        "spec.storage.maxUploadMB",
    );
}

#[test]
fn every_broken_rule_is_reported_in_one_message_naming_tenant_and_fields() {
    let doc = with(full_tenant_json(), "/spec/subdomain", json!("Bad_Sub"));
    let doc = with(doc, "/spec/branding/primaryColor", json!("red"));
    let err = validate(&tenant(doc)).unwrap_err();
    assert_eq!(err.errors.len(), 2);
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "Tenant \"acme\" is invalid: spec.subdomain: \"Bad_Sub\" must be a DNS label"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("; spec.branding.primaryColor: \"red\" must be a #rrggbb colour"),
        "{msg}"
    );
}

#[test]
fn a_partial_autoscaling_override_that_clashes_with_the_plan_is_rejected() {
    // professional autoscales 2..6 by default; maxReplicas 1 alone leaves min 2 > max 1.
    let doc = without(full_tenant_json(), "/spec/chat/replicas");
    let doc = with(doc, "/spec/chat/autoscaling", json!({"maxReplicas": 1}));
    let err = validate(&tenant(doc)).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].field, "spec.chat.autoscaling");
    assert!(
        err.errors[0]
            .message
            .contains("professional plan's defaults"),
        "{}",
        err.errors[0].message
    );
}

#[test]
fn replicas_outside_the_plans_autoscaling_range_are_rejected() {
    let doc = without(full_tenant_json(), "/spec/chat/autoscaling");
    assert_rejected(
        with(doc.clone(), "/spec/chat/replicas", json!(1)),
        "spec.chat.replicas",
    );
    // The starter plan does not autoscale, so any replica count in bounds is fine there.
    let starter = with(doc, "/spec/plan", json!("starter"));
    assert_eq!(
        failing_fields(with(starter, "/spec/chat/replicas", json!(7))),
        Vec::<String>::new()
    );
}

#[test]
fn allowed_origins_must_be_browser_origins_and_few() {
    let origins = |list: Vec<&str>| {
        with(
            full_tenant_json(),
            "/spec/widget/allowedOrigins",
            json!(list),
        )
    };
    assert_eq!(
        failing_fields(origins(GOOD_ORIGINS.to_vec())),
        Vec::<String>::new()
    );
    for bad in BAD_ORIGINS {
        assert_rejected(
            origins(vec!["https://www.acme.com", bad]),
            "spec.widget.allowedOrigins",
        );
    }
    let many: Vec<String> = (0..33).map(|i| format!("https://s{i}.acme.com")).collect();
    assert_rejected(
        origins(many.iter().map(String::as_str).collect()),
        "spec.widget.allowedOrigins",
    );
    let message = validate(&tenant(origins(vec!["https://www.acme.com/loja"])))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("spec.widget.allowedOrigins: [0]") && message.contains("no path"),
        "{message}"
    );
}

fn with_hours(hours: Value) -> Value {
    with(full_tenant_json(), "/spec/chat/businessHours", hours)
}

fn week(from: &str, to: &str) -> Value {
    json!({"timezone": "America/Sao_Paulo", "weekly": [{"day": "mon", "from": from, "to": to}]})
}

#[test]
fn business_hours_in_a_real_zone_with_real_holidays_are_valid() {
    let hours = json!({
        "timezone": "America/Argentina/Buenos_Aires",
        "weekly": [{"day": "mon", "from": "00:00", "to": "24:00"}, {"day": "sun", "from": "09:00", "to": "09:01"}],
        "holidays": ["2028-02-29"]
    });
    assert_eq!(failing_fields(with_hours(hours)), Vec::<String>::new());
    assert_eq!(
        failing_fields(with_hours(
            json!({"timezone": "UTC", "weekly": [{"day": "fri", "from": "08:00", "to": "17:30"}]})
        )),
        Vec::<String>::new()
    );
}

#[test]
fn a_time_zone_the_iana_database_does_not_name_is_rejected_naming_the_field() {
    for bad in ["Mars/Olympus_Mons", "America/Sao Paulo", "BRT", ""] {
        let mut hours = week("09:00", "18:00");
        hours["timezone"] = json!(bad);
        assert_rejected(with_hours(hours), "spec.chat.businessHours.timezone");
    }
}

#[test]
fn opening_times_must_be_hh_mm_and_open_before_they_close() {
    for bad in ["9:00", "24:00", "09:60", "0900", "09:00:00", " 09:00"] {
        assert_rejected(
            with_hours(week(bad, "18:00")),
            "spec.chat.businessHours.weekly[0].from",
        );
    }
    for bad in ["9:00", "00:00", "24:01", "09:60", "0900", "18:00 "] {
        assert_rejected(
            with_hours(week("08:00", bad)),
            "spec.chat.businessHours.weekly[0].to",
        );
    }
    // The end of the day closes an opening (an overnight one is two spans).
    assert_eq!(
        failing_fields(with_hours(week("22:00", "24:00"))),
        Vec::<String>::new()
    );
    for (from, to) in [("18:00", "09:00"), ("09:00", "09:00")] {
        assert_rejected(
            with_hours(week(from, to)),
            "spec.chat.businessHours.weekly[0]",
        );
    }
}

#[test]
fn holidays_must_be_days_of_the_calendar_and_a_week_must_have_a_span() {
    for bad in [
        "2026-02-30",
        "2027-02-29",
        "2026-1-05",
        "25/12/2026",
        "2026-12-25T00:00",
    ] {
        let mut hours = week("09:00", "18:00");
        hours["holidays"] = json!([bad]);
        assert_rejected(with_hours(hours), "spec.chat.businessHours.holidays[0]");
    }
    assert_rejected(
        with_hours(json!({"timezone": "UTC", "weekly": []})),
        "spec.chat.businessHours.weekly",
    );
}

#[test]
fn agent_capacity_must_be_between_1_and_1000() {
    for bad in [0, -1, 1001] {
        assert_rejected(
            with(
                full_tenant_json(),
                "/spec/chat/routing",
                json!({"mode": "roundRobin", "agentCapacity": bad}),
            ),
            "spec.chat.routing.agentCapacity",
        );
    }
}

#[test]
fn sso_extras_are_values_the_chat_server_starts_on() {
    let sso = json!({"issuer": "https://id.example", "audience": "a", "jwksUrl": "https://id.example/jwks"});
    let doc = |field: &str, value: Value| {
        let mut sso = sso.clone();
        sso[field] = value;
        with(full_tenant_json(), "/spec/sso", sso)
    };
    assert_eq!(
        failing_fields(doc(
            "allowedDomains",
            json!(["acme.com", "mail.acme.com.br"])
        )),
        Vec::<String>::new()
    );
    for bad in ["acme", "@acme.com", "*.acme.com", "acme-.com", "a..com"] {
        assert_rejected(
            doc("allowedDomains", json!([bad])),
            "spec.sso.allowedDomains",
        );
    }
    assert_rejected(doc("adminGroup", json!("  ")), "spec.sso.adminGroup");
    assert_rejected(doc("displayName", json!("")), "spec.sso.displayName");
    for bad in ["http://id.example/token", "/oauth2/token"] {
        assert_rejected(doc("tokenEndpoint", json!(bad)), "spec.sso.tokenEndpoint");
    }
}

#[test]
fn a_dedicated_database_on_the_starter_plan_is_rejected() {
    let starter = without(
        without(
            with(full_tenant_json(), "/spec/plan", json!("starter")),
            "/spec/chat",
        ),
        "/spec/storage",
    );
    assert_eq!(failing_fields(starter.clone()), Vec::<String>::new());
    assert_rejected(
        with(
            starter.clone(),
            "/spec/database",
            json!({"dedicated": true}),
        ),
        "spec.database.dedicated",
    );
    assert_eq!(
        failing_fields(with(starter, "/spec/database", json!({"dedicated": false}))),
        Vec::<String>::new()
    );
}

/// Placement against what provisioning recorded: the operator checks what the API server's
/// transition rule cannot see (a Tenant provisioned before the rule, or by another operator).
#[test]
fn a_dedicated_field_contradicting_the_recorded_placement_is_refused_naming_it() {
    use atendo_operator::context::TenantContext;
    let settings = common::settings(&[]);
    let enterprise = with(full_tenant_json(), "/spec/plan", json!("enterprise"));
    let on_shared = json!({"database": {"name": "tenant_acme", "user": "chat-acme"}});
    let on_own = json!({"database": {"name": "tenant_acme", "user": "chat-acme", "cluster": "atendo-acme", "address": "mongodb+srv://atendo-acme.x7k2p.mongodb.net"}});
    let placement = |doc: Value| {
        let t = tenant(doc);
        TenantContext::new(&t, &settings)
            .map(|tc| {
                tc.dedicated
                    .map(|d| (d.cluster, d.address.map(|a| a.address())))
            })
            .map_err(|e| e.errors)
    };
    // New enterprise tenant: its own cluster, no address yet.
    assert_eq!(
        placement(enterprise.clone()),
        Ok(Some(("atendo-acme".into(), None)))
    );
    // Provisioned on the shared cluster before the enterprise default: it stays there.
    assert_eq!(
        placement(with(enterprise.clone(), "/status", on_shared.clone())),
        Ok(None)
    );
    // Recorded on its own cluster: the address comes from the status.
    assert_eq!(
        placement(with(enterprise.clone(), "/status", on_own.clone())),
        Ok(Some((
            "atendo-acme".into(),
            Some("mongodb+srv://atendo-acme.x7k2p.mongodb.net".into())
        )))
    );
    for (status, dedicated) in [(on_shared, true), (on_own, false)] {
        let doc = with(
            with(enterprise.clone(), "/status", status),
            "/spec/database",
            json!({"dedicated": dedicated}),
        );
        let errors = placement(doc).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "spec.database.dedicated");
        assert!(
            errors[0]
                .message
                .contains("does not move data between clusters"),
            "{}",
            errors[0].message
        );
    }
}
