//! The operator dying at any point of its pipeline: after each Kubernetes write of a first
//! provisioning, and between or inside its calls to S3 (moto) and Atlas (the wiremock stand-in).
//! Each scenario runs the real Controller until the "crash" (tests/support/faults.rs), drops it,
//! starts a fresh one on the same stored state and the same external systems, and checks that
//! the Tenant becomes Ready with exactly one bucket, one database user whose password is the one
//! in the tenant's Secret, the same Kubernetes objects as an undisturbed run, and every secret
//! value written before the crash kept (the database password excepted when the signing key was
//! not stored yet: both are then made anew, and the user follows).
//!
//! The API fake does not model admission, defaulting or garbage collection (see fake_api.rs);
//! the Deployment and ingress controllers are played by `faults::report_workload_up`.

mod common;
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atendo_operator::controller::atlas_database::AtlasDatabase;
use atendo_operator::controller::providers::{Database, Storage};
use atendo_operator::controller::{Context, controller, reconcile};
use atendo_operator::resources::secrets;
use atendo_operator::tenant::Tenant;
use futures::StreamExt;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use support::atlas::{AtlasStandIn, Fault};
use support::fake_api::FakeApi;
use support::faults::{
    self, CrashAfterWrite, FaultProxy, HttpFault, Rule, eventually, until_ready,
};

/// Generous: scenarios run side by side on a loaded 2-core machine.
const WITHIN: Duration = Duration::from_secs(40);

const KINDS: [(&str, &str); 12] = [
    ("", "resourcequotas"),
    ("", "limitranges"),
    ("networking.k8s.io", "networkpolicies"),
    ("", "serviceaccounts"),
    ("", "secrets"),
    ("", "configmaps"),
    ("apps", "deployments"),
    ("", "services"),
    ("networking.k8s.io", "ingresses"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("policy", "poddisruptionbudgets"),
    ("batch", "cronjobs"),
];

fn tenant(name: &str) -> Tenant {
    let doc = common::with(common::full_tenant_json(), "/metadata/name", json!(name));
    common::tenant(common::with(doc, "/spec/subdomain", json!(name)))
}

/// The objects of one tenant's namespace, by resource, plus the managed namespaces.
fn inventory(api: &FakeApi, ns: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = KINDS
        .iter()
        .map(|(g, r)| (r.to_string(), api.names(g, r, ns)))
        .collect();
    out.insert("namespaces".into(), api.names("", "namespaces", ""));
    out
}

fn secret_data(api: &FakeApi, ns: &str) -> BTreeMap<String, Value> {
    api.names("", "secrets", ns)
        .into_iter()
        .map(|name| {
            let data = api.get("", "secrets", ns, &name).unwrap()["data"].clone();
            (name, data)
        })
        .collect()
}

fn decoded(data: &Value, key: &str) -> String {
    let secret: k8s_openapi::api::core::v1::Secret =
        serde_json::from_value(json!({ "data": data })).unwrap();
    let bytes = secret
        .data
        .unwrap()
        .remove(key)
        .unwrap_or_else(|| panic!("no {key}"));
    String::from_utf8(bytes.0).unwrap()
}

struct Systems {
    s3: testkit::s3::S3,
    atlas: AtlasStandIn,
}

impl Systems {
    async fn start() -> Self {
        Systems {
            s3: testkit::s3::s3(),
            atlas: AtlasStandIn::start().await,
        }
    }

    fn database(&self) -> Arc<dyn Database> {
        atlas_database(&self.atlas)
    }

    async fn buckets_of(&self, name: &str) -> Vec<String> {
        let client = faults::s3_client(&self.s3.endpoint).await;
        let out = client.list_buckets().send().await.unwrap();
        out.buckets()
            .iter()
            .filter_map(|b| b.name())
            .filter(|b| b.contains(&format!("-{name}-")))
            .map(String::from)
            .collect()
    }
}

/// A Controller talking through `client` (which may be one that crashes).
fn start_controller(
    client: kube::Client,
    storage: Arc<dyn Storage>,
    database: Arc<dyn Database>,
) -> tokio::task::JoinHandle<()> {
    let ctx = Arc::new(Context::new(
        client,
        common::settings(&[]),
        storage,
        database,
        Arc::new(support::providers::MemoryBus::default()),
    ));
    tokio::spawn(controller(ctx).for_each(|_| async {}))
}

/// The Atlas provider of `atlas`, patient enough that a held answer is a crash, not a timeout.
fn atlas_database(atlas: &AtlasStandIn) -> Arc<dyn Database> {
    let mut config = atlas.config();
    config.request_timeout = Duration::from_secs(60);
    Arc::new(AtlasDatabase::new(config, None).unwrap())
}

/// Creates `name` as a tenant with a dedicated database cluster.
async fn create_dedicated(api: &FakeApi, name: &str) {
    let doc = common::with(
        serde_json::to_value(tenant(name)).unwrap(),
        "/spec/database",
        json!({"dedicated": true}),
    );
    Api::<Tenant>::all(api.client())
        .create(&PostParams::default(), &common::tenant(doc))
        .await
        .unwrap();
}

/// Runs a Controller until Atlas has carried out its `j`th write (`what`), then kills it with
/// that write's answer still held: the write happened, and the operator never heard so.
async fn crash_after_atlas_write(
    api: &FakeApi,
    storage: Arc<dyn Storage>,
    atlas: &AtlasStandIn,
    j: usize,
    what: &str,
) {
    atlas.hold_write(Some(j));
    let running = start_controller(api.client(), storage, atlas_database(atlas));
    eventually(&format!("Atlas to receive {what}"), WITHIN, || {
        atlas.writes_seen() >= j
    })
    .await;
    running.abort();
    atlas.hold_write(None);
}

async fn create(api: &FakeApi, name: &str) {
    Api::<Tenant>::all(api.client())
        .create(&PostParams::default(), &tenant(name))
        .await
        .unwrap();
}

/// Runs a fresh Controller on `api` until `name` is Ready, playing the workload controllers;
/// returns how long that took.
async fn recover(
    api: &FakeApi,
    storage: Arc<dyn Storage>,
    database: Arc<dyn Database>,
    name: &str,
) -> Duration {
    let started = Instant::now();
    let running = start_controller(api.client(), storage, database);
    until_ready(api, name, WITHIN).await;
    running.abort();
    started.elapsed()
}

/// What an undisturbed first provisioning writes, in order, and the objects it leaves.
async fn baseline(
    systems: &Systems,
    s3: Arc<dyn Storage>,
) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let api = FakeApi::default();
    let name = testkit::unique("base");
    let ctx = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        s3,
        systems.database(),
        Arc::new(support::providers::MemoryBus::default()),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    tenants
        .create(&PostParams::default(), &tenant(&name))
        .await
        .unwrap();
    api.clear_calls();
    for _ in 0..2 {
        let stored = tenants.get(&name).await.unwrap();
        reconcile(Arc::new(stored), ctx.clone()).await.unwrap();
    }
    let writes = api
        .writes()
        .into_iter()
        .map(|c| format!("{} {}", c.method, c.path.replace(&name, "NAME")))
        .collect();
    (writes, inventory(&api, &format!("tenant-{name}")))
}

