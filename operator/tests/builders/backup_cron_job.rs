//! The backup CronJob: the whole object for one plan, then the schedule (a real cron parser),
//! suspension, the LimitRange and the labels the Service and PDB select by.

use atendo_operator::plan::Sizing;
use atendo_operator::resources::{backup_cron_job, deployment, limit_range};
use atendo_operator::tenant::Plan;
use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{minimal_json, settings, with};
use super::{as_json, common_labels, ctx, owner, selector, stored};

fn backup_labels(plan: &str) -> Value {
    let mut labels = common_labels(plan);
    labels["app.kubernetes.io/name"] = json!("chat-server-backup");
    labels["app.kubernetes.io/instance"] = json!("acme");
    labels["app.kubernetes.io/component"] = json!("backup");
    labels
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": false}}})
}

fn config_env(name: &str, optional: bool) -> Value {
    json!({"name": name, "valueFrom": {"configMapKeyRef": {"name": "chat-server", "key": name, "optional": optional}}})
}

#[test]
fn a_professional_tenant_gets_a_daily_backup_to_its_bucket_as_restricted_as_its_server() {
    let tenant = stored(minimal_json("acme", "professional"));
    let settings = settings(&[
        "--chat-s3-access-key-id=minio",
        "--chat-s3-secret-access-key=minio-secret",
    ]);
    let ctx = ctx(&tenant, &settings);
    let cron_job = as_json(&backup_cron_job::build(&ctx));
    let labels = backup_labels("professional");
    let schedule = backup_cron_job::schedule("acme", Sizing::for_plan(Plan::Professional).backups);
    let pod_spec = json!({
        "serviceAccountName": "chat-server",
        "automountServiceAccountToken": false,
        "enableServiceLinks": false,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                            "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}}],
        "containers": [{
            "name": "backup",
            "image": "registry.example.com/atendo/chat-server:1.0.0",
            "imagePullPolicy": "IfNotPresent",
            "args": ["backup", "--to", format!("s3://{}/backups", ctx.bucket)],
            "env": [
                secret_env("CHAT_STORE", "chat-database", "uri"),
                config_env("CHAT_S3_REGION", false),
                config_env("CHAT_S3_ENDPOINT", true),
                config_env("CHAT_LOG_FORMAT", true),
                secret_env("AWS_ACCESS_KEY_ID", "chat-credentials", "s3AccessKeyId"),
                secret_env("AWS_SECRET_ACCESS_KEY", "chat-credentials", "s3SecretAccessKey")
            ],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]
        }]
    });
    assert_eq!(
        cron_job,
        json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "chat-server-backup", "namespace": "tenant-acme", "labels": labels,
                         "ownerReferences": owner()},
            "spec": {
                "schedule": schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 3600,
                "suspend": false,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "backoffLimit": 2,
                        "activeDeadlineSeconds": 10800,
                        "ttlSecondsAfterFinished": 259200,
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": pod_spec
                        }
                    }
                }
            }
        })
    );
    // The same restrictions as the chat-server's own pods, whatever they become.
    let server = as_json(&deployment::build(&ctx, "HASH"));
    let server_pod = &server["spec"]["template"]["spec"];
    let backup_pod = &cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(backup_pod["securityContext"], server_pod["securityContext"]);
    assert_eq!(
        backup_pod["containers"][0]["securityContext"],
        server_pod["containers"][0]["securityContext"]
    );
    // Every secret the backup reads, the server reads too (same Secret and key).
    for env in backup_pod["containers"][0]["env"].as_array().unwrap() {
        if env["valueFrom"].get("secretKeyRef").is_some() {
            assert!(
                server_pod["containers"][0]["env"]
                    .as_array()
                    .unwrap()
                    .contains(env),
                "{env}"
            );
        }
    }
}

