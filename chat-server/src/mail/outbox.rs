//! The outbox's sender: one task per replica. It claims due mails with a lease, sends them, and
//! records the outcome; a request that stored a mail wakes it, and otherwise it polls, so mails
//! stored by another replica, or left by one that died, are sent too.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::transport::Transport;
use crate::model::{new_id, now};
use crate::store::{NewMail, OutboxMail, Store, StoreError, StoreResult};

/// Mails claimed at once: a claim holds them for a lease, so no more than one replica can
/// send in that time.
const BATCH: u32 = 10;
/// Retries back off exponentially from `retry_base` up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

#[derive(Clone, Debug)]
pub struct MailerSettings {
    /// The first retry's delay; each next one doubles, up to 10 minutes.
    pub retry_base: Duration,
    /// How long a claim holds a mail: longer than a send may take (20 s).
    pub lease: Duration,
    /// Attempts after which a mail is marked failed (20 at 5 s: about two hours).
    pub max_attempts: u32,
    /// How often the outbox is read without a wake-up.
    pub poll: Duration,
}

impl Default for MailerSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            max_attempts: 20,
            poll: Duration::from_secs(2),
        }
    }
}

/// A mail to queue: plain text, optionally with an HTML alternative and a Reply-To.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub reply_to: Option<String>,
    /// The conversation it is about: erasing it takes the mail out of the outbox.
    pub conversation_id: Option<String>,
}

/// How long a sent or failed mail stays in the outbox (what was sent to whom, for support).
pub const KEEP_SETTLED: Duration = Duration::from_secs(30 * 86_400);
/// How often each replica removes older ones (idempotent deletes by id range).
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Stores mails and wakes this replica's sender. Exists only when mail is configured: without
/// it nothing is accepted into the outbox, so no mail waits for a sender that never comes.
pub struct Mailer {
    store: Arc<dyn Store>,
    wake: Notify,
    /// Names this replica's claims.
    claimer: String,
}

impl Mailer {
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            store,
            wake: Notify::new(),
            claimer: new_id(),
        })
    }

    /// Stores a plain-text mail for `to` (durably: it survives a crash from here on) and
    /// returns its id.
    pub async fn enqueue(&self, to: &str, subject: &str, body: String) -> StoreResult<String> {
        self.queue(Outgoing {
            to: to.to_string(),
            subject: subject.to_string(),
            text: body,
            html: None,
            reply_to: None,
            conversation_id: None,
        })
        .await
    }

    /// Stores any mail (durably) and returns its id.
    pub async fn queue(&self, mail: Outgoing) -> StoreResult<String> {
        let id = new_id();
        self.store_mail(id.clone(), mail).await?;
        Ok(id)
    }

    /// [`Mailer::queue`] under an id the caller derives from what the mail is about, so that
    /// queuing it again (for a retried request) stores nothing: `false` when it already was.
    pub async fn queue_once(&self, id: String, mail: Outgoing) -> StoreResult<bool> {
        match self.store_mail(id, mail).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn store_mail(&self, id: String, mail: Outgoing) -> StoreResult<()> {
        self.store
            .enqueue_mail(NewMail {
                id,
                to: mail.to,
                subject: mail.subject,
                body: mail.text,
                html: mail.html,
                reply_to: mail.reply_to,
                conversation_id: mail.conversation_id,
                created_at: now(),
            })
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Runs the sender until `stop`. A send under way when `stop` fires is abandoned; its lease
    /// runs out and a replica sends the mail then.
    pub fn spawn(
        self: &Arc<Self>,
        transport: Transport,
        settings: MailerSettings,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let mailer = self.clone();
        tokio::spawn(async move {
            let mut next_purge = tokio::time::Instant::now();
            loop {
                if tokio::time::Instant::now() >= next_purge {
                    mailer.purge_old().await;
                    next_purge += PURGE_EVERY;
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    done = mailer.send_due(&transport, &settings) => {
                        if let Err(e) = done {
                            tracing::warn!(error = %e, "reading the mail outbox failed; trying again");
                        }
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = mailer.wake.notified() => {}
                    _ = tokio::time::sleep(settings.poll) => {}
                }
            }
        })
    }

    /// Sent and failed mails still name their recipient and subject: they go after
    /// [`KEEP_SETTLED`].
    async fn purge_old(&self) {
        let keep = TimeDelta::from_std(KEEP_SETTLED).unwrap_or(TimeDelta::days(30));
        match self.store.purge_mails(now() - keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "old sent and failed mails removed from the outbox"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "purging the mail outbox failed; trying again later")
            }
        }
    }

    /// Claims and sends due mails until none are left.
    async fn send_due(&self, transport: &Transport, settings: &MailerSettings) -> StoreResult<()> {
        loop {
            let at = now();
            let lease = TimeDelta::from_std(settings.lease).unwrap_or(TimeDelta::seconds(60));
            let batch = self
                .store
                .claim_mails(&self.claimer, at, at + lease, BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(());
            }
            for mail in &batch {
                self.send_one(transport, settings, mail).await?;
            }
        }
    }

    async fn send_one(
        &self,
        transport: &Transport,
        settings: &MailerSettings,
        mail: &OutboxMail,
    ) -> StoreResult<()> {
        match transport.send(mail).await {
            Ok(()) => {
                if !self.store.mail_sent(&mail.id, &self.claimer).await? {
                    tracing::warn!(mail = %mail.id, "a mail was sent after its lease ran out; another replica may send it again");
                }
                tracing::info!(mail = %mail.id, attempts = mail.attempts + 1, "mail sent");
            }
            Err(e) => {
                let attempt = mail.attempts + 1;
                let retry_at = (!e.permanent && attempt < settings.max_attempts).then(|| {
                    let backoff = settings
                        .retry_base
                        .saturating_mul(1 << (attempt - 1).min(16))
                        .min(MAX_BACKOFF);
                    now() + TimeDelta::from_std(backoff).unwrap_or(TimeDelta::seconds(600))
                });
                match retry_at {
                    Some(at) => {
                        tracing::warn!(mail = %mail.id, attempt, retry_at = %at, error = %e.message, "sending a mail failed; it will be retried")
                    }
                    None => {
                        tracing::error!(mail = %mail.id, attempt, permanent = e.permanent, error = %e.message, "sending a mail failed for good; it is marked failed")
                    }
                }
                self.store
                    .mail_failed(&mail.id, &self.claimer, &e.message, retry_at)
                    .await?;
            }
        }
        Ok(())
    }
}
