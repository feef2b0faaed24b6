//! The Events a Tenant's provisioning leaves, by type and reason: one per step that becomes True
//! (Normal, the condition type as reason) or fails (Warning, the condition's reason), one per
//! change of Ready (but none from one reason on the way to another), and none from a pass that
//! changes nothing or that runs again from a Tenant version whose status it already wrote.

use std::sync::Arc;

use atendo_operator::controller::reconcile;
use serde_json::json;

use crate::{World, acme, event, events, sorted, sorted_events};

const PROVISIONED: &[(&str, &str)] = &[
    ("Normal", "NamespaceReady"),
    ("Normal", "StorageReady"),
    ("Normal", "DatabaseReady"),
    ("Normal", "BusReady"),
    ("Normal", "Progressing"),
    ("Normal", "ChatServerReady"),
    ("Normal", "IngressReady"),
    ("Normal", "Provisioned"),
];

#[tokio::test]
async fn a_provisioned_tenant_leaves_one_event_per_step_and_per_ready_change_and_a_resync_adds_none()
 {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    assert_eq!(sorted_events(&w), sorted(PROVISIONED));
    for _ in 0..3 {
        w.reconcile("acme").await.unwrap();
    }
    assert_eq!(
        sorted_events(&w),
        sorted(PROVISIONED),
        "a resync records nothing"
    );
}

#[tokio::test]
async fn a_failing_provider_leaves_a_warning_with_its_reason_once_and_its_recovery_a_normal_event()
{
    let w = World::new();
    w.storage
        .taken
        .lock()
        .unwrap()
        .insert("atendo-acme-uploads".into());
    w.create(acme()).await;
    w.reconcile("acme").await.unwrap();
    w.reconcile("acme").await.unwrap_err();
    w.reconcile("acme").await.unwrap_err();
    let failed = [
        ("Normal", "NamespaceReady"),
        ("Warning", "BucketNameTaken"),
        ("Normal", "DatabaseReady"),
        ("Normal", "BusReady"),
        ("Warning", "BucketNameTaken"),
    ];
    assert_eq!(
        sorted_events(&w),
        sorted(&failed),
        "StorageReady's Warning and Ready's, each once although the step failed twice"
    );
    w.storage.taken.lock().unwrap().clear();
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        events(&w)[failed.len()..],
        [
            event("Normal", "StorageReady"),
            event("Normal", "Progressing")
        ]
    );
}

#[tokio::test]
async fn a_tenant_that_falls_out_of_ready_and_comes_back_gets_a_second_ready_event() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    // Its last replica goes away: Ready is False (Progressing) until one is back.
    let mut deployment = w.deployment("tenant-acme").unwrap();
    deployment["status"]["availableReplicas"] = json!(0);
    w.api.put("apps", "deployments", "tenant-acme", deployment);
    w.reconcile("acme").await.unwrap();
    w.reconcile("acme").await.unwrap();
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    let count = |reason: &str| events(&w).iter().filter(|e| e.1 == reason).count();
    assert_eq!(
        (
            count("Provisioned"),
            count("Progressing"),
            count("ChatServerReady")
        ),
        (2, 2, 2)
    );
    assert_eq!(events(&w).len(), PROVISIONED.len() + 3);
}

#[tokio::test]
async fn a_tenant_whose_chat_server_is_up_before_its_address_is_announced_progressing_once() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    // The Deployment controller first, the ingress controller later: Ready goes from
    // Progressing to AwaitingAddress, both on the way, which ChatServerReady's Event tells.
    let mut deployment = w.deployment("tenant-acme").unwrap();
    deployment["status"] = json!({"observedGeneration": deployment["metadata"]["generation"], "replicas": 2, "availableReplicas": 2});
    w.api.put("apps", "deployments", "tenant-acme", deployment);
    w.reconcile("acme").await.unwrap();
    let ready = crate::condition(&w.tenant("acme").await.unwrap(), "Ready");
    assert_eq!(ready, ("False".into(), "AwaitingAddress".into()));
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        sorted_events(&w),
        sorted(PROVISIONED),
        "no AwaitingAddress Event"
    );
}

#[tokio::test]
async fn a_pass_from_a_tenant_version_already_answered_writes_and_announces_nothing() {
    let w = World::new();
    w.create(acme()).await;
    w.reconcile("acme").await.unwrap(); // the finalizer
    let seen = Arc::new(w.tenant("acme").await.unwrap());
    reconcile(seen.clone(), w.ctx.clone()).await.unwrap();
    let events_after_first = events(&w);
    assert_eq!(events_after_first.len(), 5, "{events_after_first:?}");
    // The Controller's store has not shown that status write yet, and a watch of an owned
    // object wakes the Tenant: the same version comes round again.
    w.api.clear_calls();
    reconcile(seen.clone(), w.ctx.clone()).await.unwrap();
    assert_eq!(w.api.writes(), [], "no status written again");
    assert_eq!(events(&w), events_after_first, "no Event announced again");
    // The version with the status it wrote goes on as usual.
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    assert_eq!(sorted_events(&w), sorted(PROVISIONED));
}
