//! Dedicated database clusters (spec.database.dedicated) on the atlas provider, against the Atlas
//! Admin API stand-in (tests/support/atlas.rs, which models the `clusters` resource): the exact
//! requests, one cluster per tenant however often it is asked, progress while it is CREATING,
//! the user scoped to it, termination protection under Retain and termination under Delete;
//! then the same end to end through the controller on the API fake, down to the tenant's
//! CHAT_STORE.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::context::dedicated_cluster_name;
use atendo_operator::controller::atlas_database::AtlasDatabase;
use atendo_operator::controller::providers::{
    CLUSTER_CREATING, CLUSTER_DELETING, CLUSTER_UPDATING, DEDICATED_UNAVAILABLE, Database,
    DatabaseUser, DedicatedCluster,
};
use atendo_operator::controller::{Context, error_policy, reconcile};
use atendo_operator::resources::secrets;
use atendo_operator::tenant::{DeletionPolicy, Tenant};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use support::atlas::{self, AtlasStandIn, PROJECT};
use support::fake_api::FakeApi;
use support::providers::{MemoryBus, MemoryStorage};

fn provider(s: &AtlasStandIn) -> AtlasDatabase {
    AtlasDatabase::new(s.config(), None).unwrap()
}

fn cluster(policy: DeletionPolicy) -> DedicatedCluster {
    DedicatedCluster {
        tenant: "acme".into(),
        name: dedicated_cluster_name("acme"),
        instance_size: "M30".into(),
        policy,
    }
}

fn acme() -> DatabaseUser {
    DatabaseUser {
        user: "chat-acme".into(),
        database: "tenant_acme".into(),
        password: "pw-1".into(),
    }
}

fn signed_calls(bodies: &[(String, String, Value)]) -> Vec<(String, String)> {
    bodies
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect()
}

fn call(method: &str, path: String) -> (String, String) {
    (method.to_string(), path)
}

#[test]
fn cluster_names_fit_atlas_hostnames_and_never_change() {
    assert_eq!(dedicated_cluster_name("acme"), "atendo-acme");
    let long = "a-very-long-tenant-name-of-fifty-characters-or-so";
    let name = dedicated_cluster_name(long);
    assert!(name.len() <= 23, "{name}");
    assert_eq!(name, dedicated_cluster_name(long), "deterministic");
    assert_ne!(
        name,
        dedicated_cluster_name("a-very-long-tenant-name-but-another"),
        "same prefix, different tenant"
    );
    assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
}

#[tokio::test]
async fn a_cluster_is_created_once_reported_while_creating_then_the_user_is_scoped_to_it() {
    let s = AtlasStandIn::start().await;
    s.cluster_polls(1, 0);
    let p = provider(&s);
    let c = cluster(DeletionPolicy::Retain);

    let first = p.ensure_dedicated(&c, &acme()).await.unwrap_err();
    assert_eq!(first.reason, CLUSTER_CREATING, "{first}");
    assert!(
        first.is_pending() && first.message.contains("CREATING"),
        "{first}"
    );
    let second = p.ensure_dedicated(&c, &acme()).await.unwrap_err();
    assert_eq!(second.reason, CLUSTER_CREATING, "still CREATING: {second}");
    assert!(
        s.user("chat-acme").is_none(),
        "no user before the cluster serves"
    );
    let address = p.ensure_dedicated(&c, &acme()).await.unwrap().address;
    assert_eq!(address.address(), atlas::standard_srv("atendo-acme"));
    // Converged: asking again writes nothing new.
    p.ensure_dedicated(&c, &acme()).await.unwrap();

    let bodies = s.signed_bodies().await;
    assert_eq!(
        signed_calls(&bodies),
        [
            call("GET", atlas::cluster_path("atendo-acme")),
            call("POST", atlas::clusters_path()),
            call("GET", atlas::cluster_path("atendo-acme")),
            call("GET", atlas::cluster_path("atendo-acme")),
            call("POST", atlas::users_path()),
            call("GET", atlas::cluster_path("atendo-acme")),
            call("POST", atlas::users_path()),
            call("PATCH", atlas::user_path("chat-acme")),
        ]
    );
    assert_eq!(
        bodies[1].2,
        json!({
            "name": "atendo-acme",
            "clusterType": "REPLICASET",
            "replicationSpecs": [{
                "numShards": 1,
                "regionConfigs": [{
                    "providerName": "AWS",
                    "regionName": "SA_EAST_1",
                    "priority": 7,
                    "electableSpecs": {"instanceSize": "M30", "nodeCount": 3},
                }],
            }],
            "terminationProtectionEnabled": true,
            "tags": [{"key": "atendo.io/tenant", "value": "acme"}],
        })
    );
    assert_eq!(
        bodies[4].2,
        json!({
            "databaseName": "admin",
            "groupId": PROJECT,
            "username": "chat-acme",
            "password": "pw-1",
            "roles": [{"databaseName": "tenant_acme", "roleName": "readWrite"}],
            "scopes": [{"name": "atendo-acme", "type": "CLUSTER"}],
        })
    );
    assert_eq!(s.clusters_created(), ["atendo-acme"]);
}

