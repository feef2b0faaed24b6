//! The API fake's watch window and its HTTP listener, which the scale bench relies on: a watch
//! replays the events it missed while they are in the window, is told 410 Expired once they are
//! not (so kube's watcher re-lists), and an operator in another process reaches the same fake
//! over plain HTTP.

mod support;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use support::fake_api::FakeApi;

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": name}})).unwrap()
}

async fn create(api: &Api<ConfigMap>, names: &[&str]) {
    for name in names {
        api.create(&PostParams::default(), &config_map(name))
            .await
            .unwrap();
    }
}

/// A fake with a window of `window` events holding ConfigMaps `names` in namespace "ns", and a
/// watch of that namespace from resourceVersion `from`.
async fn watch_after_creating(
    window: usize,
    names: &[&str],
    from: &str,
) -> (
    FakeApi,
    Api<ConfigMap>,
    BoxStream<'static, kube::Result<WatchEvent<ConfigMap>>>,
) {
    let fake = FakeApi::with_window(window);
    let api: Api<ConfigMap> = Api::namespaced(fake.client(), "ns");
    create(&api, names).await;
    let events = api
        .watch(&WatchParams::default(), from)
        .await
        .unwrap()
        .boxed();
    (fake, api, events)
}

fn name_of(event: WatchEvent<ConfigMap>) -> String {
    match event {
        WatchEvent::Added(cm) => cm.metadata.name.unwrap(),
        other => panic!("expected ADDED, got {other:?}"),
    }
}

#[tokio::test]
async fn a_watch_inside_the_window_replays_what_it_missed_then_follows_new_changes() {
    // Events 2..=4 are in the window; a watch from 2 misses only 3 and 4.
    let (fake, api, mut events) = watch_after_creating(3, &["a", "b", "c", "d"], "2").await;
    assert_eq!(name_of(events.try_next().await.unwrap().unwrap()), "c");
    assert_eq!(name_of(events.try_next().await.unwrap().unwrap()), "d");
    create(&api, &["e"]).await;
    assert_eq!(name_of(events.try_next().await.unwrap().unwrap()), "e");
    assert_eq!(fake.expired_watches(), 0);
}

#[tokio::test]
async fn a_watch_from_before_the_window_is_told_410_expired() {
    let (fake, _, mut events) = watch_after_creating(3, &["a", "b", "c", "d", "e"], "1").await;
    match events.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    assert!(events.try_next().await.unwrap().is_none(), "the watch ends");
    assert_eq!(fake.expired_watches(), 1);
}

#[tokio::test]
async fn a_watch_from_zero_after_the_window_moved_starts_with_the_current_objects() {
    let (_, _, mut events) = watch_after_creating(2, &["a", "b", "c", "d"], "0").await;
    let mut names = vec![];
    for _ in 0..4 {
        names.push(name_of(events.try_next().await.unwrap().unwrap()));
    }
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn the_fake_served_over_http_is_the_same_fake_to_a_normal_kube_client() {
    // Dev-dependencies enable both rustls providers; name the operator's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeApi::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(fake.clone().serve(listener));
    let config = kube::Config::new(url.parse().unwrap());
    let remote: Api<ConfigMap> = Api::namespaced(kube::Client::try_from(config).unwrap(), "ns");
    create(&remote, &["over-http"]).await;
    let stored = fake.get("", "configmaps", "ns", "over-http").unwrap();
    assert_eq!(stored["data"]["k"], "over-http");
    let listed = remote.list(&Default::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(fake.call_counts(), (2, 1), "one create, one list");
    server.abort();
}
