//! Scenario 5, idle tenant cost: the resident memory of one server process that has started,
//! connected to Redis and served nothing.

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
}

pub async fn run(kind: SystemKind, settle: Duration) -> anyhow::Result<TenantResult> {
    let mut cluster = Cluster::start(kind, 1).await?;
    tokio::time::sleep(settle).await;
    cluster.ensure_running()?;
    Ok(TenantResult {
        load_avg: crate::sys::load_avg(),
        system: kind,
        rss: cluster.rss()?,
        rss_anon: cluster.rss_anon()?,
    })
}
