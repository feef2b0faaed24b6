//! Scale check: N Tenants (default 1,000; `SCALE_TENANTS`) against the in-memory API fake with the
//! real Controller and in-memory providers. Prints the time until every Tenant is Ready, the
//! peak RSS, and how many API writes and external calls one full resync makes when nothing
//! changed (should be zero). A stand-in "kubelet" marks each Deployment available and each
//! Ingress admitted, which the real cluster's controllers would do.
//!
//! cargo bench -p operator --bench scale              (release)
//! SCALE_TENANTS=200 cargo bench -p operator --bench scale

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use atendo_operator::controller::{Context, controller, reconcile};
use atendo_operator::tenant::Tenant;
use futures::StreamExt;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use support::fake_api::FakeApi;
use support::providers::{MemoryDatabase, MemoryStorage};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn ready(t: &Tenant) -> bool {
    t.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("SCALE_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let api = FakeApi::default();
    let storage = Arc::new(MemoryStorage::default());
    let database = Arc::new(MemoryDatabase::default());
    let ctx = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        storage.clone(),
        database.clone(),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    let started = Instant::now();
    let running = tokio::spawn(controller(ctx.clone()).for_each(|_| async {}));
    for i in 0..n {
        tenants
            .create(
                &PostParams::default(),
                &common::tenant(common::minimal_json(&format!("t{i:05}"), "starter")),
            )
            .await
            .unwrap();
    }
    // The kubelet and ingress controller stand-in.
    let kubelet_api = api.clone();
    let kubelet = tokio::spawn(async move {
        loop {
            for i in 0..n {
                let ns = format!("tenant-t{i:05}");
                if let Some(mut d) = kubelet_api.get("apps", "deployments", &ns, "chat-server")
                    && d["status"].is_null()
                {
                    d["status"] = json!({"observedGeneration": d["metadata"]["generation"], "replicas": 1, "availableReplicas": 1});
                    kubelet_api.put("apps", "deployments", &ns, d);
                }
                if let Some(mut ing) =
                    kubelet_api.get("networking.k8s.io", "ingresses", &ns, "chat-server")
                    && ing["status"].is_null()
                {
                    ing["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}});
                    kubelet_api.put("networking.k8s.io", "ingresses", &ns, ing);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let all_ready = loop {
        let list = tenants.list(&ListParams::default()).await.unwrap();
        let count = list.items.iter().filter(|t| ready(t)).count();
        if count == n {
            break started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "only {count} of {n} Ready after 600 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    kubelet.abort();
    // Let reconciles already queued finish (the Controller stops at a quiet moment, not mid-pass).
    loop {
        api.clear_calls();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if api.writes().is_empty() {
            break;
        }
    }
    running.abort();

    // One full resync by hand, nothing changed.
    let external_before = (
        *storage.ensure_calls.lock().unwrap(),
        *database.ensure_calls.lock().unwrap(),
    );
    api.clear_calls();
    let resync_started = Instant::now();
    for t in tenants.list(&ListParams::default()).await.unwrap().items {
        reconcile(Arc::new(t), ctx.clone()).await.unwrap();
    }
    let resync = resync_started.elapsed();
    let writes = api.writes().len();
    let reads = api.calls().len() - writes;
    let external = (
        *storage.ensure_calls.lock().unwrap() - external_before.0,
        *database.ensure_calls.lock().unwrap() - external_before.1,
    );
    println!("tenants: {n}");
    println!("all Ready after: {:.1} s", all_ready.as_secs_f64());
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    println!(
        "full resync, nothing changed: {:.1} s, {writes} API writes, {reads} API reads, {} bucket and {} database calls",
        resync.as_secs_f64(),
        external.0,
        external.1
    );
    assert_eq!(
        (writes, external),
        (0, (0, 0)),
        "a no-op resync writes nothing"
    );
}
