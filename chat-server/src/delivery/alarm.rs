//! Why a session must end, raised from outside it: by the hub (its queue overflowed), by a
//! revocation that covers its token, or by the replica's shutdown.
//!
//! A session looks at its alarm on every turn of its loop and around every blocked write, so the
//! look must cost nothing: an atomic and an `AtomicWaker`. `CancellationToken`, which this
//! replaces on the delivery path, takes a mutex on every poll; with three of them per session a
//! profile of the fan-out showed several mutex round trips per delivered frame.

use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Why {
    /// The session's queue overflowed: the client reads slower than its conversations talk.
    Slow = 1,
    /// A revocation covers the token the socket was opened with.
    SignedOut = 2,
    /// The replica is shutting down.
    Shutdown = 3,
}

impl Why {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Slow),
            2 => Some(Self::SignedOut),
            3 => Some(Self::Shutdown),
            _ => None,
        }
    }
}

/// One session's alarm. Only the session waits on it (an `AtomicWaker` holds one waker).
#[derive(Debug, Default)]
pub struct Alarm {
    why: AtomicU8,
    waker: AtomicWaker,
}

impl Alarm {
    /// Raises the alarm; the first reason stays (a slow session is closed as slow even if a
    /// shutdown follows). Returns whether this call raised it.
    pub fn raise(&self, why: Why) -> bool {
        let first = self
            .why
            .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            self.waker.wake();
        }
        first
    }

    pub fn raised(&self) -> Option<Why> {
        Why::from_u8(self.why.load(Ordering::Acquire))
    }

    pub fn poll_raised(&self, cx: &mut Context<'_>) -> Poll<Why> {
        if let Some(why) = self.raised() {
            return Poll::Ready(why);
        }
        self.waker.register(cx.waker());
        // Raised between the first look and the registration: that wake went to the old waker.
        match self.raised() {
            Some(why) => Poll::Ready(why),
            None => Poll::Pending,
        }
    }

    /// Completes when the alarm is raised.
    pub async fn wait(&self) -> Why {
        std::future::poll_fn(|cx| self.poll_raised(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_first_reason_stays() {
        let alarm = Alarm::default();
        assert_eq!(alarm.raised(), None);
        assert!(alarm.raise(Why::Slow));
        assert!(!alarm.raise(Why::Shutdown));
        assert_eq!(alarm.raised(), Some(Why::Slow));
    }

    #[tokio::test]
    async fn a_waiting_session_wakes_when_another_task_raises_it() {
        let alarm = Arc::new(Alarm::default());
        let waiter = tokio::spawn({
            let alarm = alarm.clone();
            async move { alarm.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "nothing raised yet");
        alarm.raise(Why::SignedOut);
        let why = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert_eq!(why, Why::SignedOut);
    }
}
