//! Namespace, ResourceQuota, LimitRange.

use atendo_operator::resources::{limit_range, namespace, resource_quota};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::{minimal_json, settings, with};
use super::{as_json, common_labels, ctx, owner, stored};

#[test]
fn the_namespace_enforces_restricted_pod_security_and_has_no_owner() {
    let tenant = stored(minimal_json("acme", "professional"));
    let settings = settings(&[]);
    let mut labels = common_labels("professional");
    for mode in ["enforce", "audit", "warn"] {
        labels[format!("pod-security.kubernetes.io/{mode}")] = json!("restricted");
        labels[format!("pod-security.kubernetes.io/{mode}-version")] = json!("latest");
    }
    assert_eq!(
        as_json(&namespace::build(&ctx(&tenant, &settings))),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-acme", "labels": labels}})
    );
}

/// (plan, pods, requests.cpu, requests.memory, limits.cpu, limits.memory): the chat-server's
/// ceiling plus a surge pod, plus one backup pod (100m/128Mi requested, 500m/256Mi limits).
const QUOTAS: [(&str, &str, &str, &str, &str, &str); 3] = [
    ("starter", "3", "300m", "384Mi", "1500m", "768Mi"),
    ("professional", "8", "1850m", "1920Mi", "7500m", "3840Mi"),
    ("enterprise", "22", "10600m", "10880Mi", "42500m", "21760Mi"),
];

#[test]
fn each_plan_gets_a_quota_sized_for_its_largest_chat_server_plus_one_surge_and_one_backup() {
    let settings = settings(&[]);
    for (plan, pods, req_cpu, req_mem, lim_cpu, lim_mem) in QUOTAS {
        let tenant = stored(minimal_json("acme", plan));
        assert_eq!(
            as_json(&resource_quota::build(&ctx(&tenant, &settings))),
            json!({
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "tenant-quota", "namespace": "tenant-acme",
                             "labels": common_labels(plan), "ownerReferences": owner()},
                "spec": {"hard": {
                    "pods": pods,
                    "requests.cpu": req_cpu, "requests.memory": req_mem,
                    "limits.cpu": lim_cpu, "limits.memory": lim_mem,
                    "services": "1", "services.loadbalancers": "0", "services.nodeports": "0",
                    "persistentvolumeclaims": "0", "secrets": "10", "configmaps": "10"
                }}
            }),
            "{plan}"
        );
    }
}

#[test]
fn a_higher_autoscaling_ceiling_raises_the_quota_with_it() {
    let doc = with(
        minimal_json("acme", "professional"),
        "/spec/chat/autoscaling/maxReplicas",
        json!(9),
    );
    let tenant = stored(doc);
    let settings = settings(&[]);
    let quota = as_json(&resource_quota::build(&ctx(&tenant, &settings)));
    assert_eq!(quota["spec"]["hard"]["pods"], json!("11"));
    assert_eq!(quota["spec"]["hard"]["limits.cpu"], json!("10500m"));
    assert_eq!(quota["spec"]["hard"]["requests.memory"], json!("2688Mi"));
}

#[test]
fn each_plan_gets_a_limit_range_with_its_container_defaults_and_ceiling() {
    let settings = settings(&[]);
    for (plan, req_cpu, req_mem, lim_cpu, lim_mem) in [
        ("starter", "100m", "128Mi", "500m", "256Mi"),
        ("professional", "250m", "256Mi", "1", "512Mi"),
        ("enterprise", "500m", "512Mi", "2", "1Gi"),
    ] {
        let tenant = stored(minimal_json("acme", plan));
        let limits = json!({"cpu": lim_cpu, "memory": lim_mem});
        assert_eq!(
            as_json(&limit_range::build(&ctx(&tenant, &settings))),
            json!({
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": {"name": "tenant-limits", "namespace": "tenant-acme",
                             "labels": common_labels(plan), "ownerReferences": owner()},
                "spec": {"limits": [{
                    "type": "Container",
                    "default": limits,
                    "defaultRequest": {"cpu": req_cpu, "memory": req_mem},
                    "max": limits
                }]}
            }),
            "{plan}"
        );
    }
}
