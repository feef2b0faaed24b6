//! The gap-free subscribe algorithm, as a pure state machine (no I/O, no clock of its own).
//!
//! Invariant: a socket receives the messages of a conversation exactly once and in seq order.
//! Trust: the store is the record; the bus is only a hint that something was stored. A bus
//! frame may move `delivered` by one (it is exactly the next seq), never across a gap: what
//! lies beyond a gap is delivered from the store's copy, and a bus frame the store does not
//! hold is dropped.
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
//!    sent. `seq > delivered + 1` means a predecessor has not arrived: publishes from
//!    different replicas can overtake each other, and a bus reconnect can lose some. The frame
//!    is buffered, unconfirmed, and the session reads the store after `delivered` (`confirm`).
//! 4. A store read replaces every buffered frame it returns with the store's copy and sends
//!    what is then in order. A buffered bus frame inside the range the read covered, which the
//!    store did not return and which arrived *before the read started*, is dropped: a genuine
//!    frame is published after its commit, so the read would have seen it. (Frames that
//!    arrived during the read wait for the next one.) So a forged seq of 1,000,000 costs one
//!    store read and is gone; it never holds back the real next message, which is sent the
//!    moment it arrives.
//! 5. Holes: both stores hand out seqs without holes (see `crate::store`), but a future store
//!    might leave one (a writer dying mid-append). If the *store* shows a message beyond a
//!    missing seq, the buffer waits for it and skips it only after a grace period. Bus frames
//!    never cause a skip.
//! 6. When the bus reports a reconnect (publishes may be lost) the session reads the store
//!    after `delivered` for every subscription.
//!
//! Limit (see docs/security.md): a frame that names exactly the next seq is sent without a
//! store read, so one forged with a valid MAC (a holder of the signing key) is delivered and the
//! genuine message with that seq is then dropped as a duplicate. Checking every live frame
//! against the store would cost a read per message per process; the bus MAC (`super::seal`) is
//! what keeps anyone without the key from getting that far.
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
    /// A private note: it takes its seq like any message, but only agents' sockets write it.
    pub private: bool,
}

/// One store read as the state machine needs to judge the bus by it.
#[derive(Debug)]
pub struct StoreRead<'a> {
    /// The read asked for messages with seq > `after`.
    pub after: u64,
    pub frames: &'a [Outgoing],
    /// The read returned fewer than it asked for: the store held nothing more at the time.
    pub complete: bool,
    /// When the read was issued (no later than the store saw it).
    pub started: Instant,
}

/// What a store read changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Confirmed {
    /// Messages that may be sent now, in order.
    pub ready: Vec<Outgoing>,
    /// Buffered bus frames dropped because the store does not hold their seq.
    pub dropped: usize,
}

#[derive(Debug)]
enum Source {
    Store,
    Bus { arrived: Instant },
}

#[derive(Debug)]
struct Pending {
    frame: Outgoing,
    source: Source,
}

#[derive(Debug)]
pub struct Subscription {
    delivered: u64,
    pending: BTreeMap<u64, Pending>,
    /// Since when the store has shown a message beyond a missing seq.
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

    /// Offers a message the store returned; returns what may be sent now, in order.
    pub fn offer_stored(&mut self, message: Outgoing, now: Instant) -> Vec<Outgoing> {
        if message.seq > self.delivered {
            let pending = Pending {
                frame: message,
                source: Source::Store,
            };
            // The store's copy replaces a bus copy of the same seq.
            self.pending.insert(pending.frame.seq, pending);
        }
        self.drain(now)
    }

    /// Offers a message that arrived on the bus; returns what may be sent now, in order.
    pub fn offer_live(&mut self, message: Outgoing, now: Instant) -> Vec<Outgoing> {
        if message.seq <= self.delivered {
            return Vec::new();
        }
        if message.seq == self.delivered + 1 {
            self.pending.remove(&message.seq);
            self.delivered = message.seq;
            let mut ready = vec![message];
            ready.extend(self.drain(now));
            return ready;
        }
        self.pending.entry(message.seq).or_insert(Pending {
            frame: message,
            source: Source::Bus { arrived: now },
        });
        Vec::new()
    }

    /// Judges the buffer by a store read (step 4 of the algorithm).
    pub fn confirm(&mut self, read: StoreRead<'_>, now: Instant) -> Confirmed {
        let mut ready = Vec::new();
        for frame in read.frames {
            ready.extend(self.offer_stored(frame.clone(), now));
        }
        // Beyond a full page the read says nothing.
        let covered = match read.frames.last() {
            _ if read.complete => u64::MAX,
            Some(last) => last.seq,
            None => read.after,
        };
        let before = self.pending.len();
        self.pending.retain(|&seq, p| match p.source {
            Source::Bus { arrived } => {
                !(seq > read.after && seq <= covered && arrived < read.started)
            }
            Source::Store => true,
        });
        let dropped = before - self.pending.len();
        ready.extend(self.drain(now));
        Confirmed { ready, dropped }
    }

