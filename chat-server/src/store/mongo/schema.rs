//! The MongoDB store's schema steps, the counterpart of the embedded store's migrations: what
//! brings documents an earlier server wrote up to what this one reads, in order. The version a
//! database is at is `meta` `{_id: "schema", version}`; a start runs only the steps after it and
//! raises it (`$max`) after each, so a step cut short runs again at the next start. Steps are
//! idempotent: replicas starting together may both run one.
//!
//! What a step does not need: a new field with a default for documents that lack it (they read
//! as before, see `docs`), a new collection, a new index (made at every start). Steps are for
//! data that must be derived from what is stored.
//!
//! A database at a newer version than this server knows still opens: steps only derive data
//! that older servers ignore, so an older replica keeps working beside newer ones during a
//! rolling upgrade and after a rollback. It says so in the log.

use mongodb::bson::doc;

use super::MongoStore;
use super::errors::store_error;
use crate::store::StoreResult;

/// Each step in order; step `n` takes a database from version `n - 1` to `n`.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Search words for messages stored before search (issue 13).
    SearchWords,
    /// Report times for conversations stored before reports (issue 14).
    ReportFacts,
}

const STEPS: [Step; 2] = [Step::SearchWords, Step::ReportFacts];

/// The version this server brings a database to.
pub const VERSION: i64 = STEPS.len() as i64;

/// Markers servers before versioning wrote for the steps they had run, in step order.
const LEGACY_MARKERS: [&str; 2] = ["search_words_backfilled", "report_facts_backfilled"];

const ID: &str = "schema";

impl MongoStore {
    pub(super) async fn migrate(&self) -> StoreResult<()> {
        let found = self.schema_version().await?;
        if found > VERSION {
            tracing::warn!(
                database = found,
                server = VERSION,
                "the store is at a newer schema than this server knows; it works on it, as steps only add, but upgrade it"
            );
        }
        for (n, step) in (1..).zip(STEPS) {
            if n <= found {
                continue;
            }
            match step {
                Step::SearchWords => self.backfill_search_words().await?,
                Step::ReportFacts => self.backfill_report_facts().await?,
            }
            self.meta
                .update_one(doc! { "_id": ID }, doc! { "$max": { "version": n } })
                .upsert(true)
                .await
                .map_err(|e| store_error(&format!("recording schema step {n} ({step:?})"), e))?;
        }
        Ok(())
    }

    /// The recorded version; a database from before versioning counts the steps its markers
    /// say were run (they were run in order).
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let what = "reading the schema version";
        if let Some(d) = self
            .meta
            .find_one(doc! { "_id": ID })
            .await
            .map_err(|e| store_error(what, e))?
        {
            return Ok(d
                .get_i64("version")
                .or_else(|_| d.get_i32("version").map(i64::from))
                .unwrap_or(0));
        }
        let mut done = 0;
        for marker in LEGACY_MARKERS {
            let seen = self
                .meta
                .find_one(doc! { "_id": marker })
                .await
                .map_err(|e| store_error(what, e))?;
            if seen.is_none() {
                break;
            }
            done += 1;
        }
        Ok(done)
    }
}
