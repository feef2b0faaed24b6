//! Scenario 1, idle: N connections, each joined to a room of 100, doing nothing. Reports the
//! servers' resident memory and the kernel's TCP buffer memory per connection.
//!
//! Each process here may open ~20k files (the hard limit), servers included, so N is spread over
//! `ceil(N / 19,000)` replicas (at least two) and over worker processes of this tool.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::cluster::{Cluster, SystemKind};
use crate::sys::SockStat;
use crate::worker::{WorkerLine, WorkerSpec};

/// Connections one server process is given at most (its limit is 20,000 files).
pub const PER_REPLICA: usize = 19_000;
pub const ROOM_SIZE: usize = 100;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct IdleResult {
    /// One-minute load average of the machine at the end of the run.
    #[serde(default)]
    pub load_avg: f64,
    pub system: SystemKind,
    pub connections: u64,
    pub replicas: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    pub kernel_before: u64,
    pub kernel_after: u64,
    pub tcp_sockets_added: u64,
    /// Server resident memory added per connection, bytes.
    pub rss_per_conn: f64,
    /// Kernel TCP buffer memory added per connection (both ends are on this machine), bytes.
    pub kernel_per_conn: f64,
    /// The private (anonymous) part of `rss_per_conn`: heap and stacks, without the code pages
    /// the first sockets fault in once (a fixed cost that `rss_per_conn` spreads over N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anon_per_conn: Option<f64>,
}

impl IdleResult {
    pub fn total_per_conn(&self) -> f64 {
        self.rss_per_conn + self.kernel_per_conn
    }
}

pub struct IdleParams {
    pub connections: usize,
    /// 0 picks `max(2, ceil(N / PER_REPLICA))`.
    pub replicas: usize,
    pub per_worker: usize,
    pub settle: Duration,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    joined: u64,
}

pub async fn run(kind: SystemKind, p: &IdleParams) -> anyhow::Result<IdleResult> {
    let replicas = if p.replicas == 0 {
        p.connections.div_ceil(PER_REPLICA).max(2)
    } else {
        p.replicas
    };
    let mut cluster = Cluster::start(kind, replicas).await?;
    let rooms = cluster.rooms(p.connections.div_ceil(ROOM_SIZE)).await?;
    // The servers' own start-up work (and the room set-up) settles before the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = cluster.rss()?;
    let anon_before = cluster.rss_anon()?;
    let sock_before = SockStat::read()?;
    let mut workers = Vec::new();
    let mut first = 0;
    let exe = std::env::current_exe().context("locating chat-bench for its workers")?;
    for w in 0..p.connections.div_ceil(p.per_worker) {
        let count = p.per_worker.min(p.connections - first);
        let spec = WorkerSpec {
            system: kind,
            endpoints: cluster.endpoints(),
            rooms: rooms.clone(),
            per_room: ROOM_SIZE,
            first,
            count,
            block: 100 + w as u8,
        };
        first += count;
        let mut child = Command::new(&exe)
            .arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting a chat-bench worker")?;
        let mut stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        stdin
            .write_all(format!("{}\n", serde_json::to_string(&spec)?).as_bytes())
            .await?;
        workers.push(Worker {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            joined: 0,
        });
    }
    let target = p.connections as u64;
    let deadline = Instant::now() + Duration::from_secs(60 + p.connections as u64 / 200);
    loop {
        let joined: u64 = workers.iter().map(|w| w.joined).sum();
        if joined >= target {
            break;
        }
        cluster.ensure_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "{}: only {joined} of {target} idle connections joined in time",
            kind.label()
        );
        for w in workers.iter_mut() {
            if let Ok(Ok(Some(line))) =
                tokio::time::timeout(Duration::from_millis(50), w.lines.next_line()).await
                && let Ok(WorkerLine::Progress { joined }) = serde_json::from_str(&line)
            {
                w.joined = joined;
            }
        }
    }
    tokio::time::sleep(p.settle).await;
    cluster.ensure_running()?;
    let rss_after = cluster.rss()?;
    let anon_after = cluster.rss_anon()?;
    let sock_after = SockStat::read()?;
    let mut problems = Vec::new();
    for w in workers.iter_mut() {
        w.stdin.write_all(b"stop\n").await?;
        w.stdin.flush().await?;
    }
    for mut w in workers {
        while let Some(line) = w.lines.next_line().await? {
            if let Ok(WorkerLine::Done { errors, .. }) = serde_json::from_str(&line) {
                problems.extend(errors);
            }
        }
        w.child.wait().await?;
    }
    if !problems.is_empty() {
        eprintln!("{}: idle workers reported: {problems:?}", kind.label());
    }
    let n = p.connections as f64;
    Ok(IdleResult {
        load_avg: crate::sys::load_avg(),
        system: kind,
        connections: target,
        replicas,
        rss_before,
        rss_after,
        kernel_before: sock_before.mem_bytes(),
        kernel_after: sock_after.mem_bytes(),
        tcp_sockets_added: sock_after.inuse.saturating_sub(sock_before.inuse),
        rss_per_conn: (rss_after as f64 - rss_before as f64) / n,
        kernel_per_conn: (sock_after.mem_bytes() as f64 - sock_before.mem_bytes() as f64) / n,
        anon_per_conn: Some((anon_after as f64 - anon_before as f64) / n),
    })
}
