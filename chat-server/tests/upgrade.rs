//! A rolling upgrade over live traffic. Two replicas of the previous build
//! (`scripts/build-previous.sh`: a pinned older commit, built from this clone's history) run on
//! one MongoDB-wire store (SecantusDB) and one Redis; each is then stopped as Kubernetes stops a
//! pod (SIGTERM) and replaced on its port by this build, one at a time, while a visitor and an
//! agent keep writing and a third participant only reads, all resuming per the contract. The
//! claim (`chaos::check`): every participant received every stored message exactly once in seq
//! order, and the store holds exactly the acknowledged set. Old and new replicas serve side by
//! side in between, on the store as the old build left it and as the new one changes it.

#[path = "common/chaos.rs"]
mod chaos;
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chaos::Cast;
use common::binary::{self, Replica};

const PER_SENDER: usize = 300;
/// Slow enough that the stream outlives both replacements.
const PACE: Duration = Duration::from_millis(20);

/// The previous build's binary, built by the script (once per target dir) unless
/// `ATENDO_PREVIOUS_CHAT_SERVER` names one; `None` when it is `skip` (`scripts/test.sh` in a
/// shallow clone, which has no history to build it from).
fn previous_build() -> Option<PathBuf> {
    match std::env::var("ATENDO_PREVIOUS_CHAT_SERVER").as_deref() {
        Ok("skip") => return None,
        Ok(path) => return Some(PathBuf::from(path)),
        Err(_) => {}
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-previous.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("run scripts/build-previous.sh");
    assert!(
        out.status.success(),
        "building the previous chat-server failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
}

async fn wait_for(progress: &AtomicUsize, acks: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.load(Ordering::Relaxed) < acks {
        assert!(
            Instant::now() < deadline,
            "the stream stalled below {acks} acks"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Stops `old` as Kubernetes would and starts this build on its port.
fn replace(old: Replica, env: &[(&str, String)]) -> Replica {
    let Replica {
        mut guard, port, ..
    } = old;
    guard.signal("TERM");
    guard
        .wait_timeout(Duration::from_secs(30))
        .expect("the old replica drains and exits on SIGTERM");
    binary::start_exe(
        std::path::Path::new(env!("CARGO_BIN_EXE_chat-server")),
        port,
        env,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_from_the_previous_build_loses_and_duplicates_nothing() {
    let Some(previous) = previous_build() else {
        eprintln!(
            "SKIPPED: no previous chat-server to upgrade from (this clone lacks the commit \
             scripts/build-previous.sh pins; fetch the history to run this test)"
        );
        return;
    };
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let store = mongo.database_uri(&testkit::unique("upgrade")).await;
    let mut env = binary::deployment_env(&redis.url, store);
    env.extend([
        ("CHAT_WS_RATE", "10000".to_string()),
        ("CHAT_WS_BURST", "10000".to_string()),
    ]);
    let a = binary::start_exe(&previous, testkit::free_port(), &env);
    let b = binary::start_exe(&previous, testkit::free_port(), &env);

    // Data the old build wrote before the upgrade starts.
    let cast = Cast::open(&a.base, &b.base).await;
    let progress = Arc::new(AtomicUsize::new(0));
    let tasks = cast.start(
        (&a.ws_base, &b.ws_base),
        PER_SENDER,
        PACE,
        &progress,
        Duration::from_secs(120),
    );

    wait_for(&progress, PER_SENDER / 2).await;
    let started = Instant::now();
    let a = replace(a, &env);
    let a_replaced = started.elapsed();
    // Old B and new A serve together for a while.
    let mixed_from = progress.load(Ordering::Relaxed);
    wait_for(&progress, mixed_from + PER_SENDER / 2).await;
    let mixed = progress.load(Ordering::Relaxed) - mixed_from;
    let b = replace(b, &env);
    let upgraded = started.elapsed();
    let all_new = Instant::now();

    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.expect("participant"));
    }
    let stored = chaos::stored(&b.base, &cast.agent, &cast.conversation).await;
    chaos::check("rolling upgrade", &reports, &stored);
    assert!(
        reports.iter().any(|r| r.next_ack_after(all_new).is_some()),
        "traffic went on after the last replacement"
    );
    // The new build's own features work on what the old one wrote.
    let (s, hits) = common::http::call(
        &a.base,
        "GET",
        &format!(
            "/conversations/{}/transcript?format=json",
            cast.conversation
        ),
        Some(&cast.agent),
        None,
    )
    .await;
    assert_eq!(s, 200, "{hits}");
    eprintln!(
        "[rolling upgrade] FIGURES a_replaced_ms={} upgraded_ms={} acks_while_mixed={mixed} reconnects={:?}",
        a_replaced.as_millis(),
        upgraded.as_millis(),
        reports.iter().map(|r| r.reconnects).collect::<Vec<_>>()
    );
}
