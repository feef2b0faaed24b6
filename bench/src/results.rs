//! The results file: every scenario's figures for both systems, merged run after run (a new
//! figure replaces the old one with the same system and parameters), and the machine they
//! were measured on.

use std::path::Path;

use anyhow::Context;

use crate::cluster::SystemKind;
use crate::scenario::fanout::FanoutResult;
use crate::scenario::idle::IdleResult;
use crate::scenario::latency::LatencyResult;
use crate::scenario::reports::ReportsResult;
use crate::scenario::search::SearchResult;
use crate::scenario::shards::ShardsResult;
use crate::scenario::storm::StormResult;
use crate::scenario::tenant::TenantResult;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub node: String,
    pub redis: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
                .unwrap_or_default(),
            memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            node: version_of("node", &["--version"]),
            redis: version_of("redis-server", &["--version"]),
        }
    }
}

fn version_of(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| format!("{program} not found"))
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Results {
    #[serde(default)]
    pub machine: Machine,
    #[serde(default)]
    pub idle: Vec<IdleResult>,
    #[serde(default)]
    pub fanout: Vec<FanoutResult>,
    #[serde(default)]
    pub latency: Vec<LatencyResult>,
    #[serde(default)]
    pub storm: Vec<StormResult>,
    #[serde(default)]
    pub tenant: Vec<TenantResult>,
    #[serde(default)]
    pub shards: Vec<ShardsResult>,
    #[serde(default)]
    pub search: Vec<SearchResult>,
    #[serde(default)]
    pub reports: Vec<ReportsResult>,
}

fn replace<T>(list: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) {
    list.retain(|old| !same(old, &item));
    list.push(item);
}

impl Results {
    /// The file's results, or none yet when it does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("reading results from {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn save(&mut self, path: &Path) -> anyhow::Result<()> {
        self.machine = Machine::detect();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn add_idle(&mut self, r: IdleResult) {
        replace(&mut self.idle, r, |a, b| {
            a.system == b.system && a.connections == b.connections
        });
        self.idle.sort_by_key(|r| (r.connections, r.system as u8));
    }

    pub fn add_fanout(&mut self, r: FanoutResult) {
        replace(&mut self.fanout, r, |a, b| {
            a.system == b.system && a.body_size == b.body_size
        });
        self.fanout.sort_by_key(|r| (r.body_size, r.system as u8));
    }

    pub fn add_latency(&mut self, r: LatencyResult) {
        replace(&mut self.latency, r, |a, b| {
            a.system == b.system && a.rate == b.rate && a.rooms * a.per_room == b.rooms * b.per_room
        });
        self.latency.sort_by(|a, b| {
            b.rate
                .total_cmp(&a.rate)
                .then((a.system as u8).cmp(&(b.system as u8)))
        });
    }

    pub fn add_storm(&mut self, r: StormResult) {
        replace(&mut self.storm, r, |a, b| {
            a.system == b.system && a.rate == b.rate && a.subscribers == b.subscribers
        });
        self.storm.sort_by(|a, b| {
            b.rate
                .total_cmp(&a.rate)
                .then((a.system as u8).cmp(&(b.system as u8)))
        });
    }

    pub fn add_shards(&mut self, r: ShardsResult) {
        replace(&mut self.shards, r, |a, b| {
            a.shards == b.shards && a.fanout.body_size == b.fanout.body_size
        });
        self.shards.sort_by_key(|r| (r.fanout.body_size, r.shards));
    }

    pub fn add_search(&mut self, r: SearchResult) {
        replace(&mut self.search, r, |a, b| {
            a.store == b.store && a.messages == b.messages
        });
    }

    pub fn add_reports(&mut self, r: ReportsResult) {
        replace(&mut self.reports, r, |a, b| {
            a.conversations == b.conversations
        });
    }

    pub fn add_tenant(&mut self, r: TenantResult) {
        replace(&mut self.tenant, r, |a, b| {
            a.system == b.system && a.tenants == b.tenants
        });
    }

    pub fn idle_of(&self, system: SystemKind, connections: u64) -> Option<&IdleResult> {
        self.idle
            .iter()
            .find(|r| r.system == system && r.connections == connections)
    }

    pub fn fanout_of(&self, system: SystemKind, body_size: usize) -> Option<&FanoutResult> {
        self.fanout
            .iter()
            .find(|r| r.system == system && r.body_size == body_size)
    }

    pub fn latency_of(&self, system: SystemKind, rate: f64) -> Option<&LatencyResult> {
        self.latency
            .iter()
            .find(|r| r.system == system && r.rate == rate)
    }

    pub fn storm_of(&self, system: SystemKind, rate: f64) -> Option<&StormResult> {
        self.storm
            .iter()
            .find(|r| r.system == system && r.rate == rate)
    }

    /// The publish rates measured for both systems, highest first.
    pub fn rates_of<T>(list: &[T], system_rate: impl Fn(&T) -> (SystemKind, f64)) -> Vec<f64> {
        let mut rates: Vec<f64> = list
            .iter()
            .map(&system_rate)
            .filter(|(s, _)| *s == SystemKind::Atendo)
            .map(|(_, r)| r)
            .filter(|r| {
                list.iter()
                    .any(|x| system_rate(x) == (SystemKind::SocketIo, *r))
            })
            .collect();
        rates.sort_by(|a, b| b.total_cmp(a));
        rates.dedup();
        rates
    }

    /// The single-tenant figure of `system`.
    pub fn tenant_of(&self, system: SystemKind) -> Option<&TenantResult> {
        self.tenant
            .iter()
            .find(|r| r.system == system && r.tenants == 1)
    }

    /// The run with the most tenants side by side, if more than one.
    pub fn tenants_of(&self, system: SystemKind) -> Option<&TenantResult> {
        self.tenant
            .iter()
            .filter(|r| r.system == system && r.tenants > 1)
            .max_by_key(|r| r.tenants)
    }
}
