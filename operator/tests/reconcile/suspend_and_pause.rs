//! Suspending (scaled to zero, no autoscaler), un-suspending, and the paused annotation.

use kube::api::DeleteParams;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use crate::{World, acme, condition};

#[tokio::test]
async fn a_suspended_tenant_scales_to_zero_loses_its_autoscaler_and_says_so() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.converge("tenant-acme");
    w.patch_tenant("acme", json!({"spec": {"suspended": true}}))
        .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        w.deployment("tenant-acme").unwrap()["spec"]["replicas"],
        json!(0)
    );
    assert_eq!(
        w.api.get(
            "autoscaling",
            "horizontalpodautoscalers",
            "tenant-acme",
            "chat-server"
        ),
        None
    );
    let backups = |w: &World| {
        w.api
            .get("batch", "cronjobs", "tenant-acme", "chat-server-backup")
            .expect("the backup CronJob stays")["spec"]["suspend"]
            .clone()
    };
    assert_eq!(backups(&w), json!(true), "no backups of a suspended tenant");
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "ChatServerReady"),
        ("True".into(), "Suspended".into())
    );
    assert_eq!(
        condition(&tenant, "Ready"),
        ("True".into(), "Suspended".into())
    );
    assert!(
        w.storage
            .buckets
            .lock()
            .unwrap()
            .contains_key("atendo-acme-uploads"),
        "data kept"
    );
}

#[tokio::test]
async fn an_unsuspended_tenant_gets_its_autoscaler_back_and_the_replica_count_is_the_autoscalers_again()
 {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.converge("tenant-acme");
    w.patch_tenant("acme", json!({"spec": {"suspended": true}}))
        .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        w.deployment("tenant-acme").unwrap()["spec"]["replicas"],
        json!(0)
    );

    w.patch_tenant("acme", json!({"spec": {"suspended": false}}))
        .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        w.api
            .get("batch", "cronjobs", "tenant-acme", "chat-server-backup")
            .unwrap()["spec"]["suspend"],
        json!(false),
        "backups resume"
    );
    let hpa = w
        .api
        .get(
            "autoscaling",
            "horizontalpodautoscalers",
            "tenant-acme",
            "chat-server",
        )
        .expect("autoscaler back");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "chat-server");
    assert_eq!(
        (&hpa["spec"]["minReplicas"], &hpa["spec"]["maxReplicas"]),
        (&json!(2), &json!(6))
    );
    // The operator no longer applies a count: the API server defaults the field (the fake does
    // no defaulting, so it is absent) and the HPA scales from there.
    assert_eq!(
        w.deployment("tenant-acme").unwrap()["spec"]["replicas"],
        Value::Null,
        "the suspension's 0 is not left behind"
    );
    // What the HPA then sets stays: a later reconcile neither pins nor rewrites it.
    let mut deployment = w.deployment("tenant-acme").unwrap();
    deployment["spec"]["replicas"] = json!(4);
    w.api.put("apps", "deployments", "tenant-acme", deployment);
    w.converge("tenant-acme");
    w.api.clear_calls();
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        w.deployment("tenant-acme").unwrap()["spec"]["replicas"],
        json!(4)
    );
    assert!(
        !w.api
            .writes()
            .iter()
            .any(|c| c.path.contains("deployments")),
        "the Deployment is left to the HPA"
    );
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "Ready"),
        ("True".into(), "Provisioned".into())
    );
}

#[tokio::test]
async fn a_paused_tenant_is_left_alone_but_can_still_be_deleted() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.patch_tenant("acme", json!({"metadata": {"annotations": {"atendo.io/paused": "true"}}, "spec": {"plan": "starter", "chat": null}})).await;
    w.api.clear_calls();
    assert_eq!(w.reconcile("acme").await.unwrap(), Action::await_change());
    // Only the status that says so, and the Event for that change of Ready.
    let writes: Vec<String> = w.api.writes().into_iter().map(|c| c.path).collect();
    assert_eq!(
        writes,
        [
            "/apis/atendo.io/v1alpha1/tenants/acme/status",
            "/apis/events.k8s.io/v1/namespaces/default/events"
        ]
    );
    assert_eq!(
        condition(&w.tenant("acme").await.unwrap(), "Ready"),
        ("False".into(), "Paused".into())
    );
    assert!(
        w.api
            .get(
                "autoscaling",
                "horizontalpodautoscalers",
                "tenant-acme",
                "chat-server"
            )
            .is_some(),
        "starter plan not applied"
    );

    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    w.reconcile("acme").await.unwrap();
    assert!(w.tenant("acme").await.is_none());
    assert!(w.api.get("", "namespaces", "", "tenant-acme").is_none());
}
