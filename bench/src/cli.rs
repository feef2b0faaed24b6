//! The command line: one subcommand per scenario (each runs against both systems by default
//! and merges its figures into the results file), `report`, `plot`, `smoke` and the hidden
//! `worker`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::cluster::SystemKind;
use crate::results::Results;
use crate::scenario::reports::ReportsParams;
use crate::scenario::search::{SearchParams, SearchStore};
use crate::scenario::{fanout, figure, idle, latency, reports, search, shards, storm, tenant};

#[derive(Debug, Parser)]
#[command(
    name = "chat-bench",
    version,
    about = "Atendo vs Socket.IO + @socket.io/redis-adapter: idle memory, fan-out, latency, reconnect storm, idle tenant"
)]
pub struct Cli {
    /// JSON file the scenarios merge their figures into (and `report`/`plot` read).
    #[arg(
        long,
        env = "CHAT_BENCH_RESULTS",
        default_value = "docs/benchmarks/results.json",
        global = true
    )]
    pub results: PathBuf,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Which {
    Both,
    Atendo,
    Socketio,
}

impl Which {
    fn systems(self) -> Vec<SystemKind> {
        match self {
            Self::Both => SystemKind::ALL.to_vec(),
            Self::Atendo => vec![SystemKind::Atendo],
            Self::Socketio => vec![SystemKind::SocketIo],
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Scenario 1: memory per idle connection at each N.
    Idle {
        #[arg(long, value_enum, default_value = "both")]
        system: Which,
        /// Connection counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000")]
        n: Vec<usize>,
        /// Server replicas; 0 gives each at most 19,000 connections (and at least two replicas).
        #[arg(long, default_value_t = 0)]
        replicas: usize,
        /// Connections per worker process of this tool (each may open ~20k files).
        #[arg(long, default_value_t = 18_000)]
        per_worker: usize,
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
    },
    /// Scenario 2: rooms of 100, publish rate rising until p99 passes the limit.
    Fanout {
        #[arg(long, value_enum, default_value = "both")]
        system: Which,
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        #[arg(long, default_value_t = 100)]
        per_room: usize,
        /// Body sizes in bytes, comma-separated; each gets its own ramp on a fresh cluster.
        #[arg(long, value_delimiter = ',', default_value = "100,1024")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 8)]
        step_secs: u64,
        /// Publishes per second (all rooms) of the first step.
        #[arg(long, default_value_t = 100.0)]
        start_rate: f64,
        #[arg(long, default_value_t = 1.5)]
        growth: f64,
        #[arg(long, default_value_t = 200_000.0)]
        max_rate: f64,
        #[arg(long, default_value_t = 50.0)]
        p99_limit_ms: f64,
    },
    /// Scenario 3: 100 rooms × 100 subscribers, 1,000 publishes/s.
    Latency {
        #[arg(long, value_enum, default_value = "both")]
        system: Which,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 100)]
        per_room: usize,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 100)]
        body: usize,
        #[arg(long, default_value_t = 5)]
        warmup_secs: u64,
        #[arg(long, default_value_t = 30)]
        secs: u64,
    },
    /// Scenario 4: kill the subscribers' replica while publishing; time until all rejoin.
    Storm {
        #[arg(long, value_enum, default_value = "both")]
        system: Which,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 100)]
        per_room: usize,
        /// Publishes per second in all; low enough by default for one surviving replica to carry
        /// on this machine, so that the storm measures reconnection, not overload.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 100)]
        body: usize,
        #[arg(long, default_value_t = 5)]
        before_secs: u64,
        #[arg(long, default_value_t = 3)]
        after_secs: u64,
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// Scenario 5: resident memory of one idle server process.
    Tenant {
        #[arg(long, value_enum, default_value = "both")]
        system: Which,
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
        /// Idle tenants side by side (each its own server, store and Redis); figures are per
        /// tenant, and the proportional set size shares the executable's pages among them.
        #[arg(long, default_value_t = 1)]
        tenants: usize,
    },
    /// Scenario 7: two-word message search over a large store (the store layer alone).
    Search {
        /// Stores to measure, comma-separated.
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "embedded,mongo"
        )]
        store: Vec<SearchStore>,
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        #[arg(long, default_value_t = 10_000)]
        conversations: usize,
        #[arg(long, default_value_t = 500)]
        queries: usize,
        /// Distinct words the synthetic text draws from (Zipf-distributed).
        #[arg(long, default_value_t = 50_000)]
        vocabulary: usize,
    },
    /// Scenario 8: the summary report over HTTP on an embedded store filled with conversations
    /// (messages, resolutions, ratings) through the store.
    Reports {
        #[arg(long, default_value_t = 100_000)]
        conversations: usize,
        /// Summary calls timed, after one warm-up call.
        #[arg(long, default_value_t = 20)]
        calls: usize,
    },
    /// Scenario 6: Atendo's fan-out ramp on a Redis Cluster of 1 and of 3 masters (sharded
    /// pub/sub).
    Shards {
        /// Masters of each cluster, comma-separated; each gets its own ramp.
        #[arg(long, value_delimiter = ',', default_value = "1,3")]
        shards: Vec<usize>,
        /// Many small rooms: every room is one channel, and the channels are what spread over
        /// the shards.
        #[arg(long, default_value_t = 60)]
        rooms: usize,
        #[arg(long, default_value_t = 10)]
        per_room: usize,
        #[arg(long, default_value_t = 100)]
        body: usize,
        #[arg(long, default_value_t = 8)]
        step_secs: u64,
        #[arg(long, default_value_t = 200.0)]
        start_rate: f64,
        #[arg(long, default_value_t = 1.5)]
        growth: f64,
        #[arg(long, default_value_t = 200_000.0)]
        max_rate: f64,
        #[arg(long, default_value_t = 50.0)]
        p99_limit_ms: f64,
    },
    /// Prints the results file as the Markdown tables of docs/benchmarks.md.
    Report,
    /// Writes PNG charts of the results file.
    Plot {
        #[arg(long, default_value = "docs/benchmarks")]
        dir: PathBuf,
    },
    /// Every scenario for a few seconds at tiny scale against both systems; fails on loss,
    /// duplicates or any error. Uses ATENDO_TEST_REDIS_URL when set, else its own redis-server.
    Smoke,
    /// Internal: holds a share of the idle scenario's connections (spec on stdin).
    #[command(hide = true)]
    Worker,
}

