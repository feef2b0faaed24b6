//! `chat-bench smoke`: every scenario for a few seconds at tiny scale against both systems, so
//! CI notices when the tool, the peer or the server's contract drifts. Fails on any loss or
//! duplicate (except the Socket.IO peer's losses across a replica kill: Socket.IO rooms keep no
//! history, so a subscriber cannot get back what was published while it was away; those are
//! reported, not failed), on a subscriber that never (re)joins, and on any error.

use std::time::Duration;

use crate::cluster::SystemKind;
use crate::scenario::reports::ReportsParams;
use crate::scenario::search::{SearchParams, SearchStore};
use crate::scenario::{fanout, idle, latency, reports, search, shards, storm, tenant};

pub async fn run() -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for kind in SystemKind::ALL {
        let name = kind.label();
        let mut check = |ok: bool, what: String| {
            eprintln!("smoke {name}: {} {what}", if ok { "ok  " } else { "FAIL" });
            if !ok {
                failures.push(format!("{name}: {what}"));
            }
        };
        match tenant::run(kind, 1, Duration::from_secs(1)).await {
            Ok(t) => check(
                t.rss > 0,
                format!("idle tenant RSS {:.1} MiB", t.rss as f64 / 1048576.0),
            ),
            Err(e) => check(false, format!("tenant: {e:#}")),
        }
        let p = idle::IdleParams {
            connections: 200,
            replicas: 2,
            per_worker: 100,
            settle: Duration::from_secs(1),
        };
        match idle::run(kind, &p).await {
            Ok(r) => check(
                r.rss_after > 0,
                format!(
                    "idle: 200 connections over 2 workers, {:.1} KiB/conn",
                    r.total_per_conn() / 1024.0
                ),
            ),
            Err(e) => check(false, format!("idle: {e:#}")),
        }
        let p = fanout::FanoutParams {
            rooms: 2,
            per_room: 10,
            body_size: 1024,
            step: Duration::from_secs(2),
            start_rate: 20.0,
            growth: 2.0,
            max_rate: 40.0,
            p99_limit_ms: 1000.0,
        };
        match fanout::run(kind, &p).await {
            Ok(r) => {
                // Both steps ran (a step that falls short of the asked pace ends the ramp; the
                // pace allows each publisher its phase, `fanout::kept_pace`), and each drained.
                let drained = r.steps.iter().all(|s| s.drained && s.published > 0);
                check(
                    r.steps.len() == 2 && drained && r.totals.lost == 0 && r.totals.duplicates == 0,
                    format!(
                        "fan-out: {} of 2 steps ({}), all drained {drained}, lost {}, duplicated {}",
                        r.steps.len(),
                        published(&r.steps, p.step),
                        r.totals.lost,
                        r.totals.duplicates
                    ),
                );
            }
            Err(e) => check(false, format!("fan-out: {e:#}")),
        }
        let p = latency::LatencyParams {
            rooms: 4,
            per_room: 10,
            rate: 40.0,
            body_size: 100,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(2),
        };
        match latency::run(kind, &p).await {
            Ok(r) => check(
                r.drained
                    && r.totals.delivered > 0
                    && r.totals.lost == 0
                    && r.totals.duplicates == 0,
                format!(
                    "latency: {} delivered, p99 {:.2} ms, lost {}, duplicated {}",
                    r.totals.delivered, r.latency.p99_ms, r.totals.lost, r.totals.duplicates
                ),
            ),
            Err(e) => check(false, format!("latency: {e:#}")),
        }
        let p = storm::StormParams {
            rooms: 4,
            per_room: 10,
            rate: 40.0,
            body_size: 100,
            before: Duration::from_secs(1),
            after: Duration::from_secs(1),
            rejoin_timeout: Duration::from_secs(20),
        };
        match storm::run(kind, &p).await {
            Ok(r) => {
                let loss_ok = kind == SystemKind::SocketIo || r.totals.lost == 0;
                check(
                    r.rejoined == r.subscribers && r.totals.duplicates == 0 && loss_ok,
                    format!(
                        "storm: {}/{} rejoined, lost {}, duplicated {}",
                        r.rejoined, r.subscribers, r.totals.lost, r.totals.duplicates
                    ),
                );
            }
            Err(e) => check(false, format!("storm: {e:#}")),
        }
    }
    // Atendo alone (Socket.IO's peer has no sharded adapter here), on a private cluster.
    for n in [1, 3] {
        let p = fanout::FanoutParams {
            rooms: 6,
            per_room: 5,
            body_size: 100,
            step: Duration::from_secs(2),
            start_rate: 20.0,
            growth: 2.0,
            max_rate: 40.0,
            p99_limit_ms: 1000.0,
        };
        let (ok, what) = match shards::run(n, &p).await {
            Ok(r) => {
                let f = &r.fanout;
                let drained = f.steps.iter().all(|s| s.drained && s.published > 0);
                let spread = f.steps.iter().all(|s| s.redis_cpu_per_master_s.len() == n);
                (
                    f.steps.len() == 2
                        && drained
                        && spread
                        && f.totals.lost == 0
                        && f.totals.duplicates == 0,
                    format!(
                        "shards: fan-out on {n} shard(s), {} of 2 steps ({}), all drained {drained}, per-master CPU {spread}, lost {}, duplicated {}",
                        f.steps.len(),
                        published(&f.steps, p.step),
                        f.totals.lost,
                        f.totals.duplicates
                    ),
                )
            }
            Err(e) => (false, format!("shards ({n}): {e:#}")),
        };
        eprintln!("smoke Atendo: {} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(format!("Atendo: {what}"));
        }
    }
    // Search at 5,000 messages on both stores: every query has hits (its words come from a
    // stored message), so a broken index or folding fails here.
    for store in [SearchStore::Embedded, SearchStore::Mongo] {
        let p = SearchParams {
            messages: 5_000,
            conversations: 50,
            queries: 50,
            vocabulary: 5_000,
        };
        let (ok, what) = match search::run(store, &p).await {
            Ok(r) => (
                r.hits_avg >= 1.0,
                format!(
                    "search {store:?}: {} messages, p95 {:.2} ms, {:.1} hits per query",
                    r.messages, r.p95_ms, r.hits_avg
                ),
            ),
            Err(e) => (false, format!("search {store:?}: {e:#}")),
        };
        eprintln!("smoke Atendo: {} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(format!("Atendo: {what}"));
        }
    }
    // The summary report at 2,000 conversations: it counts every one of them.
    let p = ReportsParams {
        conversations: 2_000,
        calls: 3,
    };
    let (ok, what) = match reports::run(&p).await {
        Ok(r) => (
            r.counted == r.conversations as u64,
            format!(
                "reports: {} conversations, summary p95 {:.1} ms, counted {}",
                r.conversations, r.p95_ms, r.counted
            ),
        ),
        Err(e) => (false, format!("reports: {e:#}")),
    };
    eprintln!("smoke Atendo: {} {what}", if ok { "ok  " } else { "FAIL" });
    if !ok {
        failures.push(format!("Atendo: {what}"));
    }
    anyhow::ensure!(
        failures.is_empty(),
        "smoke failed:\n  {}",
        failures.join("\n  ")
    );
    eprintln!("smoke: every scenario ran against both systems without loss or duplicates");
    Ok(())
}

/// What each fan-out step published against what it asked, e.g. "37/40 published, 80/80 published".
fn published(steps: &[fanout::FanoutStep], step: std::time::Duration) -> String {
    steps
        .iter()
        .map(|s| {
            format!(
                "{}/{:.0} published",
                s.published,
                s.target_rate * step.as_secs_f64()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
