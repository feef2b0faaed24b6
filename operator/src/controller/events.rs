//! Events as kube's `Recorder` publishes them (events.k8s.io/v1; an equal Event within 6
//! minutes is patched into the first one's series instead of made again), keeping less: kube's
//! Recorder keeps every Event it sent for 6 minutes, key and object, about 2 KiB each, and
//! sweeps them all on every publish. Provisioning sends ~8 per Tenant, so at 10,000 Tenants
//! that was ~150 MiB and 80,000 entries scanned per Event (issue 16 §7). Here an entry is a
//! hash of what makes two Events equal, the first one's name and time and the count, and the
//! sweep runs once a minute.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event as KubeEvent, EventType};

/// How long an Event can be continued by an equal one (kube's Recorder's CACHE_TTL).
const SERIES_FOR: SignedDuration = SignedDuration::from_mins(6);
/// How often entries past [`SERIES_FOR`] are dropped.
const SWEEP_EVERY: SignedDuration = SignedDuration::from_mins(1);

pub struct Recorder {
    client: Client,
    /// reportingController and reportingInstance.
    controller: String,
    recent: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    by_key: HashMap<u64, Sent>,
    swept: Option<Timestamp>,
}

struct Sent {
    name: Box<str>,
    first: Timestamp,
    count: i32,
    last: Timestamp,
}

impl Recorder {
    pub fn new(client: Client, controller: &str) -> Self {
        Recorder {
            client,
            controller: controller.into(),
            recent: Mutex::default(),
        }
    }

    /// Publishes `event` about `regarding` (in its namespace, "default" for a cluster-scoped
    /// object): a new Event, or the next of a series when an equal one was sent in the last
    /// 6 minutes.
    pub async fn publish(
        &self,
        event: &KubeEvent,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = key(event, regarding);
        let previous = {
            let mut recent = self.recent.lock().expect("recent events");
            recent.sweep(now);
            recent
                .by_key
                .get(&key)
                .map(|s| (s.name.clone(), s.first, s.count))
        };
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let events: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let sent = match previous {
            Some((name, first, count)) => {
                let mut object = self.object(event, regarding, &name, first);
                object.series = Some(EventSeries {
                    count: count + 1,
                    last_observed_time: MicroTime(now),
                });
                events
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&object))
                    .await?;
                Sent {
                    name,
                    first,
                    count: count + 1,
                    last: now,
                }
            }
            None => {
                let about = regarding.name.as_deref().unwrap_or(&self.controller);
                let name = format!("{about}.{:x}", now.as_nanosecond());
                let object = self.object(event, regarding, &name, now);
                events.create(&PostParams::default(), &object).await?;
                Sent {
                    name: name.into(),
                    first: now,
                    count: 1,
                    last: now,
                }
            }
        };
        self.recent
            .lock()
            .expect("recent events")
            .by_key
            .insert(key, sent);
        Ok(())
    }

    fn object(
        &self,
        event: &KubeEvent,
        regarding: &ObjectReference,
        name: &str,
        at: Timestamp,
    ) -> Event {
        Event {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(at)),
            regarding: Some(regarding.clone()),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.controller.clone()),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            related: event.secondary.clone(),
            ..Event::default()
        }
    }
}

impl Recent {
    fn sweep(&mut self, now: Timestamp) {
        if self.swept.is_some_and(|at| at + SWEEP_EVERY > now) {
            return;
        }
        self.by_key.retain(|_, sent| sent.last + SERIES_FOR > now);
        self.swept = Some(now);
    }
}

/// What makes two Events equal for kube's Recorder: type, action, reason and both references
/// whole (the regarded object's resourceVersion included).
fn key(event: &KubeEvent, regarding: &ObjectReference) -> u64 {
    let mut hasher = DefaultHasher::new();
    event.type_.hash(&mut hasher);
    event.action.hash(&mut hasher);
    event.reason.hash(&mut hasher);
    for reference in std::iter::once(regarding).chain(event.secondary.as_ref()) {
        let ObjectReference {
            api_version,
            field_path,
            kind,
            name,
            namespace,
            resource_version,
            uid,
        } = reference;
        (
            api_version,
            field_path,
            kind,
            name,
            namespace,
            resource_version,
            uid,
        )
            .hash(&mut hasher);
    }
    hasher.finish()
}
