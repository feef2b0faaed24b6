//! The external systems failing under the operator: S3 (moto behind the fault proxy of
//! tests/support/faults.rs, so every request that is not faulted gets moto's real answer) and
//! Atlas (the wiremock stand-in) answering 500/503/429 or never answering, during provisioning
//! and during deletion. Reconciles are driven by hand with the Controller's own error policy where
//! the delays themselves are asserted, and by the real Controller where its timing is measured.
//! The Kubernetes side is the in-memory API fake (see fake_api.rs for what it does not model).

mod common;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use atendo_operator::controller::atlas_database::AtlasDatabase;
use atendo_operator::controller::providers::{Database, Storage};
use atendo_operator::controller::{Context, Error, controller, error_policy, reconcile};
use atendo_operator::tenant::Tenant;
use futures::StreamExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::json;
use support::atlas::{AtlasStandIn, Fault};
use support::fake_api::FakeApi;
use support::faults::{
    self, FaultProxy, HttpFault, Rule, condition, eventually, report_workload_up, until_ready,
};
use support::providers::MemoryDatabase;

const WITHIN: Duration = Duration::from_secs(40);

struct World {
    _s3: testkit::s3::S3,
    proxy: FaultProxy,
    api: FakeApi,
    ctx: Arc<Context>,
    tenants: Api<Tenant>,
}

impl World {
    async fn new(database: Arc<dyn Database>, provider_timeout: Option<Duration>) -> Self {
        let s3 = testkit::s3::s3();
        let proxy = FaultProxy::start(&s3.endpoint).await;
        let storage: Arc<dyn Storage> = Arc::new(faults::s3_storage(&proxy.endpoint).await);
        let api = FakeApi::default();
        let mut ctx = Context::new(
            api.client(),
            common::settings(&[]),
            storage,
            database,
            Arc::new(support::providers::MemoryBus::default()),
        );
        if let Some(limit) = provider_timeout {
            ctx.provider_timeout = limit;
        }
        let tenants = Api::all(api.client());
        World {
            _s3: s3,
            proxy,
            api,
            ctx: Arc::new(ctx),
            tenants,
        }
    }

    /// A new Tenant with a name unique on the (possibly shared) moto server.
    async fn create(&self, prefix: &str, deletion_policy: &str) -> String {
        let name = testkit::unique(prefix);
        let doc = common::with(
            common::minimal_json(&name, "professional"),
            "/spec/deletionPolicy",
            json!(deletion_policy),
        );
        self.tenants
            .create(&PostParams::default(), &common::tenant(doc))
            .await
            .unwrap();
        name
    }

    /// One reconcile as the Controller runs it: on failure, the delay its error policy chose.
    async fn reconcile(&self, name: &str) -> Result<Action, (Action, Error)> {
        let tenant = Arc::new(self.tenants.get(name).await.unwrap());
        reconcile(tenant.clone(), self.ctx.clone())
            .await
            .map_err(|e| (error_policy(tenant, &e, self.ctx.clone()), e))
    }

    fn condition(&self, name: &str, kind: &str) -> (String, String) {
        condition(&self.api, name, kind).unwrap_or_else(|| panic!("{name} has no {kind}"))
    }

    fn message(&self, name: &str, kind: &str) -> String {
        let tenant = self.api.get("atendo.io", "tenants", "", name).unwrap();
        let conditions = tenant["status"]["conditions"].as_array().unwrap().clone();
        let c = conditions.into_iter().find(|c| c["type"] == kind).unwrap();
        c["message"].as_str().unwrap().to_string()
    }

    async fn annotate(&self, name: &str, key: &str, value: &str) {
        let patch = json!({"metadata": {"annotations": {key: value}}});
        self.tenants
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }

    /// How many requests for this bucket reached the proxy, and how many of those the fault hit.
    fn requests_for(&self, bucket: &str) -> (usize, usize) {
        let seen: Vec<_> = self
            .proxy
            .seen()
            .into_iter()
            .filter(|s| s.path.contains(bucket))
            .collect();
        (seen.len(), seen.iter().filter(|s| s.faulted).count())
    }
}

fn bucket(name: &str) -> String {
    format!("atendo-{name}-uploads")
}

