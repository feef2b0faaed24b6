//! The read side of what the operator owns: one store per owned object (a reflector of our own,
//! see below), fed by the same name-selected watch that reconciles its Tenant on drift. A reconcile reads from memory,
//! so a resync with nothing to do makes no API call at all (issue 16 §7: it made 17 reads per
//! Tenant), and the watch connections are the ones the Controller held anyway.
//!
//! A store lags the API server by one watch event. The operator's own writes are therefore kept
//! beside it until the store has caught up with them: without that, the next reconcile would see
//! its previous state, apply again and, for the Secrets, read credentials it had just replaced.
//! A store that has not listed yet (or that no watch feeds, as when a test drives `reconcile`
//! without the Controller) answers "unknown" and the caller reads from the API.
//!
//! An entry is not the object ([`entry`]): kept whole, as k8s-openapi structs, the 17 objects
//! took about 125 KiB per Tenant in the scale bench, and as deflated JSON 1–2 KiB each. Apply
//! only needs to know whether the object still holds what it last applied: an entry keeps a
//! fingerprint of the content and whether that content was found to hold the desired object
//! of a given applied hash. A watch event with another fingerprint
//! (an edit by someone else) clears that, and the next apply reads the object from the API
//! once to compare; one with the same fingerprint (a status update) keeps it. The reconcile's
//! other reads (the Secrets' values, a Deployment's replicas, an Ingress's address) are kept
//! as those fields alone. The scale bench (docs/benchmarks.md): 35 MiB at 1,000 Tenants, 125
//! MiB at 10,000, with the Event recorder's own saving (`events.rs`).

mod entry;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::ResourceExt;
use kube::runtime::watcher;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use entry::{Entry, digest, version};

/// What a watched, cached owned object must be: one name for the bounds the watches, the
/// caches and the apply helpers all need.
pub trait Owned:
    Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> Owned for K where
    K: Resource<DynamicType = ()>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// The fields a cache keeps of each object (JSON pointers), beside its fingerprint.
pub type Keep = &'static [&'static str];
/// Nothing but the fingerprint: the reconcile only applies these.
pub const NOTHING: Keep = &[];
/// What fetch reads from the Secrets it generated earlier.
pub const SECRET_VALUES: Keep = &["/data", "/metadata/annotations/atendo.io~1rotated-for"];
/// What the ChatServerReady condition reads.
pub const REPLICAS: Keep = &[
    "/metadata/generation",
    "/status/observedGeneration",
    "/status/replicas",
    "/status/availableReplicas",
];
/// What the IngressReady condition reads.
pub const ADDRESS: Keep = &["/status/loadBalancer"];

/// Entries by "namespace/name" (the name alone for cluster-scoped objects).
type Entries = HashMap<Box<str>, Entry>;

/// The store of one owned object (by name, in every tenant namespace) plus the operator's writes
/// it has not seen yet.
pub struct Cache<K> {
    store: Arc<Stored>,
    /// Written or deleted (None) by this process, newer than what the store holds; also an
    /// object read from the API and compared, until the store shows that content.
    pending: Mutex<HashMap<Box<str>, Pending>>,
    kind: PhantomData<fn() -> K>,
}

/// What the watch has shown.
struct Stored {
    objects: RwLock<Entries>,
    /// Set once the watch's first list is complete.
    listed: AtomicBool,
    keep: Keep,
}

/// Feeds one [`Cache`] from its watch's events, as kube's reflector writer does for a store.
pub struct Feed<K> {
    store: Arc<Stored>,
    /// The objects of a (re)list in progress; they replace the store when it completes.
    listing: Option<Entries>,
    kind: PhantomData<fn() -> K>,
}

