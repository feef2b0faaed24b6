//! Shared counters and latency histograms of one run, and each subscriber's own record of which
//! message numbers it has seen (for loss and duplicates).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Latencies are kept in microseconds, 3 significant digits, up to two minutes.
const MAX_MICROS: u64 = 120_000_000;
const SHARDS: usize = 32;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static histogram bounds are valid")
}

pub struct Recorder {
    epoch: Instant,
    // Tens of thousands of connection tasks record at once; shards keep them off one lock.
    shards: Vec<Mutex<Histogram<u64>>>,
    published: Vec<AtomicU64>,
    pub delivered: Counter,
    pub duplicates: AtomicU64,
    pub joined: AtomicU64,
    pub publishers_ready: AtomicU64,
    pub reconnects: AtomicU64,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub rejected: AtomicU64,
    pub shed: AtomicU64,
    rejoins: Mutex<Vec<(usize, u64)>>,
    errors: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn new(rooms: usize) -> Self {
        Self {
            epoch: Instant::now(),
            shards: (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect(),
            published: (0..rooms).map(|_| AtomicU64::new(0)).collect(),
            delivered: Counter::default(),
            duplicates: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            publishers_ready: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            rejoins: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since this run's epoch: the clock of every send and receive stamp.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    pub fn instant_of(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }

    pub fn record_latency(&self, shard: usize, sent_ns: u64, received_ns: u64) {
        let micros = received_ns.saturating_sub(sent_ns) / 1000;
        let mut h = self.shards[shard % SHARDS].lock().expect("histogram lock");
        h.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// The latencies recorded since the last call, merged; the shards start empty again.
    pub fn take_latencies(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for shard in &self.shards {
            let mut h = shard.lock().expect("histogram lock");
            all.add(&*h).expect("same bounds");
            h.reset();
        }
        all
    }

    /// Counts a message as published to `room`; returns its room-local number.
    pub fn next_number(&self, room: usize) -> u64 {
        self.published[room].fetch_add(1, Ordering::Relaxed)
    }

    pub fn published(&self, room: usize) -> u64 {
        self.published[room].load(Ordering::Relaxed)
    }

    pub fn published_total(&self) -> u64 {
        self.published
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .sum()
    }

    /// Subscriber `id` joined again after a reconnect.
    pub fn note_rejoin(&self, id: usize, at_ns: u64) {
        self.rejoins.lock().expect("rejoin lock").push((id, at_ns));
    }

    /// When each subscriber that rejoined at or after `since_ns` first did so, sorted.
    pub fn rejoins_since(&self, since_ns: u64) -> Vec<u64> {
        let mut first = std::collections::HashMap::new();
        for &(id, ns) in self.rejoins.lock().expect("rejoin lock").iter() {
            if ns >= since_ns {
                first
                    .entry(id)
                    .and_modify(|t: &mut u64| *t = (*t).min(ns))
                    .or_insert(ns);
            }
        }
        let mut times: Vec<u64> = first.into_values().collect();
        times.sort_unstable();
        times
    }

    /// Keeps the first few distinct problems for the report.
    pub fn note_error(&self, e: impl std::fmt::Display) {
        let mut errors = self.errors.lock().expect("error lock");
        let e = e.to_string();
        if errors.len() < 20 && !errors.contains(&e) {
            errors.push(e);
        }
    }

    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().expect("error lock").clone()
    }

    pub fn count(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A count that tens of thousands of connection tasks on every worker thread add to, hundreds of
/// thousands of times a second: one atomic would move its cache line between the cores at every
/// delivery, so each adder has a shard of its own line, and readers sum them.
pub struct Counter {
    shards: Box<[Padded]>,
}

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

impl Default for Counter {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Padded::default()).collect(),
        }
    }
}

impl Counter {
    /// Counts one for the adder `who` (a subscriber's id).
    pub fn add(&self, who: usize) {
        self.shards[who % SHARDS].0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
    }
}

/// Which message numbers of its room one subscriber has received.
#[derive(Default)]
pub struct Seen {
    bits: Vec<u64>,
    pub distinct: u64,
    pub duplicates: u64,
}

impl Seen {
    /// Marks `number` as received; false if it had been received before.
    pub fn mark(&mut self, number: u64) -> bool {
        let (word, bit) = ((number / 64) as usize, number % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.bits[word] & mask != 0 {
            self.duplicates += 1;
            return false;
        }
        self.bits[word] |= mask;
        self.distinct += 1;
        true
    }

    /// Numbers below `published` never received.
    pub fn missing_below(&self, published: u64) -> u64 {
        let mut have = 0u64;
        for (i, w) in self.bits.iter().enumerate() {
            let start = i as u64 * 64;
            if start >= published {
                break;
            }
            let valid = (published - start).min(64);
            let mask = if valid == 64 {
                u64::MAX
            } else {
                (1u64 << valid) - 1
            };
            have += (w & mask).count_ones() as u64;
        }
        published - have
    }
}

/// Quantiles of a latency histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Quantiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Quantiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: h.max() as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_counts_duplicates_and_what_is_missing() {
        let mut s = Seen::default();
        assert!(s.mark(0));
        assert!(s.mark(2));
        assert!(s.mark(130));
        assert!(!s.mark(2));
        assert_eq!((s.distinct, s.duplicates), (3, 1));
        assert_eq!(s.missing_below(3), 1);
        assert_eq!(s.missing_below(131), 128);
        assert_eq!(s.missing_below(200), 197);
        assert_eq!(s.missing_below(0), 0);
    }

    #[test]
    fn latencies_are_merged_across_shards_and_reset() {
        let r = Recorder::new(1);
        r.record_latency(0, 0, 1_000_000);
        r.record_latency(5, 0, 3_000_000);
        let q = Quantiles::of(&r.take_latencies());
        assert_eq!(q.count, 2);
        assert!((q.max_ms - 3.0).abs() < 0.01, "{q:?}");
        assert_eq!(r.take_latencies().len(), 0);
    }
}