fn secs(s: u64) -> Action {
    Action::requeue(Duration::from_secs(s))
}

#[tokio::test]
async fn s3_errors_and_throttling_fail_storage_ready_back_off_per_tenant_and_recover() {
    let w = World::new(Arc::new(MemoryDatabase::default()), None).await;
    let acme = w.create("acme", "Retain").await;
    let globex = w.create("globex", "Retain").await;
    for name in [&acme, &globex] {
        w.reconcile(name).await.unwrap(); // the finalizer
    }

    let mut delays = vec![];
    // The first call, HeadBucket, gets no body and so no code: a bare 503 may be SlowDown or an
    // outage and reads as Unavailable; 429 is throttling whatever the body says.
    for (status, code, reason) in [
        (503, "SlowDown", "Unavailable"),
        (500, "InternalError", "Unavailable"),
        (429, "TooManyRequests", "RateLimited"),
    ] {
        w.proxy.set(Some(Rule::on_path(
            HttpFault::Status(status, code),
            &bucket(&acme),
        )));
        let before = w.requests_for(&bucket(&acme));
        let (delay, error) = w.reconcile(&acme).await.unwrap_err();
        let after = w.requests_for(&bucket(&acme));
        eprintln!(
            "FIGURES S3 {status} {code}: {} request(s) in one reconcile, delay {delay:?}, error: {error}",
            after.0 - before.0
        );
        assert!(after.1 > before.1, "the fault was hit");
        delays.push(delay);
        assert_eq!(error.reason(), reason, "{status}: {error}");
        assert_eq!(
            w.condition(&acme, "StorageReady"),
            ("False".into(), reason.into())
        );
        assert_eq!(w.condition(&acme, "Ready").1, reason);
        let message = w.message(&acme, "StorageReady");
        assert!(
            message.contains(&bucket(&acme)) && message.contains(&status.to_string()),
            "names the bucket and the answer: {message}"
        );
        // The other tenant is not held up by it, and keeps no failure count of its own.
        w.reconcile(&globex).await.unwrap();
        assert_eq!(w.condition(&globex, "StorageReady").0, "True");
    }
    assert_eq!(delays, [secs(5), secs(10), secs(20)]);

    // globex's own first failure starts at the bottom while acme's count stands at three.
    w.proxy.set(Some(Rule::on_path(
        HttpFault::Status(503, "SlowDown"),
        &bucket(&globex),
    )));
    w.annotate(&globex, "atendo.io/reconcile-requested-at", "1")
        .await;
    assert_eq!(w.reconcile(&globex).await.unwrap_err().0, secs(5));

    w.proxy.set(None);
    let recovered = Instant::now();
    w.reconcile(&acme).await.expect("recovers once S3 answers");
    report_workload_up(&w.api, &format!("tenant-{acme}"));
    w.reconcile(&acme).await.unwrap();
    assert_eq!(
        w.condition(&acme, "Ready"),
        ("True".into(), "Provisioned".into())
    );
    eprintln!(
        "FIGURES acme Ready {:?} after S3 recovered",
        recovered.elapsed()
    );
    // A success wiped acme's count: the next failure starts at 5 s again.
    w.proxy.set(Some(Rule::on_path(
        HttpFault::Status(500, "InternalError"),
        &bucket(&acme),
    )));
    w.annotate(&acme, "atendo.io/reconcile-requested-at", "1")
        .await;
    assert_eq!(w.reconcile(&acme).await.unwrap_err().0, secs(5));
}

