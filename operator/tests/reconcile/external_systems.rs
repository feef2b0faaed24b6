//! The bucket, the database user and the Redis user: called only when something changed, reported
//! and retried when they fail.

use atendo_operator::controller::providers::ProviderError;
use atendo_operator::tenant::DeletionPolicy;
use kube::api::DeleteParams;
use serde_json::json;

use crate::{World, acme, condition, event, events, sorted, sorted_events};

#[tokio::test]
async fn a_bucket_name_owned_by_someone_else_is_reported_and_retried() {
    let w = World::new();
    w.storage
        .taken
        .lock()
        .unwrap()
        .insert("atendo-acme-uploads".into());
    w.create(acme()).await;
    w.reconcile("acme").await.unwrap();
    let err = w.reconcile("acme").await.unwrap_err();
    assert!(
        err.to_string().contains("belongs to another account"),
        "{err}"
    );
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "StorageReady"),
        ("False".into(), "BucketNameTaken".into())
    );
    assert_eq!(
        condition(&tenant, "Ready"),
        ("False".into(), "BucketNameTaken".into())
    );

    // Deleting it, even with Delete, leaves the other account's bucket alone.
    w.patch_tenant("acme", json!({"spec": {"deletionPolicy": "Delete"}}))
        .await;
    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    w.reconcile("acme").await.unwrap();
    assert!(w.tenant("acme").await.is_none(), "finalizer removed");
    assert_eq!(*w.storage.retired.lock().unwrap(), vec![]);
    assert_eq!(
        *w.database.removed.lock().unwrap(),
        vec![("chat-acme".to_string(), DeletionPolicy::Delete)]
    );
}

#[tokio::test]
async fn a_resync_with_nothing_changed_calls_neither_the_bucket_nor_the_database() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    let calls = || {
        (
            *w.storage.ensure_calls.lock().unwrap(),
            *w.database.ensure_calls.lock().unwrap(),
        )
    };
    let bus_calls = || *w.bus.ensure_calls.lock().unwrap();
    assert_eq!((calls(), bus_calls()), ((1, 1), 1), "applied once");
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        (calls(), bus_calls()),
        ((1, 1), 1),
        "resync: no external call"
    );

    w.patch_tenant("acme", json!({"spec": {"storage": {"retentionDays": 30}}}))
        .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        calls(),
        (1, 1),
        "retention is the chat-server's (CHAT_RETENTION_DAYS), not the bucket's"
    );
    w.patch_tenant(
        "acme",
        json!({"spec": {"widget": {"allowedOrigins": ["https://www.acme.com"]}}}),
    )
    .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(calls(), (2, 1), "a bucket setting changed: only storage");
    assert_eq!(bus_calls(), 1);

    w.patch_tenant(
        "acme",
        json!({"metadata": {"annotations": {"atendo.io/rotate-credentials": "r1"}}}),
    )
    .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(calls(), (2, 2), "new password: the database");
    assert_eq!(bus_calls(), 2, "and the Redis user");

    w.patch_tenant(
        "acme",
        json!({"metadata": {"annotations": {"atendo.io/reconcile-requested-at": "t1"}}}),
    )
    .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(calls(), (3, 3), "a forced reconcile re-applies them all");
    assert_eq!(bus_calls(), 3);
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        (calls(), bus_calls()),
        ((3, 3), 3),
        "once per requested value"
    );
}

#[tokio::test]
async fn a_failed_external_step_is_retried_even_when_its_settings_did_not_change() {
    let w = World::new();
    w.storage
        .taken
        .lock()
        .unwrap()
        .insert("atendo-acme-uploads".into());
    w.create(acme()).await;
    w.reconcile("acme").await.unwrap();
    w.reconcile("acme").await.unwrap_err();
    w.storage.taken.lock().unwrap().clear();
    w.reconcile("acme").await.unwrap();
    assert_eq!(*w.storage.ensure_calls.lock().unwrap(), 2);
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(condition(&tenant, "StorageReady").0, "True");
}

#[tokio::test]
async fn a_redis_that_refuses_the_user_is_bus_ready_false_and_retried_until_it_accepts() {
    let w = World::new();
    *w.bus.fail_ensure.lock().unwrap() = Some(ProviderError::new(
        "AccessDenied",
        "ACL SETUSER tenant-acme: NOPERM this user has no permissions to run the 'acl' command",
    ));
    w.create(acme()).await;
    w.reconcile("acme").await.unwrap();
    let err = w.reconcile("acme").await.unwrap_err();
    assert_eq!((err.label(), err.reason()), ("provider", "AccessDenied"));
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "BusReady"),
        ("False".into(), "AccessDenied".into())
    );
    assert_eq!(condition(&tenant, "Ready").1, "AccessDenied");
    assert_eq!(
        sorted_events(&w),
        sorted(&[
            ("Normal", "NamespaceReady"),
            ("Normal", "StorageReady"),
            ("Normal", "DatabaseReady"),
            ("Warning", "AccessDenied"),
            ("Warning", "AccessDenied")
        ]),
        "BusReady's Warning and Ready's, the steps that worked"
    );
    assert!(
        w.api
            .get("apps", "deployments", "tenant-acme", "chat-server")
            .is_some(),
        "the rest is applied meanwhile"
    );
    *w.bus.fail_ensure.lock().unwrap() = None;
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        condition(&w.tenant("acme").await.unwrap(), "BusReady"),
        ("True".into(), "Provisioned".into())
    );
    assert!(w.bus.users.lock().unwrap().contains_key("tenant-acme"));
    assert_eq!(
        events(&w)[5..],
        [event("Normal", "BusReady"), event("Normal", "Progressing")]
    );
}

/// What the operator recorded in `status.applied.storage` for acme before uploads stopped
/// expiring by age: the SHA-256 of its bucket request, which then held the uploads' expiry days.
const PREVIOUS_STORAGE_SETTINGS: &str = "BucketRequest { bucket: \"atendo-acme-uploads\", \
    tenant: \"acme\", plan: Professional, retention_days: 90, backup_retention_days: 14, \
    origins: [\"https://acme.chat.example.com\"] }";

#[tokio::test]
async fn a_bucket_the_previous_operator_ensured_is_ensured_again_so_its_uploads_stop_expiring_by_age()
 {
    use sha2::Digest;
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    let calls = || *w.storage.ensure_calls.lock().unwrap();
    assert_eq!(calls(), 1);
    let previous = format!(
        "{:x}",
        sha2::Sha256::digest(PREVIOUS_STORAGE_SETTINGS.as_bytes())
    );
    // As an upgrade finds it: the bucket settled by the previous operator.
    w.tenants
        .patch_status(
            "acme",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {"applied": {"storage": previous}}})),
        )
        .await
        .unwrap();

    w.reconcile("acme").await.unwrap();
    assert_eq!(
        calls(),
        2,
        "the bucket is ensured again, with the new lifecycle"
    );
    let recorded = w
        .tenant("acme")
        .await
        .unwrap()
        .status
        .unwrap()
        .applied
        .unwrap();
    assert_ne!(recorded.storage, Some(previous));
    w.reconcile("acme").await.unwrap();
    assert_eq!(calls(), 2, "and once only");
}
