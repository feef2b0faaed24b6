//! Scale check: N Tenants (default 1,000) against the in-memory API fake, with the real
//! Controller and in-memory bucket and database providers. Prints the time until every Tenant is
//! Ready, peak RSS (the operator's own and the whole), the API calls per Tenant, and how many API
//! writes and external calls one full resync makes when nothing changed (must be zero).
//!
//! Two processes, so the operator's memory is its own: this one serves the fake over HTTP on
//! 127.0.0.1 and plays the cluster (creates the Tenants, marks each Deployment available and each
//! Ingress admitted as the cluster's controllers would, watches for Ready); a copy of itself,
//! started with `SCALE_OPERATOR_API`, runs the operator against it through a normal kube::Client.
//!
//! cargo bench -p operator --bench scale -- --tenants 1000      (or SCALE_TENANTS=1000)

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use atendo_operator::controller::{Context, controller_and_tenants, reconcile};
use atendo_operator::tenant::Tenant;
use clap::Parser;
use futures::StreamExt;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use support::fake_api::FakeApi;
use support::providers::{MemoryDatabase, MemoryStorage};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Set in the operator's process: the fake's URL.
const OPERATOR_API: &str = "SCALE_OPERATOR_API";

#[derive(Parser)]
struct Args {
    /// How many Tenants.
    #[arg(long, env = "SCALE_TENANTS", default_value_t = 1000)]
    tenants: usize,
    /// Give up when not all are Ready after this many seconds.
    #[arg(long, env = "SCALE_DEADLINE_SECS", default_value_t = 600)]
    deadline_secs: u64,
    /// Print every write whose path contains this (e.g. `tenant-t00001`): why a Tenant took
    /// the writes it took.
    #[arg(long, env = "SCALE_TRACE")]
    trace: Option<String>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// (peak, current) resident set of a process, in MiB.
fn rss_mib(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// CPU seconds (user + system) a process has used; /proc counts in USER_HZ, 100 on Linux.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may hold spaces: state is the first, utime the 12th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

fn ready(t: &Value) -> bool {
    t["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn name(i: usize) -> String {
    format!("t{i:05}")
}

/// "PATCH deployments 2.0, GET secrets 6.0, …" per Tenant: where the calls go.
fn calls_by_kind(calls: &[support::fake_api::Call], n: usize) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for call in calls {
        let segments: Vec<&str> = call.path.split('/').collect();
        let watch = call.query.contains("watch=");
        // The resource is the segment after the namespace, or after the version.
        let resource = match segments.iter().position(|s| *s == "namespaces") {
            Some(i) if segments.len() > i + 2 => segments[i + 2],
            _ => segments
                .get(if segments[1] == "api" { 3 } else { 4 })
                .copied()
                .unwrap_or("?"),
        };
        let what = if watch { "WATCH" } else { call.method.as_str() };
        let sub = if call.path.ends_with("/status") {
            "/status"
        } else {
            ""
        };
        *counts.entry(format!("{what} {resource}{sub}")).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} {:.1}", *v as f64 / n as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::var(OPERATOR_API) {
        Ok(url) => operator(&url).await,
        Err(_) => cluster(Args::parse()).await,
    }
}

/// The operator's process: the Controller until told to stop, then one resync by hand.
async fn operator(url: &str) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_from(kube::Config::new(url.parse()?))?;
    let storage = Arc::new(MemoryStorage::default());
    let database = Arc::new(MemoryDatabase::default());
    let ctx = Arc::new(Context::new(
        client.clone(),
        common::settings(&[]),
        storage.clone(),
        database.clone(),
        Arc::new(support::providers::MemoryBus::default()),
    ));
    // Failed reconciles are retried by the Controller; each is shown, as the operator logs it.
    let (tenants, controller) = controller_and_tenants(ctx.clone());
    let running = tokio::spawn(controller.for_each(|result| async move {
        if let Err(error) = result {
            eprintln!("operator: {error:?}");
        }
    }));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    ensure!(stdin.next_line().await?.as_deref() == Some("stop"));
    running.abort();
    let _ = running.await;
    println!("stopped");
    ensure!(stdin.next_line().await?.as_deref() == Some("resync"));
    let external = |s: &MemoryStorage, d: &MemoryDatabase| {
        *s.ensure_calls.lock().unwrap() + *d.ensure_calls.lock().unwrap()
    };
    let before = external(&storage, &database);
    let started = Instant::now();
    // From the stopped Controller's store, as its own resync would: a list of every Tenant
    // at once would be the bench's memory, not the operator's (80 MiB more at 10,000).
    for t in tenants.state() {
        reconcile(t, ctx.clone()).await?;
    }
    let took = started.elapsed().as_secs_f64();
    let calls = external(&storage, &database) - before;
    let (peak, _) = rss_mib("self");
    println!("resynced {took} {calls} {peak}");
    Ok(())
}

/// The operator's next answer, past what a wrapper (heaptrack) printed on the same stdout.
async fn answer(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) -> anyhow::Result<Option<String>> {
    while let Some(line) = lines.next_line().await? {
        if line == "stopped" || line.starts_with("resynced ") {
            return Ok(Some(line));
        }
        eprintln!("operator's process: {line}");
    }
    Ok(None)
}

