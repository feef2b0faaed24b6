//! The controller's pure parts: conditions, credential reuse, the "already applied" check,
//! what deletion cleans up.

mod common;

use std::collections::BTreeMap;

use atendo_operator::controller::cleanup::{Targets, targets};

use atendo_operator::controller::apply::contains;
use atendo_operator::controller::credentials::{existing, generate, resolve};
use atendo_operator::controller::status::{Step, conditions, ready_only};
use atendo_operator::resources::secrets::ROTATED_FOR_ANNOTATION;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn steps(storage_ok: bool) -> Vec<Step> {
    vec![
        Step::ok("NamespaceReady", "Applied", "ns"),
        if storage_ok {
            Step::ok("StorageReady", "Provisioned", "bucket")
        } else {
            Step::failed(
                "StorageReady",
                "BucketNameTaken",
                "bucket x belongs to another account",
            )
        },
        Step::failed("IngressReady", "AwaitingAddress", "not yet"),
    ]
}

#[test]
fn ready_carries_the_first_failing_steps_reason_and_names_the_step() {
    let c = conditions(&[], &steps(false), Some(4), &at(10));
    assert_eq!(
        c.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(),
        ["Ready", "NamespaceReady", "StorageReady", "IngressReady"]
    );
    assert_eq!(
        (c[0].status.as_str(), c[0].reason.as_str()),
        ("False", "BucketNameTaken")
    );
    assert_eq!(
        c[0].message,
        "StorageReady: bucket x belongs to another account"
    );
    assert!(
        c.iter()
            .all(|c| c.observed_generation == Some(4) && c.last_transition_time == at(10))
    );
}

#[test]
fn all_steps_ok_is_provisioned_and_a_suspended_chat_server_says_suspended() {
    let ok = [Step::ok("NamespaceReady", "Applied", "ns")];
    assert_eq!(conditions(&[], &ok, None, &at(1))[0].reason, "Provisioned");
    let suspended = [Step::ok("ChatServerReady", "Suspended", "zero")];
    let c = conditions(&[], &suspended, None, &at(1));
    assert_eq!(
        (c[0].status.as_str(), c[0].reason.as_str()),
        ("True", "Suspended")
    );
}

#[test]
fn a_condition_keeps_its_transition_time_until_its_status_flips() {
    let first = conditions(&[], &steps(false), Some(1), &at(10));
    let again = conditions(&first, &steps(false), Some(1), &at(20));
    assert_eq!(again, first, "same outcome, identical conditions");
    let fixed = conditions(&first, &steps(true), Some(2), &at(30));
    let storage = fixed.iter().find(|c| c.type_ == "StorageReady").unwrap();
    assert_eq!(
        (storage.status.as_str(), &storage.last_transition_time),
        ("True", &at(30))
    );
    let namespace = fixed.iter().find(|c| c.type_ == "NamespaceReady").unwrap();
    assert_eq!(namespace.last_transition_time, at(10));
}

#[test]
fn ready_only_replaces_ready_and_keeps_the_step_conditions() {
    let previous = conditions(&[], &steps(true), Some(1), &at(10));
    let c = ready_only(
        &previous,
        Step::failed("Ready", "InvalidSpec", "spec.plan: bad"),
        Some(2),
        &at(20),
    );
    assert_eq!(c.len(), previous.len());
    assert_eq!(
        (
            c[0].type_.as_str(),
            c[0].reason.as_str(),
            c[0].observed_generation
        ),
        ("Ready", "InvalidSpec", Some(2))
    );
    assert_eq!(&c[1..], &previous[1..]);
}

fn secret(data: &[(&str, &str)], rotated_for: Option<&str>) -> Secret {
    let annotations =
        rotated_for.map(|r| BTreeMap::from([(ROTATED_FOR_ANNOTATION.to_string(), r.to_string())]));
    Secret {
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        metadata: ObjectMeta {
            annotations,
            ..ObjectMeta::default()
        },
        ..Secret::default()
    }
}

#[test]
fn stored_credentials_are_reused_until_a_new_rotation_is_requested() {
    let db = secret(&[("uri", "mongodb://x"), ("password", "pw")], None);
    let creds = secret(&[("signingKey", "key")], None);
    let reused = existing(Some(&db), Some(&creds), None).unwrap();
    assert_eq!(
        (
            reused.database_password.as_str(),
            reused.signing_key.as_str(),
            reused.rotated_for
        ),
        ("pw", "key", None)
    );
    assert_eq!(
        existing(Some(&db), Some(&creds), Some("r1")),
        None,
        "rotation requested"
    );
    let rotated = secret(&[("signingKey", "key2")], Some("r1"));
    assert_eq!(
        existing(Some(&db), Some(&rotated), Some("r1"))
            .unwrap()
            .signing_key,
        "key2",
        "already rotated for r1"
    );
}

#[test]
fn missing_or_damaged_secrets_mean_new_credentials() {
    let db = secret(&[("uri", "mongodb://x"), ("password", "pw")], None);
    let creds = secret(&[("signingKey", "key")], None);
    assert_eq!(existing(None, Some(&creds), None), None);
    assert_eq!(existing(Some(&db), None, None), None);
    assert_eq!(
        existing(
            Some(&secret(&[("uri", ""), ("password", "pw")], None)),
            Some(&creds),
            None
        ),
        None
    );
    assert_eq!(
        existing(
            Some(&secret(&[("uri", "mongodb://x")], None)),
            Some(&creds),
            None
        ),
        None
    );
    assert_eq!(
        existing(Some(&db), Some(&secret(&[("signingKey", "")], None)), None),
        None
    );
}

