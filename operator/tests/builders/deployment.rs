//! Deployment, HorizontalPodAutoscaler and PodDisruptionBudget.

use atendo_operator::resources::{Credentials, build, deployment, hpa, pdb};
use atendo_operator::settings::Settings;
use atendo_operator::tenant::Tenant;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{minimal_json, settings, with};
use super::{as_json, chat_labels, ctx, owner, selector, stored};

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": false}}})
}

fn probe(path: &str, period: i32, failures: i32) -> Value {
    json!({"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": 2})
}

/// The professional plan's Deployment; other cases are this with their differences applied.
fn professional() -> Value {
    let spread = |key: &str| json!({"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector()}});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "chat-server", "namespace": "tenant-acme", "labels": chat_labels("professional"), "ownerReferences": owner()},
        "spec": {
            "selector": {"matchLabels": selector()},
            "revisionHistoryLimit": 5,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": chat_labels("professional"), "annotations": {"atendo.io/config-hash": "HASH"}},
                "spec": {
                    "serviceAccountName": "chat-server",
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [spread("topology.kubernetes.io/zone"), spread("kubernetes.io/hostname")],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                    "containers": [{
                        "name": "chat-server",
                        "image": "registry.example.com/atendo/chat-server:1.0.0",
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                        "envFrom": [{"configMapRef": {"name": "chat-server", "optional": false}}],
                        "env": [
                            secret_env("CHAT_STORE", "chat-database", "uri"),
                            secret_env("CHAT_SIGNING_KEY", "chat-credentials", "signingKey"),
                            secret_env("CHAT_BUS", "chat-credentials", "busUrl"),
                            secret_env("CHAT_ADMIN_PASSWORD", "chat-admin", "password")
                        ],
                        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
                        "startupProbe": probe("/health/live", 2, 30),
                        "livenessProbe": probe("/health/live", 10, 3),
                        "readinessProbe": probe("/health/ready", 5, 3),
                        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]
                    }]
                }
            }
        }
    })
}

fn deployment_for(doc: Value) -> Value {
    let tenant = stored(doc);
    let settings = settings(&[]);
    as_json(&deployment::build(&ctx(&tenant, &settings), "HASH"))
}

fn set_plan(expected: &mut Value, plan: &str, requests: (&str, &str), limits: (&str, &str)) {
    expected["metadata"]["labels"] = chat_labels(plan);
    expected["spec"]["template"]["metadata"]["labels"] = chat_labels(plan);
    expected["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({
        "requests": {"cpu": requests.0, "memory": requests.1},
        "limits": {"cpu": limits.0, "memory": limits.1}
    });
}

#[test]
fn a_professional_tenant_gets_an_autoscaled_hardened_chat_server_without_a_replica_count() {
    assert_eq!(
        deployment_for(minimal_json("acme", "professional")),
        professional()
    );
}

#[test]
fn a_starter_tenant_runs_a_fixed_single_small_replica() {
    let mut expected = professional();
    set_plan(
        &mut expected,
        "starter",
        ("100m", "128Mi"),
        ("500m", "256Mi"),
    );
    expected["spec"]["replicas"] = json!(1);
    assert_eq!(deployment_for(minimal_json("acme", "starter")), expected);
}

#[test]
fn an_enterprise_tenant_gets_the_largest_pods() {
    let mut expected = professional();
    set_plan(&mut expected, "enterprise", ("500m", "512Mi"), ("2", "1Gi"));
    assert_eq!(deployment_for(minimal_json("acme", "enterprise")), expected);
}

#[test]
fn an_explicit_replica_count_overrides_the_starter_plan() {
    let mut expected = professional();
    set_plan(
        &mut expected,
        "starter",
        ("100m", "128Mi"),
        ("500m", "256Mi"),
    );
    expected["spec"]["replicas"] = json!(3);
    assert_eq!(
        deployment_for(with(
            minimal_json("acme", "starter"),
            "/spec/chat/replicas",
            json!(3)
        )),
        expected
    );
}

#[test]
fn a_suspended_tenant_is_scaled_to_zero_and_loses_its_autoscaler() {
    let doc = with(
        minimal_json("acme", "professional"),
        "/spec/suspended",
        json!(true),
    );
    let mut expected = professional();
    expected["spec"]["replicas"] = json!(0);
    assert_eq!(deployment_for(doc.clone()), expected);
    let tenant = stored(doc);
    let settings = settings(&[]);
    assert_eq!(hpa::build(&ctx(&tenant, &settings)), None);
}

