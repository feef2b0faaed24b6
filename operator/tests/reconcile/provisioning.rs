//! A new Tenant's objects, bucket and users; what a repeated pass, a spec change, drift and an
//! invalid spec do.

use kube::runtime::controller::Action;
use serde_json::json;

use crate::{World, acme, common, condition, event, events, secret_data, sorted, sorted_events};

#[tokio::test]
async fn a_new_tenant_is_provisioned_and_becomes_ready_once_its_workload_is_up() {
    let w = World::new();
    w.create(acme()).await;
    assert_eq!(
        w.reconcile("acme").await.unwrap(),
        Action::await_change(),
        "first pass only adds the finalizer"
    );
    assert_eq!(
        w.tenant("acme").await.unwrap().metadata.finalizers,
        Some(vec!["atendo.io/cleanup".to_string()])
    );
    w.reconcile("acme").await.unwrap();

    assert!(w.api.get("", "namespaces", "", "tenant-acme").is_some());
    for (group, resource, name) in [
        ("", "resourcequotas", "tenant-quota"),
        ("", "limitranges", "tenant-limits"),
        ("networking.k8s.io", "networkpolicies", "tenant-isolation"),
        (
            "networking.k8s.io",
            "networkpolicies",
            "tenant-backup-isolation",
        ),
        ("", "serviceaccounts", "chat-server"),
        ("", "secrets", "chat-database"),
        ("", "secrets", "chat-credentials"),
        ("", "configmaps", "chat-server"),
        ("apps", "deployments", "chat-server"),
        ("", "services", "chat-server"),
        ("networking.k8s.io", "ingresses", "chat-server"),
        ("autoscaling", "horizontalpodautoscalers", "chat-server"),
        ("policy", "poddisruptionbudgets", "chat-server"),
        ("batch", "cronjobs", "chat-server-backup"),
    ] {
        assert!(
            w.api.get(group, resource, "tenant-acme", name).is_some(),
            "{resource}/{name}"
        );
    }
    // acme is on the professional plan: a daily backup into its own bucket, on schedule.
    let cron_job = w
        .api
        .get("batch", "cronjobs", "tenant-acme", "chat-server-backup")
        .unwrap();
    let plan = atendo_operator::plan::Sizing::for_plan(atendo_operator::tenant::Plan::Professional);
    assert_eq!(
        cron_job["spec"]["schedule"],
        json!(atendo_operator::resources::backup_cron_job::schedule(
            "acme",
            plan.backups
        ))
    );
    assert_eq!(cron_job["spec"]["suspend"], json!(false));
    assert_eq!(
        cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["backup", "--to", "s3://atendo-acme-uploads/backups"])
    );
    assert!(
        w.storage
            .buckets
            .lock()
            .unwrap()
            .contains_key("atendo-acme-uploads")
    );
    assert_eq!(
        w.database.users.lock().unwrap()["chat-acme"].0,
        "tenant_acme"
    );
    let (prefix, bus_password) = w.bus.users.lock().unwrap()["tenant-acme"].clone();
    assert_eq!(
        prefix, "tenant-acme:",
        "the chat-server's channels are tenant-acme:<topic>"
    );
    assert_eq!(bus_password.len(), 32);
    let credentials = secret_data(&w, "chat-credentials");
    assert_eq!(
        credentials["busUrl"],
        format!("redis://tenant-acme:{bus_password}@redis.atendo:6379"),
        "CHAT_BUS signs in as the tenant's own user"
    );
    assert_eq!(credentials["busUser"], "tenant-acme");
    let config = w
        .api
        .get("", "configmaps", "tenant-acme", "chat-server")
        .unwrap();
    assert_eq!(config["data"]["CHAT_BUS_NAMESPACE"], "tenant-acme");

    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "Ready"),
        ("False".into(), "Progressing".into())
    );
    assert_eq!(condition(&tenant, "NamespaceReady").0, "True");
    assert_eq!(
        condition(&tenant, "StorageReady"),
        ("True".into(), "Provisioned".into())
    );
    assert_eq!(
        condition(&tenant, "IngressReady"),
        ("False".into(), "AwaitingAddress".into())
    );
    assert_eq!(
        condition(&tenant, "BusReady"),
        ("True".into(), "Provisioned".into())
    );
    assert_eq!(
        sorted_events(&w),
        sorted(&[
            ("Normal", "NamespaceReady"),
            ("Normal", "StorageReady"),
            ("Normal", "DatabaseReady"),
            ("Normal", "BusReady"),
            ("Normal", "Progressing")
        ]),
        "one per step done; waiting for the workload is no warning"
    );

    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "Ready"),
        ("True".into(), "Provisioned".into())
    );
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        events(&w)[5..],
        [
            event("Normal", "ChatServerReady"),
            event("Normal", "IngressReady"),
            event("Normal", "Provisioned")
        ],
        "one Event per change of a step and of Ready, none for a pass that changes nothing"
    );
    let status = tenant.status.unwrap();
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.url.as_deref(), Some("https://acme.chat.example.com"));
    assert_eq!(status.namespace.as_deref(), Some("tenant-acme"));
    assert_eq!(status.bucket.as_deref(), Some("atendo-acme-uploads"));
    assert_eq!(
        status.database.map(|d| (d.name, d.user)),
        Some(("tenant_acme".into(), "chat-acme".into()))
    );
    assert_eq!(
        status.bus.map(|b| b.user).as_deref(),
        Some("tenant-acme"),
        "the Redis user deletion removes"
    );
    assert!(
        status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(1))
    );
}

