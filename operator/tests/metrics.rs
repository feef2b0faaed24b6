//! Metrics and probes: what a reconcile records, and what a chart's probes and scraper see over
//! HTTP on the configured address.

mod common;
mod support;

use std::sync::Arc;

use atendo_operator::controller::{Context, reconcile};
use atendo_operator::metrics::{self, Metrics};
use atendo_operator::tenant::Tenant;
use kube::api::{Api, PostParams};
use support::fake_api::FakeApi;
use support::providers::{MemoryDatabase, MemoryStorage};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of one sample line, e.g. `atendo_operator_reconciles_total`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn probes_answer_and_readiness_waits_for_the_controller() {
    let metrics = Arc::new(Metrics::new());
    let (addr, server) = metrics::serve("127.0.0.1:0".parse().unwrap(), metrics.clone())
        .await
        .unwrap();
    assert_eq!(get(addr, "/healthz").await, (200, "ok".into()));
    assert_eq!(get(addr, "/readyz").await.0, 503);
    metrics.set_ready(true);
    assert_eq!(get(addr, "/readyz").await, (200, "ready".into()));
    assert_eq!(get(addr, "/nothing-here").await.0, 404);
    server.abort();
}

#[tokio::test]
async fn a_taken_address_is_an_error_not_a_silent_fallback() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    assert!(
        metrics::serve(addr, Arc::new(Metrics::new()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn reconciles_failures_by_reason_and_durations_are_scraped() {
    let api = FakeApi::default();
    let storage = Arc::new(MemoryStorage::default());
    storage
        .taken
        .lock()
        .unwrap()
        .insert("atendo-taken-uploads".into());
    let ctx = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        storage,
        Arc::new(MemoryDatabase::default()),
        Arc::new(support::providers::MemoryBus::default()),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    for name in ["acme", "taken"] {
        tenants
            .create(
                &PostParams::default(),
                &common::tenant(common::minimal_json(name, "starter")),
            )
            .await
            .unwrap();
    }
    for name in ["acme", "acme", "taken", "taken"] {
        let tenant = Arc::new(tenants.get(name).await.unwrap());
        let _ = reconcile(tenant, ctx.clone()).await;
    }

    let (addr, server) = metrics::serve("127.0.0.1:0".parse().unwrap(), ctx.metrics.clone())
        .await
        .unwrap();
    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&text, "atendo_operator_reconciles_total"),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "atendo_operator_reconcile_failures_total{stage=\"provider\",reason=\"BucketNameTaken\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "atendo_operator_reconcile_duration_seconds_count"),
        Some(4.0),
        "{text}"
    );
    assert!(
        sample(&text, "atendo_operator_reconcile_duration_seconds_sum").unwrap() > 0.0,
        "{text}"
    );
    assert!(
        text.contains("# TYPE atendo_operator_leader gauge"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text");
    server.abort();
}
