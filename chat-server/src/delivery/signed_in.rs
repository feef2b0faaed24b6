//! This replica's open sockets by the token they were opened with, so that a revocation closes
//! them with `SIGNED_OUT` (4001) on whichever replica holds them, and the replica's shutdown
//! closes them all with `SERVICE_RESTART` (1012).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use super::alarm::{Alarm, Why};
use super::hub::SessionId;
use crate::auth::revocation::Issued;
use crate::model::Revocation;

#[derive(Default)]
pub struct SignedIn {
    sockets: Mutex<Sockets>,
}

#[derive(Default)]
struct Sockets {
    open: HashMap<SessionId, (Issued, Arc<Alarm>)>,
    shut_down: bool,
}

impl SignedIn {
    /// `alarm` is raised when a revocation covers `issued`, or at once if the replica is
    /// already shutting down.
    pub fn register(&self, id: SessionId, issued: Issued, alarm: Arc<Alarm>) {
        let mut sockets = self.sockets.lock().expect("signed-in lock");
        if sockets.shut_down {
            alarm.raise(Why::Shutdown);
        }
        sockets.open.insert(id, (issued, alarm));
    }

    pub fn forget(&self, id: SessionId) {
        self.sockets
            .lock()
            .expect("signed-in lock")
            .open
            .remove(&id);
    }

    /// Signs out every socket `r` covers; returns how many.
    pub fn sign_out(&self, r: &Revocation) -> usize {
        let sockets = self.sockets.lock().expect("signed-in lock");
        sockets
            .open
            .values()
            .filter(|(issued, alarm)| issued.revoked_by(r) && alarm.raise(Why::SignedOut))
            .count()
    }

    /// Closes every socket, and every socket registered from now on.
    pub fn shut_down(&self) {
        let mut sockets = self.sockets.lock().expect("signed-in lock");
        sockets.shut_down = true;
        for (_, alarm) in sockets.open.values() {
            alarm.raise(Why::Shutdown);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;

    fn issued(subject: &str) -> Issued {
        Issued {
            subject: subject.into(),
            session: None,
            at: Utc::now() - Duration::minutes(1),
        }
    }

    #[test]
    fn a_revocation_raises_the_sockets_it_covers_and_counts_each_once() {
        let sockets = SignedIn::default();
        let (a, b) = (Arc::new(Alarm::default()), Arc::new(Alarm::default()));
        sockets.register(1, issued("agent:a"), a.clone());
        sockets.register(2, issued("agent:b"), b.clone());
        let now = Utc::now();
        let r = Revocation {
            key: "agent:a".into(),
            not_before: now,
            expires_at: now + Duration::days(1),
            at: now,
            keep_session: None,
        };
        assert_eq!(sockets.sign_out(&r), 1);
        assert_eq!(sockets.sign_out(&r), 0, "already signed out");
        assert_eq!((a.raised(), b.raised()), (Some(Why::SignedOut), None));
    }

    #[test]
    fn the_shutdown_reaches_open_sockets_and_those_that_open_after_it() {
        let sockets = SignedIn::default();
        let before = Arc::new(Alarm::default());
        sockets.register(1, issued("agent:a"), before.clone());
        sockets.shut_down();
        let after = Arc::new(Alarm::default());
        sockets.register(2, issued("agent:a"), after.clone());
        assert_eq!(before.raised(), Some(Why::Shutdown));
        assert_eq!(after.raised(), Some(Why::Shutdown));
    }
}
