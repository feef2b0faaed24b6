//! The scenarios, and the harness they share: a cluster, rooms, subscribers joined on one
//! replica and publishers on another ("crossed", so every delivery goes through Redis).

pub mod fanout;
pub mod idle;
pub mod latency;
pub mod reports;
pub mod search;
pub mod shards;
pub mod storm;
pub mod tenant;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::{
    self, PublishPlan, PublisherReport, ReconnectPolicy, Shared, SubscriberReport,
};
use crate::cluster::{Cluster, RedisHandle, SystemKind};
use crate::net::{SourcePlan, fresh_block};
use crate::proto::Room;
use crate::record::Recorder;
use crate::threads::ClientThreads;

/// Subscribers connect in batches this large, each waiting for the previous to have joined, so
/// set-up measures neither system's accept backlog.
const CONNECT_BATCH: usize = 500;

pub struct Layout {
    pub replicas: usize,
    pub rooms: usize,
    pub per_room: usize,
    /// Replica the subscribers join (the publishers use replica 0).
    pub subscriber_replica: usize,
}

pub struct Harness {
    pub cluster: Cluster,
    pub rooms: Vec<Arc<Room>>,
    pub shared: Arc<Shared>,
    pub plan: watch::Sender<PublishPlan>,
    subscribers: Vec<JoinHandle<SubscriberReport>>,
    publishers: Vec<JoinHandle<PublisherReport>>,
    pub per_room: usize,
    /// Declared last: dropped after everything above, so no task outlives what it uses.
    threads: ClientThreads,
}

/// What the clients of a harness saw, summed.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub subscribers: u64,
    pub joined: u64,
    pub published: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reconnects: u64,
    pub sent: u64,
    pub acked: u64,
    pub shed: u64,
}

impl Harness {
    /// Starts the cluster, creates the rooms, joins every subscriber and connects one publisher
    /// per room (paused).
    pub async fn start(kind: SystemKind, layout: &Layout) -> anyhow::Result<Self> {
        Self::start_on(kind, layout, RedisHandle::start()?).await
    }

    /// [`Harness::start`] on a given Redis.
    pub async fn start_on(
        kind: SystemKind,
        layout: &Layout,
        redis: RedisHandle,
    ) -> anyhow::Result<Self> {
        let cluster = Cluster::start_on(kind, layout.replicas, redis).await?;
        let rooms: Vec<Arc<Room>> = cluster
            .rooms(layout.rooms)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let shared = Arc::new(Shared {
            protocol: kind.protocol(),
            recorder: Arc::new(Recorder::new(rooms.len())),
            endpoints: cluster.endpoints(),
            sources: SourcePlan::new(fresh_block()),
            stop: client::Stop::default(),
            policy: ReconnectPolicy::default(),
        });
        let (plan, plan_rx) = watch::channel(PublishPlan {
            rate: 0.0,
            body_size: 100,
        });
        let mut h = Self {
            cluster,
            rooms,
            shared,
            plan,
            subscribers: Vec::new(),
            publishers: Vec::new(),
            per_room: layout.per_room,
            threads: ClientThreads::per_core()?,
        };
        let total = layout.rooms * layout.per_room;
        let mut id = 0;
        while id < total {
            let batch_end = (id + CONNECT_BATCH).min(total);
            for i in id..batch_end {
                let room = h.rooms[i / layout.per_room].clone();
                h.subscribers.push(h.threads.spawn(client::subscriber(
                    h.shared.clone(),
                    i,
                    room,
                    layout.subscriber_replica,
                )));
            }
            id = batch_end;
            h.wait_joined(id as u64, Duration::from_secs(120)).await?;
        }
        for room in &h.rooms {
            h.publishers.push(tokio::spawn(client::publisher(
                h.shared.clone(),
                room.clone(),
                PUBLISHER_REPLICA,
                plan_rx.clone(),
            )));
        }
        h.wait_publishers(Duration::from_secs(60)).await?;
        Ok(h)
    }

