//! Scenario 3, latency: 100 rooms of 100 subscribers (10k clients) on one replica, a publisher
//! per room on the other, 1,000 publishes per second in all. Reports p50/p99/p99.9 from send
//! to receipt, and every message lost or delivered twice.

use std::time::Duration;

use crate::cluster::SystemKind;
use crate::record::Quantiles;

use super::{CpuMark, Harness, Layout, Totals};

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
    pub totals: Totals,
    pub drained: bool,
}

pub const CURVE: [f64; 9] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1.0];

pub async fn run(kind: SystemKind, p: &LatencyParams) -> anyhow::Result<LatencyResult> {
    let layout = Layout {
        replicas: 2,
        rooms: p.rooms,
        per_room: p.per_room,
        subscriber_replica: 1,
    };
    let mut h = Harness::start(kind, &layout).await?;
    let r = h.shared.recorder.clone();
    h.publish(p.rate, p.body_size);
    tokio::time::sleep(p.warmup).await;
    r.take_latencies();
    let delivered0 = r.delivered.total();
    let cpu = CpuMark::take(&h.cluster)?;
    tokio::time::sleep(p.duration).await;
    h.pause();
    let drained = h.drain(Duration::from_secs(30)).await;
    let (server_cpu, _, _) = cpu.since(&h.cluster)?;
    h.cluster.ensure_running()?;
    let hist = r.take_latencies();
    let delivered = r.delivered.total() - delivered0;
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
        cpu_s_per_million: if delivered > 0 {
            server_cpu / delivered as f64 * 1e6
        } else {
            0.0
        },
        totals,
        drained,
    })
}