#[tokio::test]
async fn a_create_answered_duplicate_name_counts_as_made_and_is_never_repeated() {
    let s = AtlasStandIn::start().await;
    // Atlas lists a new cluster a moment after accepting it: this GET misses one that exists.
    s.cluster_polls(5, 0);
    let p = provider(&s);
    let c = cluster(DeletionPolicy::Delete);
    p.ensure_dedicated(&c, &acme()).await.unwrap_err();
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(atlas::cluster_path("atendo-acme")))
        .and(atlas::SignedDigest)
        .respond_with(
            wiremock::ResponseTemplate::new(404)
                .set_body_json(json!({"error": 404, "errorCode": "CLUSTER_NOT_FOUND"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    let e = p.ensure_dedicated(&c, &acme()).await.unwrap_err();
    assert_eq!(e.reason, CLUSTER_CREATING, "409 is 'it exists': {e}");
    assert_eq!(s.clusters_created(), ["atendo-acme"], "one cluster ever");
    let posts = s
        .signed_bodies()
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && *p == atlas::clusters_path())
        .count();
    assert_eq!(posts, 2, "the second POST was the one refused");
}

#[tokio::test]
async fn retain_keeps_the_cluster_with_termination_protection_on_and_removes_the_user() {
    let s = AtlasStandIn::start().await;
    let p = provider(&s);
    // Made unprotected (as a Delete tenant), then deleted under Retain.
    let made = cluster(DeletionPolicy::Delete);
    p.ensure_dedicated(&made, &acme()).await.unwrap_err();
    p.ensure_dedicated(&made, &acme()).await.unwrap();
    assert_eq!(
        s.cluster("atendo-acme").unwrap()["terminationProtectionEnabled"],
        false
    );

    let retained = cluster(DeletionPolicy::Retain);
    p.retire_dedicated(&retained, "chat-acme", "tenant_acme")
        .await
        .unwrap();
    let kept = s.cluster("atendo-acme").expect("the cluster is kept");
    assert_eq!(kept["terminationProtectionEnabled"], true);
    assert_eq!(kept["stateName"], "IDLE");
    assert!(s.user("chat-acme").is_none(), "its user is removed");
    let bodies = s.signed_bodies().await;
    let tail: Vec<_> = bodies[bodies.len() - 3..].to_vec();
    assert_eq!(
        tail,
        [
            ("DELETE".into(), atlas::user_path("chat-acme"), Value::Null),
            (
                "GET".into(),
                atlas::cluster_path("atendo-acme"),
                Value::Null
            ),
            (
                "PATCH".into(),
                atlas::cluster_path("atendo-acme"),
                json!({"terminationProtectionEnabled": true})
            ),
        ]
    );
    // Again: nothing left to do, and nothing is deleted.
    p.retire_dedicated(&retained, "chat-acme", "tenant_acme")
        .await
        .unwrap();
    assert!(s.cluster("atendo-acme").is_some());
}

#[tokio::test]
async fn delete_lifts_termination_protection_terminates_and_waits_until_the_cluster_is_gone() {
    let s = AtlasStandIn::start().await;
    s.cluster_polls(0, 2);
    let p = provider(&s);
    let made = cluster(DeletionPolicy::Retain);
    p.ensure_dedicated(&made, &acme()).await.unwrap_err();
    p.ensure_dedicated(&made, &acme()).await.unwrap();
    assert_eq!(
        s.cluster("atendo-acme").unwrap()["terminationProtectionEnabled"],
        true
    );

    let deleted = cluster(DeletionPolicy::Delete);
    let e = p
        .retire_dedicated(&deleted, "chat-acme", "tenant_acme")
        .await
        .unwrap_err();
    assert_eq!(e.reason, CLUSTER_DELETING, "{e}");
    assert_eq!(s.cluster("atendo-acme").unwrap()["stateName"], "DELETING");
    let bodies = s.signed_bodies().await;
    let tail: Vec<_> = signed_calls(&bodies[bodies.len() - 4..]);
    assert_eq!(
        tail,
        [
            call("DELETE", atlas::user_path("chat-acme")),
            call("GET", atlas::cluster_path("atendo-acme")),
            call("PATCH", atlas::cluster_path("atendo-acme")),
            call("DELETE", atlas::cluster_path("atendo-acme")),
        ]
    );
    // DELETING: waited on, never asked twice.
    let again = p
        .retire_dedicated(&deleted, "chat-acme", "tenant_acme")
        .await
        .unwrap_err();
    assert_eq!(again.reason, CLUSTER_DELETING);
    let mut gone = false;
    for _ in 0..3 {
        if p.retire_dedicated(&deleted, "chat-acme", "tenant_acme")
            .await
            .is_ok()
        {
            gone = true;
            break;
        }
    }
    assert!(gone, "done once Atlas no longer has it");
    assert!(s.cluster("atendo-acme").is_none());
    let cluster_deletes = s
        .signed_bodies()
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "DELETE" && *p == atlas::cluster_path("atendo-acme"))
        .count();
    assert_eq!(cluster_deletes, 1);
    // A missing cluster and user are success.
    p.retire_dedicated(&deleted, "chat-acme", "tenant_acme")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_stand_in_refuses_to_terminate_a_protected_cluster() {
    // The guard the Delete path must lift first: without the PATCH, Atlas says no.
    let s = AtlasStandIn::start().await;
    let p = provider(&s);
    let made = cluster(DeletionPolicy::Retain);
    p.ensure_dedicated(&made, &acme()).await.unwrap_err();
    let client = reqwest::Client::new();
    let url = format!("{}{}", s.server.uri(), atlas::cluster_path("atendo-acme"));
    use diqwest::WithDigestAuth;
    let refused = client
        .delete(&url)
        .header(
            "accept",
            atendo_operator::controller::atlas_database::MEDIA_TYPE,
        )
        .send_with_digest_auth(atlas::PUBLIC_KEY, atlas::PRIVATE_KEY)
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["errorCode"],
        "CANNOT_TERMINATE_CLUSTER_WHEN_TERMINATION_PROTECTION_ENABLED"
    );
}

fn sized(size: &str) -> DedicatedCluster {
    DedicatedCluster {
        instance_size: size.into(),
        ..cluster(DeletionPolicy::Retain)
    }
}

/// The PATCHes that resized a cluster, as (path, body).
async fn resize_patches(s: &AtlasStandIn) -> Vec<(String, Value)> {
    s.signed_bodies()
        .await
        .into_iter()
        .filter(|(m, _, b)| m == "PATCH" && b.get("replicationSpecs").is_some())
        .map(|(_, p, b)| (p, b))
        .collect()
}

#[tokio::test]
async fn a_new_size_is_asked_for_once_in_place_keeping_the_clusters_own_region() {
    let s = AtlasStandIn::start().await;
    s.cluster_polls(0, 0);
    s.resize_polls(1);
    p_made_at(&s, "M10").await;
    // The operator's default region moved since: the cluster stays where it is.
    let mut config = s.config();
    config.dedicated_region = "US_EAST_1".into();
    let p = AtlasDatabase::new(config, None).unwrap();
    let before = s.requests().await.len();

    let asked = p.ensure_dedicated(&sized("M30"), &acme()).await.unwrap();
    let updating = asked.updating.expect("resizing is reported");
    assert!(
        updating.contains("M10") && updating.contains("M30") && updating.contains("atendo-acme"),
        "{updating}"
    );
    assert_eq!(
        asked.address.address(),
        atlas::standard_srv("atendo-acme"),
        "the address stays"
    );
    assert_eq!(
        resize_patches(&s).await,
        [(
            atlas::cluster_path("atendo-acme"),
            json!({"replicationSpecs": [{
                "numShards": 1,
                "regionConfigs": [{
                    "providerName": "AWS",
                    "regionName": "SA_EAST_1",
                    "priority": 7,
                    "electableSpecs": {"instanceSize": "M30", "nodeCount": 3},
                }],
            }]})
        )]
    );
    assert_eq!(s.cluster("atendo-acme").unwrap()["stateName"], "UPDATING");

    // UPDATING at the size asked for: waited on, never asked again.
    let waiting = p.ensure_dedicated(&sized("M30"), &acme()).await.unwrap();
    assert!(waiting.updating.is_some(), "still UPDATING");
    let done = p.ensure_dedicated(&sized("M30"), &acme()).await.unwrap();
    assert_eq!(done.updating, None, "IDLE at M30");
    assert_eq!(s.instance_size("atendo-acme").as_deref(), Some("M30"));
    assert_eq!(
        s.cluster("atendo-acme").unwrap()["replicationSpecs"][0]["regionConfigs"][0]["regionName"],
        "SA_EAST_1"
    );
    assert_eq!(
        s.resizes(),
        [("atendo-acme".to_string(), "M30".to_string())]
    );
    // The user is converged as on any pass, never made anew; no cluster is created.
    let calls: Vec<(String, String)> = s.requests().await[before..]
        .iter()
        .filter(|(_, _, signed)| *signed)
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    assert!(
        calls
            .iter()
            .all(|(m, p)| !(m == "POST" && *p == atlas::clusters_path())),
        "{calls:?}"
    );
    assert_eq!(s.clusters_created(), ["atendo-acme"]);
    assert_eq!(s.user("chat-acme").unwrap()["password"], "pw-1");
}

#[tokio::test]
async fn a_cluster_busy_with_another_change_is_resized_only_once_it_is_idle() {
    let s = AtlasStandIn::start().await;
    s.cluster_polls(0, 0);
    s.resize_polls(0);
    let p = p_made_at(&s, "M10").await;
    // Atlas is changing something of its own (maintenance): UPDATING, still at M10.
    s.state
        .clusters
        .live
        .lock()
        .unwrap()
        .get_mut("atendo-acme")
        .unwrap()["stateName"] = json!("UPDATING");
    s.state
        .clusters
        .live
        .lock()
        .unwrap()
        .get_mut("atendo-acme")
        .unwrap()["_polls"] = json!(1);
    let busy = p.ensure_dedicated(&sized("M30"), &acme()).await.unwrap();
    assert!(busy.updating.unwrap().contains("once that is done"));
    assert!(s.resizes().is_empty(), "no PATCH while UPDATING");
    let asked = p.ensure_dedicated(&sized("M30"), &acme()).await.unwrap();
    assert!(asked.updating.is_some());
    assert_eq!(
        s.resizes(),
        [("atendo-acme".to_string(), "M30".to_string())]
    );
}

/// A cluster made at `size` and IDLE, through the stand-in's usual provider.
async fn p_made_at(s: &AtlasStandIn, size: &str) -> AtlasDatabase {
    let p = provider(s);
    p.ensure_dedicated(&sized(size), &acme()).await.unwrap_err();
    let made = p.ensure_dedicated(&sized(size), &acme()).await.unwrap();
    assert_eq!(made.updating, None);
    p
}

#[tokio::test]
async fn the_stand_in_refuses_an_unknown_instance_size_as_atlas_does() {
    let s = AtlasStandIn::start().await;
    s.cluster_polls(0, 0);
    let p = p_made_at(&s, "M10").await;
    let e = p.ensure_dedicated(&sized("M7"), &acme()).await.unwrap_err();
    assert_eq!(e.reason, "AtlasError", "{e}");
    assert!(
        e.message.contains("INVALID_ENUM_VALUE") && e.message.contains("M7"),
        "{e}"
    );
    assert!(!e.is_transient() && !e.is_pending());
    assert_eq!(s.instance_size("atendo-acme").as_deref(), Some("M10"));
    assert_eq!(s.cluster("atendo-acme").unwrap()["stateName"], "IDLE");
    assert!(s.resizes().is_empty());
}

// End to end through the controller on the API fake.

struct World {
    api: FakeApi,
    s: AtlasStandIn,
    ctx: Arc<Context>,
    tenants: Api<Tenant>,
}

impl World {
    async fn new(doc: Value) -> Self {
        let s = AtlasStandIn::start().await;
        let api = FakeApi::default();
        let ctx = Arc::new(Context::new(
            api.client(),
            common::settings(&[]),
            Arc::new(MemoryStorage::default()),
            Arc::new(provider(&s)),
            Arc::new(MemoryBus::default()),
        ));
        let tenants: Api<Tenant> = Api::all(api.client());
        tenants
            .create(&PostParams::default(), &common::tenant(doc))
            .await
            .unwrap();
        World {
            api,
            s,
            ctx,
            tenants,
        }
    }

    /// One reconcile; an error comes back as the error policy's requeue.
    async fn once(&self) -> Result<Action, Action> {
        let t = Arc::new(self.tenants.get("acme").await.unwrap());
        reconcile(t.clone(), self.ctx.clone())
            .await
            .map_err(|e| error_policy(t, &e, self.ctx.clone()))
    }

    fn condition(&self, kind: &str) -> (String, String, String) {
        let t: Tenant =
            serde_json::from_value(self.api.get("atendo.io", "tenants", "", "acme").unwrap())
                .unwrap();
        let c = t
            .status
            .unwrap()
            .conditions
            .into_iter()
            .find(|c| c.type_ == kind)
            .unwrap();
        (c.status, c.reason, c.message)
    }

    /// What the Deployment and ingress controllers would report once the tenant serves.
    fn converge(&self) {
        let ns = "tenant-acme";
        let mut deployment = self
            .api
            .get("apps", "deployments", ns, "chat-server")
            .unwrap();
        deployment["status"] = json!({"observedGeneration": deployment["metadata"]["generation"], "replicas": 2, "availableReplicas": 2});
        self.api.put("apps", "deployments", ns, deployment);
        let mut ingress = self
            .api
            .get("networking.k8s.io", "ingresses", ns, "chat-server")
            .unwrap();
        ingress["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}});
        self.api.put("networking.k8s.io", "ingresses", ns, ingress);
    }

    async fn set_plan(&self, plan: &str) {
        self.tenants
            .patch(
                "acme",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"spec": {"plan": plan}})),
            )
            .await
            .unwrap();
    }

    /// The Tenant's Events, oldest first, as (type, reason), a series counted per occurrence.
    fn events(&self) -> Vec<(String, String)> {
        let mut events: Vec<Value> = self
            .api
            .names("events.k8s.io", "events", "default")
            .iter()
            .map(|n| {
                self.api
                    .get("events.k8s.io", "events", "default", n)
                    .unwrap()
            })
            .collect();
        events.sort_by_key(|e| e["eventTime"].as_str().unwrap().to_string());
        events
            .iter()
            .flat_map(|e| {
                let count = e["series"]["count"].as_u64().unwrap_or(1) as usize;
                let seen = (
                    e["type"].as_str().unwrap().to_string(),
                    e["reason"].as_str().unwrap().to_string(),
                );
                std::iter::repeat_n(seen, count)
            })
            .collect()
    }

    fn database_secret(&self) -> Option<k8s_openapi::api::core::v1::Secret> {
        self.api
            .get("", "secrets", "tenant-acme", secrets::DATABASE)
            .map(|v| serde_json::from_value(v).unwrap())
    }
}

