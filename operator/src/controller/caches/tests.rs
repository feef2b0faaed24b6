use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use kube::runtime::watcher::Event;

use super::*;

fn secret(version: u64, value: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some("chat-credentials".into()),
            namespace: Some("tenant-acme".into()),
            resource_version: Some(version.to_string()),
            ..ObjectMeta::default()
        },
        data: Some([("value".to_string(), ByteString(value.into()))].into()),
        ..Secret::default()
    }
}

fn value(found: Option<Option<Arc<Secret>>>) -> Option<Option<String>> {
    found
        .map(|o| o.map(|s| String::from_utf8(s.data.as_ref().unwrap()["value"].0.clone()).unwrap()))
}

fn listed<K: Resource + Serialize + Clone>(feed: &mut Feed<K>, objects: &[K]) {
    feed.apply(&Event::Init);
    for o in objects {
        feed.apply(&Event::InitApply(o.clone()));
    }
    feed.apply(&Event::InitDone);
}

const NS: Option<&str> = Some("tenant-acme");
const NAME: &str = "chat-credentials";
const APPLIED: u64 = 7;

#[test]
fn a_store_that_has_not_listed_cannot_say() {
    let (cache, _writer) = Cache::<Secret>::new(SECRET_VALUES);
    assert_eq!(value(cache.lookup(NS, NAME)), None);
    let (cache, writer) = Cache::<Secret>::new(SECRET_VALUES);
    drop(writer);
    assert_eq!(value(cache.lookup(NS, NAME)), None);
}

#[test]
fn an_own_write_is_read_back_until_the_store_shows_it_or_something_newer() {
    let (cache, mut writer) = Cache::<Secret>::new(SECRET_VALUES);
    listed(&mut writer, &[]);
    assert_eq!(value(cache.lookup(NS, NAME)), Some(None));

    cache.wrote(&secret(5, "ours"), None);
    assert_eq!(value(cache.lookup(NS, NAME)), Some(Some("ours".into())));
    // An older event still on its way changes nothing.
    writer.apply(&Event::Apply(secret(4, "older")));
    assert_eq!(value(cache.lookup(NS, NAME)), Some(Some("ours".into())));
    // Someone else's later change wins.
    writer.apply(&Event::Apply(secret(6, "theirs")));
    assert_eq!(value(cache.lookup(NS, NAME)), Some(Some("theirs".into())));
    assert!(cache.pending.lock().unwrap().is_empty());
}

#[test]
fn a_delete_hides_the_object_until_the_store_drops_it() {
    let (cache, mut writer) = Cache::<Secret>::new(SECRET_VALUES);
    listed(&mut writer, &[secret(7, "live")]);
    assert_eq!(value(cache.lookup(NS, NAME)), Some(Some("live".into())));

    cache.deleted(NS, NAME, Some(7));
    assert_eq!(value(cache.lookup(NS, NAME)), Some(None));
    writer.apply(&Event::Delete(secret(7, "live")));
    assert_eq!(value(cache.lookup(NS, NAME)), Some(None));
    assert!(cache.pending.lock().unwrap().is_empty());
    // Made again by someone: the store says so.
    writer.apply(&Event::Apply(secret(9, "again")));
    assert_eq!(value(cache.lookup(NS, NAME)), Some(Some("again".into())));
}

#[test]
fn a_deleted_namespace_takes_its_pending_writes_along() {
    let (caches, mut writers) = Caches::new();
    listed(&mut writers.credentials_secret, &[]);
    caches.credentials_secret.wrote(&secret(5, "ours"), None);
    caches.forget("tenant-other");
    assert_eq!(
        value(caches.credentials_secret.lookup(NS, NAME)),
        Some(Some("ours".into()))
    );
    caches.forget("tenant-acme");
    assert_eq!(
        value(caches.credentials_secret.lookup(NS, NAME)),
        Some(None)
    );
}

