//! Tokens that no longer count, known to every replica within about a second.
//!
//! A revocation is a store record `(key, not_before)`: tokens of that key issued before
//! `not_before` are refused. Keys name an agent (disabled, deleted, password or role changed),
//! a visitor (erased) or one sign-in session (logout). The replica that revokes applies the
//! record at once; every replica polls the store each [`POLL_EVERY`] for records written since
//! its last look (with an overlap for clocks that disagree a little), so a revocation holds on
//! every replica within two seconds even when the bus is down. Each newly seen record is also
//! handed to a callback, which closes the open websockets it covers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::model::Revocation;
use crate::store::Store;

pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Records are read again this far back at every poll: a replica whose clock runs behind the
/// writer's still sees a record written "in its future".
const OVERLAP: chrono::Duration = chrono::Duration::seconds(30);

/// Which token a request carries, as far as revocation is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// `agent:<id>` or `visitor:<id>`.
    pub subject: String,
    /// The sign-in session the token belongs to (`None` for tokens that carry none: OIDC
    /// bearer tokens and tokens from before sessions were recorded).
    pub session: Option<String>,
    pub at: DateTime<Utc>,
}

impl Issued {
    /// The revocation key of the principal itself.
    pub fn subject_of(who: &super::Principal) -> String {
        match who {
            super::Principal::Visitor { id, .. } => visitor_key(id),
            super::Principal::Agent { id, .. } => agent_key(id),
        }
    }

    /// Whether `r` covers this token.
    pub fn revoked_by(&self, r: &Revocation) -> bool {
        let key_matches = r.key == self.subject
            || self
                .session
                .as_ref()
                .is_some_and(|sid| r.key == session_key(sid));
        key_matches && self.at < r.not_before && !self.is_kept_by(r)
    }

    fn is_kept_by(&self, r: &Revocation) -> bool {
        matches!((&r.keep_session, &self.session), (Some(kept), Some(sid)) if kept == sid)
    }
}

pub fn agent_key(agent_id: &str) -> String {
    format!("agent:{agent_id}")
}
pub fn visitor_key(visitor_id: &str) -> String {
    format!("visitor:{visitor_id}")
}
pub fn session_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The revocations this replica knows, by key.
#[derive(Default)]
pub struct Revocations {
    known: RwLock<HashMap<String, Revocation>>,
}

impl Revocations {
    /// Records `r`; true when it is news (a key not seen, or a later `not_before`).
    pub fn learn(&self, r: &Revocation) -> bool {
        let mut known = self.known.write().expect("revocations lock");
        match known.get(&r.key) {
            Some(old) if old.not_before >= r.not_before => false,
            _ => {
                known.insert(r.key.clone(), r.clone());
                true
            }
        }
    }

    /// `token_revoked` when a known revocation covers `issued`.
    pub fn check(&self, issued: &Issued) -> Result<(), Error> {
        let known = self.known.read().expect("revocations lock");
        let keys = std::iter::once(issued.subject.clone())
            .chain(issued.session.as_deref().map(session_key));
        for key in keys {
            if let Some(r) = known.get(&key)
                && issued.revoked_by(r)
            {
                return Err(Error::new(
                    crate::error::Kind::Unauthenticated,
                    "token_revoked",
                    "this token was revoked (signed out, or the account changed); sign in again",
                ));
            }
        }
        Ok(())
    }

    /// Forgets what can no longer cover a valid token.
    fn purge(&self, now: DateTime<Utc>) {
        self.known
            .write()
            .expect("revocations lock")
            .retain(|_, r| r.expires_at > now);
    }
}

/// Loads what the store holds, then polls it until `shutdown`; `on_news` hears every record
/// that changed what this replica knows (including the ones this replica wrote).
pub async fn watch(
    store: Arc<dyn Store>,
    known: Arc<Revocations>,
    on_news: impl Fn(&Revocation) + Send + Sync + 'static,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let mut since = DateTime::<Utc>::UNIX_EPOCH;
    poll(store.as_ref(), &known, &on_news, &mut since).await?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if let Err(e) = poll(store.as_ref(), &known, &on_news, &mut since).await {
                        tracing::warn!(error = %e, "reading revocations failed; retrying");
                    }
                }
            }
        }
    });
    Ok(())
}

async fn poll(
    store: &dyn Store,
    known: &Revocations,
    on_news: &(impl Fn(&Revocation) + Send + Sync),
    since: &mut DateTime<Utc>,
) -> Result<(), Error> {
    let started = crate::model::now();
    let from = (*since - OVERLAP).max(DateTime::<Utc>::UNIX_EPOCH);
    for r in store.revocations_since(from).await? {
        if known.learn(&r) {
            on_news(&r);
        }
    }
    *since = started;
    known.purge(started);
    Ok(())
}