fn enterprise(policy: &str) -> Value {
    let doc = common::with(
        common::full_tenant_json(),
        "/spec/plan",
        json!("enterprise"),
    );
    let doc = common::without(doc, "/spec/chat");
    common::with(doc, "/spec/deletionPolicy", json!(policy))
}

/// Professional with a cluster of its own (M10), free to move to enterprise (M30) and back.
fn professional_dedicated() -> Value {
    let doc = common::without(common::full_tenant_json(), "/spec/chat");
    common::with(doc, "/spec/database", json!({"dedicated": true}))
}

fn text(secret: &k8s_openapi::api::core::v1::Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8(b.0.clone()).unwrap())
}

#[tokio::test]
async fn an_enterprise_tenant_gets_its_own_cluster_and_its_chat_store_points_there() {
    let w = World::new(enterprise("Retain")).await;
    w.s.cluster_polls(1, 0);
    w.once().await.unwrap(); // the finalizer
    let creating = w.once().await.expect("creating is progress, not a failure");
    assert_eq!(
        creating,
        Action::requeue(Duration::from_secs(15)),
        "looked at again soon"
    );
    let (status, reason, message) = w.condition("DatabaseReady");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", CLUSTER_CREATING)
    );
    assert!(
        message.contains("atendo-acme") && message.contains("CREATING"),
        "{message}"
    );
    assert_eq!(w.condition("Ready").1, CLUSTER_CREATING);
    let tenant = w.tenants.get("acme").await.unwrap();
    let recorded = tenant.status.unwrap().database.unwrap();
    assert_eq!(
        recorded.cluster.as_deref(),
        Some("atendo-acme"),
        "recorded before it exists"
    );
    assert_eq!(recorded.address, None);
    let waiting = w.database_secret().expect("the password is kept meanwhile");
    assert_eq!(text(&waiting, "uri"), None, "no address to point at yet");
    let password = text(&waiting, "password").unwrap();

    w.once().await.unwrap(); // still CREATING (one poll)
    w.once().await.unwrap(); // IDLE: user, address, Secret
    assert_eq!(w.condition("DatabaseReady").0, "True");
    assert!(w.condition("DatabaseReady").2.contains("atendo-acme"));
    let secret = w.database_secret().unwrap();
    assert_eq!(
        text(&secret, "password").unwrap(),
        password,
        "kept while waiting"
    );
    assert_eq!(
        text(&secret, "uri").unwrap(),
        format!(
            "mongodb+srv://chat-acme:{password}@atendo-acme.x7k2p.mongodb.net/tenant_acme?authSource=admin"
        )
    );
    let user = w.s.user("chat-acme").unwrap();
    assert_eq!(user["password"], password.as_str());
    assert_eq!(
        user["scopes"],
        json!([{"name": "atendo-acme", "type": "CLUSTER"}])
    );
    let recorded = w
        .tenants
        .get("acme")
        .await
        .unwrap()
        .status
        .unwrap()
        .database
        .unwrap();
    assert_eq!(
        recorded.address.as_deref(),
        Some(atlas::standard_srv("atendo-acme").as_str())
    );

    // A resync with nothing changed leaves Atlas alone and keeps the address.
    let before = w.s.requests().await.len();
    w.once().await.unwrap();
    assert_eq!(w.s.requests().await.len(), before);
    assert_eq!(
        text(&w.database_secret().unwrap(), "uri"),
        text(&secret, "uri")
    );
    assert_eq!(w.s.clusters_created(), ["atendo-acme"]);

    // Retain: the cluster stays, protected; the user goes.
    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    w.once().await.unwrap();
    assert!(
        w.tenants.get_opt("acme").await.unwrap().is_none(),
        "finalizer removed"
    );
    let kept = w.s.cluster("atendo-acme").expect("kept");
    assert_eq!(kept["terminationProtectionEnabled"], true);
    assert!(w.s.user("chat-acme").is_none());
}

