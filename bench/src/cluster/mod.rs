//! The systems under test as child processes: a Redis, and server replicas of one system sharing
//! it. Every process is killed when the cluster is dropped.

pub mod atendo;
pub mod socketio;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use testkit::ChildGuard;

use crate::proto::{Protocol, Room};
use crate::sys;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum SystemKind {
    /// Atendo's chat-server.
    #[value(name = "atendo")]
    #[serde(rename = "atendo")]
    Atendo,
    /// Socket.IO 4.8 + @socket.io/redis-adapter 8.3 (bench/peers/socketio).
    #[value(name = "socketio")]
    #[serde(rename = "socketio")]
    SocketIo,
}

impl SystemKind {
    pub const ALL: [SystemKind; 2] = [SystemKind::Atendo, SystemKind::SocketIo];

    pub fn label(self) -> &'static str {
        match self {
            Self::Atendo => "Atendo",
            Self::SocketIo => "Socket.IO",
        }
    }

    pub fn protocol(self) -> Arc<dyn Protocol> {
        match self {
            Self::Atendo => Arc::new(crate::proto::atendo::Atendo),
            Self::SocketIo => Arc::new(crate::proto::socketio::SocketIo),
        }
    }
}

/// Where the Redis comes from: a private `redis-server` per cluster (measurements: its CPU is
/// the cluster's alone), a shared one from `ATENDO_TEST_REDIS_URL` (CI smoke), or a private
/// Redis Cluster of some masters (the shards scenario; Atendo only, through its cluster URL).
pub enum RedisHandle {
    Owned(testkit::redis::Redis),
    Shared(String),
    Sharded(testkit::redis_cluster::RedisCluster),
}

impl RedisHandle {
    pub fn start() -> anyhow::Result<Self> {
        match std::env::var("ATENDO_TEST_REDIS_URL") {
            Ok(url) if !url.is_empty() => Ok(Self::Shared(url)),
            _ => Ok(Self::Owned(testkit::redis::spawn_redis()?)),
        }
    }

    /// A private Redis Cluster of `masters` masters.
    pub fn sharded(masters: usize) -> anyhow::Result<Self> {
        Ok(Self::Sharded(testkit::redis_cluster::spawn_redis_cluster(
            masters,
        )?))
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Owned(r) => &r.url,
            Self::Shared(u) => u,
            Self::Sharded(c) => &c.url,
        }
    }

    /// The redis-server processes, when this cluster owns them.
    pub fn pids(&self) -> Vec<u32> {
        match self {
            Self::Owned(r) => redis_pid(r.port).into_iter().collect(),
            Self::Shared(_) => Vec::new(),
            Self::Sharded(c) => c.pids(),
        }
    }
}

/// testkit does not expose the pid of the server it spawned; find it by its listening port.
fn redis_pid(port: u16) -> Option<u32> {
    let needle = format!(":{port}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let cmd = cmd.trim_end();
        let listens = cmd.ends_with(&needle)
            || cmd.contains(&format!("{needle} "))
            || cmd.contains(&format!("--port {port} "));
        (cmd.contains("redis-server") && listens).then_some(pid)
    })
}

pub struct Replica {
    pub addr: SocketAddr,
    guard: ChildGuard,
}

impl Replica {
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    pub fn is_running(&mut self) -> bool {
        self.guard.ensure_running().is_ok()
    }
}

pub struct Cluster {
    pub kind: SystemKind,
    // Fields drop in order: the replicas go before the Redis they use.
    pub replicas: Vec<Replica>,
    pub redis: RedisHandle,
    /// Bus namespace / adapter key of this cluster on the (possibly shared) Redis.
    pub namespace: String,
    store: Option<tempfile::TempDir>,
}

impl Cluster {
    /// Starts a Redis (see [`RedisHandle`]) and `replicas` servers of `kind` on it.
    pub async fn start(kind: SystemKind, replicas: usize) -> anyhow::Result<Self> {
        Self::start_on(kind, replicas, RedisHandle::start()?).await
    }

