//! Reconcile scenarios against the in-memory API fake (tests/support/fake_api.rs lists what it
//! does not model: admission, defaulting, garbage collection, built-in controllers). Each test
//! drives `reconcile` by hand, one pass at a time, and asserts on stored objects and recorded
//! calls; `the_controller_*` runs the real watching Controller.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::controller::providers::ProviderError;
use atendo_operator::controller::{Context, controller, reconcile};
use atendo_operator::tenant::{DeletionPolicy, Tenant};
use futures::StreamExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use support::fake_api::FakeApi;
use support::providers::{MemoryBus, MemoryDatabase, MemoryStorage};

struct World {
    api: FakeApi,
    storage: Arc<MemoryStorage>,
    database: Arc<MemoryDatabase>,
    bus: Arc<MemoryBus>,
    ctx: Arc<Context>,
    tenants: Api<Tenant>,
}

impl World {
    fn new() -> Self {
        let api = FakeApi::default();
        let storage = Arc::new(MemoryStorage::default());
        let database = Arc::new(MemoryDatabase::default());
        let bus = Arc::new(MemoryBus::default());
        let ctx = Arc::new(Context::new(
            api.client(),
            common::settings(&[]),
            storage.clone(),
            database.clone(),
            bus.clone(),
        ));
        let tenants = Api::all(api.client());
        World {
            api,
            storage,
            database,
            bus,
            ctx,
            tenants,
        }
    }

    async fn create(&self, doc: Value) {
        let tenant: Tenant = serde_json::from_value(doc).unwrap();
        self.tenants
            .create(&PostParams::default(), &tenant)
            .await
            .unwrap();
    }

    async fn tenant(&self, name: &str) -> Option<Tenant> {
        self.tenants.get_opt(name).await.unwrap()
    }

    /// One reconcile of the stored Tenant, as the Controller would run it.
    async fn reconcile(&self, name: &str) -> Result<Action, atendo_operator::controller::Error> {
        let tenant = self.tenant(name).await.expect("tenant exists");
        reconcile(Arc::new(tenant), self.ctx.clone()).await
    }

    /// Finalizer pass, then the first full pass.
    async fn provision(&self, name: &str) {
        self.reconcile(name).await.unwrap();
        self.reconcile(name).await.unwrap();
    }

    async fn patch_tenant(&self, name: &str, patch: Value) {
        self.tenants
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }

    fn deployment(&self, ns: &str) -> Option<Value> {
        self.api.get("apps", "deployments", ns, "chat-server")
    }

