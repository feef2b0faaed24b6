//! Reconcile scenarios against the in-memory API fake (tests/support/fake_api.rs lists what it
//! does not model: admission, defaulting, garbage collection, built-in controllers). Each test
//! drives `reconcile` by hand, one pass at a time, and asserts on stored objects and recorded
//! calls; `the_controller_*` runs the real watching Controller. One binary, one file per topic;
//! the world they share and its helpers are here.

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/mod.rs"]
mod support;

mod credentials;
mod deletion;
mod events;
mod external_systems;
mod provisioning;
mod suspend_and_pause;
mod the_controller;

use std::sync::Arc;

use atendo_operator::controller::{Context, reconcile};
use atendo_operator::tenant::Tenant;
use kube::api::{Api, Patch, PatchParams, PostParams};
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
    // Creation order: eventTime, then resourceVersion for two made in the same microsecond.
    events.sort_by_key(|e| {
        (
            e["eventTime"].as_str().unwrap().to_string(),
            e["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok()),
        )
    });
    events
        .iter()
        .flat_map(|e| {
            assert_eq!(e["regarding"]["kind"], "Tenant");
            assert_eq!(e["reportingController"], "atendo-operator");
            // The recorder folds a repeat (same type, reason and action within minutes) into
            // the first Event's series.count: each occurrence counts.
            let count = e["series"]["count"].as_u64().unwrap_or(1) as usize;
            let seen = (
                e["type"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            );
            std::iter::repeat_n(seen, count)
        })
        .collect()
}

/// [`events`] in a fixed order, for comparing what was recorded regardless of when.
fn sorted_events(w: &World) -> Vec<(String, String)> {
    let mut events = events(w);
    events.sort();
    events
}

/// `expected` as [`sorted_events`] returns it.
fn sorted(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut expected: Vec<_> = expected.iter().map(|(t, r)| event(t, r)).collect();
    expected.sort();
    expected
}

fn event(kind: &str, reason: &str) -> (String, String) {
    (kind.into(), reason.into())
}

fn acme() -> Value {
    common::full_tenant_json()
}
