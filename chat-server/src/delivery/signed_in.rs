//! This replica's open sockets by the token they were opened with, so that a revocation closes
//! them with `SIGNED_OUT` (4001) on whichever replica holds them, and the replica's shutdown
//! closes them all with `SERVICE_RESTART` (1012).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use super::alarm::Why;
use super::hub::SessionId;
use super::inbox::Inbox;
use crate::auth::revocation::Issued;
use crate::model::Revocation;

#[derive(Default)]
pub struct SignedIn {
    sockets: Mutex<Sockets>,
}

#[derive(Default)]
struct Sockets {
    open: HashMap<SessionId, (Issued, Arc<Inbox>)>,
    shut_down: bool,
}

impl SignedIn {
    /// The alarm of `inbox` is raised when a revocation covers `issued`, or at once if the
    /// replica is already shutting down.
    pub fn register(&self, id: SessionId, issued: Issued, inbox: Arc<Inbox>) {
        let mut sockets = self.sockets.lock().expect("signed-in lock");
        if sockets.shut_down {
            inbox.alarm().raise(Why::Shutdown);
        }
        sockets.open.insert(id, (issued, inbox));
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
            .filter(|(issued, inbox)| issued.revoked_by(r) && inbox.alarm().raise(Why::SignedOut))
            .count()
    }

    /// Closes every socket, and every socket registered from now on.
    pub fn shut_down(&self) {
        let mut sockets = self.sockets.lock().expect("signed-in lock");
        sockets.shut_down = true;
        for (_, inbox) in sockets.open.values() {
            inbox.alarm().raise(Why::Shutdown);
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
        let (a, b) = (Arc::new(Inbox::new(8)), Arc::new(Inbox::new(8)));
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
        assert_eq!(
            (a.alarm().raised(), b.alarm().raised()),
            (Some(Why::SignedOut), None)
        );
    }

    #[test]
    fn the_shutdown_reaches_open_sockets_and_those_that_open_after_it() {
        let sockets = SignedIn::default();
        let before = Arc::new(Inbox::new(8));
        sockets.register(1, issued("agent:a"), before.clone());
        sockets.shut_down();
        let after = Arc::new(Inbox::new(8));
        sockets.register(2, issued("agent:a"), after.clone());
        assert_eq!(before.alarm().raised(), Some(Why::Shutdown));
        assert_eq!(after.alarm().raised(), Some(Why::Shutdown));
    }
}