/// The cluster's side: the fake API, the Tenants, the kubelet and ingress controller stand-in.
async fn cluster(args: Args) -> anyhow::Result<()> {
    let n = args.tenants;
    // The watch window must hold every event of the run (about 25 per Tenant), or the watches
    // fall behind it and relist, which a real API server's watch cache sized for the cluster
    // would not make them do.
    let api = FakeApi::with_window((n * 40).max(50_000));
    let tenants: Api<Tenant> = Api::all(api.client());
    for i in 0..n {
        let tenant = common::tenant(common::minimal_json(&name(i), "starter"));
        tenants.create(&PostParams::default(), &tenant).await?;
    }
    api.clear_calls();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(api.clone().serve(listener));

    let started = Instant::now();
    // SCALE_OPERATOR_WRAPPER runs the operator's process under a profiler, e.g. heaptrack (its
    // RSS is then the wrapper's, not the operator's).
    let mut command = match std::env::var_os("SCALE_OPERATOR_WRAPPER") {
        Some(wrapper) => {
            let mut command = tokio::process::Command::new(wrapper);
            command.arg(std::env::current_exe()?);
            command
        }
        None => tokio::process::Command::new(std::env::current_exe()?),
    };
    let mut child = command
        .env(OPERATOR_API, &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the operator's process")?;
    let pid = child.id().context("operator's pid")?.to_string();
    eprintln!(
        "operator process {pid}, API fake and cluster stand-in process {}",
        std::process::id()
    );
    let mut to_operator = child.stdin.take().context("operator's stdin")?;
    let mut from_operator =
        BufReader::new(child.stdout.take().context("operator's stdout")?).lines();

    let deadline = started + Duration::from_secs(args.deadline_secs);
    let mut last_report = Instant::now();
    // Only the Tenants not Ready yet are visited: at 10,000, reading every Tenant, Deployment
    // and Ingress five times a second took most of a core from the operator it measures. One
    // that became Ready and fell back would show in the resync below (a status write).
    let mut waiting: Vec<usize> = (0..n).collect();
    let all_ready = loop {
        let mut still = Vec::with_capacity(waiting.len());
        for &i in &waiting {
            let ns = format!("tenant-{}", name(i));
            for (group, resource) in [("apps", "deployments"), ("networking.k8s.io", "ingresses")] {
                // A Deployment's controller reports each new generation; an Ingress keeps its address.
                if let Some(mut obj) = api.get(group, resource, &ns, "chat-server")
                    && (obj["status"].is_null()
                        || resource == "deployments"
                            && obj["status"]["observedGeneration"] != obj["metadata"]["generation"])
                {
                    obj["status"] = if resource == "deployments" {
                        json!({"observedGeneration": obj["metadata"]["generation"], "replicas": 1, "availableReplicas": 1})
                    } else {
                        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}})
                    };
                    api.put(group, resource, &ns, obj);
                }
            }
            if !api
                .get("atendo.io", "tenants", "", &name(i))
                .is_some_and(|t| ready(&t))
            {
                still.push(i);
            }
        }
        waiting = still;
        let count = n - waiting.len();
        if waiting.is_empty() {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            let stuck = (0..n)
                .filter_map(|i| api.get("atendo.io", "tenants", "", &name(i)))
                .find(|t| !ready(t));
            bail!(
                "only {count} of {n} Ready after {} s; one that is not: {}",
                args.deadline_secs,
                stuck.unwrap_or_default()
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "{count} of {n} Ready after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Let reconciles already under way finish: 2 s without a write.
    let mut quiet = api.call_counts();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = api.call_counts();
        if now.1 == quiet.1 {
            break;
        }
        quiet = now;
    }
    let (calls, writes) = api.call_counts();
    let expired = api.expired_watches();
    let by_kind = calls_by_kind(&api.calls(), n);
    if let Some(trace) = &args.trace {
        for call in api
            .calls()
            .iter()
            .filter(|c| c.is_write() && c.path.contains(trace.as_str()))
        {
            eprintln!("{} {}?{}", call.method, call.path, call.query);
        }
    }
    let (operator_peak, operator_now) = rss_mib(&pid);
    let (operator_cpu, cluster_cpu) = (cpu_secs(&pid), cpu_secs("self"));

    to_operator.write_all(b"stop\n").await?;
    ensure!(answer(&mut from_operator).await?.as_deref() == Some("stopped"));
    api.clear_calls();
    to_operator.write_all(b"resync\n").await?;
    let line = answer(&mut from_operator)
        .await?
        .context("the operator's process ended before its resync")?;
    let fields: Vec<f64> = line
        .strip_prefix("resynced ")
        .context("unexpected answer")?
        .split(' ')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [resync_secs, external, operator_peak_end] = fields[..] else {
        bail!("unexpected answer {line}");
    };
    let (resync_calls, resync_writes) = api.call_counts();
    ensure!(
        child.wait().await?.success(),
        "the operator's process failed"
    );
    server.abort();
    let (cluster_peak, _) = rss_mib("self");

    println!("tenants: {n}");
    println!("all Ready after: {:.1} s", all_ready.as_secs_f64());
    println!(
        "API calls until quiet: {calls} ({:.1} per Tenant), {writes} writes ({:.1} per Tenant), {expired} watches expired",
        calls as f64 / n as f64,
        writes as f64 / n as f64
    );
    println!("  of which, per Tenant: {by_kind}");
    println!(
        "operator process: peak RSS {operator_peak:.0} MiB at Ready ({operator_now:.0} MiB then), {operator_peak_end:.0} MiB after the resync"
    );
    println!("fake API and cluster stand-in process: peak RSS {cluster_peak:.0} MiB");
    println!(
        "CPU until quiet: operator {operator_cpu:.1} s, fake API and cluster stand-in {cluster_cpu:.1} s"
    );
    println!(
        "full resync, nothing changed: {resync_secs:.1} s, {resync_writes} API writes, {} API reads, {external} bucket and database calls",
        resync_calls - resync_writes
    );
    ensure!(
        resync_writes == 0 && external == 0.0,
        "a no-op resync must write nothing"
    );
    // The reconciles read their caches, and the Tenants come from the Controller's store.
    ensure!(
        resync_calls - resync_writes == 0,
        "a no-op resync must read nothing"
    );
    Ok(())
}