    fn drain(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut ready = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() <= self.delivered {
                // A bus copy left behind a skipped hole.
                entry.remove();
                continue;
            }
            if *entry.key() != self.delivered + 1 || !matches!(entry.get().source, Source::Store) {
                break;
            }
            let m = entry.remove().frame;
            self.delivered = m.seq;
            ready.push(m);
        }
        let stored_waits = self
            .pending
            .values()
            .any(|p| matches!(p.source, Source::Store));
        if !stored_waits {
            self.hole_since = None;
        } else if self.hole_since.is_none() || !ready.is_empty() {
            // A new hole (or the old one closed and another opened behind it).
            self.hole_since = Some(now);
        }
        ready
    }

    /// Whether buffered messages wait for a store read.
    pub fn needs_fill(&self) -> bool {
        !self.pending.is_empty()
    }

    /// When the oldest buffered bus frame arrived, if any waits for the store's word.
    pub fn unconfirmed_since(&self) -> Option<Instant> {
        self.pending
            .values()
            .filter_map(|p| match p.source {
                Source::Bus { arrived } => Some(arrived),
                Source::Store => None,
            })
            .min()
    }

    /// Since when the store has shown a hole, if it does.
    pub fn hole_since(&self) -> Option<Instant> {
        self.hole_since
    }

    /// When the current hole may be skipped, if there is one.
    pub fn hole_deadline(&self, grace: Duration) -> Option<Instant> {
        self.hole_since.map(|t| t + grace)
    }

    /// Gives up on a hole the store has shown for longer than `grace` (its writer died): jumps
    /// to the first message the store holds beyond it and returns what is then ready. Returns
    /// nothing if the hole is younger, or if only bus frames wait.
    pub fn skip_hole(&mut self, now: Instant, grace: Duration) -> Vec<Outgoing> {
        let first_stored = self
            .pending
            .iter()
            .find(|(_, p)| matches!(p.source, Source::Store))
            .map(|(&seq, _)| seq);
        match (self.hole_since, first_stored) {
            (Some(since), Some(first)) if now >= since + grace => {
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
            private: false,
        }
    }

    fn forged(seq: u64) -> Outgoing {
        Outgoing {
            seq,
            committed_ms: 0,
            text: format!("forged{seq}").into(),
            private: false,
        }
    }

    fn seqs(v: Vec<Outgoing>) -> Vec<u64> {
        v.into_iter().map(|o| o.seq).collect()
    }

    /// A read of everything after `after` that found `frames` and nothing more.
    fn read(after: u64, frames: &[Outgoing], started: Instant) -> StoreRead<'_> {
        StoreRead {
            after,
            frames,
            complete: true,
            started,
        }
    }

    #[test]
    fn in_order_messages_pass_straight_through() {
        let now = Instant::now();
        let mut s = Subscription::new(0);
        assert_eq!(seqs(s.offer_live(m(1), now)), [1]);
        assert_eq!(seqs(s.offer_live(m(2), now)), [2]);
        assert!(!s.needs_fill());
    }

    #[test]
    fn replayed_messages_arriving_again_live_are_dropped() {
        let now = Instant::now();
        let mut s = Subscription::new(3);
        assert!(s.offer_live(m(2), now).is_empty());
        assert!(s.offer_live(m(3), now).is_empty());
        assert_eq!(seqs(s.offer_live(m(4), now)), [4]);
        assert!(s.offer_live(m(4), now).is_empty());
    }

    #[test]
    fn an_overtaking_message_is_sent_from_the_stores_copy() {
        let t0 = Instant::now();
        let mut s = Subscription::new(0);
        assert!(s.offer_live(m(2), t0).is_empty());
        assert!(s.needs_fill());
        assert_eq!(s.unconfirmed_since(), Some(t0));
        assert_eq!(
            seqs(s.offer_live(m(1), t0)),
            [1],
            "the next seq goes at once; the frame that came across the gap waits for the store"
        );
        let t1 = t0 + Duration::from_millis(10);
        let c = s.confirm(read(1, &[m(2)], t1), t1);
        assert_eq!((seqs(c.ready), c.dropped), (vec![2], 0));
        assert!(!s.needs_fill());
        assert_eq!(s.delivered(), 2);
    }

    #[test]
    fn a_forged_far_seq_is_dropped_by_the_first_read_and_never_holds_back_the_real_messages() {
        let t0 = Instant::now();
        let mut s = Subscription::new(5);
        assert!(s.offer_live(forged(1_000_000), t0).is_empty());
        assert_eq!(seqs(s.offer_live(m(6), t0)), [6], "not delayed");
        let t1 = t0 + Duration::from_millis(10);
        let c = s.confirm(read(6, &[], t1), t1);
        assert_eq!((c.ready.len(), c.dropped), (0, 1));
        assert!(!s.needs_fill());
        assert_eq!(seqs(s.offer_live(m(7), t1)), [7]);
        assert_eq!(s.delivered(), 7, "delivered never moved past what is real");
    }

    #[test]
    fn a_forged_frame_across_a_gap_loses_to_the_stores_copy() {
        let t0 = Instant::now();
        let mut s = Subscription::new(0);
        assert!(s.offer_live(forged(2), t0).is_empty());
        assert_eq!(seqs(s.offer_live(m(1), t0)), [1]);
        let c = s.confirm(read(1, &[m(2)], t0 + Duration::from_millis(1)), t0);
        assert_eq!(c.ready, [m(2)], "the store's text, not the bus's");
        assert!(s.offer_live(forged(2), t0).is_empty());
    }

    #[test]
    fn a_frame_that_arrived_during_the_read_waits_for_the_next_one() {
        let t0 = Instant::now();
        let mut s = Subscription::new(0);
        let started = t0;
        // Published after the read began: the read cannot speak for it.
        s.offer_live(m(3), t0 + Duration::from_millis(1));
        let c = s.confirm(read(0, &[m(1)], started), t0 + Duration::from_millis(2));
        assert_eq!((seqs(c.ready), c.dropped), (vec![1], 0));
        assert!(s.needs_fill());
        let later = t0 + Duration::from_millis(20);
        let c = s.confirm(read(1, &[m(2), m(3)], later), later);
        assert_eq!(seqs(c.ready), [2, 3]);
    }

    #[test]
    fn a_full_page_says_nothing_about_seqs_beyond_it() {
        let t0 = Instant::now();
        let mut s = Subscription::new(0);
        s.offer_live(m(5), t0);
        let later = t0 + Duration::from_millis(5);
        let page = [m(1), m(2)];
        let c = s.confirm(
            StoreRead {
                after: 0,
                frames: &page,
                complete: false,
                started: later,
            },
            later,
        );
        assert_eq!((seqs(c.ready), c.dropped), (vec![1, 2], 0));
        let page = [m(3), m(4), m(5)];
        let c = s.confirm(read(2, &page, later), later);
        assert_eq!((seqs(c.ready), c.dropped), (vec![3, 4, 5], 0));
    }

    #[test]
    fn the_limit_a_forged_frame_with_exactly_the_next_seq_is_sent_without_a_store_read() {
        // Documented in the module comment and docs/security.md: only the bus MAC stops this.
        let t0 = Instant::now();
        let mut s = Subscription::new(0);
        assert_eq!(s.offer_live(forged(1), t0), [forged(1)]);
        assert!(s.offer_live(m(1), t0).is_empty());
    }

    #[test]
    fn bus_frames_alone_never_make_a_hole_to_skip() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(3);
        let mut s = Subscription::new(0);
        s.offer_live(m(2), t0);
        assert_eq!(s.hole_deadline(grace), None);
        assert!(s.skip_hole(t0 + grace * 10, grace).is_empty());
        assert_eq!(s.delivered(), 0);
    }

    #[test]
    fn a_young_store_hole_is_not_skipped_but_an_old_one_is() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(3);
        let mut s = Subscription::new(0);
        let c = s.confirm(read(0, &[m(2), m(3)], t0), t0);
        assert!(c.ready.is_empty());
        assert!(s.skip_hole(t0 + Duration::from_secs(1), grace).is_empty());
        assert_eq!(s.hole_deadline(grace), Some(t0 + grace));
        assert_eq!(seqs(s.skip_hole(t0 + grace, grace)), [2, 3]);
        assert!(
            s.offer_stored(m(1), t0 + grace).is_empty(),
            "the skipped seq stays skipped"
        );
    }

    #[test]
    fn a_second_store_hole_gets_its_own_grace_period() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(3);
        let mut s = Subscription::new(0);
        s.offer_stored(m(2), t0);
        s.offer_stored(m(4), t0);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(seqs(s.offer_stored(m(1), t1)), [1, 2]);
        assert_eq!(s.hole_deadline(grace), Some(t1 + grace));
    }
}
