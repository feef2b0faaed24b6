//! One example Tenant as the cluster would run it, on stand-ins: rendered by the real
//! `atendo-operator` binary, provisioned with the controller's providers, and served by real
//! `chat-server` processes started with the environment the rendered Deployment gives its pods.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::core::v1::Container;
use testkit::{ChildGuard, free_port, wait_for_port};

use crate::manifests::Manifests;
use crate::provision::{self, Providers};
use crate::router::{self, Route, Target};

/// Pods of one tenant this stand-in starts at most: two prove fan-out through the bus.
const MAX_REPLICAS: i32 = 2;
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A workspace binary next to the test executable (target/<profile>/deps/..), built by
/// `cargo build --workspace` or `cargo nextest run --workspace`.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not in target/<profile>/deps")?;
    let path = dir.join(name);
    ensure!(
        path.is_file(),
        "{} not found: build the workspace first (`cargo build --workspace --all-targets`; \
         `cargo nextest run --workspace` does it too)",
        path.display()
    );
    Ok(path)
}

/// `atendo-operator render -f <tenant> <flags>`, failing with its stderr.
pub fn render(tenant: &Path, flags: &[String]) -> anyhow::Result<String> {
    let out = Command::new(binary("atendo-operator")?)
        .arg("render")
        .arg("-f")
        .arg(tenant)
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .context("running atendo-operator render")?;
    ensure!(
        out.status.success(),
        "atendo-operator render -f {} failed ({}): {}",
        tenant.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// A running tenant: its replicas and what the test needs to talk to it and check it.
pub struct RunningTenant {
    pub name: String,
    pub host: String,
    pub bucket: String,
    /// Database name and the environment the pods got (after the additions below).
    pub database: String,
    pub env: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    pub replicas: Vec<Replica>,
    pub admin: (String, String),
    _logs: tempfile::TempDir,
}

pub struct Replica {
    pub addr: SocketAddr,
    pub log: PathBuf,
    guard: ChildGuard,
}

impl RunningTenant {
    /// Router targets: every route of this tenant, served by all of its replicas.
    pub fn targets(&self) -> Vec<Target> {
        self.routes
            .iter()
            .map(|route| {
                Target::new(
                    route.clone(),
                    self.replicas.iter().map(|r| r.addr).collect(),
                )
            })
            .collect()
    }

    /// Fails naming the replica that died, with its last log lines.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        for replica in &mut self.replicas {
            if let Err(e) = replica.guard.ensure_running() {
                bail!("{e}: {}", log_tail(&replica.log));
            }
        }
        Ok(())
    }
}

/// Renders `tenant_file` with `flags`, provisions it and starts its chat-servers.
pub async fn start(
    tenant_file: &Path,
    flags: &[String],
    providers: &Providers,
) -> anyhow::Result<RunningTenant> {
    let yaml = render(tenant_file, flags)?;
    let mut objects = Manifests::parse(&yaml)?;
    let tenant = provision::read_tenant(tenant_file)?;
    let settings = provision::settings(
        &[String::from("-f"), tenant_file.display().to_string()]
            .into_iter()
            .chain(flags.iter().cloned())
            .collect::<Vec<_>>(),
    )?;
    let credentials = provision::generate();
    provision::fill_secrets(&mut objects, &credentials)?;
    providers
        .provision(&tenant, &settings, &mut objects, &credentials)
        .await?;

    let deployment = objects.only_deployment()?.clone();
    let namespace = deployment.metadata.namespace.clone().unwrap_or_default();
    let pod = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .context("the Deployment has no pod template")?;
    let container: &Container = match pod.containers.as_slice() {
        [one] => one,
        all => bail!(
            "expected the chat-server container alone, found {}",
            all.len()
        ),
    };
    let mut env = crate::env::resolve(container, &namespace, &objects)?;
    if let Some((key, _)) = env.iter().find(|(_, v)| v.contains("PLACEHOLDER")) {
        bail!("{key} still holds a render placeholder: nothing in the stand-in generates it");
    }
    let routes = router::routes(&objects)?;
    let route = routes
        .iter()
        .find(|r| r.namespace == namespace)
        .context("no Ingress route reaches the tenant's pods")?;
    let listen: SocketAddr = env
        .get("CHAT_LISTEN")
        .context("the rendered env has no CHAT_LISTEN")?
        .parse()
        .context("CHAT_LISTEN is not an address")?;
    ensure!(
        i32::from(listen.port()) == route.container_port,
        "the chat-server would listen on {listen} while the Service sends traffic to container port {}",
        route.container_port
    );
    let admin = additions(&mut env)?;

    let readiness = container
        .readiness_probe
        .as_ref()
        .and_then(|p| p.http_get.as_ref())
        .and_then(|g| g.path.clone())
        .context("the container has no HTTP readiness probe")?;
    let logs = tempfile::Builder::new().prefix("atendo-e2e-").tempdir()?;
    let wanted = replicas(&deployment, &objects).clamp(1, MAX_REPLICAS);
    let mut replicas = vec![];
    for i in 0..wanted {
        let log = logs
            .path()
            .join(format!("{}-{i}.log", tenant_name(&tenant)));
        replicas.push(start_replica(&env, &log, &readiness).await?);
    }
    Ok(RunningTenant {
        name: tenant_name(&tenant),
        host: route.host.clone(),
        bucket: env.get("CHAT_S3_BUCKET").cloned().unwrap_or_default(),
        database: env
            .get("CHAT_STORE")
            .and_then(|s| s.rsplit('/').next())
            .and_then(|s| s.split('?').next())
            .unwrap_or_default()
            .to_string(),
        env,
        routes,
        replicas,
        admin,
        _logs: logs,
    })
}