/// Here the outage starts once the Tenant is provisioned, and nothing else touches it while S3 is
/// down: the only thing that may bring it back is the Controller itself. (During a first
/// provisioning the watch events of the objects just applied bring it back at once, several
/// times; docs/reliability.md gives those figures.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_holds_a_failing_tenant_for_its_backoff_and_the_retry_after_it_recovers() {
    let w = World::new(Arc::new(MemoryDatabase::default()), None).await;
    let running = tokio::spawn(controller(w.ctx.clone()).for_each(|_| async {}));
    let name = w.create("acme", "Retain").await;
    until_ready(&w.api, &name, WITHIN).await;
    // Quiet: the provisioning's own watch events are spent.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(failures(&w.ctx), 0);

    w.proxy.set(Some(Rule::on_path(
        HttpFault::Status(503, "SlowDown"),
        &bucket(&name),
    )));
    let started = Instant::now();
    w.annotate(&name, "atendo.io/reconcile-requested-at", "outage")
        .await;
    // Each failed reconcile, stamped when the metrics count it.
    let mut failed_at: Vec<Duration> = vec![];
    let stamp = |failed_at: &mut Vec<Duration>| {
        while failures(&w.ctx) > failed_at.len() {
            failed_at.push(started.elapsed());
        }
    };
    eventually("two failed reconciles", WITHIN, || {
        stamp(&mut failed_at);
        failed_at.len() >= 2
    })
    .await;
    w.proxy.set(None);
    let cleared = started.elapsed();
    eventually("Ready after S3 recovered", WITHIN, || {
        stamp(&mut failed_at);
        condition(&w.api, &name, "Ready").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let ready = started.elapsed();
    running.abort();
    eprintln!(
        "FIGURES failed reconciles at {failed_at:?} (each with the SDK's own retries), S3 back at {cleared:?}, Ready at {ready:?}"
    );
    // The first failure's status write brings the Tenant straight back once; the second failure
    // holds it for the error policy's 10 s (a loaded machine may add to that, never take away),
    // and the retry after it finds S3 back.
    assert_eq!(failed_at.len(), 2, "{failed_at:?}");
    assert!(
        ready - failed_at[1] >= Duration::from_secs(9),
        "held for the backoff: {failed_at:?}, Ready at {ready:?}"
    );
}

fn failures(ctx: &Context) -> usize {
    ctx.metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("atendo_operator_reconcile_failures_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as usize
}

#[tokio::test]
async fn a_hung_s3_call_is_cut_off_after_the_provider_timeout_and_retried() {
    let limit = Duration::from_secs(2);
    let w = World::new(Arc::new(MemoryDatabase::default()), Some(limit)).await;
    let name = w.create("acme", "Retain").await;
    w.reconcile(&name).await.unwrap();
    w.proxy
        .set(Some(Rule::on_path(HttpFault::Hang, &bucket(&name))));

    // The SDK alone would wait for ever: no read timeout of its own.
    let alone = faults::s3_storage(&w.proxy.endpoint).await;
    let request = atendo_operator::controller::providers::BucketRequest {
        bucket: bucket(&name),
        tenant: name.clone(),
        plan: atendo_operator::tenant::Plan::Professional,
        backup_retention_days: 14,
        origins: vec!["https://x.chat.example.com".into()],
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(5), alone.ensure_bucket(&request))
            .await
            .is_err(),
        "the SDK gave up by itself"
    );

    let started = Instant::now();
    let (delay, error) = w.reconcile(&name).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("FIGURES a hung S3 call: reconcile failed after {took:?}: {error}");
    assert!(took >= limit && took < limit * 5, "{took:?}");
    assert_eq!(delay, secs(5));
    assert_eq!(
        w.condition(&name, "StorageReady"),
        ("False".into(), "Unavailable".into())
    );
    let message = w.message(&name, "StorageReady");
    assert!(message.contains("no answer within 2s"), "{message}");
    assert!(
        w.api
            .get(
                "apps",
                "deployments",
                &format!("tenant-{name}"),
                "chat-server"
            )
            .is_some(),
        "the rest of the pipeline still ran"
    );

    w.proxy.set(None);
    w.reconcile(&name).await.unwrap();
    assert_eq!(w.condition(&name, "StorageReady").0, "True");
}

#[tokio::test]
async fn a_cleanup_that_fails_keeps_the_tenant_and_finishes_once_atlas_and_s3_answer() {
    let atlas = AtlasStandIn::start().await;
    let database = Arc::new(AtlasDatabase::new(atlas.config(), None).unwrap());
    let w = World::new(database, None).await;
    let name = w.create("acme", "Retain").await;
    w.reconcile(&name).await.unwrap();
    w.reconcile(&name).await.unwrap();
    let user = format!("chat-{name}");
    assert!(atlas.user(&user).is_some());
    w.tenants
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();

    atlas.fail_with(Some(Fault::Status(503)));
    let (delay, error) = w.reconcile(&name).await.unwrap_err();
    assert_eq!((delay, error.reason()), (secs(5), "Unavailable"));
    assert_eq!(
        w.condition(&name, "Ready"),
        ("False".into(), "CleanupFailed".into())
    );
    let message = w.message(&name, "Ready");
    assert!(
        message.contains("503") && message.contains("atendo.io/skip-external-cleanup"),
        "{message}"
    );
    atlas.fail_with(None);

    w.proxy.set(Some(Rule::on_path(
        HttpFault::Status(500, "InternalError"),
        &bucket(&name),
    )));
    let (delay, error) = w.reconcile(&name).await.unwrap_err();
    assert_eq!((delay, error.reason()), (secs(10), "Unavailable"));
    assert!(atlas.user(&user).is_none(), "the user went on this pass");
    let tenant = w.tenants.get(&name).await.unwrap();
    assert_eq!(
        tenant.metadata.finalizers,
        Some(vec!["atendo.io/cleanup".to_string()])
    );
    assert!(
        w.api
            .get("", "namespaces", "", &format!("tenant-{name}"))
            .is_some(),
        "nothing is removed before the external cleanup is done"
    );

    w.proxy.set(None);
    w.reconcile(&name).await.unwrap();
    assert!(w.tenants.get_opt(&name).await.unwrap().is_none());
    assert!(
        w.api
            .get("", "namespaces", "", &format!("tenant-{name}"))
            .is_none()
    );
    let tags = retained_tag(&w, &name).await;
    assert_eq!(tags.as_deref(), Some("true"), "Retain kept and marked it");
}

async fn retained_tag(w: &World, name: &str) -> Option<String> {
    let client = faults::s3_client(&w._s3.endpoint).await;
    let out = client
        .get_bucket_tagging()
        .bucket(bucket(name))
        .send()
        .await
        .ok()?;
    out.tag_set()
        .iter()
        .find(|t| t.key() == "atendo.io/retained")
        .map(|t| t.value().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skip_annotation_lets_a_tenant_whose_cleanup_can_never_succeed_be_deleted() {
    // deletionPolicy Delete on Atlas without --mongodb-admin-uri: the database can never be
    // dropped, so cleanup fails on every attempt.
    let atlas = AtlasStandIn::start().await;
    let database = Arc::new(AtlasDatabase::new(atlas.config(), None).unwrap());
    let w = World::new(database, None).await;
    let running = tokio::spawn(controller(w.ctx.clone()).for_each(|_| async {}));
    let name = w.create("acme", "Delete").await;
    let ns = format!("tenant-{name}");
    until_ready(&w.api, &name, WITHIN).await;
    w.tenants
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    eventually("CleanupFailed", WITHIN, || {
        condition(&w.api, &name, "Ready").is_some_and(|(_, r)| r == "CleanupFailed")
    })
    .await;
    let message = w.message(&name, "Ready");
    assert!(message.contains("--mongodb-admin-uri"), "{message}");
    // Each external system is cleaned up on its own: the user and the bucket are gone, the
    // database is what cannot be dropped, and it holds the Tenant.
    assert!(atlas.user(&format!("chat-{name}")).is_none());
    let client = faults::s3_client(&w._s3.endpoint).await;
    let head = client.head_bucket().bucket(bucket(&name)).send().await;
    assert_eq!(
        head.unwrap_err()
            .raw_response()
            .map(|r| r.status().as_u16()),
        Some(404),
        "deletionPolicy Delete removed the bucket"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(w.api.get("", "namespaces", "", &ns).is_some());
    assert!(w.api.get("atendo.io", "tenants", "", &name).is_some());

    let annotated = Instant::now();
    w.annotate(&name, "atendo.io/skip-external-cleanup", "true")
        .await;
    eventually("the Tenant to be gone", WITHIN, || {
        w.api.get("atendo.io", "tenants", "", &name).is_none()
    })
    .await;
    eprintln!(
        "FIGURES skip annotation to Tenant gone: {:?}",
        annotated.elapsed()
    );
    running.abort();
    assert!(w.api.get("", "namespaces", "", &ns).is_none());
}