    /// `replicas` servers of `kind` on `redis`.
    pub async fn start_on(
        kind: SystemKind,
        replicas: usize,
        redis: RedisHandle,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            kind == SystemKind::Atendo || !matches!(redis, RedisHandle::Sharded(_)),
            "only Atendo is measured on a Redis Cluster"
        );
        let namespace = testkit::unique("bench");
        let store = match kind {
            SystemKind::Atendo => Some(atendo::store_dir()?),
            SystemKind::SocketIo => None,
        };
        let mut cluster = Self {
            kind,
            replicas: Vec::new(),
            redis,
            namespace,
            store,
        };
        for _ in 0..replicas {
            let port = testkit::free_port();
            let mut command = match kind {
                SystemKind::Atendo => atendo::command(
                    port,
                    cluster.redis.url(),
                    &cluster.namespace,
                    cluster.store.as_ref().expect("atendo has a store").path(),
                )?,
                SystemKind::SocketIo => {
                    socketio::command(port, cluster.redis.url(), &cluster.namespace)?
                }
            };
            let guard = ChildGuard::spawn(kind.label(), &mut command)?;
            let mut replica = Replica {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                guard,
            };
            wait_healthy(kind, &mut replica).await?;
            cluster.replicas.push(replica);
        }
        Ok(cluster)
    }

    pub fn endpoints(&self) -> Vec<SocketAddr> {
        self.replicas.iter().map(|r| r.addr).collect()
    }

    pub fn pids(&self) -> Vec<u32> {
        self.replicas.iter().map(Replica::pid).collect()
    }

    /// `count` rooms, ready to be joined and published to.
    pub async fn rooms(&self, count: usize) -> anyhow::Result<Vec<Room>> {
        match self.kind {
            SystemKind::Atendo => atendo::rooms(self.replicas[0].addr, count).await,
            SystemKind::SocketIo => Ok((0..count)
                .map(|index| Room {
                    index,
                    name: format!("room-{index}"),
                    token: None,
                })
                .collect()),
        }
    }

    /// Kills replica `i` with SIGKILL, as a crash or a lost node would.
    pub fn kill(&mut self, i: usize) {
        self.replicas[i].guard.kill();
    }

    /// Sum of the replicas' resident memory, in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        self.pids()
            .into_iter()
            .map(|p| Ok(sys::rss_bytes(p)?))
            .sum()
    }

    /// Sum of the replicas' anonymous resident memory, in bytes.
    pub fn rss_anon(&self) -> anyhow::Result<u64> {
        self.pids()
            .into_iter()
            .map(|p| Ok(sys::rss_anon_bytes(p)?))
            .sum()
    }

    /// Sum of the replicas' CPU time, in seconds.
    pub fn cpu(&self) -> anyhow::Result<f64> {
        self.pids()
            .into_iter()
            .map(|p| Ok(sys::cpu_seconds(p)?))
            .sum()
    }

    /// CPU time of the cluster's own redis-server(s), summed, when it has any.
    pub fn redis_cpu(&self) -> Option<f64> {
        let pids = self.redis.pids();
        if pids.is_empty() {
            return None;
        }
        pids.into_iter().map(|p| sys::cpu_seconds(p).ok()).sum()
    }

    /// CPU time of each redis-server of the cluster.
    pub fn redis_cpu_each(&self) -> Vec<f64> {
        self.redis
            .pids()
            .into_iter()
            .map(|p| sys::cpu_seconds(p).unwrap_or(0.0))
            .collect()
    }

    /// Fails naming the replica that exited (crashed, or refused its configuration).
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        for (i, r) in self.replicas.iter_mut().enumerate() {
            r.guard
                .ensure_running()
                .with_context(|| format!("{} replica {i} on {}", self.kind.label(), r.addr))?;
        }
        Ok(())
    }
}

async fn wait_healthy(kind: SystemKind, replica: &mut Replica) -> anyhow::Result<()> {
    let path = match kind {
        SystemKind::Atendo => "/health/ready",
        SystemKind::SocketIo => "/health",
    };
    let url = format!("http://{}{path}", replica.addr);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        replica
            .guard
            .ensure_running()
            .with_context(|| format!("{} on {} did not start", kind.label(), replica.addr))?;
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} on {} was not healthy ({url}) within 60 s",
            kind.label(),
            replica.addr
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A command whose output goes to this process's stderr only when it says something.
pub(crate) fn quiet(command: &mut Command) -> &mut Command {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
}
