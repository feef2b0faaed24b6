//! `--redis-ca-file` through reconciles against the API fake (tests/support/fake_api.rs says what
//! it does not model): the ConfigMap `chat-bus-ca` is made, follows a new CA (and the pods roll
//! with it), and is removed when the setting is; the real Controller, under the chart's RBAC and
//! admission policies, restores a deleted one.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use atendo_operator::controller::{Context, controller, reconcile};
use atendo_operator::settings::Settings;
use atendo_operator::tenant::Tenant;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::Value;
use support::fake_api::FakeApi;
use support::fake_api::access::Access;
use support::providers::{MemoryBus, MemoryDatabase, MemoryStorage};

const OPERATOR: &str = "system:serviceaccount:atendo-system:atendo-operator";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// The operator's settings with a rediss:// endpoint and, if named, that CA file.
fn settings(ca: Option<&str>) -> Settings {
    let ca_flag = ca.map(|name| format!("--redis-ca-file={}", fixture(name)));
    let mut flags = vec!["--redis-url=rediss://redis.atendo:6380"];
    flags.extend(ca_flag.as_deref());
    common::settings(&flags)
}

fn context(client: kube::Client, settings: Settings) -> Arc<Context> {
    Arc::new(Context::new(
        client,
        settings,
        Arc::new(MemoryStorage::default()),
        Arc::new(MemoryDatabase::default()),
        Arc::new(MemoryBus::default()),
    ))
}

async fn create_acme(api: &FakeApi) {
    let tenant: Tenant = serde_json::from_value(common::full_tenant_json()).unwrap();
    Api::<Tenant>::all(api.client())
        .create(&PostParams::default(), &tenant)
        .await
        .unwrap();
}

async fn reconcile_with(api: &FakeApi, settings: Settings) {
    let tenant = Api::<Tenant>::all(api.client()).get("acme").await.unwrap();
    reconcile(Arc::new(tenant), context(api.client(), settings))
        .await
        .unwrap();
}

fn bus_ca(api: &FakeApi) -> Option<Value> {
    api.get("", "configmaps", "tenant-acme", "chat-bus-ca")
}

fn deployment(api: &FakeApi) -> Value {
    api.get("apps", "deployments", "tenant-acme", "chat-server")
        .unwrap()
}

fn pod_hash(api: &FakeApi) -> Value {
    deployment(api)["spec"]["template"]["metadata"]["annotations"]["atendo.io/config-hash"].clone()
}

fn mounts_the_ca(api: &FakeApi) -> bool {
    let pod = &deployment(api)["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["configMap"]["name"] == "chat-bus-ca");
    let env = pod["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "CHAT_BUS_CA_FILE" && e["value"] == "/etc/atendo/bus-ca/ca.crt");
    assert_eq!(volume, env, "the volume and CHAT_BUS_CA_FILE go together");
    volume
}

#[tokio::test]
async fn the_ca_config_map_is_made_follows_a_new_ca_and_goes_when_the_setting_does() {
    let api = FakeApi::default();
    create_acme(&api).await;
    // Finalizer pass, then the first full pass.
    reconcile_with(&api, settings(Some("bus-ca-1.pem"))).await;
    reconcile_with(&api, settings(Some("bus-ca-1.pem"))).await;
    let made = bus_ca(&api).expect("chat-bus-ca is made");
    assert_eq!(made["data"]["ca.crt"], pem("bus-ca-1.pem"));
    assert_eq!(made["metadata"]["ownerReferences"][0]["kind"], "Tenant");
    assert!(mounts_the_ca(&api));
    let first = pod_hash(&api);

    api.clear_calls();
    reconcile_with(&api, settings(Some("bus-ca-1.pem"))).await;
    assert!(
        !api.writes().iter().any(|c| c.path.contains("chat-bus-ca")),
        "the same CA again writes nothing: {:?}",
        api.writes()
    );

    reconcile_with(&api, settings(Some("bus-ca-2.pem"))).await;
    assert_eq!(bus_ca(&api).unwrap()["data"]["ca.crt"], pem("bus-ca-2.pem"));
    let second = pod_hash(&api);
    assert_ne!(second, first, "the pods roll onto the new CA");

    reconcile_with(&api, settings(None)).await;
    assert_eq!(bus_ca(&api), None, "removed with the setting");
    assert!(!mounts_the_ca(&api));
    assert_ne!(pod_hash(&api), second, "and the pods roll without it");
    let order: Vec<String> = api
        .writes()
        .into_iter()
        .filter(|c| c.path.contains("/deployments/") || c.path.contains("/chat-bus-ca"))
        .map(|c| format!("{} {}", c.method, c.path.rsplit('/').next().unwrap()))
        .collect();
    assert_eq!(
        order[order.len() - 2..],
        ["PATCH chat-server", "DELETE chat-bus-ca"],
        "the Deployment stops mounting it before it goes: {order:?}"
    );
}

#[tokio::test]
async fn without_a_ca_setting_no_config_map_is_made() {
    let api = FakeApi::default();
    create_acme(&api).await;
    reconcile_with(&api, settings(None)).await;
    reconcile_with(&api, settings(None)).await;
    assert!(
        api.get("apps", "deployments", "tenant-acme", "chat-server")
            .is_some()
    );
    assert_eq!(bus_ca(&api), None);
    assert!(!mounts_the_ca(&api));
    assert!(
        !api.writes().iter().any(|c| c.path.contains("chat-bus-ca")),
        "{:?}",
        api.writes()
    );
}

/// Fails with what the fake refused, the likeliest reason for never getting there.
async fn wait_for(api: &FakeApi, what: &str, check: impl Fn() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}; refused: {:#?}", api.denied());
}

#[tokio::test]
async fn the_controller_restores_a_deleted_ca_and_removes_it_with_only_the_charts_permissions() {
    let api = FakeApi::default();
    api.enforce(Access::chart_operator(OPERATOR));
    create_acme(&api).await;
    let running = tokio::spawn(
        controller(context(
            api.client_as(OPERATOR),
            settings(Some("bus-ca-1.pem")),
        ))
        .for_each(|_| async {}),
    );
    wait_for(&api, "chat-bus-ca", || bus_ca(&api).is_some()).await;
    // Deleted by hand: its watch by name brings it back.
    Api::<ConfigMap>::namespaced(api.client(), "tenant-acme")
        .delete("chat-bus-ca", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(bus_ca(&api), None);
    wait_for(&api, "chat-bus-ca to come back", || bus_ca(&api).is_some()).await;
    running.abort();

    // The operator restarted without the setting.
    let running = tokio::spawn(
        controller(context(api.client_as(OPERATOR), settings(None))).for_each(|_| async {}),
    );
    wait_for(&api, "chat-bus-ca to be removed", || bus_ca(&api).is_none()).await;
    running.abort();
    assert_eq!(api.denied(), Vec::<String>::new());
}
