//! The Redis CA (`--redis-ca-file`): its ConfigMap, the chat-server's read-only mount and
//! CHAT_BUS_CA_FILE, and the config hash that rolls the pods when the CA changes.

use atendo_operator::resources::{Credentials, build, bus_ca, config_hash};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{minimal_json, settings};
use super::{as_json, chat_labels, ctx, owner, stored};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn with_ca(name: &str) -> atendo_operator::settings::Settings {
    settings(&[
        "--redis-url=rediss://redis.atendo:6380",
        &format!("--redis-ca-file={}", fixture(name)),
    ])
}

fn credentials() -> Credentials {
    Credentials {
        database_password: "pw".into(),
        bus_password: "bus-pw".into(),
        signing_key: "k".repeat(40),
        admin_password: "first-admin-pw".into(),
        rotated_for: None,
    }
}

fn pod_hash(deployment: &Value) -> String {
    deployment["spec"]["template"]["metadata"]["annotations"]["atendo.io/config-hash"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_redis_ca_becomes_a_config_map_in_the_tenant_namespace() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = with_ca("bus-ca-1.pem");
    let pem = std::fs::read_to_string(fixture("bus-ca-1.pem")).unwrap();
    assert_eq!(
        as_json(&bus_ca::build(&ctx(&tenant, &settings))),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "chat-bus-ca", "namespace": "tenant-acme",
                         "labels": chat_labels("starter"), "ownerReferences": owner()},
            "data": {"ca.crt": pem}
        })
    );
}

#[test]
fn the_chat_server_mounts_the_ca_read_only_and_names_it_in_chat_bus_ca_file() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = with_ca("bus-ca-1.pem");
    let deployment = as_json(&build(&ctx(&tenant, &settings), &credentials()).deployment);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "bus-ca", "configMap": {"name": "chat-bus-ca", "optional": false}}
        ])
    );
    let container = &pod["containers"][0];
    assert_eq!(
        container["volumeMounts"],
        json!([
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "bus-ca", "mountPath": "/etc/atendo/bus-ca", "readOnly": true}
        ])
    );
    let env = container["env"].as_array().unwrap();
    assert_eq!(
        env.last().unwrap(),
        &json!({"name": "CHAT_BUS_CA_FILE", "value": "/etc/atendo/bus-ca/ca.crt"}),
        "the mounted file: {env:?}"
    );
}

#[test]
fn without_a_redis_ca_there_is_no_config_map_no_mount_and_no_chat_bus_ca_file() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = settings(&[]);
    let objects = build(&ctx(&tenant, &settings), &credentials());
    assert_eq!(objects.bus_ca, None);
    let text = serde_json::to_string(&objects.deployment).unwrap();
    assert!(
        !text.contains("bus-ca") && !text.contains("CHAT_BUS_CA_FILE"),
        "{text}"
    );
}

#[test]
fn a_new_ca_rolls_the_pods_and_no_ca_keeps_the_hash_tenants_had_before() {
    let tenant = stored(minimal_json("acme", "starter"));
    let hash_with = |settings: &atendo_operator::settings::Settings| {
        pod_hash(&as_json(
            &build(&ctx(&tenant, settings), &credentials()).deployment,
        ))
    };
    let (first, second) = (with_ca("bus-ca-1.pem"), with_ca("bus-ca-2.pem"));
    let plain = settings(&["--redis-url=rediss://redis.atendo:6380"]);
    let (one, two, none) = (hash_with(&first), hash_with(&second), hash_with(&plain));
    assert_ne!(one, two, "another CA, other pods");
    assert_ne!(one, none, "removing the CA rolls them too");
    assert_eq!(hash_with(&first), one, "the same CA, the same pods");
    // Without a CA the hash is computed as it was before the CA existed (SHA-256 over the
    // ConfigMap's data, then each Secret's), so an operator upgrade rolls no tenant's pods.
    use sha2::{Digest, Sha256};
    let objects = build(&ctx(&tenant, &plain), &credentials());
    let mut before = Sha256::new();
    before.update(serde_json::to_vec(&objects.config_map.data).unwrap());
    for secret in [
        &objects.database_secret,
        &objects.credentials_secret,
        &objects.admin_secret,
    ] {
        before.update(serde_json::to_vec(&secret.data).unwrap());
    }
    assert_eq!(none, format!("{:x}", before.finalize()));
    assert_eq!(
        none,
        config_hash(
            &[Some(&objects.config_map), None],
            &[
                &objects.database_secret,
                &objects.credentials_secret,
                &objects.admin_secret
            ]
        )
    );
}
