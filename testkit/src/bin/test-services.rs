//! Starts every test service once for a whole test run (used by `scripts/test.sh`):
//! Redis, SecantusDB without and with `--auth`, and moto's S3 server.
//!
//! Usage: `test-services ENV_FILE`. Once all are up it writes `export ATENDO_TEST_…=…` lines
//! to ENV_FILE (complete or not at all: written aside, then renamed), then stays up until its
//! standard input closes or it receives SIGTERM/SIGINT, and stops them all. Because stdin
//! closing is enough, a test run that dies without cleaning up still takes its services along.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};

fn main() -> anyhow::Result<()> {
    let env_file: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: test-services ENV_FILE")?
        .into();

    // In parallel: SecantusDB with auth alone takes two starts and a clean stop.
    let (redis, mongo, mongo_auth, s3) = std::thread::scope(|scope| {
        let redis = scope.spawn(testkit::redis::spawn_redis);
        let mongo = scope.spawn(|| testkit::mongo::spawn_mongo(false));
        let mongo_auth = scope.spawn(|| testkit::mongo::spawn_mongo(true));
        let s3 = scope.spawn(testkit::s3::spawn_s3);
        anyhow::Ok((
            join("redis-server", redis.join())?,
            join("secantusd-py", mongo.join())?,
            join("secantusd-py --auth", mongo_auth.join())?,
            join("moto_server", s3.join())?,
        ))
    })?;

    let vars = [
        ("ATENDO_TEST_REDIS_URL", redis.url.as_str()),
        ("ATENDO_TEST_MONGO_URL", mongo.uri.as_str()),
        ("ATENDO_TEST_MONGO_AUTH_URL", mongo_auth.uri.as_str()),
        ("ATENDO_TEST_S3_URL", s3.endpoint.as_str()),
    ];
    write_env_file(&env_file, &vars)?;
    eprintln!(
        "test services up: redis {}, mongo {}, mongo with auth on {}, s3 {}",
        redis.url,
        mongo.uri,
        // The URI carries the root password.
        mongo_auth.uri.rsplit('@').next().unwrap_or_default(),
        s3.endpoint
    );

    // Never dropped: dropping a runtime waits for its blocking threads, and one of them may
    // be stuck reading stdin.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(wait_for_the_end())?;
    // Stops every server: their guards kill and reap them and remove their storage.
    drop((redis, mongo, mongo_auth, s3));
    std::process::exit(0);
}

async fn wait_for_the_end() -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buffer = [0u8; 256];
        while let Ok(n) = stdin.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
        _ = stdin_closed => {}
    }
    Ok(())
}

fn join<T>(name: &str, result: std::thread::Result<anyhow::Result<T>>) -> anyhow::Result<T> {
    result
        .map_err(|_| anyhow::anyhow!("starting {name} panicked"))?
        .with_context(|| format!("starting {name}"))
}

fn write_env_file(path: &std::path::Path, vars: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (name, value) in vars {
        anyhow::ensure!(!value.contains('\''), "{name} contains a quote: {value}");
        text.push_str(&format!("export {name}='{value}'\n"));
    }
    let aside = path.with_extension("partial");
    let mut file =
        std::fs::File::create(&aside).with_context(|| format!("creating {}", aside.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&aside, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
