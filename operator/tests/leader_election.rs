//! Lease-based leader election against the in-memory API (which models the Lease, strategic
//! merge patches and field-manager conflicts): of two replicas only the lease holder runs the
//! controller; losing the lease stops it; a standby takes over an expired lease.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::controller::Context;
use atendo_operator::leader::{Election, LeaderConfig, while_leading};
use atendo_operator::run::run_controller;
use atendo_operator::settings::RuntimeArgs;
use atendo_operator::tenant::Tenant;
use clap::Parser;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::fake_api::FakeApi;
use support::providers::{MemoryDatabase, MemoryStorage};

const NS: &str = "atendo-system";

struct Replica {
    storage: Arc<MemoryStorage>,
    ctx: Arc<Context>,
    task: tokio::task::JoinHandle<()>,
    /// Dropping or sending shuts the replica down gracefully (as on SIGTERM).
    shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Replica {
    async fn start(api: &FakeApi, identity: &str) -> Replica {
        let storage = Arc::new(MemoryStorage::default());
        let ctx = Arc::new(Context::new(
            api.client(),
            common::settings(&[]),
            storage.clone(),
            Arc::new(MemoryDatabase::default()),
            Arc::new(support::providers::MemoryBus::default()),
        ));
        let config = LeaderConfig {
            lease_name: "atendo-operator".into(),
            namespace: NS.into(),
            identity: identity.into(),
            duration: 2,
            grace: 1,
        };
        let election = Election::start(api.client(), &config).await.unwrap();
        let c = ctx.clone();
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let leading = election.leading.clone();
            tokio::select! {
                () = while_leading(leading, c.metrics.clone(), || run_controller(c.clone())) => {}
                _ = stopped => {}
            }
            election.stop().await;
        });
        Replica {
            storage,
            ctx,
            task,
            shutdown,
        }
    }

    fn leads(&self) -> bool {
        self.ctx
            .metrics
            .encode()
            .lines()
            .any(|l| l == "atendo_operator_leader 1")
    }

    fn provisioned(&self, tenant: &str) -> bool {
        self.storage
            .buckets
            .lock()
            .unwrap()
            .contains_key(&format!("atendo-{tenant}-uploads"))
    }
}

async fn eventually(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create(api: &FakeApi, name: &str) {
    Api::<Tenant>::all(api.client())
        .create(
            &PostParams::default(),
            &common::tenant(common::minimal_json(name, "starter")),
        )
        .await
        .unwrap();
}

fn holder(api: &FakeApi) -> Option<String> {
    api.get("coordination.k8s.io", "leases", NS, "atendo-operator")?["spec"]["holderIdentity"]
        .as_str()
        .map(String::from)
}

#[tokio::test]
async fn only_the_lease_holder_runs_the_controller_and_a_standby_takes_over_when_it_dies() {
    let api = FakeApi::default();
    let a = Replica::start(&api, "operator-a").await;
    eventually("a to lead", Duration::from_secs(5), || a.leads()).await;
    let b = Replica::start(&api, "operator-b").await;
    assert_eq!(holder(&api).as_deref(), Some("operator-a"));

    create(&api, "acme").await;
    eventually("acme provisioned", Duration::from_secs(5), || {
        a.provisioned("acme")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !b.leads() && !b.provisioned("acme"),
        "the standby stays idle: b leads {}, lease {:?}, calls {:?}",
        b.leads(),
        api.get("coordination.k8s.io", "leases", NS, "atendo-operator"),
        api.calls()
            .iter()
            .filter(|c| c.path.contains("leases"))
            .map(|c| format!("{} {}", c.method, c.query))
            .collect::<Vec<_>>()
    );

    // A crashes: no release, no renewals. B takes over once the lease expires.
    a.task.abort();
    eventually("b to lead", Duration::from_secs(10), || b.leads()).await;
    assert_eq!(holder(&api).as_deref(), Some("operator-b"));
    create(&api, "globex").await;
    eventually("globex provisioned by b", Duration::from_secs(5), || {
        b.provisioned("globex")
    })
    .await;
    b.task.abort();
}

#[tokio::test]
async fn losing_the_lease_stops_the_controller() {
    let api = FakeApi::default();
    let a = Replica::start(&api, "operator-a").await;
    eventually("a to lead", Duration::from_secs(5), || a.leads()).await;

    // Someone else now holds the lease (as after a long pause of this replica).
    let mut lease = api
        .get("coordination.k8s.io", "leases", NS, "atendo-operator")
        .unwrap();
    lease["spec"]["holderIdentity"] = json!("operator-z");
    lease["spec"]["renewTime"] = json!(
        k8s_openapi::jiff::Timestamp::now()
            .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(60))
            .unwrap()
            .to_string()
    );
    lease["spec"]["leaseDurationSeconds"] = json!(60);
    api.put("coordination.k8s.io", "leases", NS, lease);

    eventually("a to step down", Duration::from_secs(5), || !a.leads()).await;
    create(&api, "acme").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!a.provisioned("acme"), "a stopped reconciling");
    assert_eq!(holder(&api).as_deref(), Some("operator-z"));
    a.task.abort();
}

#[tokio::test]
async fn a_replica_that_shuts_down_gracefully_releases_the_lease() {
    let api = FakeApi::default();
    let a = Replica::start(&api, "operator-a").await;
    eventually("a to lead", Duration::from_secs(5), || a.leads()).await;
    let metrics = a.ctx.metrics.clone();
    a.shutdown.send(()).unwrap();
    a.task.await.unwrap();
    assert_eq!(holder(&api), None, "released, not left to expire");
    assert!(
        metrics
            .encode()
            .lines()
            .any(|l| l == "atendo_operator_leader 0")
    );
}

#[test]
fn the_lease_namespace_comes_from_the_flag_then_the_pod_then_a_default() {
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        runtime: RuntimeArgs,
    }
    let parse = |args: &[&str]| {
        Wrapper::try_parse_from(std::iter::once("atendo-operator").chain(args.iter().copied()))
            .unwrap()
            .runtime
    };
    let defaults = parse(&[]);
    assert!(!defaults.leader_election);
    assert_eq!(defaults.lease_name, "atendo-operator");
    assert_eq!(defaults.metrics_addr, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(defaults.lease_namespace(None), "atendo-system");
    assert_eq!(
        defaults.lease_namespace(Some("platform".into())),
        "platform"
    );
    let set = parse(&[
        "--leader-election",
        "--lease-name=atendo-a",
        "--lease-namespace=ops",
    ]);
    assert!(set.leader_election);
    assert_eq!(set.lease_name, "atendo-a");
    assert_eq!(set.lease_namespace(Some("platform".into())), "ops");
    assert!(!parse(&["--leader-election=false"]).leader_election);
}