#[test]
fn what_a_write_was_found_to_hold_stays_with_that_content_and_an_edit_clears_it() {
    let (cache, mut writer) = Cache::<Secret>::new(SECRET_VALUES);
    listed(&mut writer, &[]);
    let satisfies = |cache: &Cache<Secret>| cache.entry(NS, NAME).unwrap().unwrap().satisfies;

    cache.wrote(&secret(5, "ours"), Some(APPLIED));
    assert_eq!(satisfies(&cache), Some(APPLIED), "the write itself");
    // The watch shows the write: the store's entry takes over what was found.
    writer.apply(&Event::Apply(secret(5, "ours")));
    assert_eq!(
        satisfies(&cache),
        Some(APPLIED),
        "the store showing the write"
    );
    assert!(cache.pending.lock().unwrap().is_empty());
    // Only the resourceVersion moved (a status update): still the same content.
    writer.apply(&Event::Apply(secret(6, "ours")));
    assert_eq!(
        satisfies(&cache),
        Some(APPLIED),
        "a new version, same content"
    );
    // A relist of the same content keeps it too.
    listed(&mut writer, &[secret(6, "ours")]);
    assert_eq!(satisfies(&cache), Some(APPLIED), "a relist");
    // Someone edits it: the next apply must look at it again.
    writer.apply(&Event::Apply(secret(7, "edited")));
    assert_eq!(satisfies(&cache), None, "an edit");
    // Edited back: still unknown until compared (cheap and safe).
    writer.apply(&Event::Apply(secret(8, "ours")));
    assert_eq!(satisfies(&cache), None, "edited back");
}

#[test]
fn a_write_overtaken_by_an_edit_hands_nothing_over() {
    let (cache, mut writer) = Cache::<Secret>::new(SECRET_VALUES);
    listed(&mut writer, &[]);
    cache.wrote(&secret(5, "ours"), Some(APPLIED));
    writer.apply(&Event::Apply(secret(6, "theirs")));
    let entry = cache.entry(NS, NAME).unwrap().unwrap();
    assert_eq!((entry.version(), entry.satisfies), (Some(6), None));
}

#[test]
fn an_entry_keeps_only_the_fields_it_is_for_and_status_is_not_content() {
    let mut deployment = Deployment {
        metadata: ObjectMeta {
            name: Some("chat-server".into()),
            namespace: Some("tenant-acme".into()),
            resource_version: Some("3".into()),
            generation: Some(2),
            labels: Some([("app".to_string(), "chat".to_string())].into()),
            ..ObjectMeta::default()
        },
        status: Some(DeploymentStatus {
            observed_generation: Some(1),
            replicas: Some(2),
            available_replicas: Some(1),
            ready_replicas: Some(1),
            ..DeploymentStatus::default()
        }),
        ..Deployment::default()
    };
    let entry = Entry::of(&deployment, REPLICAS);
    let kept: Deployment = entry.object(NS, "chat-server").unwrap();
    assert_eq!(kept.metadata.generation, Some(2));
    assert_eq!(kept.metadata.resource_version.as_deref(), Some("3"));
    assert_eq!(kept.metadata.labels, None, "labels are not kept");
    let status = kept.status.unwrap();
    assert_eq!(
        (
            status.observed_generation,
            status.replicas,
            status.available_replicas,
            status.ready_replicas
        ),
        (Some(1), Some(2), Some(1), None)
    );

    deployment.status.as_mut().unwrap().available_replicas = Some(2);
    deployment.metadata.resource_version = Some("4".into());
    assert_eq!(
        Entry::of(&deployment, REPLICAS).fingerprint,
        entry.fingerprint,
        "a status update"
    );
    deployment
        .labels_mut()
        .insert("app".to_string(), "other".to_string());
    assert_ne!(
        Entry::of(&deployment, REPLICAS).fingerprint,
        entry.fingerprint,
        "an edit"
    );
}

#[test]
fn a_watched_copy_with_its_managed_fields_trimmed_is_the_same_content() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
    let mut written = secret(5, "ours");
    let meta = &mut written.metadata;
    meta.uid = Some("uid-1".into());
    meta.creation_timestamp = Some(Time(Default::default()));
    meta.labels = Some([("app".to_string(), "chat".to_string())].into());
    meta.owner_references = Some(vec![OwnerReference {
        api_version: "atendo.io/v1alpha1".into(),
        kind: "Tenant".into(),
        name: "acme".into(),
        uid: "uid-0".into(),
        ..OwnerReference::default()
    }]);
    let mut watched = written.clone();
    trim(&mut watched);
    assert_eq!(
        Entry::of(&watched, SECRET_VALUES).fingerprint,
        Entry::of(&written, SECRET_VALUES).fingerprint
    );
}
