//! Test support shared by the workspace's test suites: real local services, started and stopped
//! by guards.
//!
//! Each service is taken from an environment variable when the test command (`scripts/test.sh`)
//! has started it once for the whole run, and otherwise started here for the calling test and
//! stopped when its guard drops. Either way a missing binary fails the test loudly; nothing is
//! skipped silently.

pub mod mongo;
pub mod process;
pub mod redis;
pub mod redis_cluster;
pub mod redis_tls;
pub mod resp;
pub mod s3;
pub mod smtp;
pub mod webhooks;

pub use process::{ChildGuard, free_port, wait_for_port};

/// A unique, lowercase, alphanumeric suffix for names (databases, buckets, namespaces) so tests
/// sharing one service never see each other's data.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{}{:x}{:x}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}
