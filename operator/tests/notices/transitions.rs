//! The controller with a notice sink: exactly one notice per Ready transition (False or absent →
//! True), none for a resync, a suspend or a spec change that keeps Ready True, another when the
//! Tenant falls out of Ready and comes back (as an un-suspend does while replicas start), and
//! through a sink outage or an operator restart still exactly one, retried with the same id.

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::controller::{Context, reconcile};
use atendo_operator::notices::TENANT_READY;
use atendo_operator::tenant::{NoticeStatus, Tenant};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use crate::cloudevents::CloudEvents;
use crate::sns::Sns;
use crate::support::fake_api::FakeApi;
use crate::support::providers::{MemoryBus, MemoryDatabase, MemoryStorage};
use crate::{Harness, Received, common, wait_for};

/// The API fake and the in-memory providers; a Context is made per "operator process".
struct World {
    api: FakeApi,
    storage: Arc<MemoryStorage>,
    database: Arc<MemoryDatabase>,
    bus: Arc<MemoryBus>,
    tenants: Api<Tenant>,
}

impl World {
    fn new() -> Self {
        let api = FakeApi::default();
        let tenants = Api::all(api.client());
        World {
            api,
            storage: Arc::default(),
            database: Arc::default(),
            bus: Arc::default(),
            tenants,
        }
    }

    /// An operator whose notices go to `h`, retrying after `backoff` (doubling).
    async fn operator(&self, h: &dyn Harness, backoff: Duration) -> Arc<Context> {
        let mut ctx = Context::new(
            self.api.client(),
            common::settings(&[]),
            self.storage.clone(),
            self.database.clone(),
            self.bus.clone(),
        );
        ctx.notices = Some(h.sink().await);
        ctx.notice_backoff = backoff;
        Arc::new(ctx)
    }

    async fn create(&self) {
        let tenant: Tenant = serde_json::from_value(common::full_tenant_json()).unwrap();
        self.tenants
            .create(&PostParams::default(), &tenant)
            .await
            .unwrap();
    }

    async fn tenant(&self) -> Tenant {
        self.tenants.get("acme").await.unwrap()
    }

    async fn reconcile(&self, ctx: &Arc<Context>) -> Action {
        // Boxed: a debug build's reconcile future is large, and a test awaits many.
        Box::pin(reconcile(Arc::new(self.tenant().await), ctx.clone()))
            .await
            .unwrap()
    }

    async fn notice(&self) -> Option<NoticeStatus> {
        self.tenant().await.status.and_then(|s| s.notice)
    }

    async fn ready(&self) -> (String, String) {
        let tenant = self.tenant().await;
        let c = tenant.status.as_ref().unwrap().conditions[0].clone();
        assert_eq!(c.type_, "Ready");
        (c.status, c.reason)
    }