    pub fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    async fn wait_joined(&mut self, target: u64, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let joined = Recorder::count(&self.recorder().joined);
            if joined >= target {
                return Ok(());
            }
            self.cluster.ensure_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {joined} of {target} subscribers joined within {timeout:?}; first problems: {:?}",
                self.recorder().errors()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_publishers(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let target = self.rooms.len() as u64;
        while load(&self.recorder().publishers_ready) < target {
            self.cluster.ensure_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {target} publishers connected within {timeout:?}; first problems: {:?}",
                load(&self.recorder().publishers_ready),
                self.recorder().errors()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Sets every publisher to `total_rate` publishes per second (split evenly over rooms).
    pub fn publish(&self, total_rate: f64, body_size: usize) {
        let rate = total_rate / self.rooms.len() as f64;
        self.plan.send_replace(PublishPlan { rate, body_size });
    }

    pub fn pause(&self) {
        let body_size = self.plan.borrow().body_size;
        self.plan.send_replace(PublishPlan {
            rate: 0.0,
            body_size,
        });
    }

    /// Deliveries every subscriber should have by now: what was published times room size.
    pub fn expected_deliveries(&self) -> u64 {
        self.recorder().published_total() * self.per_room as u64
    }

    /// Waits until every published message reached every subscriber, or `timeout` passes;
    /// true when complete.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.recorder();
            let settled = Recorder::count(&r.acked) + Recorder::count(&r.rejected)
                >= Recorder::count(&r.sent);
            if settled && r.delivered.total() >= self.expected_deliveries() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What [`Self::drain`] still waits for, in words, with each Atendo replica's delivery
    /// counters (closes by reason, publish failures, gap fills): the figures that tell a late
    /// delivery's cause from a lost one's.
    pub async fn shortfall(&self) -> String {
        let r = self.recorder();
        let mut text = format!(
            "delivered {} of {}, acked {} + rejected {} of {} sent, {} reconnects so far",
            r.delivered.total(),
            self.expected_deliveries(),
            Recorder::count(&r.acked),
            Recorder::count(&r.rejected),
            Recorder::count(&r.sent),
            Recorder::count(&r.reconnects),
        );
        if self.cluster.kind == SystemKind::Atendo {
            for (i, replica) in self.cluster.replicas.iter().enumerate() {
                text.push_str(&format!(
                    "\n    replica {i}: {}",
                    delivery_counters(replica.addr).await
                ));
            }
        }
        text
    }

    /// Stops every client and sums what they saw. The cluster keeps running until dropped.
    pub async fn finish(&mut self) -> anyhow::Result<Totals> {
        self.shared.stop.cancel();
        let mut t = Totals {
            subscribers: self.subscribers.len() as u64,
            published: self.recorder().published_total(),
            ..Totals::default()
        };
        for s in self.subscribers.drain(..) {
            let r = s.await?;
            t.joined += r.joined as u64;
            t.delivered += r.distinct;
            t.lost += r.lost;
            t.duplicates += r.duplicates;
            t.reconnects += r.reconnects;
        }
        for p in self.publishers.drain(..) {
            let r = p.await?;
            t.sent += r.sent;
            t.acked += r.acked;
            t.shed += r.shed;
        }
        Ok(t)
    }
}

/// Publishers always send through the first replica; subscribers sit on the layout's.
pub const PUBLISHER_REPLICA: usize = 0;
/// The replica the fan-out and latency scenarios put every subscriber on.
pub const SUBSCRIBER_REPLICA: usize = 1;

/// An optional figure for a progress line: two decimals, or "n/a" where it could not be read.
pub fn figure(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |x| format!("{x:.2}"))
}

/// CPU time of the servers, each replica, Redis and the load tool itself at one point of a
/// run; [`CpuMark::since`] gives what each spent between two points.
pub struct CpuMark {
    server: f64,
    replicas: Vec<f64>,
    redis: Option<f64>,
    redis_each: Vec<f64>,
    client: f64,
}

/// What each part spent between two [`CpuMark`]s, in CPU-seconds.
pub struct CpuSpent {
    pub server: f64,
    /// Per replica, in replica order; `None` where a replica's could not be read.
    pub replicas: Vec<Option<f64>>,
    pub redis: Option<f64>,
    /// The load tool's own process: on a shared 2-core machine a client that costs more than
    /// the server would measure itself.
    pub client: f64,
}

impl CpuSpent {
    /// One replica's CPU-seconds, if it was read at both marks.
    pub fn replica(&self, i: usize) -> Option<f64> {
        self.replicas.get(i).copied().flatten()
    }

    /// One replica's CPU-µs per event (`per`: deliveries or publishes), if read and any came.
    pub fn replica_us_per(&self, i: usize, per: u64) -> Option<f64> {
        let s = self.replica(i)?;
        (per > 0).then(|| s * 1e6 / per as f64)
    }
}

impl CpuMark {
    pub fn take(cluster: &Cluster) -> anyhow::Result<Self> {
        Ok(Self {
            server: cluster.cpu()?,
            replicas: cluster
                .pids()
                .into_iter()
                .map(|p| crate::sys::cpu_seconds(p).unwrap_or(f64::NAN))
                .collect(),
            redis: cluster.redis_cpu(),
            redis_each: cluster.redis_cpu_each(),
            client: crate::sys::cpu_seconds(std::process::id())?,
        })
    }

    /// Redis CPU-seconds of each redis-server (each master of a Redis Cluster) since `self`.
    pub fn redis_each_since(&self, cluster: &Cluster) -> Vec<f64> {
        cluster
            .redis_cpu_each()
            .iter()
            .zip(&self.redis_each)
            .map(|(now, then)| now - then)
            .collect()
    }

    pub fn since(&self, cluster: &Cluster) -> anyhow::Result<CpuSpent> {
        let now = Self::take(cluster)?;
        let redis = match (self.redis, now.redis) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let replicas = now
            .replicas
            .iter()
            .zip(&self.replicas)
            .map(|(b, a)| Some(b - a).filter(|d| d.is_finite()))
            .collect();
        Ok(CpuSpent {
            server: now.server - self.server,
            replicas,
            redis,
            client: now.client - self.client,
        })
    }
}

pub fn load(counter: &AtomicU64) -> u64 {
    Recorder::count(counter)
}

/// The non-zero delivery counters of an Atendo replica's `/metrics`, on one line.
async fn delivery_counters(addr: std::net::SocketAddr) -> String {
    const SHOWN: [&str; 6] = [
        "chat_ws_closed_total",
        "chat_bus_publish_failures_total",
        "chat_gap_fills_total",
        "chat_bus_unconfirmed_total",
        "chat_holes_skipped_total",
        "chat_connections_active",
    ];
    let text = match reqwest::get(format!("http://{addr}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => return format!("metrics unavailable ({e})"),
    };
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| SHOWN.iter().any(|m| l.starts_with(m)) && !l.ends_with(" 0"))
        .collect();
    shown.join(", ")
}
