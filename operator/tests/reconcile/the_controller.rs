//! The real watching Controller and the error policy, rather than one pass by hand.

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::controller::controller;
use futures::StreamExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use serde_json::json;

use crate::{World, acme, common};

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

/// Issue 16 §7: the reconcile reads what the operator owns from the Controller's watch caches.
/// Once a Tenant is Ready and the caches have seen it, a resync with nothing changed makes no
/// API call at all; before the caches it made 17 reads (every owned object and the 3 Secrets).
#[tokio::test]
async fn with_the_caches_filled_a_resync_with_nothing_changed_makes_no_api_call() {
    let w = World::new();
    let running = tokio::spawn(controller(w.ctx.clone()).for_each(|_| async {}));
    ready_with_the_controller(&w).await;
    let tenant = Arc::new(w.tenant("acme").await.unwrap());
    w.api.clear_calls();
    atendo_operator::controller::reconcile(tenant, w.ctx.clone())
        .await
        .unwrap();
    let calls: Vec<String> = w
        .api
        .calls()
        .iter()
        .filter(|c| !c.query.contains("watch=true"))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    running.abort();
    assert_eq!(
        calls,
        Vec::<String>::new(),
        "calls of a resync with nothing to do"
    );
}

/// The caches keep a fingerprint of each object, not the object: an edit by someone else must
/// still be seen as drift and put back, with the running Controller (whose watch events are
/// what tell the caches), not only by a reconcile that reads from the API.
#[tokio::test]
async fn with_the_caches_filled_an_edited_object_is_put_back() {
    let w = World::new();
    let running = tokio::spawn(controller(w.ctx.clone()).for_each(|_| async {}));
    ready_with_the_controller(&w).await;
    let mut deployment = w.deployment("tenant-acme").unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil/image:latest");
    w.api.put("apps", "deployments", "tenant-acme", deployment);
    let mut config = w
        .api
        .get("", "configmaps", "tenant-acme", "chat-server")
        .unwrap();
    config["data"]["CHAT_PUBLIC_URL"] = json!("https://evil.example.com");
    w.api.put("", "configmaps", "tenant-acme", config);
    let restored = || {
        let image = w.deployment("tenant-acme").unwrap()["spec"]["template"]["spec"]["containers"]
            [0]["image"]
            .clone();
        let url = w
            .api
            .get("", "configmaps", "tenant-acme", "chat-server")
            .unwrap()["data"]["CHAT_PUBLIC_URL"]
            .clone();
        image == json!("registry.example.com/atendo/chat-server:1.0.0")
            && url == json!("https://acme.chat.example.com")
    };
    for _ in 0..200 {
        if restored() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    running.abort();
    assert!(
        restored(),
        "the edited Deployment and ConfigMap were not put back"
    );
}

/// Creates acme, plays the cluster's controllers until it is Ready, and lets the watches
/// deliver the last writes.
async fn ready_with_the_controller(w: &World) {
    w.create(acme()).await;
    let ready = || async {
        w.tenant("acme").await.is_some_and(|t| {
            t.status.is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        })
    };
    for _ in 0..200 {
        if w.deployment("tenant-acme").is_some() {
            w.converge("tenant-acme");
        }
        if ready().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready().await, "acme never became Ready");
    // Let the watches deliver the last writes and the Controller settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
}