#[tokio::test]
async fn a_reconcile_with_nothing_to_do_writes_nothing() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.converge("tenant-acme");
    w.reconcile("acme").await.unwrap();
    w.api.clear_calls();
    w.reconcile("acme").await.unwrap();
    assert_eq!(w.api.writes(), vec![]);
    assert!(!w.api.calls().is_empty(), "it did read");
}

#[tokio::test]
async fn a_spec_change_is_applied_and_its_generation_observed() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    w.patch_tenant(
        "acme",
        json!({"spec": {"plan": "enterprise", "chat": null}}),
    )
    .await;
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(tenant.metadata.generation, Some(2));
    w.reconcile("acme").await.unwrap();
    let deployment = w.deployment("tenant-acme").unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"],
        json!({"cpu": "2", "memory": "1Gi"})
    );
    let hpa = w
        .api
        .get(
            "autoscaling",
            "horizontalpodautoscalers",
            "tenant-acme",
            "chat-server",
        )
        .unwrap();
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].clone(),
            hpa["spec"]["maxReplicas"].clone()
        ),
        (json!(3), json!(20))
    );
    let status = w.tenant("acme").await.unwrap().status.unwrap();
    assert_eq!(status.observed_generation, Some(2));
}

#[tokio::test]
async fn drift_in_an_owned_object_is_corrected_and_foreign_fields_are_kept() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    let mut deployment = w.deployment("tenant-acme").unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil/image:latest");
    deployment["metadata"]["annotations"]["someone.else/note"] = json!("kept");
    w.api.put("apps", "deployments", "tenant-acme", deployment);
    w.api.put("", "configmaps", "tenant-acme", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chat-server"}, "data": {}}));

    w.reconcile("acme").await.unwrap();
    let deployment = w.deployment("tenant-acme").unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("registry.example.com/atendo/chat-server:1.0.0")
    );
    assert_eq!(
        deployment["metadata"]["annotations"]["someone.else/note"],
        json!("kept")
    );
    let cm = w
        .api
        .get("", "configmaps", "tenant-acme", "chat-server")
        .unwrap();
    assert_eq!(
        cm["data"]["CHAT_PUBLIC_URL"],
        json!("https://acme.chat.example.com")
    );
}

#[tokio::test]
async fn an_invalid_tenant_gets_invalid_spec_and_no_retry_loop() {
    let w = World::new();
    // Admission is not modelled, so the fake stores what the CRD's CEL rules would refuse.
    w.create(common::with(
        acme(),
        "/spec/branding/primaryColor",
        json!("blue"),
    ))
    .await;
    w.reconcile("acme").await.unwrap();
    assert_eq!(w.reconcile("acme").await.unwrap(), Action::await_change());
    let tenant = w.tenant("acme").await.unwrap();
    assert_eq!(
        condition(&tenant, "Ready"),
        ("False".into(), "InvalidSpec".into())
    );
    assert!(
        tenant.status.unwrap().conditions[0]
            .message
            .contains("spec.branding.primaryColor")
    );
    assert!(w.api.get("", "namespaces", "", "tenant-acme").is_none());
}
