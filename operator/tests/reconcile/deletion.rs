//! Deletion under both policies, after the Tenant stopped validating, and when cleanup fails.

use std::sync::Arc;

use atendo_operator::controller::Context;
use atendo_operator::controller::providers::ProviderError;
use atendo_operator::tenant::DeletionPolicy;
use kube::api::DeleteParams;
use serde_json::json;

use crate::{World, acme, common, condition};

async fn delete_with(policy: &str) -> World {
    let w = World::new();
    w.create(common::with(acme(), "/spec/deletionPolicy", json!(policy)))
        .await;
    w.provision("acme").await;
    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        w.tenant("acme")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some(),
        "held by the finalizer"
    );
    w.reconcile("acme").await.unwrap();
    assert!(w.tenant("acme").await.is_none(), "finalizer removed");
    assert!(w.api.get("", "namespaces", "", "tenant-acme").is_none());
    assert!(w.api.names("apps", "deployments", "tenant-acme").is_empty());
    w
}

#[tokio::test]
async fn deleting_a_retain_tenant_removes_user_and_namespace_and_keeps_the_data() {
    let w = delete_with("Retain").await;
    assert_eq!(
        *w.storage.retired.lock().unwrap(),
        vec![("atendo-acme-uploads".to_string(), DeletionPolicy::Retain)]
    );
    assert!(
        w.storage
            .buckets
            .lock()
            .unwrap()
            .contains_key("atendo-acme-uploads")
    );
    assert_eq!(
        *w.database.removed.lock().unwrap(),
        vec![("chat-acme".to_string(), DeletionPolicy::Retain)]
    );
    assert!(w.database.dropped_databases.lock().unwrap().is_empty());
    assert_eq!(
        *w.bus.removed.lock().unwrap(),
        vec!["tenant-acme".to_string()]
    );
    assert!(w.bus.users.lock().unwrap().is_empty());
}

#[tokio::test]
async fn deleting_a_delete_tenant_also_removes_bucket_and_database() {
    let w = delete_with("Delete").await;
    assert!(w.storage.buckets.lock().unwrap().is_empty());
    assert_eq!(
        *w.database.dropped_databases.lock().unwrap(),
        vec!["tenant_acme".to_string()]
    );
    assert_eq!(
        *w.bus.removed.lock().unwrap(),
        vec!["tenant-acme".to_string()]
    );
    assert!(w.bus.users.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_tenant_that_stopped_validating_after_it_was_provisioned_still_cleans_up_on_deletion() {
    let mut w = World::new();
    w.create(common::with(
        acme(),
        "/spec/deletionPolicy",
        json!("Delete"),
    ))
    .await;
    w.provision("acme").await;
    // An operator upgrade whose bucket template gives a name S3 refuses: the Tenant no longer
    // validates, but its bucket and users from before are still there.
    w.ctx = Arc::new(Context::new(
        w.api.client(),
        common::settings(&["--bucket-name-template=Atendo-{tenant}-Uploads"]),
        w.storage.clone(),
        w.database.clone(),
        w.bus.clone(),
    ));
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        condition(&w.tenant("acme").await.unwrap(), "Ready"),
        ("False".into(), "InvalidSpec".into())
    );

    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    w.reconcile("acme").await.unwrap();
    assert!(w.tenant("acme").await.is_none(), "finalizer removed");
    assert_eq!(
        *w.storage.retired.lock().unwrap(),
        vec![("atendo-acme-uploads".to_string(), DeletionPolicy::Delete)],
        "the bucket it was provisioned with, not one the new template names"
    );
    assert!(w.storage.buckets.lock().unwrap().is_empty());
    assert_eq!(
        *w.database.removed.lock().unwrap(),
        vec![("chat-acme".to_string(), DeletionPolicy::Delete)]
    );
    assert_eq!(
        *w.database.dropped_databases.lock().unwrap(),
        vec!["tenant_acme".to_string()]
    );
    assert_eq!(
        *w.bus.removed.lock().unwrap(),
        vec!["tenant-acme".to_string()]
    );
    assert!(w.api.get("", "namespaces", "", "tenant-acme").is_none());
}

#[tokio::test]
async fn a_failing_cleanup_keeps_the_finalizer_says_why_and_can_be_skipped() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    *w.storage.fail_retire.lock().unwrap() =
        Some(ProviderError::new("Unavailable", "S3 answered 503"));
    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    let err = w.reconcile("acme").await.unwrap_err();
    assert_eq!(err.label(), "provider");
    let tenant = w.tenant("acme").await.expect("still there");
    assert_eq!(
        condition(&tenant, "Ready"),
        ("False".into(), "CleanupFailed".into())
    );
    let message = &tenant.status.unwrap().conditions[0].message;
    assert!(
        message.contains("S3 answered 503") && message.contains("atendo.io/skip-external-cleanup"),
        "{message}"
    );

    w.patch_tenant(
        "acme",
        json!({"metadata": {"annotations": {"atendo.io/skip-external-cleanup": "true"}}}),
    )
    .await;
    w.reconcile("acme").await.unwrap();
    assert!(w.tenant("acme").await.is_none());
}