/// The next `n` times the schedule fires after 2026-12-05 00:00 UTC, read by croner.
fn fires(schedule: &str, n: usize) -> Vec<DateTime<Utc>> {
    let cron: Cron = schedule
        .parse()
        .unwrap_or_else(|e| panic!("{schedule:?} is not cron: {e}"));
    let mut at = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap();
    (0..n)
        .map(|_| {
            at = cron.find_next_occurrence(&at, false).unwrap();
            at
        })
        .collect()
}

#[test]
fn each_plans_schedule_is_cron_that_fires_at_its_interval_at_a_minute_of_its_own() {
    for (plan, hours) in [
        (Plan::Starter, 24),
        (Plan::Professional, 24),
        (Plan::Enterprise, 6),
    ] {
        let backups = Sizing::for_plan(plan).backups;
        assert_eq!(backups.every_hours, hours, "{plan:?}");
        for tenant in ["acme", "globex", "initech", "umbrella"] {
            let schedule = backup_cron_job::schedule(tenant, backups);
            assert_eq!(schedule.split(' ').count(), 5, "{schedule}");
            let times = fires(&schedule, 10);
            for pair in times.windows(2) {
                assert_eq!(
                    (pair[1] - pair[0]).num_hours(),
                    i64::from(hours),
                    "{plan:?} {tenant}: {schedule} fires at {times:?}"
                );
            }
            // The first run of a day is in the early morning, UTC.
            assert!(
                times.iter().any(|t| t.format("%H").to_string() == "03"),
                "{schedule}"
            );
        }
    }
    // Tenants are spread over the hour, not all at :00.
    let minutes: std::collections::BTreeSet<String> =
        ["acme", "globex", "initech", "umbrella", "hooli"]
            .iter()
            .map(|t| backup_cron_job::schedule(t, Sizing::for_plan(Plan::Starter).backups))
            .collect();
    assert!(minutes.len() > 1, "{minutes:?}");
}

#[test]
fn a_suspended_tenants_backups_are_suspended_too() {
    let settings = settings(&[]);
    for (suspended, expected) in [(true, true), (false, false)] {
        let tenant = stored(with(
            minimal_json("acme", "starter"),
            "/spec/suspended",
            json!(suspended),
        ));
        let cron_job = as_json(&backup_cron_job::build(&ctx(&tenant, &settings)));
        assert_eq!(cron_job["spec"]["suspend"], json!(expected));
    }
}

#[test]
fn the_backup_pod_fits_every_plans_limit_range_and_no_chat_server_selector_picks_it() {
    let settings = settings(&[]);
    let millis = |q: &Value| -> u64 {
        let q = q.as_str().unwrap();
        q.strip_suffix('m')
            .map_or_else(|| q.parse::<u64>().unwrap() * 1000, |m| m.parse().unwrap())
    };
    let mib = |q: &Value| -> u64 {
        let q = q.as_str().unwrap();
        q.strip_suffix("Mi").map_or_else(
            || q.strip_suffix("Gi").unwrap().parse::<u64>().unwrap() * 1024,
            |m| m.parse().unwrap(),
        )
    };
    for plan in ["starter", "professional", "enterprise"] {
        let tenant = stored(minimal_json("acme", plan));
        let ctx = ctx(&tenant, &settings);
        let cron_job = as_json(&backup_cron_job::build(&ctx));
        let pod = &cron_job["spec"]["jobTemplate"]["spec"]["template"];
        let resources = &pod["spec"]["containers"][0]["resources"];
        let max = &as_json(&limit_range::build(&ctx))["spec"]["limits"][0]["max"];
        for kind in ["requests", "limits"] {
            assert!(
                millis(&resources[kind]["cpu"]) <= millis(&max["cpu"]),
                "{plan} {kind}"
            );
            assert!(
                mib(&resources[kind]["memory"]) <= mib(&max["memory"]),
                "{plan} {kind}"
            );
        }
        let labels = pod["metadata"]["labels"].as_object().unwrap();
        let picked = selector()
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        assert!(
            !picked,
            "{plan}: the chat-server selector picks the backup pod"
        );
    }
}