pub async fn execute(cli: Cli) -> anyhow::Result<()> {
    let path = cli.results;
    match cli.command {
        Cmd::Idle {
            system,
            n,
            replicas,
            per_worker,
            settle_secs,
        } => {
            for &connections in &n {
                for kind in system.systems() {
                    let p = idle::IdleParams {
                        connections,
                        replicas,
                        per_worker,
                        settle: Duration::from_secs(settle_secs),
                    };
                    let r = idle::run(kind, &p).await?;
                    eprintln!(
                        "{} idle N={connections}: {:.2} KiB/conn server ({:.2} private) + {:.2} KiB/conn kernel",
                        kind.label(),
                        r.rss_per_conn / 1024.0,
                        r.anon_per_conn.unwrap_or(f64::NAN) / 1024.0,
                        r.kernel_per_conn / 1024.0
                    );
                    save(&path, |res| res.add_idle(r))?;
                }
            }
        }
        Cmd::Fanout {
            system,
            rooms,
            per_room,
            sizes,
            step_secs,
            start_rate,
            growth,
            max_rate,
            p99_limit_ms,
        } => {
            anyhow::ensure!(growth > 1.0, "--growth must be above 1");
            for &body_size in &sizes {
                for kind in system.systems() {
                    let p = fanout::FanoutParams {
                        rooms,
                        per_room,
                        body_size,
                        step: Duration::from_secs(step_secs),
                        start_rate,
                        growth,
                        max_rate,
                        p99_limit_ms,
                    };
                    let r = fanout::run(kind, &p).await?;
                    save(&path, |res| res.add_fanout(r))?;
                }
            }
        }
        Cmd::Latency {
            system,
            rooms,
            per_room,
            rate,
            body,
            warmup_secs,
            secs,
        } => {
            for kind in system.systems() {
                let p = latency::LatencyParams {
                    rooms,
                    per_room,
                    rate,
                    body_size: body,
                    warmup: Duration::from_secs(warmup_secs),
                    duration: Duration::from_secs(secs),
                };
                let r = latency::run(kind, &p).await?;
                eprintln!(
                    "{} latency: p50 {:.2} ms p99 {:.2} ms p99.9 {:.2} ms, lost {}, duplicated {}; {:.0} deliveries/s, CPU-µs per delivery: servers {:.2} (subscriber replica {}, publisher {} µs/publish), Redis {}, client {}; load {:.2}",
                    kind.label(),
                    r.latency.p50_ms,
                    r.latency.p99_ms,
                    r.latency.p999_ms,
                    r.totals.lost,
                    r.totals.duplicates,
                    r.deliveries_per_sec,
                    r.cpu_s_per_million,
                    figure(r.subscriber_cpu_s_per_million),
                    figure(r.publisher_cpu_us_per_publish),
                    figure(r.redis_cpu_s_per_million),
                    figure(r.client_cpu_s_per_million),
                    r.load_avg,
                );
                save(&path, |res| res.add_latency(r))?;
            }
        }
        Cmd::Storm {
            system,
            rooms,
            per_room,
            rate,
            body,
            before_secs,
            after_secs,
            timeout_secs,
        } => {
            for kind in system.systems() {
                let p = storm::StormParams {
                    rooms,
                    per_room,
                    rate,
                    body_size: body,
                    before: Duration::from_secs(before_secs),
                    after: Duration::from_secs(after_secs),
                    rejoin_timeout: Duration::from_secs(timeout_secs),
                };
                let r = storm::run(kind, &p).await?;
                eprintln!(
                    "{} storm: {}/{} rejoined, 95% {:?} ms, 100% {:?} ms, lost {}, duplicated {}",
                    kind.label(),
                    r.rejoined,
                    r.subscribers,
                    r.t95_ms,
                    r.t100_ms,
                    r.totals.lost,
                    r.totals.duplicates
                );
                if let Some((asks, reads)) = r.store_pages {
                    eprintln!(
                        "{} storm: the surviving replica answered {asks} page asks (replay, gap fills) with {reads} store reads",
                        kind.label()
                    );
                }
                save(&path, |res| res.add_storm(r))?;
            }
        }
        Cmd::Search {
            store,
            messages,
            conversations,
            queries,
            vocabulary,
        } => {
            anyhow::ensure!(queries <= messages, "--queries must not exceed --messages");
            let p = SearchParams {
                messages,
                conversations,
                queries,
                vocabulary,
            };
            for kind in store {
                let r = search::run(kind, &p).await?;
                eprintln!(
                    "search {kind:?}: {} messages loaded in {:.0} s; {} two-word queries: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.1} hits each; load average {:.2}",
                    r.messages,
                    r.load_secs,
                    r.queries,
                    r.p50_ms,
                    r.p95_ms,
                    r.p99_ms,
                    r.max_ms,
                    r.hits_avg,
                    r.load_avg
                );
                save(&path, |res| res.add_search(r))?;
            }
        }
        Cmd::Reports {
            conversations,
            calls,
        } => {
            let r = reports::run(&ReportsParams {
                conversations,
                calls,
            })
            .await?;
            eprintln!(
                "reports: {} conversations ({} messages) loaded in {:.0} s; summary of 30 days over HTTP, {} calls: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, {:.1} CPU-ms per call; counted {}; load average {:.2}",
                r.conversations,
                r.messages,
                r.load_secs,
                r.calls,
                r.p50_ms,
                r.p95_ms,
                r.max_ms,
                r.cpu_ms_per_call,
                r.counted,
                r.load_avg
            );
            anyhow::ensure!(
                r.counted == r.conversations as u64,
                "the summary counted {} of {} conversations",
                r.counted,
                r.conversations
            );
            save(&path, |res| res.add_reports(r))?;
        }
        Cmd::Tenant {
            system,
            settle_secs,
            tenants,
        } => {
            for kind in system.systems() {
                let r = tenant::run(kind, tenants, Duration::from_secs(settle_secs)).await?;
                eprintln!(
                    "{} idle tenant (mean of {tenants}): {:.1} MiB RSS, {:.1} MiB private, {:.1} MiB PSS",
                    kind.label(),
                    r.rss as f64 / 1048576.0,
                    r.rss_anon as f64 / 1048576.0,
                    r.pss.unwrap_or(0) as f64 / 1048576.0
                );
                save(&path, |res| res.add_tenant(r))?;
            }
        }
        Cmd::Shards {
            shards,
            rooms,
            per_room,
            body,
            step_secs,
            start_rate,
            growth,
            max_rate,
            p99_limit_ms,
        } => {
            anyhow::ensure!(growth > 1.0, "--growth must be above 1");
            let p = fanout::FanoutParams {
                rooms,
                per_room,
                body_size: body,
                step: Duration::from_secs(step_secs),
                start_rate,
                growth,
                max_rate,
                p99_limit_ms,
            };
            for &n in &shards {
                let r = shards::run(n, &p).await?;
                save(&path, |res| res.add_shards(r))?;
            }
        }
        Cmd::Report => print!("{}", crate::report::markdown(&Results::load(&path)?)),
        Cmd::Plot { dir } => {
            for f in crate::plot::plot_all(&Results::load(&path)?, &dir)? {
                println!("{}", f.display());
            }
        }
        Cmd::Smoke => crate::smoke::run().await?,
        Cmd::Worker => crate::worker::run().await?,
    }
    Ok(())
}

/// Merges one result into the file at once, so a long run that fails later keeps what it had.
fn save(path: &std::path::Path, add: impl FnOnce(&mut Results)) -> anyhow::Result<()> {
    let mut results = Results::load(path)?;
    add(&mut results);
    results.save(path)
}