impl<K: Resource + Serialize> Feed<K> {
    pub fn apply(&mut self, event: &watcher::Event<K>) {
        match event {
            watcher::Event::Init => self.listing = Some(HashMap::new()),
            watcher::Event::InitApply(object) => {
                let (key, mut entry) = (key_of(object), Entry::of(object, self.store.keep));
                // A relist keeps what was found of the content it had already seen.
                let objects = self.store.objects.read().expect("cache");
                carry(objects.get(&key), &mut entry);
                drop(objects);
                if let Some(listing) = self.listing.as_mut() {
                    listing.insert(key, entry);
                }
            }
            watcher::Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                *self.store.objects.write().expect("cache") = listed;
                self.store.listed.store(true, Ordering::Release);
            }
            watcher::Event::Apply(object) => {
                let (key, mut entry) = (key_of(object), Entry::of(object, self.store.keep));
                let mut objects = self.store.objects.write().expect("cache");
                carry(objects.get(&key), &mut entry);
                objects.insert(key, entry);
            }
            watcher::Event::Delete(object) => {
                self.store
                    .objects
                    .write()
                    .expect("cache")
                    .remove(&key_of(object));
            }
        }
    }
}

/// A new event with the content already seen (only status or resourceVersion moved) keeps
/// what was found about that content.
fn carry(seen: Option<&Entry>, new: &mut Entry) {
    if let Some(seen) = seen
        && seen.fingerprint == new.fingerprint
    {
        new.satisfies = seen.satisfies;
    }
}

struct Pending {
    /// The object as the write (or read) returned it; None after a delete.
    entry: Option<Entry>,
    /// Its resourceVersion (the deleted object's, after a delete).
    version: u64,
    at: Instant,
}

/// A write the store has not shown after this long is given up on and the store believed: a
/// watch event takes milliseconds, and an object deleted behind the operator's back before its
/// event arrived must not look present for ever.
const PENDING_FOR: Duration = Duration::from_secs(30);

impl<K: Resource<DynamicType = ()> + Serialize + DeserializeOwned> Cache<K> {
    /// The cache, keeping the fields `keep` of each object, and the feed its watch drives.
    pub fn new(keep: Keep) -> (Self, Feed<K>) {
        let store = Arc::new(Stored {
            objects: RwLock::default(),
            listed: AtomicBool::new(false),
            keep,
        });
        let feed = Feed {
            store: store.clone(),
            listing: None,
            kind: PhantomData,
        };
        let cache = Cache {
            store,
            pending: Mutex::default(),
            kind: PhantomData,
        };
        (cache, feed)
    }

    /// The entry of `name` in `namespace` (None for cluster-scoped): `Some(None)` when it is
    /// known not to exist, `None` when the store cannot say (it has not listed yet).
    pub fn entry(&self, namespace: Option<&str>, name: &str) -> Option<Option<Entry>> {
        if !self.store.listed.load(Ordering::Acquire) {
            return None;
        }
        let key = key(namespace, name);
        let mut pending = self.pending.lock().expect("pending writes");
        let mut seen = self.store.objects.read().expect("cache").get(&key).cloned();
        if let Some(write) = pending.get(&key) {
            let behind = match (&write.entry, seen.as_ref().and_then(Entry::version)) {
                (Some(_), None) => true,
                (Some(_), Some(seen)) => seen < write.version,
                (None, None) => false,
                (None, Some(seen)) => seen <= write.version,
            };
            if behind && write.at.elapsed() < PENDING_FOR {
                return Some(write.entry.clone());
            }
            // The store has caught up with the write (or moved past it): it is the truth again,
            // and what was found of the written content holds for the same content there.
            if let Some(Some(written)) = pending.remove(&key).map(|w| w.entry)
                && let Some(seen) = seen.as_mut()
                && seen.satisfies.is_none()
                && written.fingerprint == seen.fingerprint
            {
                seen.satisfies = written.satisfies;
                let mut objects = self.store.objects.write().expect("cache");
                if let Some(stored) = objects.get_mut(&key)
                    && stored.fingerprint == written.fingerprint
                {
                    stored.satisfies = written.satisfies;
                }
            }
        }
        Some(seen)
    }

    /// The object as far as the cache keeps it ([`Entry::object`]), with the same answers as
    /// [`Cache::entry`]; `None` also when an entry does not read back.
    pub fn lookup(&self, namespace: Option<&str>, name: &str) -> Option<Option<Arc<K>>> {
        match self.entry(namespace, name)? {
            None => Some(None),
            Some(entry) => Some(Some(Arc::new(entry.object(namespace, name)?))),
        }
    }

