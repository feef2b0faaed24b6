//! Server-side apply with one field manager, skipped when the object already is as desired, so a
//! reconcile with nothing to do writes nothing (and, reading from the watch caches, reads
//! nothing either).

use std::fmt::Debug;
use std::sync::Arc;

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::caches::{Cache, digest, version};
use crate::context::MANAGER;

/// Hash of what was last applied; a changed hash means fields may have been dropped, which only
/// an apply removes.
pub const APPLIED_HASH_ANNOTATION: &str = "atendo.io/applied-hash";

/// Applies `desired` unless the live object already carries the same applied hash and every
/// desired field has its desired value (drift by others is corrected, their extra fields kept).
/// The live object comes from `cache`: an entry found to hold this very desired object is
/// enough; one changed since (or never compared, as after a restart) is read from the API and
/// compared, as is everything while the cache cannot say. What was found goes back into it.
/// Returns the live object, as far as the cache keeps it when nothing was written or read.
pub async fn apply<K>(api: &Api<K>, cache: &Cache<K>, mut desired: K) -> Result<Arc<K>, kube::Error>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug + Send + Sync,
{
    let name = desired.name_any();
    let namespace = desired.namespace();
    let (hash, applied) = {
        let json = serde_json::to_vec(&desired).map_err(kube::Error::SerdeError)?;
        (format!("{:x}", Sha256::digest(&json)), digest(&json))
    };
    desired
        .annotations_mut()
        .insert(APPLIED_HASH_ANNOTATION.into(), hash.clone());
    let ns = namespace.as_deref();
    let compare = match cache.entry(ns, &name) {
        Some(Some(known)) if known.satisfies(applied) => {
            if let Some(object) = known.object(ns, &name) {
                return Ok(Arc::new(object));
            }
            true
        }
        // Compared before under another applied hash, so it carries that one: apply.
        Some(Some(known)) => !known.compared(),
        // Known absent: create.
        Some(None) => false,
        None => true,
    };
    if compare && let Some(current) = api.get_opt(&name).await? {
        let holds = holds(&current, &desired, &hash)?;
        cache.wrote(&current, holds.then_some(applied));
        if holds {
            return Ok(Arc::new(current));
        }
    }
    let written = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&desired),
        )
        .await?;
    let holds = holds(&written, &desired, &hash)?;
    cache.wrote(&written, holds.then_some(applied));
    Ok(Arc::new(written))
}

/// Whether `live` carries the applied hash `hash` and every field of `desired`.
fn holds<K: Resource + Serialize>(live: &K, desired: &K, hash: &str) -> Result<bool, kube::Error> {
    if live
        .annotations()
        .get(APPLIED_HASH_ANNOTATION)
        .map(String::as_str)
        != Some(hash)
    {
        return Ok(false);
    }
    let wanted = serde_json::to_value(desired).map_err(kube::Error::SerdeError)?;
    let live = serde_json::to_value(live).map_err(kube::Error::SerdeError)?;
    Ok(contains(&live, &wanted))
}

/// Deletes `name` if it exists; "not found" is success. Looks first (in `cache`) so that a
/// reconcile with nothing to delete makes no call.
pub async fn delete_if_present<K>(
    api: &Api<K>,
    cache: &Cache<K>,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug + Send + Sync,
{
    let version = match cache.entry(namespace, name) {
        Some(None) => return Ok(()),
        Some(Some(known)) => known.version(),
        None => match api.get_opt(name).await? {
            None => return Ok(()),
            Some(current) => current.resource_version().as_deref().and_then(version),
        },
    };
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    cache.deleted(namespace, name, version);
    Ok(())
}

/// Whether every field of `wanted` is in `live` with the same value (lists compared item by item).
pub fn contains(live: &Value, wanted: &Value) -> bool {
    match (live, wanted) {
        (Value::Object(l), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| l.get(k).is_some_and(|lv| contains(lv, wv))),
        (Value::Array(l), Value::Array(w)) => {
            l.len() == w.len() && l.iter().zip(w).all(|(lv, wv)| contains(lv, wv))
        }
        (l, w) => l == w,
    }
}