    /// What the Deployment controller and the ingress controller would report once all is well.
    fn converge(&self, ns: &str) {
        let mut deployment = self.deployment(ns).unwrap();
        deployment["status"] = json!({"observedGeneration": deployment["metadata"]["generation"], "replicas": 2, "availableReplicas": 2});
        self.api.put("apps", "deployments", ns, deployment);
        let mut ingress = self
            .api
            .get("networking.k8s.io", "ingresses", ns, "chat-server")
            .unwrap();
        ingress["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}});
        self.api.put("networking.k8s.io", "ingresses", ns, ingress);
    }
}

fn condition(tenant: &Tenant, kind: &str) -> (String, String) {
    let c = tenant
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
        .unwrap_or_else(|| panic!("no {kind} condition"));
    (c.status.clone(), c.reason.clone())
}

/// A Secret's data as text.
fn secret_data(w: &World, name: &str) -> std::collections::BTreeMap<String, String> {
    let secret: k8s_openapi::api::core::v1::Secret =
        serde_json::from_value(w.api.get("", "secrets", "tenant-acme", name).unwrap()).unwrap();
    secret
        .data
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect()
}

/// The Events recorded about Tenants so far, oldest first, as (type, reason); each checked to be
/// about its Tenant and from the operator, as `kubectl describe tenant` would show them.
fn events(w: &World) -> Vec<(String, String)> {
    // A cluster-scoped Tenant's Events go to the client's default namespace.
    let mut events: Vec<Value> = w
        .api
        .names("events.k8s.io", "events", "default")
        .iter()
        .map(|name| {
            w.api
                .get("events.k8s.io", "events", "default", name)
                .unwrap()
        })
        .collect();
    events.sort_by_key(|e| e["eventTime"].as_str().unwrap().to_string());
    events
        .iter()
        .map(|e| {
            assert_eq!(e["regarding"]["kind"], "Tenant");
            assert_eq!(e["reportingController"], "atendo-operator");
            (
                e["type"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn event(kind: &str, reason: &str) -> (String, String) {
    (kind.into(), reason.into())
}

fn acme() -> Value {
    common::full_tenant_json()
}

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
        ("", "serviceaccounts", "chat-server"),
        ("", "secrets", "chat-database"),
        ("", "secrets", "chat-credentials"),
        ("", "configmaps", "chat-server"),
        ("apps", "deployments", "chat-server"),
        ("", "services", "chat-server"),
        ("networking.k8s.io", "ingresses", "chat-server"),
        ("autoscaling", "horizontalpodautoscalers", "chat-server"),
        ("policy", "poddisruptionbudgets", "chat-server"),
    ] {
        assert!(
            w.api.get(group, resource, "tenant-acme", name).is_some(),
            "{resource}/{name}"
        );
    }
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
        events(&w),
        [event("Normal", "Progressing")],
        "waiting for the workload is no warning"
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
        events(&w),
        [
            event("Normal", "Progressing"),
            event("Normal", "Provisioned")
        ],
        "one Event per change of Ready, none for a pass that changes nothing"
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
async fn credentials_are_generated_once_and_rotated_on_request() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    let password = || w.database.users.lock().unwrap()["chat-acme"].1.clone();
    let bus_password = || w.bus.users.lock().unwrap()["tenant-acme"].1.clone();
    let bus_url = || secret_data(&w, "chat-credentials")["busUrl"].clone();
    let hash = || {
        w.deployment("tenant-acme").unwrap()["spec"]["template"]["metadata"]["annotations"]["atendo.io/config-hash"].clone()
    };
    let admin = || {
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(
            w.api
                .get("", "secrets", "tenant-acme", "chat-admin")
                .expect("the first admin's Secret"),
        )
        .unwrap();
        let data = secret.data.unwrap();
        let field = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
        (field("email"), field("password"))
    };
    let (first, first_hash, first_admin) = (password(), hash(), admin());
    let (first_bus, first_url) = (bus_password(), bus_url());
    assert!(first_url.contains(&first_bus));
    assert_eq!(first.len(), 32);
    assert_eq!(
        (first_admin.0.as_str(), first_admin.1.len()),
        ("admin@acme.chat.example.com", 24),
        "the default admin email"
    );
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        (password(), hash()),
        (first.clone(), first_hash.clone()),
        "kept across reconciles"
    );

    w.patch_tenant(
        "acme",
        json!({"metadata": {"annotations": {"atendo.io/rotate-credentials": "2026-01-02"}}}),
    )
    .await;
    w.reconcile("acme").await.unwrap();
    let (second, second_hash) = (password(), hash());
    assert_ne!(second, first);
    let second_bus = bus_password();
    assert_ne!(
        second_bus, first_bus,
        "the Redis user's password rotates too"
    );
    assert_eq!(
        bus_url(),
        format!("redis://tenant-acme:{second_bus}@redis.atendo:6379"),
        "and the pods' CHAT_BUS with it"
    );
    assert_ne!(
        second_hash, first_hash,
        "pods roll onto the new credentials"
    );
    w.reconcile("acme").await.unwrap();
    assert_eq!(password(), second, "one rotation per new annotation value");
    assert_eq!(
        admin(),
        first_admin,
        "rotation leaves the first admin's initial password alone"
    );
}

#[tokio::test]
async fn the_controller_provisions_a_tenant_and_restores_a_deleted_deployment() {
    let w = World::new();
    let running = tokio::spawn(controller(w.ctx.clone()).for_each(|_| async {}));
    w.create(acme()).await;
    let wait = |what: &'static str, check: Box<dyn Fn() -> bool + Send>| async move {
        for _ in 0..200 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    };
    let api = w.api.clone();
    wait(
        "the deployment",
        Box::new(move || {
            api.get("apps", "deployments", "tenant-acme", "chat-server")
                .is_some()
        }),
    )
    .await;

    // Deleted by hand: the Deployment watch brings the Tenant back into the queue.
    Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(w.api.client(), "tenant-acme")
        .delete("chat-server", &DeleteParams::default())
        .await
        .unwrap();
    assert!(w.deployment("tenant-acme").is_none());
    let api = w.api.clone();
    wait(
        "the deployment to come back",
        Box::new(move || {
            api.get("apps", "deployments", "tenant-acme", "chat-server")
                .is_some()
        }),
    )
    .await;
    running.abort();
}

#[tokio::test]
async fn the_error_policy_backs_off_exponentially_per_tenant_up_to_five_minutes() {
    let w = World::new();
    w.storage
        .taken
        .lock()
        .unwrap()
        .insert("atendo-acme-uploads".into());
    w.create(acme()).await;
    w.create(common::minimal_json("globex", "starter")).await;
    w.reconcile("acme").await.unwrap();
    let mut delays = vec![];
    for _ in 0..8 {
        let error = w.reconcile("acme").await.unwrap_err();
        let tenant = Arc::new(w.tenant("acme").await.unwrap());
        delays.push(atendo_operator::controller::error_policy(
            tenant,
            &error,
            w.ctx.clone(),
        ));
    }
    let expected: Vec<Action> = [5, 10, 20, 40, 80, 160, 300, 300]
        .map(|s| Action::requeue(Duration::from_secs(s)))
        .to_vec();
    assert_eq!(delays, expected);
    // Another tenant's first failure starts at the bottom: backoff is per object.
    let globex = Arc::new(w.tenant("globex").await.unwrap());
    let error = atendo_operator::controller::Error::Finalizer("test".into());
    assert_eq!(
        atendo_operator::controller::error_policy(globex, &error, w.ctx.clone()),
        Action::requeue(Duration::from_secs(5))
    );
}

#[tokio::test]
async fn a_new_reconcile_requested_at_value_makes_the_controller_reconcile_at_once() {
    let w = World::new();
    let running = tokio::spawn(controller(w.ctx.clone()).for_each(|_| async {}));
    w.create(acme()).await;
    let reconciles = || {
        w.ctx
            .metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix("atendo_operator_reconciles_total "))
            .map(|v| v.parse::<f64>().unwrap())
            .unwrap_or(0.0)
    };
    // Settled: no reconcile for a while (the next requeue is 15 s away). A controller stuck in
    // a requeue loop never settles, and must fail here rather than pass below.
    let mut last = -1.0;
    let mut settled = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = reconciles();
        if now == last && now > 0.0 {
            settled = Some(now);
            break;
        }
        last = now;
    }
    let settled = settled.expect("the controller never settled: it reconciles again and again");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        reconciles(),
        settled,
        "a reconcile with nothing changed or requested"
    );
    w.patch_tenant(
        "acme",
        json!({"metadata": {"annotations": {"atendo.io/reconcile-requested-at": "2026-11-24T09:00:00Z"}}}),
    )
    .await;
    for _ in 0..40 {
        if reconciles() > settled {
            running.abort();
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no reconcile within 2 s of the request (still {settled})");
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
    assert_eq!(events(&w), [event("Warning", "AccessDenied")]);
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
        events(&w),
        [
            event("Warning", "AccessDenied"),
            event("Normal", "Progressing")
        ]
    );
}

#[tokio::test]
async fn a_secret_from_before_per_tenant_redis_users_keeps_its_other_credentials() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    let database_password = w.database.users.lock().unwrap()["chat-acme"].1.clone();
    let mut secret = w
        .api
        .get("", "secrets", "tenant-acme", "chat-credentials")
        .unwrap();
    let data = secret["data"].as_object_mut().unwrap();
    data.remove("busPassword");
    data.remove("busUser");
    w.api.put("", "secrets", "tenant-acme", secret);
    w.bus.users.lock().unwrap().clear();
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        w.database.users.lock().unwrap()["chat-acme"].1,
        database_password,
        "the database password is not rotated by the upgrade"
    );
    let bus_password = w.bus.users.lock().unwrap()["tenant-acme"].1.clone();
    assert_eq!(
        secret_data(&w, "chat-credentials")["busPassword"],
        bus_password
    );
}