#[tokio::test]
async fn deleting_a_delete_tenant_waits_for_its_cluster_to_be_terminated() {
    let w = World::new(enterprise("Delete")).await;
    w.s.cluster_polls(0, 1);
    w.once().await.unwrap();
    w.once().await.unwrap(); // CREATING
    w.once().await.unwrap(); // IDLE
    assert_eq!(w.condition("DatabaseReady").0, "True");
    assert_eq!(
        w.s.cluster("atendo-acme").unwrap()["terminationProtectionEnabled"],
        false
    );
    w.tenants
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    assert!(w.once().await.is_err(), "held while the cluster terminates");
    let (_, reason, message) = w.condition("Ready");
    assert_eq!(reason, CLUSTER_DELETING, "{message}");
    assert!(w.tenants.get_opt("acme").await.unwrap().is_some());
    assert!(w.once().await.is_err(), "still DELETING");
    w.once().await.expect("gone: the finalizer goes");
    assert!(w.tenants.get_opt("acme").await.unwrap().is_none());
    assert!(w.s.cluster("atendo-acme").is_none());
    assert!(w.s.user("chat-acme").is_none());
    assert_eq!(w.s.clusters_created(), ["atendo-acme"]);
}

#[tokio::test]
async fn shared_tenants_never_touch_the_clusters_resource() {
    let w = World::new(common::full_tenant_json()).await;
    w.once().await.unwrap();
    w.once().await.unwrap();
    assert_eq!(w.condition("DatabaseReady").0, "True");
    let user = w.s.user("chat-acme").unwrap();
    assert_eq!(
        user["scopes"],
        json!([{"name": atlas::CLUSTER, "type": "CLUSTER"}])
    );
    assert!(
        w.s.requests()
            .await
            .iter()
            .all(|(_, path, _)| !path.contains("/clusters")),
        "no cluster call for a shared tenant"
    );
    let secret = w.database_secret().unwrap();
    assert!(
        text(&secret, "uri")
            .unwrap()
            .contains("@cluster0.abcde.mongodb.net/")
    );
    let recorded = w
        .tenants
        .get("acme")
        .await
        .unwrap()
        .status
        .unwrap()
        .database
        .unwrap();
    assert_eq!((recorded.cluster, recorded.address), (None, None));
}

