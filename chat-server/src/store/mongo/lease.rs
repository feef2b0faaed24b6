//! A short lease on a named document of the `leases` collection, for the few writes that must not
//! interleave across replicas and that no single-document update can check (e.g. "another enabled
//! admin remains" before demoting one). No multi-document transaction is needed, so the same code
//! runs on Atlas and on SecantusDB.
//!
//! Acquiring is one conditional upsert: `{_id: name, until < now}` matches a free (expired)
//! lease; a held one does not match, so the upsert tries to insert `_id: name` and fails on the
//! `_id` index. Whoever's write succeeded holds it.
//!
//! Guarantee: holders are serialized as long as a holder finishes within [`LEASE`] (10 s, against
//! critical sections of a few round trips) and the replicas' clocks agree to well within that
//! (each compares `until`, written by another replica's clock, with its own). A holder that dies
//! blocks the others for at most `LEASE`.

use std::time::Duration;

use chrono::TimeDelta;
use mongodb::bson::doc;

use super::MongoStore;
use super::docs::bson_time;
use super::errors::{is_duplicate_key, store_error};
use crate::model::{new_id, now};
use crate::store::{StoreError, StoreResult};

const LEASE: TimeDelta = TimeDelta::seconds(10);
/// How long to wait for a held lease before answering `Unavailable`: longer than `LEASE`, so a
/// dead holder's lease runs out first.
const WAIT: Duration = Duration::from_secs(12);

pub struct Lease {
    name: &'static str,
    holder: String,
}

impl MongoStore {
    pub(super) async fn acquire(&self, name: &'static str) -> StoreResult<Lease> {
        let holder = new_id();
        let started = std::time::Instant::now();
        loop {
            let at = now();
            let taken = self
                .leases
                .update_one(
                    doc! { "_id": name, "until": { "$lt": bson_time(at) } },
                    doc! { "$set": { "holder": &holder, "until": bson_time(at + LEASE) } },
                )
                .upsert(true)
                .await;
            match taken {
                Ok(_) => return Ok(Lease { name, holder }),
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(store_error(&format!("taking the {name} lease"), e)),
            }
            if started.elapsed() > WAIT {
                return Err(StoreError::Unavailable(format!(
                    "the {name} lease stayed taken for {WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(rand::random_range(10..=40))).await;
        }
    }

    /// Best effort: a lease that is not released runs out by itself.
    pub(super) async fn release(&self, lease: Lease) {
        let released = self
            .leases
            .delete_one(doc! { "_id": lease.name, "holder": &lease.holder })
            .await;
        if let Err(e) = released {
            tracing::warn!(lease = lease.name, error = %e, "releasing a store lease failed; it expires by itself");
        }
    }
}