    /// Records an object as a write (or a read) returned it, until the store shows it:
    /// `satisfies` is the applied hash whose desired fields it was found to hold.
    pub fn wrote(&self, object: &K, satisfies: Option<u64>) {
        let mut entry = Entry::of(object, self.store.keep);
        let Some(version) = entry.version() else {
            return;
        };
        entry.satisfies = satisfies;
        let write = Pending {
            entry: Some(entry),
            version,
            at: Instant::now(),
        };
        self.pending
            .lock()
            .expect("pending writes")
            .insert(key_of(object), write);
    }

    /// Records that the object was deleted at `version`, until the store drops it.
    pub fn deleted(&self, namespace: Option<&str>, name: &str, version: Option<u64>) {
        let Some(version) = version else {
            return;
        };
        let write = Pending {
            entry: None,
            version,
            at: Instant::now(),
        };
        self.pending
            .lock()
            .expect("pending writes")
            .insert(key(namespace, name), write);
    }
}

impl<K> Cache<K> {
    /// Drops the writes kept for `namespace` and for the namespace object itself: it is being
    /// deleted with everything in it.
    fn forget(&self, namespace: &str) {
        let mut pending = self.pending.lock().expect("pending writes");
        pending.retain(|key, _| match key.split_once('/') {
            Some((ns, _)) => ns != namespace,
            None => &**key != namespace,
        });
    }
}

fn key(namespace: Option<&str>, name: &str) -> Box<str> {
    match namespace {
        Some(ns) => format!("{ns}/{name}").into(),
        None => name.into(),
    }
}

fn key_of<K: Resource>(object: &K) -> Box<str> {
    key(object.meta().namespace.as_deref(), &object.name_any())
}

/// Watched objects lose their managedFields before they are stored: the operator never reads
/// them, and on a real API server they are the larger part of a small object.
pub fn trim<K: Resource>(object: &mut K) {
    object.managed_fields_mut().clear();
}

/// Declares [`Caches`] (one cache per object of [`crate::resources::TenantObjects`], field for
/// field, with the fields it keeps), [`Writers`] (their feeds, taken by the Controller's watches
/// and destructured there field by field, so a cache nobody feeds is an unused variable) and
/// what is done to each, from one list.
macro_rules! caches {
    ($($field:ident: $kind:ty => $keep:expr),* $(,)?) => {
        pub struct Caches {
            $(pub $field: Cache<$kind>,)*
        }

        pub struct Writers {
            $(pub $field: Feed<$kind>,)*
        }

        impl Caches {
            pub fn new() -> (Caches, Writers) {
                $(let $field = Cache::new($keep);)*
                (
                    Caches { $($field: $field.0,)* },
                    Writers { $($field: $field.1,)* },
                )
            }

            /// Forgets the writes kept for a tenant namespace that is being deleted (and for
            /// the namespace itself), so that a Tenant made again under the same name is
            /// applied from what the stores show.
            pub fn forget(&self, namespace: &str) {
                $(self.$field.forget(namespace);)*
            }
        }
    };
}

caches! {
    namespace: Namespace => NOTHING,
    resource_quota: ResourceQuota => NOTHING,
    limit_range: LimitRange => NOTHING,
    network_policy: NetworkPolicy => NOTHING,
    backup_network_policy: NetworkPolicy => NOTHING,
    service_account: ServiceAccount => NOTHING,
    database_secret: Secret => SECRET_VALUES,
    credentials_secret: Secret => SECRET_VALUES,
    admin_secret: Secret => SECRET_VALUES,
    config_map: ConfigMap => NOTHING,
    bus_ca: ConfigMap => NOTHING,
    deployment: Deployment => REPLICAS,
    service: Service => NOTHING,
    ingress: Ingress => ADDRESS,
    hpa: HorizontalPodAutoscaler => NOTHING,
    pdb: PodDisruptionBudget => NOTHING,
    backup_cron_job: CronJob => NOTHING,
}