    async fn patch(&self, patch: Value) {
        self.tenants
            .patch("acme", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }

    /// The Deployment with `available` replicas and the Ingress admitted, as their controllers
    /// would report.
    fn workload(&self, available: i32) {
        let ns = "tenant-acme";
        let mut deployment = self
            .api
            .get("apps", "deployments", ns, "chat-server")
            .unwrap();
        deployment["status"] = json!({"observedGeneration": deployment["metadata"]["generation"], "replicas": 2, "availableReplicas": available});
        self.api.put("apps", "deployments", ns, deployment);
        let mut ingress = self
            .api
            .get("networking.k8s.io", "ingresses", ns, "chat-server")
            .unwrap();
        ingress["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}});
        self.api.put("networking.k8s.io", "ingresses", ns, ingress);
    }

    /// Created, provisioned and Ready: the finalizer pass, the first full pass, the workload up,
    /// and the pass that sees it.
    async fn ready_tenant(&self, ctx: &Arc<Context>) {
        self.create().await;
        self.reconcile(ctx).await;
        self.reconcile(ctx).await;
        assert_eq!(self.ready().await.0, "False");
        self.workload(2);
        self.reconcile(ctx).await;
        assert_eq!(self.ready().await, ("True".into(), "Provisioned".into()));
    }
}

/// The one notice delivered; checked to be about acme.
async fn exactly_one(h: &dyn Harness) -> Received {
    // Long enough for a second delivery to show up, had there been one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = h.received().await;
    assert_eq!(got.len(), 1, "exactly one notice: {got:?}");
    let notice = got[0].clone();
    assert_eq!(notice.kind, TENANT_READY);
    assert_eq!(notice.data["tenant"], "acme");
    assert_eq!(notice.data["url"], "https://acme.chat.example.com");
    assert_eq!(
        notice.data["plan"],
        common::full_tenant_json()["spec"]["plan"]
    );
    notice
}

async fn one_notice_per_ready_transition_and_none_while_ready_stays_true(h: &dyn Harness) {
    let w = World::new();
    let ctx = w.operator(h, Duration::from_secs(5)).await;
    w.create().await;
    w.reconcile(&ctx).await;
    w.reconcile(&ctx).await;
    assert_eq!(h.received().await, [], "not Ready yet");
    w.workload(2);
    w.reconcile(&ctx).await;
    let first = exactly_one(h).await;
    let recorded = w.notice().await.unwrap();
    assert_eq!(recorded.id, first.id);
    assert_eq!((recorded.attempts, recorded.last_error), (1, None));
    assert!(recorded.delivered_at.is_some());
    let tenant = w.tenant().await;
    let since = &tenant.status.as_ref().unwrap().conditions[0].last_transition_time;
    assert_eq!(recorded.ready_since.0.as_second(), since.0.as_second());
    assert_eq!(first.data["readyAt"], recorded.ready_since.0.to_string());

    // Resyncs, a suspend (Ready stays True: Suspended) and a spec change that touches no
    // workload (Ready stays True): nothing.
    w.reconcile(&ctx).await;
    w.reconcile(&ctx).await;
    w.patch(json!({"spec": {"suspended": true}})).await;
    w.reconcile(&ctx).await;
    assert_eq!(w.ready().await, ("True".into(), "Suspended".into()));
    w.patch(json!({"spec": {"deletionPolicy": "Delete"}})).await;
    w.reconcile(&ctx).await;
    assert_eq!(w.ready().await, ("True".into(), "Suspended".into()));
    assert_eq!(w.tenant().await.metadata.generation, Some(3));
    exactly_one(h).await;

    // Un-suspended, Ready stays True only while the chat-server counts as available; here its
    // replicas must start first (Progressing), so coming back is a transition of its own.
    // Transition times have whole seconds: the next one must fall in a later second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.patch(json!({"spec": {"suspended": false}})).await;
    w.reconcile(&ctx).await;
    assert_eq!(w.ready().await, ("False".into(), "Progressing".into()));
    exactly_one(h).await;
    w.workload(2);
    w.reconcile(&ctx).await;
    assert_eq!(w.ready().await, ("True".into(), "Provisioned".into()));
    assert_eq!(wait_for(h, 2, Duration::from_secs(5)).await.len(), 2);

    // Out of Ready (its last replica gone) and back: another notice, with an id of its own.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.workload(0);
    w.reconcile(&ctx).await;
    assert_eq!(w.ready().await.0, "False");
    w.workload(2);
    w.reconcile(&ctx).await;
    w.reconcile(&ctx).await;
    let got = wait_for(h, 3, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(h.received().await.len(), 3, "and no more");
    assert_ne!(got[2].id, got[1].id);
    assert_ne!(got[1].id, got[0].id);
    assert_eq!(w.notice().await.unwrap().id, got[2].id);
}

async fn a_sink_outage_is_retried_with_backoff_until_exactly_one_notice_arrives(
    h: &dyn Harness,
) -> String {
    let w = World::new();
    // A backoff far longer than the test: a pass before it ends must not publish.
    let patient = w.operator(h, Duration::from_secs(3600)).await;
    h.set_down(true);
    w.ready_tenant(&patient).await;
    let failed = w.notice().await.unwrap();
    assert_eq!(failed.attempts, 1);
    assert!(failed.delivered_at.is_none());
    assert!(failed.last_error.as_deref().is_some_and(|e| !e.is_empty()));
    w.reconcile(&patient).await;
    assert_eq!(w.notice().await.unwrap().attempts, 1, "still backing off");

    // A short backoff: each pass is an attempt, all with the one id, until the sink is back.
    let eager = w.operator(h, Duration::from_millis(1)).await;
    assert_eq!(
        w.reconcile(&eager).await,
        Action::requeue(Duration::from_millis(2)),
        "back when the second backoff (2 × 1 ms) ends, not at the resync"
    );
    let retried = w.notice().await.unwrap();
    assert_eq!(
        (retried.attempts, retried.id.clone()),
        (2, failed.id.clone())
    );
    assert_eq!(
        h.received().await,
        [],
        "nothing arrived while the sink was down"
    );
    h.set_down(false);
    tokio::time::sleep(Duration::from_millis(5)).await;
    w.reconcile(&eager).await;
    let delivered = w.notice().await.unwrap();
    assert_eq!(delivered.attempts, 3);
    assert!(delivered.delivered_at.is_some());
    assert_eq!(delivered.last_error, None);
    assert_eq!(exactly_one(h).await.id, failed.id);
    w.reconcile(&eager).await;
    exactly_one(h).await;
    failed.id
}

async fn a_second_transition_while_the_sink_is_down_is_owed_not_taken_for_delivered(
    h: &dyn Harness,
) {
    let w = World::new();
    let ctx = w.operator(h, Duration::from_millis(1)).await;
    w.ready_tenant(&ctx).await;
    let first = w.notice().await.unwrap();
    assert!(first.delivered_at.is_some());
    w.workload(0);
    w.reconcile(&ctx).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.set_down(true);
    w.workload(2);
    w.reconcile(&ctx).await;
    let owed = w.notice().await.unwrap();
    assert_ne!(owed.id, first.id);
    assert_eq!(
        (owed.attempts, owed.delivered_at.clone()),
        (1, None),
        "the first transition's delivery is not this one's"
    );
    h.set_down(false);
    tokio::time::sleep(Duration::from_millis(5)).await;
    w.reconcile(&ctx).await;
    let got = wait_for(h, 2, Duration::from_secs(5)).await;
    assert_eq!(
        got.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        [first.id, owed.id]
    );
}

async fn an_operator_restart_neither_loses_nor_repeats_the_notice(h: &dyn Harness) {
    let w = World::new();
    h.set_down(true);
    let before = w.operator(h, Duration::from_millis(1)).await;
    w.ready_tenant(&before).await;
    let owed = w.notice().await.unwrap();
    assert!(owed.delivered_at.is_none());
    drop(before);
    h.set_down(false);
    tokio::time::sleep(Duration::from_millis(5)).await;
    // A new process: nothing in memory, only the status.
    let after = w.operator(h, Duration::from_millis(1)).await;
    w.reconcile(&after).await;
    assert_eq!(exactly_one(h).await.id, owed.id, "not lost");
    let again = w.operator(h, Duration::from_millis(1)).await;
    w.reconcile(&again).await;
    w.reconcile(&again).await;
    exactly_one(h).await;
}

#[tokio::test]
async fn sns_one_notice_per_ready_transition_and_none_while_ready_stays_true() {
    one_notice_per_ready_transition_and_none_while_ready_stays_true(&Sns::start().await).await;
}

#[tokio::test]
async fn sns_a_sink_outage_is_retried_with_backoff_until_exactly_one_notice_arrives() {
    a_sink_outage_is_retried_with_backoff_until_exactly_one_notice_arrives(&Sns::start().await)
        .await;
}

#[tokio::test]
async fn sns_an_operator_restart_neither_loses_nor_repeats_the_notice() {
    an_operator_restart_neither_loses_nor_repeats_the_notice(&Sns::start().await).await;
}

#[tokio::test]
async fn cloudevents_one_notice_per_ready_transition_and_none_while_ready_stays_true() {
    one_notice_per_ready_transition_and_none_while_ready_stays_true(&CloudEvents::start().await)
        .await;
}

#[tokio::test]
async fn cloudevents_a_sink_outage_is_retried_with_the_same_id_until_exactly_one_notice_arrives() {
    let h = CloudEvents::start().await;
    let id = a_sink_outage_is_retried_with_backoff_until_exactly_one_notice_arrives(&h).await;
    let attempts = h.attempts();
    assert_eq!(
        attempts.iter().map(|(ok, _)| *ok).collect::<Vec<_>>(),
        [false, false, true],
        "two refused, then the one accepted"
    );
    for (_, event) in &attempts {
        assert_eq!(event["id"], id.as_str(), "the same id on every retry");
        assert_eq!(event, &attempts[2].1, "the same event on every retry");
    }
}

#[tokio::test]
async fn cloudevents_an_operator_restart_neither_loses_nor_repeats_the_notice() {
    an_operator_restart_neither_loses_nor_repeats_the_notice(&CloudEvents::start().await).await;
}

#[tokio::test]
async fn sns_a_second_transition_while_the_sink_is_down_is_owed_not_taken_for_delivered() {
    a_second_transition_while_the_sink_is_down_is_owed_not_taken_for_delivered(&Sns::start().await)
        .await;
}

#[tokio::test]
async fn cloudevents_a_second_transition_while_the_sink_is_down_is_owed_not_taken_for_delivered() {
    a_second_transition_while_the_sink_is_down_is_owed_not_taken_for_delivered(
        &CloudEvents::start().await,
    )
    .await;
}
