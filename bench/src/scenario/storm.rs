//! Scenario 4, reconnect storm: 10k subscribers on replica 1, publishers on replica 0 at 1,000
//! publishes per second; replica 1 is killed (SIGKILL). Every subscriber reconnects to the
//! surviving replica and joins again. Reports how long until 95% and 100% had rejoined, and the
//! messages that never reached a subscriber.

use std::time::{Duration, Instant};

use crate::cluster::SystemKind;

use super::{Harness, Layout, Totals};

pub struct StormParams {
    pub rooms: usize,
    pub per_room: usize,
    pub rate: f64,
    pub body_size: usize,
    pub before: Duration,
    pub after: Duration,
    pub rejoin_timeout: Duration,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StormResult {
    /// One-minute load average of the machine at the end of the run.
    #[serde(default)]
    pub load_avg: f64,
    pub system: SystemKind,
    pub subscribers: u64,
    /// Publishes per second, all rooms together, before, during and after the kill.
    #[serde(default)]
    pub rate: f64,
    pub rejoined: u64,
    pub t95_ms: Option<f64>,
    pub t100_ms: Option<f64>,
    /// (ms after the kill, fraction rejoined), for the plot.
    pub curve: Vec<(f64, f64)>,
    pub totals: Totals,
    pub drained: bool,
    /// Atendo only: the surviving replica's `chat_store_page_asks` and `chat_store_page_reads`
    /// at the end, i.e. how many of the rejoining sessions' replay reads were shared.
    #[serde(default)]
    pub store_pages: Option<(u64, u64)>,
}

pub async fn run(kind: SystemKind, p: &StormParams) -> anyhow::Result<StormResult> {
    let layout = Layout {
        replicas: 2,
        rooms: p.rooms,
        per_room: p.per_room,
        subscriber_replica: 1,
    };
    let mut h = Harness::start(kind, &layout).await?;
    let r = h.shared.recorder.clone();
    let n = (p.rooms * p.per_room) as u64;
    h.publish(p.rate, p.body_size);
    tokio::time::sleep(p.before).await;
    let killed_ns = r.now_ns();
    h.cluster.kill(1);
    let deadline = Instant::now() + p.rejoin_timeout;
    while (r.rejoins_since(killed_ns).len() as u64) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(p.after).await;
    h.pause();
    let drained = h.drain(Duration::from_secs(30)).await;
    let store_pages = match kind {
        SystemKind::Atendo => store_pages(h.cluster.endpoints()[0]).await,
        SystemKind::SocketIo => None,
    };
    let rejoins = r.rejoins_since(killed_ns);
    let totals = h.finish().await?;
    let after_kill = |ns: u64| ns.saturating_sub(killed_ns) as f64 / 1e6;
    let at = |fraction: f64| {
        let k = (fraction * n as f64).ceil() as usize;
        (k >= 1 && rejoins.len() >= k).then(|| after_kill(rejoins[k - 1]))
    };
    let step = (rejoins.len() / 200).max(1);
    let curve = rejoins
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == rejoins.len())
        .map(|(i, &ns)| (after_kill(ns), (i + 1) as f64 / n as f64))
        .collect();
    Ok(StormResult {
        load_avg: crate::sys::load_avg(),
        system: kind,
        subscribers: n,
        rate: p.rate,
        rejoined: rejoins.len() as u64,
        t95_ms: at(0.95),
        t100_ms: at(1.0),
        curve,
        totals,
        drained,
        store_pages,
    })
}

/// (asks, reads) from the replica's `/metrics`; None if it cannot be read (never fatal: the
/// storm's own figures stand without it).
async fn store_pages(replica: std::net::SocketAddr) -> Option<(u64, u64)> {
    let text = reqwest::get(format!("http://{replica}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let counter = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .map(|v| v as u64)
    };
    Some((
        counter("chat_store_page_asks_total ")?,
        counter("chat_store_page_reads_total ")?,
    ))
}