#[tokio::test]
async fn an_enterprise_tenant_that_refuses_a_dedicated_cluster_stays_on_the_shared_one() {
    let doc = common::with(
        enterprise("Retain"),
        "/spec/database",
        json!({"dedicated": false}),
    );
    let w = World::new(doc).await;
    w.once().await.unwrap();
    w.once().await.unwrap();
    assert_eq!(w.condition("DatabaseReady").0, "True");
    assert!(w.s.clusters_created().is_empty());
    assert!(
        text(&w.database_secret().unwrap(), "uri")
            .unwrap()
            .contains("cluster0.abcde")
    );
}

#[tokio::test]
async fn a_provider_that_cannot_make_a_dedicated_database_says_so_on_database_ready() {
    // The in-memory provider has only the trait's default: refusal.
    let api = FakeApi::default();
    let ctx = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        Arc::new(MemoryStorage::default()),
        Arc::new(support::providers::MemoryDatabase::default()),
        Arc::new(MemoryBus::default()),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    tenants
        .create(
            &PostParams::default(),
            &common::tenant(enterprise("Retain")),
        )
        .await
        .unwrap();
    let once = || async {
        let t = Arc::new(tenants.get("acme").await.unwrap());
        reconcile(t, ctx.clone()).await
    };
    once().await.unwrap();
    let e = once()
        .await
        .expect_err("a refusal is retried with backoff, not hidden");
    assert_eq!(e.reason(), DEDICATED_UNAVAILABLE);
    let status = tenants.get("acme").await.unwrap().status.unwrap();
    let database = status
        .conditions
        .iter()
        .find(|c| c.type_ == "DatabaseReady")
        .unwrap();
    assert_eq!(
        (database.status.as_str(), database.reason.as_str()),
        ("False", DEDICATED_UNAVAILABLE)
    );
    assert!(
        database.message.contains("spec.database.dedicated"),
        "{}",
        database.message
    );
    let secret = api
        .get("", "secrets", "tenant-acme", secrets::DATABASE)
        .map(|v| serde_json::from_value::<k8s_openapi::api::core::v1::Secret>(v).unwrap())
        .unwrap();
    assert_eq!(text(&secret, "uri"), None, "the pods point nowhere else");
}