/// The pods' config hash as the Deployment carries it. The test never calls `config_hash`: the
/// annotation must move with every input the pods read (ConfigMap, each Secret, the Redis CA) and
/// with nothing else, whatever the function does inside.
#[test]
fn the_config_hash_changes_with_the_config_or_a_secret_and_only_then() {
    let ca = |n: u8| {
        format!(
            "--redis-ca-file={}/tests/fixtures/bus-ca-{n}.pem",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    let plain = settings(&[]);
    let (with_ca_1, with_ca_2) = (settings(&[&ca(1)]), settings(&[&ca(2)]));
    let tenant = stored(minimal_json("acme", "professional"));
    let creds = Credentials {
        database_password: "pw".into(),
        bus_password: "bus-pw".into(),
        signing_key: "k".repeat(40),
        admin_password: "first-admin-pw".into(),
        rotated_for: None,
    };
    let hash = |t: &Tenant, s: &Settings, c: &Credentials| -> String {
        let objects = build(&ctx(t, s), c);
        let template = objects.deployment.spec.unwrap().template.metadata.unwrap();
        template.annotations.unwrap()["atendo.io/config-hash"].clone()
    };
    let base = hash(&tenant, &plain, &creds);
    assert_eq!(base.len(), 64);
    assert!(base.bytes().all(|b| b.is_ascii_hexdigit()), "{base}");
    assert_eq!(hash(&tenant, &plain, &creds), base, "same input, same hash");

    let changed = |c: Credentials| hash(&tenant, &plain, &c);
    let rebranded = stored(with(
        minimal_json("acme", "professional"),
        "/spec/branding/primaryColor",
        json!("#000000"),
    ));
    let mut seen = std::collections::BTreeMap::from([(base.clone(), "the base")]);
    for (why, h) in [
        (
            "a rotated signing key (chat-credentials)",
            changed(Credentials {
                signing_key: "r".repeat(40),
                ..creds.clone()
            }),
        ),
        (
            "a rotated bus password (chat-credentials)",
            changed(Credentials {
                bus_password: "bus-pw-2".into(),
                ..creds.clone()
            }),
        ),
        (
            "a rotated database password (chat-database)",
            changed(Credentials {
                database_password: "pw-2".into(),
                ..creds.clone()
            }),
        ),
        (
            "another first-admin password (chat-admin)",
            changed(Credentials {
                admin_password: "another-admin-pw".into(),
                ..creds.clone()
            }),
        ),
        (
            "a config change (chat-server ConfigMap)",
            hash(&rebranded, &plain, &creds),
        ),
        ("a Redis CA", hash(&tenant, &with_ca_1, &creds)),
        ("another Redis CA", hash(&tenant, &with_ca_2, &creds)),
    ] {
        if let Some(earlier) = seen.insert(h, why) {
            panic!("{why} gives the same hash as {earlier}: the pods would not roll");
        }
    }

    // What the pods do not read leaves them alone: the autoscaler's ceiling, a suspension.
    for (why, doc) in [
        (
            "maxReplicas",
            with(
                minimal_json("acme", "professional"),
                "/spec/chat/autoscaling",
                json!({"maxReplicas": 9}),
            ),
        ),
        (
            "suspended",
            with(
                minimal_json("acme", "professional"),
                "/spec/suspended",
                json!(true),
            ),
        ),
    ] {
        assert_eq!(hash(&stored(doc), &plain, &creds), base, "{why}");
    }
}

fn expected_hpa(plan: &str, min: i32, max: i32, target: i32) -> Value {
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "chat-server", "namespace": "tenant-acme", "labels": chat_labels(plan), "ownerReferences": owner()},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-server"},
            "minReplicas": min,
            "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
        }
    })
}

#[test]
fn each_plan_gets_its_autoscaler_and_starter_none() {
    let settings = settings(&[]);
    let hpa_for = |doc| {
        let tenant = stored(doc);
        hpa::build(&ctx(&tenant, &settings)).map(|h| as_json(&h))
    };
    assert_eq!(hpa_for(minimal_json("acme", "starter")), None);
    assert_eq!(
        hpa_for(minimal_json("acme", "professional")),
        Some(expected_hpa("professional", 2, 6, 70))
    );
    assert_eq!(
        hpa_for(minimal_json("acme", "enterprise")),
        Some(expected_hpa("enterprise", 3, 20, 65))
    );
    let overridden = with(
        minimal_json("acme", "enterprise"),
        "/spec/chat/autoscaling",
        json!({"maxReplicas": 30, "targetCPUUtilization": 50}),
    );
    assert_eq!(
        hpa_for(overridden),
        Some(expected_hpa("enterprise", 3, 30, 50))
    );
    let starter_autoscaled = with(
        minimal_json("acme", "starter"),
        "/spec/chat/autoscaling",
        json!({"maxReplicas": 3}),
    );
    assert_eq!(
        hpa_for(starter_autoscaled),
        Some(expected_hpa("starter", 1, 3, 70))
    );
}

#[test]
fn every_plan_allows_one_pod_at_a_time_to_be_disrupted() {
    let settings = settings(&[]);
    for plan in ["starter", "professional", "enterprise"] {
        let tenant = stored(minimal_json("acme", plan));
        assert_eq!(
            as_json(&pdb::build(&ctx(&tenant, &settings))),
            json!({
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "chat-server", "namespace": "tenant-acme", "labels": chat_labels(plan), "ownerReferences": owner()},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector()}}
            })
        );
    }
}

#[test]
fn the_container_env_uses_only_names_the_chat_server_accepts() {
    let accepted = super::chat_server_env_names();
    let env = &deployment_for(minimal_json("acme", "professional"))["spec"]["template"]["spec"]["containers"]
        [0]["env"];
    for var in env.as_array().unwrap() {
        let name = var["name"].as_str().unwrap();
        assert!(
            accepted.iter().any(|a| a == name),
            "{name} is not in chat_settings::names"
        );
    }
}

#[test]
fn static_s3_keys_reach_the_pods_as_the_aws_sdk_names_them_only_when_given() {
    let env_names = |extra: &[&str]| -> Vec<String> {
        let settings = settings(extra);
        let tenant = stored(minimal_json("acme", "starter"));
        let objects = build(&ctx(&tenant, &settings), &Credentials::placeholders());
        objects
            .deployment
            .spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .containers[0]
            .env
            .iter()
            .flatten()
            .map(|e| e.name.clone())
            .collect()
    };
    assert!(!env_names(&[]).iter().any(|n| n.starts_with("AWS_")));
    let with_keys = env_names(&[
        "--chat-s3-access-key-id=minio",
        "--chat-s3-secret-access-key=minio-secret",
    ]);
    assert_eq!(
        &with_keys[with_keys.len() - 2..],
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    );
}
