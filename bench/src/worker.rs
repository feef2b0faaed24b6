//! `chat-bench worker`: a child process holding a share of the idle scenario's connections,
//! because one process may open only ~20k files here. It reads one [`WorkerSpec`] line on
//! stdin, reports progress as JSON lines on stdout, and ends its connections when stdin says
//! `stop` or closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::client::{self, ReconnectPolicy, Shared};
use crate::cluster::SystemKind;
use crate::net::SourcePlan;
use crate::proto::Room;
use crate::record::Recorder;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WorkerSpec {
    pub system: SystemKind,
    pub endpoints: Vec<SocketAddr>,
    pub rooms: Vec<Room>,
    pub per_room: usize,
    /// Global index of this worker's first subscriber; subscriber `i` joins room
    /// `i / per_room` on replica `i % endpoints.len()`.
    pub first: usize,
    pub count: usize,
    /// Source-address block (see `net::SourcePlan`), distinct per worker.
    pub block: u8,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerLine {
    Progress {
        joined: u64,
    },
    Done {
        joined: u64,
        reconnects: u64,
        errors: Vec<String>,
    },
}

const BATCH: usize = 500;

pub async fn run() -> anyhow::Result<()> {
    let limit = crate::sys::raise_fd_limit()?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let line = stdin
        .next_line()
        .await?
        .context("worker: no spec on stdin")?;
    let spec: WorkerSpec = serde_json::from_str(&line).context("worker: malformed spec")?;
    anyhow::ensure!(
        (spec.count as u64) + 64 <= limit,
        "worker: {} connections do not fit the file limit of {limit}",
        spec.count
    );
    let shared = Arc::new(Shared {
        protocol: spec.system.protocol(),
        recorder: Arc::new(Recorder::new(spec.rooms.len())),
        endpoints: spec.endpoints.clone(),
        sources: SourcePlan::new(spec.block),
        stop: client::Stop::default(),
        policy: ReconnectPolicy::default(),
    });
    let rooms: Vec<Arc<Room>> = spec.rooms.iter().cloned().map(Arc::new).collect();
    let stop_reader = shared.clone();
    tokio::spawn(async move {
        while let Ok(Some(l)) = stdin.next_line().await {
            if l.trim() == "stop" {
                break;
            }
        }
        stop_reader.stop.cancel();
    });
    let mut out = tokio::io::stdout();
    let mut tasks = Vec::with_capacity(spec.count);
    let replicas = spec.endpoints.len();
    let recorder = shared.recorder.clone();
    for start in (0..spec.count).step_by(BATCH) {
        for k in start..(start + BATCH).min(spec.count) {
            let i = spec.first + k;
            tasks.push(tokio::spawn(client::subscriber(
                shared.clone(),
                i,
                rooms[i / spec.per_room].clone(),
                i % replicas,
            )));
        }
        while Recorder::count(&recorder.joined) < tasks.len() as u64 && !shared.stop.is_stopped() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        emit(
            &mut out,
            &WorkerLine::Progress {
                joined: Recorder::count(&recorder.joined),
            },
        )
        .await?;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = tick.tick() => emit(&mut out, &WorkerLine::Progress { joined: Recorder::count(&recorder.joined) }).await?,
        }
    }
    let mut joined = 0;
    let mut reconnects = 0;
    for t in tasks {
        let r = t.await?;
        joined += r.joined as u64;
        reconnects += r.reconnects;
    }
    emit(
        &mut out,
        &WorkerLine::Done {
            joined,
            reconnects,
            errors: recorder.errors(),
        },
    )
    .await
}

async fn emit(out: &mut tokio::io::Stdout, line: &WorkerLine) -> anyhow::Result<()> {
    let mut text = serde_json::to_string(line)?;
    text.push('\n');
    out.write_all(text.as_bytes()).await?;
    out.flush().await?;
    Ok(())
}