#[tokio::test]
async fn a_plan_change_resizes_the_tenants_cluster_in_place_and_back_while_it_keeps_serving() {
    let w = World::new(professional_dedicated()).await;
    w.s.cluster_polls(0, 0);
    w.s.resize_polls(1);
    w.once().await.unwrap(); // the finalizer
    w.once().await.unwrap(); // CREATING
    w.once().await.unwrap(); // IDLE: user, address
    // The Secret's new address rolls the chat-server once more.
    for _ in 0..2 {
        w.converge();
        w.once().await.unwrap();
    }
    assert_eq!(w.condition("Ready").0, "True", "{:?}", w.condition("Ready"));
    assert_eq!(w.s.instance_size("atendo-acme").as_deref(), Some("M10"));
    let secret = w.database_secret().unwrap();
    let user = w.s.user("chat-acme").unwrap();
    let events_before = w.events().len();

    let resize = |from: &'static str, to: &'static str| {
        let w = &w;
        let secret = &secret;
        let user = &user;
        async move {
            let plan = if to == "M30" {
                "enterprise"
            } else {
                "professional"
            };
            w.set_plan(plan).await;
            let asked = w.once().await.expect("a resize is progress, not a failure");
            assert_eq!(
                asked,
                Action::requeue(Duration::from_secs(15)),
                "looked at again soon"
            );
            let (status, reason, message) = w.condition("DatabaseReady");
            assert_eq!(
                (status.as_str(), reason.as_str()),
                ("True", CLUSTER_UPDATING),
                "it serves throughout: {message}"
            );
            assert!(message.contains(from) && message.contains(to), "{message}");
            w.converge(); // the chat-server's rollout for the plan's resources
            w.once().await.unwrap(); // still UPDATING: waited on
            assert_eq!(w.condition("DatabaseReady").1, CLUSTER_UPDATING);
            assert_eq!(
                w.condition("Ready").0,
                "True",
                "Ready (and the tenant-ready notice) stays put"
            );
            w.converge();
            w.once().await.unwrap(); // IDLE at the new size
            assert_eq!(
                w.condition("DatabaseReady"),
                (
                    "True".into(),
                    "Provisioned".into(),
                    "user chat-acme on database tenant_acme of the tenant's own cluster atendo-acme"
                        .into()
                )
            );
            assert_eq!(w.s.instance_size("atendo-acme").as_deref(), Some(to));
            // The chat-server is left alone: same user, same password, same connection string.
            assert_eq!(w.database_secret().unwrap().data, secret.data);
            assert_eq!(w.s.user("chat-acme").unwrap(), *user);
            assert_eq!(w.s.state.users.lock().unwrap().len(), 1);
            // Settled: a resync leaves Atlas alone.
            let before = w.s.requests().await.len();
            w.converge();
            w.once().await.unwrap();
            assert_eq!(w.s.requests().await.len(), before);
        }
    };
    resize("M10", "M30").await;
    resize("M30", "M10").await;

    assert_eq!(
        w.s.resizes(),
        [
            ("atendo-acme".to_string(), "M30".to_string()),
            ("atendo-acme".to_string(), "M10".to_string())
        ],
        "one PATCH per change"
    );
    assert_eq!(
        w.s.clusters_created(),
        ["atendo-acme"],
        "never a second cluster"
    );
    // Sorted: the second resize's Events continue the first's series (the recorder's
    // aggregation), so they are counted in place of the first rather than after it.
    let mut resize_events: Vec<_> = w.events()[events_before..]
        .iter()
        .filter(|(_, reason)| reason.starts_with("Cluster") || reason == "DatabaseReady")
        .cloned()
        .collect();
    resize_events.sort();
    let normal = |reason: &str| ("Normal".to_string(), reason.to_string());
    assert_eq!(
        resize_events,
        [
            normal("ClusterUpdated"),
            normal("ClusterUpdated"),
            normal(CLUSTER_UPDATING),
            normal(CLUSTER_UPDATING),
        ],
        "each resize announced once as it starts and once as it ends, never per pass"
    );
    assert!(
        w.events().iter().all(|(kind, _)| kind == "Normal"),
        "{:?}",
        w.events()
    );
}

#[tokio::test]
async fn a_tenant_that_pins_dedicated_false_changes_plan_without_any_cluster() {
    let doc = common::with(
        common::without(common::full_tenant_json(), "/spec/chat"),
        "/spec/database",
        json!({"dedicated": false}),
    );
    let w = World::new(doc).await;
    w.once().await.unwrap();
    w.once().await.unwrap();
    let uri = text(&w.database_secret().unwrap(), "uri");
    w.set_plan("enterprise").await;
    w.once().await.unwrap();
    w.set_plan("professional").await;
    w.once().await.unwrap();
    assert_eq!(
        (
            w.condition("DatabaseReady").0,
            w.condition("DatabaseReady").1
        ),
        ("True".to_string(), "Provisioned".to_string())
    );
    assert!(
        w.s.requests()
            .await
            .iter()
            .all(|(_, path, _)| !path.contains("/clusters")),
        "no cluster call for a shared tenant, whatever its plan"
    );
    assert_eq!(text(&w.database_secret().unwrap(), "uri"), uri);
}
