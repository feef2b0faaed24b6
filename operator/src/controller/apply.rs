//! Server-side apply with one field manager, skipped when the object already is as desired, so a
//! reconcile with nothing to do writes nothing.

use std::fmt::Debug;

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::context::MANAGER;

/// Hash of what was last applied; a changed hash means fields may have been dropped, which only
/// an apply removes.
pub const APPLIED_HASH_ANNOTATION: &str = "atendo.io/applied-hash";

/// Applies `desired` unless the live object already carries the same applied hash and every
/// desired field has its desired value (drift by others is corrected, their extra fields kept).
pub async fn apply<K>(api: &Api<K>, mut desired: K) -> Result<K, kube::Error>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let name = desired.name_any();
    let hash = {
        let json = serde_json::to_vec(&desired).map_err(kube::Error::SerdeError)?;
        format!("{:x}", Sha256::digest(json))
    };
    desired
        .annotations_mut()
        .insert(APPLIED_HASH_ANNOTATION.into(), hash.clone());
    if let Some(current) = api.get_opt(&name).await? {
        let unchanged = current.annotations().get(APPLIED_HASH_ANNOTATION) == Some(&hash);
        let wanted = serde_json::to_value(&desired).map_err(kube::Error::SerdeError)?;
        let live = serde_json::to_value(&current).map_err(kube::Error::SerdeError)?;
        if unchanged && contains(&live, &wanted) {
            return Ok(current);
        }
    }
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&desired),
    )
    .await
}

/// Deletes `name` if it exists; "not found" is success. Reads first so that a reconcile with
/// nothing to delete writes nothing.
pub async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<(), kube::Error>
where
    K: Resource + DeserializeOwned + Clone + Debug,
{
    if api.get_opt(name).await?.is_none() {
        return Ok(());
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
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
