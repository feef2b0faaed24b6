//! Scenario 5, idle tenant cost: the resident memory of one server process that has started,
//! connected to Redis and served nothing. With several tenants on the machine (each its own
//! server, store and Redis), the proportional set size says what one more tenant adds to a
//! node: the executable's pages are shared through the page cache by every tenant's process.

use std::time::Duration;

use crate::cluster::{Cluster, SystemKind};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TenantResult {
    /// One-minute load average of the machine at the end of the run.
    #[serde(default)]
    pub load_avg: f64,
    pub system: SystemKind,
    pub rss: u64,
    /// The private part of `rss` (heap, stacks); the rest is the executable's and libraries'
    /// pages, shared through the page cache.
    #[serde(default)]
    pub rss_anon: u64,
    /// Idle tenants running side by side; `rss`, `rss_anon` and `pss` are each one's mean.
    #[serde(default = "one")]
    pub tenants: usize,
    /// Mean proportional set size per tenant (`smaps_rollup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pss: Option<u64>,
}

fn one() -> usize {
    1
}

pub async fn run(
    kind: SystemKind,
    tenants: usize,
    settle: Duration,
) -> anyhow::Result<TenantResult> {
    anyhow::ensure!(tenants >= 1, "--tenants must be at least 1");
    let mut clusters = Vec::with_capacity(tenants);
    for _ in 0..tenants {
        clusters.push(Cluster::start(kind, 1).await?);
    }
    tokio::time::sleep(settle).await;
    let (mut rss, mut anon, mut pss) = (0, 0, 0);
    for cluster in clusters.iter_mut() {
        cluster.ensure_running()?;
        rss += cluster.rss()?;
        anon += cluster.rss_anon()?;
        for pid in cluster.pids() {
            pss += crate::sys::pss_bytes(pid)?;
        }
    }
    let n = tenants as u64;
    Ok(TenantResult {
        load_avg: crate::sys::load_avg(),
        system: kind,
        rss: rss / n,
        rss_anon: anon / n,
        tenants,
        pss: Some(pss / n),
    })
}
