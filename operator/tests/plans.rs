//! Plan defaults and how explicit spec fields override them.

mod common;

use atendo_operator::plan::{Autoscaling, Backups, RateLimits, Resources, Sizing};
use atendo_operator::tenant::Plan;
use common::{full_tenant_json, tenant, with, without};
use pretty_assertions::assert_eq;
use serde_json::json;

fn minimal(plan: &str) -> serde_json::Value {
    json!({"metadata": {"name": "acme"}, "spec": {"displayName": "ACME", "plan": plan}})
}

#[test]
fn a_tenant_without_overrides_gets_its_plans_defaults() {
    for plan in Plan::ALL {
        let spec = tenant(minimal(plan.as_str())).spec;
        assert_eq!(Sizing::resolve(&spec), Sizing::for_plan(plan), "{plan:?}");
    }
}

#[test]
fn plans_grow_from_starter_to_enterprise() {
    let [s, p, e] = Plan::ALL.map(Sizing::for_plan);
    assert_eq!(
        s,
        Sizing {
            replicas: 1,
            autoscaling: None,
            resources: Resources {
                cpu_request_m: 100,
                memory_request_mi: 128,
                cpu_limit_m: 500,
                memory_limit_mi: 256
            },
            retention_days: 30,
            max_upload_mb: 10,
            rate_limits: RateLimits {
                ws_rate: 10,
                ws_burst: 30,
                visitor_rate: 20
            },
            backups: Backups {
                every_hours: 24,
                retention_days: 7
            },
        }
    );
    assert_eq!(
        p.autoscaling,
        Some(Autoscaling {
            min_replicas: 2,
            max_replicas: 6,
            target_cpu_utilization: 70
        })
    );
    assert_eq!(
        e.autoscaling,
        Some(Autoscaling {
            min_replicas: 3,
            max_replicas: 20,
            target_cpu_utilization: 65
        })
    );
    for (small, big) in [(s, p), (p, e)] {
        assert!(big.resources.cpu_limit_m > small.resources.cpu_limit_m);
        assert!(big.resources.memory_limit_mi > small.resources.memory_limit_mi);
        assert!(big.retention_days > small.retention_days);
        assert!(big.max_upload_mb > small.max_upload_mb);
        assert!(big.rate_limits.ws_rate > small.rate_limits.ws_rate);
        assert!(big.backups.retention_days > small.backups.retention_days);
        assert!(big.backups.every_hours <= small.backups.every_hours);
    }
    assert_eq!((p.backups.every_hours, e.backups.every_hours), (24, 6));
}

#[test]
fn explicit_fields_override_the_plan_one_by_one() {
    let doc = with(
        minimal("professional"),
        "/spec/chat/autoscaling/maxReplicas",
        json!(10),
    );
    let doc = with(doc, "/spec/storage/retentionDays", json!(7));
    let sizing = Sizing::resolve(&tenant(doc).spec);
    let mut expected = Sizing::for_plan(Plan::Professional);
    expected.autoscaling = Some(Autoscaling {
        min_replicas: 2,
        max_replicas: 10,
        target_cpu_utilization: 70,
    });
    expected.retention_days = 7;
    assert_eq!(sizing, expected);
}

#[test]
fn every_field_of_the_full_example_overrides_the_plan() {
    let doc = with(full_tenant_json(), "/spec/plan", json!("enterprise"));
    let sizing = Sizing::resolve(&tenant(doc).spec);
    assert_eq!(sizing.replicas, 2);
    assert_eq!(
        sizing.autoscaling,
        Some(Autoscaling {
            min_replicas: 2,
            max_replicas: 6,
            target_cpu_utilization: 70
        })
    );
    assert_eq!((sizing.retention_days, sizing.max_upload_mb), (90, 25));
    assert_eq!(
        sizing.resources,
        Sizing::for_plan(Plan::Enterprise).resources
    );
}

#[test]
fn autoscaling_in_a_plan_without_it_starts_from_the_replica_count() {
    let doc = with(
        minimal("starter"),
        "/spec/chat",
        json!({"replicas": 2, "autoscaling": {"maxReplicas": 4}}),
    );
    let sizing = Sizing::resolve(&tenant(doc).spec);
    assert_eq!(
        sizing.autoscaling,
        Some(Autoscaling {
            min_replicas: 2,
            max_replicas: 4,
            target_cpu_utilization: 70
        })
    );
}

#[test]
fn max_pods_leaves_room_for_one_rolling_update_surge() {
    assert_eq!(Sizing::for_plan(Plan::Starter).max_pods(), 2);
    assert_eq!(Sizing::for_plan(Plan::Enterprise).max_pods(), 21);
    let fixed = without(
        with(minimal("starter"), "/spec/chat/replicas", json!(4)),
        "/spec/chat/autoscaling",
    );
    assert_eq!(Sizing::resolve(&tenant(fixed).spec).max_pods(), 5);
}
