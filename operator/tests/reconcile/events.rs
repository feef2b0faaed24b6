//! The Events a Tenant's provisioning leaves, by type and reason: one per step that becomes True
//! (Normal, the condition type as reason) or fails (Warning, the condition's reason), one per
//! change of Ready, and none from a pass that changes nothing.

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
