//! Scenario 3, latency: 100 rooms of 100 subscribers (10k clients) on one replica, a publisher
//! per room on the other, 1,000 publishes per second in all. Reports p50/p99/p99.9 from send
//! to receipt, and every message lost or delivered twice.

use std::time::Duration;

use crate::cluster::SystemKind;
use crate::record::Quantiles;

use super::{CpuMark, Harness, Layout, PUBLISHER_REPLICA, SUBSCRIBER_REPLICA, Totals};

pub struct LatencyParams {
    pub rooms: usize,
    pub per_room: usize,
    pub rate: f64,
    pub body_size: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LatencyResult {
    /// One-minute load average of the machine at the end of the run.
    #[serde(default)]
    pub load_avg: f64,
    pub system: SystemKind,
    pub rooms: usize,
    pub per_room: usize,
    pub rate: f64,
    pub seconds: f64,
    pub latency: Quantiles,
    /// Latency at these quantiles, for the percentile plot: (quantile, ms).
    pub curve: Vec<(f64, f64)>,
    pub deliveries_per_sec: f64,
    pub cpu_s_per_million: f64,
    /// Where the machine's CPU went, so a missed goal can be told apart from a machine that is
    /// full: the subscribers' replica per delivery (bus in, sockets out), the publishers'
    /// replica per publish (request, store write, bus publish), Redis and the load tool itself
    /// per delivery. CPU-seconds per million deliveries is CPU-µs per delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber_cpu_s_per_million: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_cpu_us_per_publish: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_cpu_s_per_million: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cpu_s_per_million: Option<f64>,
    pub totals: Totals,
    pub drained: bool,
}

pub const CURVE: [f64; 9] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1.0];

pub async fn run(kind: SystemKind, p: &LatencyParams) -> anyhow::Result<LatencyResult> {
    let layout = Layout {
        replicas: 2,
        rooms: p.rooms,
        per_room: p.per_room,
        subscriber_replica: SUBSCRIBER_REPLICA,
    };
    let mut h = Harness::start(kind, &layout).await?;
    let r = h.shared.recorder.clone();
    h.publish(p.rate, p.body_size);
    tokio::time::sleep(p.warmup).await;
    r.take_latencies();
    let delivered0 = r.delivered.total();
    let published0 = r.published_total();
    let cpu = CpuMark::take(&h.cluster)?;
    tokio::time::sleep(p.duration).await;
    h.pause();
    let drained = h.drain(Duration::from_secs(30)).await;
    let spent = cpu.since(&h.cluster)?;
    h.cluster.ensure_running()?;
    let hist = r.take_latencies();
    let delivered = r.delivered.total() - delivered0;
    let published = r.published_total() - published0;
    let per_delivery = |x: f64| (delivered > 0).then(|| x * 1e6 / delivered as f64);
    let totals = h.finish().await?;
    let errors = r.errors();
    if !errors.is_empty() {
        eprintln!("{} latency: problems seen: {errors:?}", kind.label());
    }
    Ok(LatencyResult {
        load_avg: crate::sys::load_avg(),
        system: kind,
        rooms: p.rooms,
        per_room: p.per_room,
        rate: p.rate,
        seconds: p.duration.as_secs_f64(),
        latency: Quantiles::of(&hist),
        curve: CURVE
            .iter()
            .map(|&q| (q, hist.value_at_quantile(q) as f64 / 1000.0))
            .collect(),
        deliveries_per_sec: delivered as f64 / p.duration.as_secs_f64(),
        cpu_s_per_million: per_delivery(spent.server).unwrap_or(0.0),
        subscriber_cpu_s_per_million: spent.replica_us_per(SUBSCRIBER_REPLICA, delivered),
        publisher_cpu_us_per_publish: spent.replica_us_per(PUBLISHER_REPLICA, published),
        redis_cpu_s_per_million: spent.redis.and_then(per_delivery),
        client_cpu_s_per_million: per_delivery(spent.client),
        totals,
        drained,
    })
}
