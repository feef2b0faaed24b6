//! Hands the heap's free pages back to the kernel once the process goes quiet.
//!
//! glibc returns freed memory to the kernel only from the top of each arena; everything freed
//! between live allocations stays resident for good. Two things leave a lot of it: start-up
//! (the OpenAPI document the router builds and drops, the store's migrations: 1.4 MiB of an
//! idle server's 5.8 MiB private memory) and a burst of connections (each handshake's buffers,
//! freed between the sockets that stay open). `malloc_trim` gives those pages back. It walks
//! every arena under its lock, so it runs on a blocking thread once the process has been quiet
//! for a tick: after start-up, then after each burst of connections; never while they keep
//! arriving, nor for a trickle such as health probes. And fewer arenas ([`limit_arenas`]) leave fewer places for free pages.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// How long without a new connection counts as quiet.
const TICK: Duration = Duration::from_secs(2);
/// Connections since the last trim that make a burst worth trimming after. Fewer (a health
/// probe every few seconds) leave little behind, and would trim every probe.
const BURST: u64 = 64;

/// When to trim, from the readings of an activity counter taken one [`TICK`] apart.
#[derive(Debug, Default)]
pub struct Quiet {
    last: Option<u64>,
    /// The reading at the last trim; none before the first (start-up's own garbage).
    trimmed_at: Option<u64>,
}

impl Quiet {
    /// Takes a reading; true when the heap should be trimmed now.
    pub fn tick(&mut self, reading: u64) -> bool {
        let moving = self.last.is_some_and(|last| last != reading);
        self.last = Some(reading);
        let due = self
            .trimmed_at
            .is_none_or(|at| reading.saturating_sub(at) >= BURST);
        if moving || !due {
            return false;
        }
        self.trimmed_at = Some(reading);
        true
    }
}

/// Trims once start-up is over and again after each burst of `activity` (a counter that only
/// grows, such as connections accepted), until `shutdown`.
pub async fn trim_when_quiet(activity: impl Fn() -> u64, shutdown: CancellationToken) {
    let mut quiet = Quiet::default();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        if quiet.tick(activity()) {
            let started = Instant::now();
            match tokio::task::spawn_blocking(trim).await {
                Ok(released) => tracing::debug!(
                    released,
                    took_ms = started.elapsed().as_millis() as u64,
                    "trimmed the heap"
                ),
                Err(e) => tracing::warn!(error = %e, "trimming the heap failed"),
            }
        }
    }
}

/// Caps glibc's arenas at one per CPU the process may use (tokio runs one worker per CPU),
/// unless `MALLOC_ARENA_MAX` says otherwise. glibc's default of eight per core gives each
/// short-lived blocking thread (store reads, password hashing) an arena of its own, whose free
/// pages stay resident: about 7 MiB per replica once 5,000 sockets had subscribed, 0.4–0.8
/// KiB per socket at 10k (`chat-bench idle`: 3.85–4.41 KiB/conn by default, 3.56–3.64 capped
/// at two on this 2-core machine). Call before the runtime starts its threads.
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    set_arena_max(cpus.max(2));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_arena_max(n: usize) {
    let n = libc::c_int::try_from(n).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt takes plain integers; M_ARENA_MAX only bounds arenas created from now on.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, n) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_: usize) {}

/// Returns the free pages of every arena to the kernel; whether any were released.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointers and is safe to call from any thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other C libraries return free memory on their own schedule and have no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

/// This process's private resident memory (`RssAnon`), in KiB: what tests of memory given back
/// to the kernel read.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn private_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("RssAnon in /proc/self/status")
}

#[cfg(test)]
mod tests {
    use super::Quiet;

    #[test]
    fn trims_after_start_up_and_after_each_burst_never_during_one_nor_for_a_trickle() {
        let mut q = Quiet::default();
        assert!(
            q.tick(3),
            "start-up left garbage: trim on the first quiet tick"
        );
        assert!(!q.tick(3), "nothing happened since");
        assert!(!q.tick(40), "connections arriving");
        assert!(!q.tick(100), "still arriving");
        assert!(q.tick(100), "quiet for a tick after a burst of 97");
        assert!(!q.tick(100));
        for probe in 101..=120 {
            assert!(!q.tick(probe), "one probe at a time");
            assert!(!q.tick(probe), "a trickle is not a burst");
        }
        assert!(!q.tick(164));
        assert!(q.tick(164), "64 since the last trim, then quiet");
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn trim_gives_freed_pages_between_live_allocations_back() {
        // 64 MiB in 4 KiB blocks, every 32nd kept: what is freed lies between live blocks, where
        // glibc's own top-of-heap trimming cannot reach it.
        let mut blocks: Vec<Vec<u8>> = (0..16_384).map(|i| vec![i as u8; 4096]).collect();
        let kept: Vec<Vec<u8>> = blocks.iter_mut().step_by(32).map(std::mem::take).collect();
        drop(blocks);
        let before = super::private_kib();
        super::trim();
        let after = super::private_kib();
        assert!(
            before.saturating_sub(after) >= 32 * 1024,
            "trim released {} KiB of the ~62 MiB freed (RssAnon {before} → {after} KiB)",
            before.saturating_sub(after)
        );
        drop(kept);
    }
}