fn tenant_name(tenant: &atendo_operator::tenant::Tenant) -> String {
    tenant.metadata.name.clone().unwrap_or_default()
}

/// What the pods get beyond the rendered environment, each for a stated reason; a rendered
/// variable is never overridden. Returns the first admin's (email, password), as rendered.
fn additions(env: &mut BTreeMap<String, String>) -> anyhow::Result<(String, String)> {
    // The workload identity EKS injects (IRSA) is no setting of the render; moto takes any.
    let added = [
        ("AWS_ACCESS_KEY_ID", crate::AWS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", crate::AWS_SECRET),
    ];
    for (key, value) in added {
        ensure!(
            !env.contains_key(key),
            "the rendered env now sets {key}: drop the stand-in's own {key} and use the rendered one"
        );
        env.insert(key.into(), value.into());
    }
    let rendered = |key: &str| {
        env.get(key)
            .cloned()
            .with_context(|| format!("the rendered env has no {key}: no first agent could sign in"))
    };
    Ok((
        rendered("CHAT_ADMIN_EMAIL")?,
        rendered("CHAT_ADMIN_PASSWORD")?,
    ))
}

/// The Deployment's replica count, or the autoscaler's floor when an HPA owns it.
fn replicas(deployment: &k8s_openapi::api::apps::v1::Deployment, objects: &Manifests) -> i32 {
    let hpa_floor = objects
        .others
        .iter()
        .find(|o| o["kind"] == "HorizontalPodAutoscaler")
        .and_then(|h| h["spec"]["minReplicas"].as_i64());
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map(i64::from)
        .or(hpa_floor)
        .unwrap_or(1) as i32
}

/// One pod: the rendered env, CHAT_LISTEN and CHAT_METRICS_LISTEN moved to free ports on
/// 127.0.0.1 (the only changes to rendered values: replicas share this host), ready once its
/// readiness probe path answers 200, as the kubelet checks.
async fn start_replica(
    env: &BTreeMap<String, String>,
    log: &Path,
    readiness: &str,
) -> anyhow::Result<Replica> {
    let port = free_port();
    let file = std::fs::File::create(log)?;
    let mut command = Command::new(binary("chat-server")?);
    command
        .env_clear()
        .envs(env)
        .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    if env.contains_key("CHAT_METRICS_LISTEN") {
        command.env("CHAT_METRICS_LISTEN", format!("127.0.0.1:{}", free_port()));
    }
    let mut guard = ChildGuard::spawn("chat-server", &mut command)?;
    wait_for_port(&mut guard, port, START_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("{e}: {}", log_tail(log)))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let http = reqwest::Client::new();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let ready = http.get(format!("http://{addr}{readiness}")).send().await;
        if ready.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        guard
            .ensure_running()
            .map_err(|e| anyhow::anyhow!("{e}: {}", log_tail(log)))?;
        ensure!(
            Instant::now() < deadline,
            "chat-server on {addr} not ready within {START_TIMEOUT:?} ({ready:?}): {}",
            log_tail(log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Replica {
        addr,
        log: log.to_path_buf(),
        guard,
    })
}

/// The last lines a process wrote, for failure messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    format!(
        "last log lines of {}:\n{}",
        path.display(),
        lines[start..].join("\n")
    )
}