#[test]
fn a_database_secret_without_a_uri_keeps_its_password_while_a_dedicated_cluster_is_made() {
    // The operator writes it so until the tenant's own cluster has an address; regenerating
    // here would give the user a new password on every look while the cluster is CREATING.
    let waiting = secret(&[("password", "pw")], None);
    let creds = secret(&[("signingKey", "key")], None);
    let kept = existing(Some(&waiting), Some(&creds), None).expect("kept");
    assert_eq!(kept.database_password, "pw");
    assert_eq!(kept.signing_key, "key");
}

#[test]
fn the_first_admin_password_is_kept_through_rotation_and_generated_when_missing() {
    let db = secret(&[("uri", "mongodb://x"), ("password", "pw")], None);
    let creds = secret(&[("signingKey", "key")], None);
    let admin = secret(&[("email", "a@acme.com"), ("password", "initial")], None);

    let rotated = resolve(Some(&db), Some(&creds), Some(&admin), Some("r1"));
    assert_ne!(
        rotated.signing_key, "key",
        "rotation made a new signing key"
    );
    assert_eq!(rotated.rotated_for.as_deref(), Some("r1"));
    assert_eq!(
        rotated.admin_password, "initial",
        "the chat-server set the admin's password when it created the admin; a new one would be wrong"
    );

    let upgraded = resolve(Some(&db), Some(&creds), None, None);
    assert_eq!(
        (
            upgraded.database_password.as_str(),
            upgraded.signing_key.as_str()
        ),
        ("pw", "key")
    );
    assert_eq!(
        upgraded.admin_password.len(),
        24,
        "a tenant from before the admin Secret gets one"
    );
    let again = resolve(Some(&db), Some(&creds), None, None);
    assert_ne!(
        upgraded.admin_password, again.admin_password,
        "random, not derived"
    );
}

#[test]
fn generated_credentials_are_long_random_and_url_safe() {
    let (a, b) = (generate(None), generate(Some("r".into())));
    assert_ne!(a.database_password, b.database_password);
    assert_ne!(a.signing_key, b.signing_key);
    assert_ne!(a.admin_password, b.admin_password);
    assert_eq!(
        (
            a.database_password.len(),
            a.signing_key.len(),
            a.admin_password.len()
        ),
        (32, 64, 24)
    );
    assert!(
        a.database_password
            .chars()
            .chain(a.signing_key.chars())
            .chain(a.admin_password.chars())
            .all(|c| c.is_ascii_alphanumeric())
    );
    assert_eq!(b.rotated_for.as_deref(), Some("r"));
}

#[test]
fn contains_ignores_fields_others_added_but_not_changed_values_or_lists() {
    let live = json!({"a": 1, "b": {"c": [1, {"d": 2, "x": 9}]}, "extra": true});
    assert!(contains(&live, &json!({"a": 1, "b": {"c": [1, {"d": 2}]}})));
    assert!(!contains(&live, &json!({"a": 2})));
    assert!(
        !contains(&live, &json!({"b": {"c": [1]}})),
        "a list of another length differs"
    );
    assert!(!contains(&live, &json!({"missing": null})));
}

fn provisioned(doc: serde_json::Value) -> atendo_operator::tenant::Tenant {
    common::tenant(common::with(
        doc,
        "/status",
        json!({"bucket": "atendo-acme-uploads", "database": {"name": "tenant_acme", "user": "chat-acme"}}),
    ))
}

fn acme_targets(bucket: &str) -> Targets {
    Targets {
        bucket: bucket.into(),
        database: "tenant_acme".into(),
        database_user: "chat-acme".into(),
        bus_user: "tenant-acme".into(),
        cluster: None,
    }
}

#[test]
fn deletion_cleans_up_what_the_status_recorded_even_when_the_tenant_no_longer_validates() {
    let renamed = common::settings(&["--bucket-name-template=other-{tenant}-files"]);
    let refused = common::settings(&["--bucket-name-template=Atendo-{tenant}-Uploads"]);
    let valid = provisioned(common::full_tenant_json());
    let invalid = provisioned(common::with(
        common::full_tenant_json(),
        "/spec/branding/primaryColor",
        json!("blue"),
    ));
    for (tenant, settings) in [(&valid, &renamed), (&valid, &refused), (&invalid, &renamed)] {
        assert_eq!(
            targets(tenant, settings),
            Some(acme_targets("atendo-acme-uploads"))
        );
    }
}

#[test]
fn deletion_removes_the_redis_user_the_status_recorded_not_the_one_the_name_gives_now() {
    // Provisioned by an operator that named Redis users another way.
    let tenant = common::tenant(common::with(
        common::full_tenant_json(),
        "/status",
        json!({"bucket": "atendo-acme-uploads", "database": {"name": "tenant_acme", "user": "chat-acme"}, "bus": {"user": "chat-bus-acme"}}),
    ));
    assert_eq!(
        targets(&tenant, &common::settings(&[])),
        Some(Targets {
            bus_user: "chat-bus-acme".into(),
            ..acme_targets("atendo-acme-uploads")
        })
    );
}

#[test]
fn deletion_derives_the_names_only_for_what_the_status_does_not_hold() {
    let settings = common::settings(&[]);
    // Created outside, then stopped before the first status write.
    assert_eq!(
        targets(&common::tenant(common::full_tenant_json()), &settings),
        Some(acme_targets("atendo-acme-uploads"))
    );
    // Never valid, never provisioned: nothing outside was made for it.
    let never = common::tenant(common::with(
        common::full_tenant_json(),
        "/spec/branding/primaryColor",
        json!("blue"),
    ));
    assert_eq!(targets(&never, &settings), None);
}
