//! Scenario 6, shards: Atendo's fan-out ramp (scenario 2) on a Redis Cluster of 1 master and
//! of 3 masters (`redis-cluster://`, sharded pub/sub). A conversation's channel lives on the
//! master of its hash slot, so 3 shards split the rooms' traffic three ways; the figures show
//! whether that buys throughput here (deliveries/s within the p99 limit) and how the Redis CPU
//! spreads over the masters.

use crate::cluster::{RedisHandle, SystemKind};

use super::fanout::{self, FanoutParams, FanoutResult};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ShardsResult {
    /// Masters of the Redis Cluster.
    pub shards: usize,
    pub fanout: FanoutResult,
}

impl ShardsResult {
    /// Redis CPU-seconds of each master during the best step.
    pub fn best_redis_cpu_per_master(&self) -> Vec<f64> {
        self.fanout
            .best()
            .map(|s| s.redis_cpu_per_master_s.clone())
            .unwrap_or_default()
    }
}

pub async fn run(shards: usize, p: &FanoutParams) -> anyhow::Result<ShardsResult> {
    let redis = RedisHandle::sharded(shards)?;
    let fanout = fanout::run_on(SystemKind::Atendo, p, redis).await?;
    if let Some(best) = fanout.best() {
        eprintln!(
            "Atendo on {shards} shard(s): best {:.0} deliveries/s within p99 {:.0} ms; Redis CPU-s per master {:?}",
            best.deliveries_per_sec, p.p99_limit_ms, best.redis_cpu_per_master_s
        );
    }
    Ok(ShardsResult { shards, fanout })
}
