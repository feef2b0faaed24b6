//! Files that arrive after an erasure. An upload URL stays valid for its lifetime whatever
//! happens to the conversation, and the bucket checks only the signature, so a URL handed out
//! just before an erasure can still put bytes under a key the erasure already deleted, with no
//! record left that points at them. The erasure therefore keeps the keys of the attachments whose
//! URL may still be live ([`Chat::keep_for_late_uploads`]), in the store, where a crash cannot
//! lose them; every replica deletes the kept keys again, every version, once the URLs have run
//! out ([`Chat::sweep_late_uploads_in_background`]). Deleting twice is harmless, so replicas
//! need no lease.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Chat;
use crate::error::Error;
use crate::model::{Attachment, now};

/// Keys deleted per store query.
const BATCH: u32 = 100;
/// Sweeps run this often, or once per URL lifetime when that is shorter.
const EVERY: Duration = Duration::from_secs(60);

impl Chat {
    /// Keeps the keys of `attachments` whose upload URL may still be valid, to delete once it
    /// is not. A PUT the bucket accepted just before the URL ran out may still be receiving its
    /// bytes, so the sweep waits one more lifetime after that.
    pub(super) async fn keep_for_late_uploads(
        &self,
        attachments: &[Attachment],
    ) -> Result<(), Error> {
        // The configuration bounds a lifetime at S3's 7 days.
        let lifetime = chrono::Duration::from_std(self.blobs.url_lifetime())
            .unwrap_or_else(|_| chrono::Duration::days(7));
        let at = now();
        let live: Vec<&Attachment> = attachments
            .iter()
            .filter(|a| a.created_at + lifetime > at)
            .collect();
        let Some(latest) = live.iter().map(|a| a.created_at).max() else {
            return Ok(());
        };
        let live: Vec<String> = live.iter().map(|a| a.key.clone()).collect();
        let due = latest + lifetime + lifetime;
        self.store.schedule_blob_sweeps(&live, due).await?;
        Ok(())
    }

    /// Deletes the kept keys that are due, until `shutdown`.
    pub async fn sweep_late_uploads_in_background(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(EVERY.min(self.blobs.url_lifetime()));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match self.sweep_late_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    files = n,
                    "deleted what upload URLs issued before an erasure put back"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    "sweeping uploads that arrived after an erasure failed; retrying at the next sweep"
                ),
            }
        }
    }

    /// One sweep: how many keys it deleted. A key whose deletion fails stays kept.
    pub async fn sweep_late_uploads(&self) -> Result<u64, Error> {
        let mut deleted = 0;
        loop {
            let due = self.store.due_blob_sweeps(now(), BATCH).await?;
            if due.is_empty() {
                return Ok(deleted);
            }
            for key in &due {
                self.blobs.delete(key).await?;
                self.store.blob_swept(key).await?;
                deleted += 1;
            }
        }
    }
}