/// A Tenant whose first controller died, and the Secrets it left.
struct Outcome {
    name: String,
    api: FakeApi,
    secrets_at_crash: BTreeMap<String, Value>,
}

async fn check_converged(
    systems: &Systems,
    outcome: &Outcome,
    expected: &BTreeMap<String, Vec<String>>,
    storage: Arc<dyn Storage>,
    label: &str,
) -> Duration {
    // (recovery time returned for the figures)
    let Outcome {
        name,
        api,
        secrets_at_crash,
    } = outcome;
    let took = recover(api, storage, systems.database(), name).await;
    let ns = format!("tenant-{name}");
    let mut expected = expected.clone();
    expected.insert("namespaces".into(), vec![ns.clone()]);
    assert_eq!(&inventory(api, &ns), &expected, "{label}: objects");
    assert_eq!(
        systems.buckets_of(name).await,
        [format!("atendo-{name}-uploads")],
        "{label}: one bucket"
    );
    let users: Vec<String> = systems
        .atlas
        .state
        .users
        .lock()
        .unwrap()
        .keys()
        .filter(|u| u.ends_with(name.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        users,
        [format!("chat-{name}")],
        "{label}: one database user"
    );
    let now = secret_data(api, &ns);
    let stored_password = decoded(&now[secrets::DATABASE], "password");
    let user = systems.atlas.user(&format!("chat-{name}")).unwrap();
    assert_eq!(
        user["password"].as_str(),
        Some(stored_password.as_str()),
        "{label}: the user's password is the stored one"
    );
    let signing_key_was_stored = secrets_at_crash.contains_key(secrets::CREDENTIALS);
    for (secret, data) in secrets_at_crash {
        if secret == secrets::DATABASE && !signing_key_was_stored {
            continue;
        }
        assert_eq!(&now[secret], data, "{label}: {secret} kept");
    }
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_any_write_of_a_first_provisioning_converges_without_duplicates() {
    let systems = Systems::start().await;
    let s3: Arc<dyn Storage> = Arc::new(faults::s3_storage(&systems.s3.endpoint).await);
    let (writes, expected) = baseline(&systems, s3.clone()).await;
    assert!(writes.len() >= 15, "{writes:#?}");

    let scenarios = (1..=writes.len()).map(|k| {
        let (systems, s3, writes, expected) = (&systems, s3.clone(), &writes, &expected);
        async move {
            let name = testkit::unique(&format!("k{k}-"));
            let api = FakeApi::default();
            let crashing = CrashAfterWrite::new(api.clone(), k);
            create(&api, &name).await;
            let running = start_controller(crashing.client(), s3.clone(), systems.database());
            let last = crashing.crashed(WITHIN).await;
            running.abort();
            assert_eq!(
                last.replace(&name, "NAME"),
                writes[k - 1],
                "the controller writes in the same order as the baseline"
            );
            let outcome = Outcome {
                secrets_at_crash: secret_data(&api, &format!("tenant-{name}")),
                name,
                api,
            };
            let label = format!("crash after write {k} ({last})");
            let took = check_converged(systems, &outcome, expected, s3, &label).await;
            (k, writes[k - 1].clone(), took)
        }
    });
    let results = futures::future::join_all(scenarios).await;
    for (k, write, took) in results {
        eprintln!("FIGURES crash after write {k:>2} ({write}): Ready {took:?} after a fresh start");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_inside_the_bucket_or_user_calls_converges_to_one_bucket_and_one_user() {
    let systems = Systems::start().await;
    let s3: Arc<dyn Storage> = Arc::new(faults::s3_storage(&systems.s3.endpoint).await);
    let (_, expected) = baseline(&systems, s3.clone()).await;

    // A new bucket takes 8 requests (HeadBucket, CreateBucket, six settings); the j-th reaches
    // moto but its answer is lost with the process.
    let scenarios = (1..=8).map(|j| {
        let (systems, s3, expected) = (&systems, s3.clone(), &expected);
        async move {
            let name = testkit::unique(&format!("s{j}-"));
            let proxy = FaultProxy::start(&systems.s3.endpoint).await;
            proxy.set(Some(Rule {
                pass_first: j - 1,
                ..Rule::always(HttpFault::LoseAnswer)
            }));
            let through_proxy: Arc<dyn Storage> =
                Arc::new(faults::s3_storage(&proxy.endpoint).await);
            let api = FakeApi::default();
            create(&api, &name).await;
            let running = start_controller(api.client(), through_proxy, systems.database());
            proxy.held(WITHIN).await;
            running.abort();
            let seen = proxy.seen();
            let last = seen.last().unwrap();
            let label = format!(
                "crash after S3 request {j} ({} {}?{})",
                last.method, last.path, last.query
            );
            let outcome = Outcome {
                secrets_at_crash: secret_data(&api, &format!("tenant-{name}")),
                name,
                api,
            };
            let took = check_converged(systems, &outcome, expected, s3, &label).await;
            (label, took)
        }
    });
    for (label, took) in futures::future::join_all(scenarios).await {
        eprintln!("FIGURES {label}: Ready {took:?} after a fresh start");
    }

    // Atlas stores the user, then the answer never comes.
    let name = testkit::unique("atlas-");
    let api = FakeApi::default();
    systems
        .atlas
        .fail_with(Some(Fault::Delay(Duration::from_secs(300))));
    create(&api, &name).await;
    let running = start_controller(api.client(), s3.clone(), systems.database());
    let user = format!("chat-{name}");
    eventually("Atlas to store the user", WITHIN, || {
        systems.atlas.user(&user).is_some()
    })
    .await;
    running.abort();
    systems.atlas.fail_with(None);
    let outcome = Outcome {
        secrets_at_crash: secret_data(&api, &format!("tenant-{name}")),
        name,
        api,
    };
    let took = check_converged(
        &systems,
        &outcome,
        &expected,
        s3,
        "crash after Atlas stored the user",
    )
    .await;
    eprintln!("FIGURES crash after Atlas stored the user: Ready {took:?} after a fresh start");
}

/// A dedicated tenant (spec.database.dedicated) whose operator dies after each Atlas write of its
/// provisioning: the cluster's POST, then the user's POST. Atlas carries the write out and the
/// answer is lost with the process; a fresh controller must find what was made, so the tenant
/// ends Ready with exactly one cluster ever created, one user scoped to it whose password is the
/// Secret's, and a CHAT_STORE pointing at that cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_each_atlas_write_of_a_dedicated_tenant_makes_one_cluster_never_two() {
    let s3 = testkit::s3::s3();
    let storage: Arc<dyn Storage> = Arc::new(faults::s3_storage(&s3.endpoint).await);
    const WRITES: [&str; 2] = ["the cluster's POST", "the user's POST"];
    let scenarios = (1..=WRITES.len()).map(|j| {
        let storage = storage.clone();
        async move {
            let atlas = AtlasStandIn::start().await;
            // IDLE at the first look after its POST: the wait itself is tested elsewhere.
            atlas.cluster_polls(0, 0);
            let name = testkit::unique(&format!("d{j}-"));
            let api = FakeApi::default();
            create_dedicated(&api, &name).await;
            crash_after_atlas_write(&api, storage.clone(), &atlas, j, WRITES[j - 1]).await;
            let took = recover(&api, storage.clone(), atlas_database(&atlas), &name).await;

            let label = format!("crash after {}", WRITES[j - 1]);
            let created = atlas.clusters_created();
            assert_eq!(created.len(), 1, "{label}: one cluster ever: {created:?}");
            let cluster = created[0].clone();
            let users: Vec<String> = atlas.state.users.lock().unwrap().keys().cloned().collect();
            assert_eq!(users, [format!("chat-{name}")], "{label}: one user");
            let user = atlas.user(&format!("chat-{name}")).unwrap();
            assert_eq!(
                user["scopes"],
                json!([{"name": cluster, "type": "CLUSTER"}]),
                "{label}: scoped to its cluster"
            );
            let data = secret_data(&api, &format!("tenant-{name}"));
            let password = decoded(&data[secrets::DATABASE], "password");
            assert_eq!(
                user["password"].as_str(),
                Some(password.as_str()),
                "{label}"
            );
            let uri = decoded(&data[secrets::DATABASE], "uri");
            assert!(
                uri.contains(&format!("@{}.x7k2p.mongodb.net/", cluster.to_lowercase())),
                "{label}: {uri}"
            );
            (label, took)
        }
    });
    for (label, took) in futures::future::join_all(scenarios).await {
        eprintln!("FIGURES dedicated, {label}: Ready {took:?} after a fresh start");
    }
}

/// A dedicated professional tenant moved to enterprise, whose operator dies after each Atlas
/// write of the resize: the cluster's PATCH to M30, then the user's POST and PATCH that follow
/// it. Atlas carries each out and the answer is lost; a fresh controller must see the size
/// already asked for, so the cluster ends IDLE at M30 after exactly one resize PATCH, with no
/// second cluster, one user whose password is the Secret's, and the Secret's address unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_each_atlas_write_of_a_resize_patches_the_cluster_once() {
    let s3 = testkit::s3::s3();
    let storage: Arc<dyn Storage> = Arc::new(faults::s3_storage(&s3.endpoint).await);
    const WRITES: [&str; 3] = ["the resize PATCH", "the user's POST", "the user's PATCH"];
    let scenarios = (1..=WRITES.len()).map(|j| {
        let storage = storage.clone();
        async move {
            let atlas = AtlasStandIn::start().await;
            atlas.cluster_polls(0, 0);
            // Still UPDATING when the fresh controller first looks (a resize takes minutes):
            // the size it shows is the one asked for, which must not be asked for again.
            atlas.resize_polls(1);
            let name = testkit::unique(&format!("r{j}-"));
            let api = FakeApi::default();
            create_dedicated(&api, &name).await;
            let tenants = Api::<Tenant>::all(api.client());
            recover(&api, storage.clone(), atlas_database(&atlas), &name).await;
            let cluster = atlas.clusters_created()[0].clone();
            assert_eq!(atlas.instance_size(&cluster).as_deref(), Some("M10"));
            let ns = format!("tenant-{name}");
            let secrets_before = secret_data(&api, &ns);
            let applied = |api: &FakeApi| {
                api.get("atendo.io", "tenants", "", &name).unwrap()["status"]["applied"]["database"]
                    .clone()
            };
            let applied_before = applied(&api);

            tenants
                .patch(
                    &name,
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(json!({"spec": {"plan": "enterprise"}})),
                )
                .await
                .unwrap();
            crash_after_atlas_write(&api, storage.clone(), &atlas, j, WRITES[j - 1]).await;
            let label = format!("crash after {}", WRITES[j - 1]);
            assert_eq!(
                atlas.resizes().len(),
                1,
                "{label}: the PATCH was carried out"
            );

            let started = Instant::now();
            let running = start_controller(api.client(), storage.clone(), atlas_database(&atlas));
            eventually(&format!("{label}: the resize settled"), WITHIN, || {
                faults::report_workload_up(&api, &ns);
                applied(&api) != applied_before
                    && faults::condition(&api, &name, "DatabaseReady")
                        == Some(("True".into(), "Provisioned".into()))
            })
            .await;
            running.abort();
            let took = started.elapsed();

            assert_eq!(
                atlas.resizes(),
                [(cluster.clone(), "M30".to_string())],
                "{label}: one resize PATCH"
            );
            assert_eq!(atlas.instance_size(&cluster).as_deref(), Some("M30"));
            assert_eq!(
                atlas.clusters_created(),
                std::slice::from_ref(&cluster),
                "{label}"
            );
            let users: Vec<String> = atlas.state.users.lock().unwrap().keys().cloned().collect();
            assert_eq!(users, [format!("chat-{name}")], "{label}: one user");
            let now = secret_data(&api, &ns);
            assert_eq!(
                now[secrets::DATABASE],
                secrets_before[secrets::DATABASE],
                "{label}: the chat-server's connection is left alone"
            );
            let password = decoded(&now[secrets::DATABASE], "password");
            assert_eq!(
                atlas.user(&format!("chat-{name}")).unwrap()["password"].as_str(),
                Some(password.as_str()),
                "{label}"
            );
            (label, took)
        }
    });
    for (label, took) in futures::future::join_all(scenarios).await {
        eprintln!("FIGURES resize, {label}: settled {took:?} after a fresh start");
    }
}

/// Counts how many ensure_bucket calls for one bucket run at once; each takes a while, so that
/// overlapping reconciles show.
#[derive(Default)]
struct OverlapProbe {
    in_flight: std::sync::Mutex<u32>,
    most: std::sync::Mutex<u32>,
}

#[async_trait::async_trait]
impl Storage for OverlapProbe {
    async fn ensure_bucket(
        &self,
        _: &atendo_operator::controller::providers::BucketRequest,
    ) -> Result<(), atendo_operator::controller::providers::ProviderError> {
        {
            let mut n = self.in_flight.lock().unwrap();
            *n += 1;
            let mut most = self.most.lock().unwrap();
            *most = (*most).max(*n);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        *self.in_flight.lock().unwrap() -= 1;
        Ok(())
    }

    async fn retire_bucket(
        &self,
        _: &str,
        _: atendo_operator::tenant::DeletionPolicy,
    ) -> Result<(), atendo_operator::controller::providers::ProviderError> {
        Ok(())
    }
}

/// A fresh controller on existing state hears of one Tenant from its own watch and from each
/// owned kind's watch at once; those must share one queue key, or two reconciles of the same
/// Tenant run side by side (and, before its credentials are stored, make two sets of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_controller_never_runs_two_reconciles_of_one_tenant_at_once() {
    let api = FakeApi::default();
    let database: Arc<dyn Database> = Arc::new(support::providers::MemoryDatabase::default());
    let first = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        Arc::new(support::providers::MemoryStorage::default()),
        database.clone(),
        Arc::new(support::providers::MemoryBus::default()),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    tenants
        .create(&PostParams::default(), &tenant("acme"))
        .await
        .unwrap();
    for _ in 0..2 {
        let stored = tenants.get("acme").await.unwrap();
        reconcile(Arc::new(stored), first.clone()).await.unwrap();
    }
    // The next reconcile must call the bucket again.
    tenants
        .patch(
            "acme",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"annotations": {"atendo.io/reconcile-requested-at": "now"}}}),
            ),
        )
        .await
        .unwrap();

    let probe = Arc::new(OverlapProbe::default());
    let fresh = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        probe.clone(),
        database,
        Arc::new(support::providers::MemoryBus::default()),
    ));
    let running = tokio::spawn(controller(fresh).for_each(|_| async {}));
    eventually("the forced reconcile", WITHIN, || {
        *probe.most.lock().unwrap() >= 1 && *probe.in_flight.lock().unwrap() == 0
    })
    .await;
    // Give the owned kinds' initial events time to start their reconciles too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.abort();
    assert_eq!(*probe.most.lock().unwrap(), 1, "reconciles overlapped");
}
