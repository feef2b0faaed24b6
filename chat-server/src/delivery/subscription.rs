//! The gap-free subscribe algorithm, as a pure state machine (no I/O, no clock of its own).
//!
//! Invariant: a socket receives the messages of a conversation exactly once and in seq order.
//!
//! 1. `subscribe(after_seq = N)`: the session first subscribes the process to the
//!    conversation's bus topic (awaiting the bus's confirmation), *then* reads the store. Any
//!    message committed after the read was published after the subscription was in place, so
//!    it will arrive live; any message committed before it is in the read. Nothing falls
//!    between the two.
//! 2. Replay: the store's messages with seq > N are offered in order; `delivered` becomes the
//!    highest seq sent.
//! 3. Live: every published message is offered. `seq <= delivered` is a duplicate (it was in
//!    the replay, or the bus delivered it twice) and is dropped. `seq == delivered + 1` is
//!    sent, followed by any buffered successors. `seq > delivered + 1` means a predecessor has
//!    not arrived: publishes from different replicas can overtake each other, and a bus
//!    reconnect can lose some. The message is buffered and the session reads the store after
//!    `delivered` to fill the gap (`needs_fill`).
//! 4. A seq can be reserved but not yet written (a send in flight on another replica): the
//!    store read then shows a hole. The buffer waits for it; only if the hole outlives a grace
//!    period (the writer died mid-append, the one case the store allows a hole) is it skipped.
//! 5. When the bus reports a reconnect (publishes may be lost) the session reads the store
//!    after `delivered` for every subscription.
//!
//! The buffer is bounded by the session's inbound queue: a socket whose buffer grows past its
//! limit is closed as a slow consumer and resumes with `after_seq`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;

/// A message frame ready for the wire, with what ordering needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub seq: u64,
    /// Commit time in unix milliseconds, for the delivery-latency histogram.
    pub committed_ms: i64,
    pub text: Utf8Bytes,
}

#[derive(Debug)]
pub struct Subscription {
    delivered: u64,
    pending: BTreeMap<u64, Outgoing>,
    hole_since: Option<Instant>,
}

impl Subscription {
    pub fn new(after_seq: u64) -> Self {
        Self {
            delivered: after_seq,
            pending: BTreeMap::new(),
            hole_since: None,
        }
    }

    /// Highest seq handed out; the store read for a fill starts after it.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Offers a message (live or from the store); returns what may be sent now, in order.
    pub fn offer(&mut self, message: Outgoing, now: Instant) -> Vec<Outgoing> {
        if message.seq <= self.delivered {
            return Vec::new();
        }
        self.pending.entry(message.seq).or_insert(message);
        self.drain(now)
    }

    fn drain(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut ready = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() != self.delivered + 1 {
                break;
            }
            let m = entry.remove();
            self.delivered = m.seq;
            ready.push(m);
        }
        if self.pending.is_empty() {
            self.hole_since = None;
        } else if self.hole_since.is_none() || !ready.is_empty() {
            // A new hole (or the old one closed and another opened behind it).
            self.hole_since = Some(now);
        }
        ready
    }

    /// Whether buffered messages wait for a predecessor the store may have.
    pub fn needs_fill(&self) -> bool {
        !self.pending.is_empty()
    }

    /// When the current hole may be skipped, if there is one.
    pub fn hole_deadline(&self, grace: Duration) -> Option<Instant> {
        self.hole_since.map(|t| t + grace)
    }

    /// Gives up on a hole older than `grace` (its writer died): jumps to the first buffered
    /// message and returns what is then ready. Returns nothing if the hole is younger.
    pub fn skip_hole(&mut self, now: Instant, grace: Duration) -> Vec<Outgoing> {
        match (self.hole_since, self.pending.keys().next()) {
            (Some(since), Some(&first)) if now >= since + grace => {
                self.delivered = first - 1;
                self.drain(now)
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(seq: u64) -> Outgoing {
        Outgoing {
            seq,
            committed_ms: 0,
            text: format!("m{seq}").into(),
        }
    }

    fn seqs(v: Vec<Outgoing>) -> Vec<u64> {
        v.into_iter().map(|o| o.seq).collect()
    }

    #[test]
    fn in_order_messages_pass_straight_through() {
        let now = Instant::now();
        let mut s = Subscription::new(0);
        assert_eq!(seqs(s.offer(m(1), now)), [1]);
        assert_eq!(seqs(s.offer(m(2), now)), [2]);
        assert!(!s.needs_fill());
    }

    #[test]
    fn replayed_messages_arriving_again_live_are_dropped() {
        let now = Instant::now();
        let mut s = Subscription::new(3);
        assert!(s.offer(m(2), now).is_empty());
        assert!(s.offer(m(3), now).is_empty());
        assert_eq!(seqs(s.offer(m(4), now)), [4]);
        assert!(s.offer(m(4), now).is_empty());
    }

    #[test]
    fn an_overtaking_message_waits_for_its_predecessor() {
        let now = Instant::now();
        let mut s = Subscription::new(0);
        assert!(s.offer(m(2), now).is_empty());
        assert!(s.needs_fill());
        assert_eq!(seqs(s.offer(m(1), now)), [1, 2]);
        assert!(!s.needs_fill());
        assert_eq!(s.delivered(), 2);
    }

    #[test]
    fn a_young_hole_is_not_skipped_but_an_old_one_is() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(3);
        let mut s = Subscription::new(0);
        assert!(s.offer(m(2), t0).is_empty());
        assert!(s.offer(m(3), t0).is_empty());
        assert!(s.skip_hole(t0 + Duration::from_secs(1), grace).is_empty());
        assert_eq!(s.hole_deadline(grace), Some(t0 + grace));
        assert_eq!(seqs(s.skip_hole(t0 + grace, grace)), [2, 3]);
        assert!(
            s.offer(m(1), t0 + grace).is_empty(),
            "the skipped seq stays skipped"
        );
    }

    #[test]
    fn a_second_hole_gets_its_own_grace_period() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(3);
        let mut s = Subscription::new(0);
        s.offer(m(2), t0);
        s.offer(m(4), t0);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(seqs(s.offer(m(1), t1)), [1, 2]);
        assert_eq!(s.hole_deadline(grace), Some(t1 + grace));
    }
}
