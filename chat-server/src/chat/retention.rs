//! Retention (`CHAT_RETENTION_DAYS`): resolved conversations nobody touched for that many days
//! are erased as an admin's erasure would ([`super::erasure`]): messages, notes, read state,
//! attachment records and the files in the bucket. `0` keeps everything.
//!
//! A sweep runs shortly after start and then daily. One replica sweeps at a time, under a store
//! lease (as routing does), renewed while it works; a sweep that cannot keep its lease stops and
//! leaves the rest to the next one. Each conversation is read again just before it is erased, so
//! one that a visitor reopened since the listing stays. A conversation whose file cannot be
//! deleted is kept (and logged), and tried again at the next sweep.
//!
//! A visitor whose last conversation a sweep erased goes too, name and email, when it was not
//! seen within the period either: created before the cutoff (a visitor writes only through its
//! conversations, and its last one was untouched since the cutoff). Its token, if it could still
//! be valid, is revoked first, so it cannot start a conversation that no visitor record owns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::Chat;
use crate::auth::revocation::visitor_key;
use crate::error::Error;
use crate::model::{ConversationStatus, new_id, now};
use crate::store::ConversationFilter;

/// The store lease one replica sweeps under.
pub const LEASE: &str = "retention";
const LEASE_TTL: Duration = Duration::from_secs(60);
/// Renewed well before it runs out.
const RENEW_AFTER: Duration = Duration::from_secs(20);
/// Conversations read per store query.
const BATCH: u32 = 100;
/// The first sweep waits this long after start (or the interval, when that is shorter), so a
/// rolling restart does not make every new replica sweep at once.
const FIRST_SWEEP_AFTER: Duration = Duration::from_secs(60);

/// `CHAT_RETENTION_DAYS` and how often to sweep.
#[derive(Clone, Debug)]
pub struct RetentionSettings {
    /// 0: keep everything, no sweep.
    pub days: u32,
    /// A day in production; tests shorten it (hidden `CHAT_RETENTION_SWEEP_SECS`).
    pub every: Duration,
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub conversations: u64,
    pub messages: u64,
    pub attachments: u64,
    /// Conversations kept because a file could not be deleted.
    pub failed: u64,
    /// Visitor records deleted with their last conversation.
    pub visitors: u64,
}

impl Chat {
    /// Sweeps shortly after start, then every `settings.every`, until `shutdown`; does nothing
    /// when `settings.days` is 0.
    pub async fn retain_in_background(
        self: Arc<Self>,
        settings: RetentionSettings,
        shutdown: CancellationToken,
    ) {
        if settings.days == 0 {
            return;
        }
        let holder = new_id();
        let mut wait = settings.every.min(FIRST_SWEEP_AFTER);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = settings.every;
            match self.sweep_retention(settings.days, &holder).await {
                Ok(Some(s)) if s != Swept::default() => tracing::info!(
                    days = settings.days,
                    conversations = s.conversations,
                    messages = s.messages,
                    attachments = s.attachments,
                    failed = s.failed,
                    visitors = s.visitors,
                    "retention erased old resolved conversations"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; retrying at the next one")
                }
            }
        }
    }

    /// One sweep as `holder`: `None` when another replica holds the lease.
    pub async fn sweep_retention(&self, days: u32, holder: &str) -> Result<Option<Swept>, Error> {
        if !self.store.try_lease(LEASE, holder, LEASE_TTL).await? {
            return Ok(None);
        }
        let result = self.sweep_under_lease(days, holder).await;
        if let Err(e) = self.store.release_lease(LEASE, holder).await {
            tracing::warn!(error = %e, "releasing the retention lease failed; it runs out by itself");
        }
        result.map(Some)
    }

    async fn sweep_under_lease(&self, days: u32, holder: &str) -> Result<Swept, Error> {
        let cutoff = now() - chrono::Duration::days(i64::from(days));
        let mut swept = Swept::default();
        let mut renewed = Instant::now();
        loop {
            let batch = self.store.resolved_before(cutoff, BATCH).await?;
            let mut progressed = false;
            for c in &batch {
                if renewed.elapsed() > RENEW_AFTER {
                    if !self.store.try_lease(LEASE, holder, LEASE_TTL).await? {
                        return Ok(swept);
                    }
                    renewed = Instant::now();
                }
                // Reopened (or written in) since the listing: it stays.
                let still_due = self.store.conversation(&c.id).await?.is_some_and(|now| {
                    now.status == ConversationStatus::Resolved && now.updated_at < cutoff
                });
                if !still_due {
                    continue;
                }
                match self.erase_conversation(&c.id).await {
                    Ok(Some(e)) => {
                        progressed = true;
                        swept.conversations += 1;
                        swept.messages += e.messages;
                        swept.attachments += e.attachments;
                        // The conversation is gone either way; a visitor kept by a failure here
                        // is not looked at again (no due conversation leads to it).
                        match self.forget_dormant_visitor(&c.visitor.id, cutoff).await {
                            Ok(true) => swept.visitors += 1,
                            Ok(false) => {}
                            Err(e) => {
                                tracing::warn!(visitor = %c.visitor.id, error = %e, "retention could not delete a visitor whose last conversation it erased")
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) if e.code == "erase_incomplete" => {
                        swept.failed += 1;
                        tracing::warn!(conversation = %c.id, error = %e, "retention kept a conversation whose file could not be deleted");
                    }
                    Err(e) => return Err(e),
                }
            }
            // A short batch was the last; one where nothing could be erased would come back the
            // same (its files still failing), so the next sweep tries again.
            if batch.len() < BATCH as usize || !progressed {
                return Ok(swept);
            }
        }
    }

    /// Deletes the visitor when it has no conversation left and was created before `cutoff`;
    /// whether it did.
    async fn forget_dormant_visitor(
        &self,
        visitor_id: &str,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, Error> {
        let Some(visitor) = self.store.visitor(visitor_id).await? else {
            return Ok(false);
        };
        let has_conversations = || async {
            let filter = ConversationFilter {
                visitor_id: Some(visitor_id.to_string()),
                limit: 1,
                ..ConversationFilter::default()
            };
            Ok::<_, Error>(!self.store.list_conversations(&filter).await?.is_empty())
        };
        if visitor.created_at >= cutoff || has_conversations().await? {
            return Ok(false);
        }
        // Its only token was issued when it was created: revoked only while it may be valid,
        // so a large first sweep does not flood the revocation list.
        if visitor.created_at + self.auth.tokens.ttl() > now() {
            self.revoke(visitor_key(visitor_id), None).await?;
            // One it started just before the revocation keeps its record.
            if has_conversations().await? {
                return Ok(false);
            }
        }
        Ok(self.store.delete_visitor(visitor_id).await?)
    }
}
