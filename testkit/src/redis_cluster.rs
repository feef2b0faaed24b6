//! A real Redis Cluster on 127.0.0.1: `masters` × `redis-server --cluster-enabled yes`, each
//! given an equal share of the 16,384 hash slots and introduced to the others with `CLUSTER
//! MEET` (what `redis-cli --cluster create` does, minus its three-master minimum, so a one-shard
//! cluster can be compared with a three-shard one). No persistence, no replicas.
//!
//! A master can be stopped and started again on its port: it keeps its node id and slots
//! through its `nodes.conf`, and its ACL users through its `aclfile` (what an operator of a
//! self-managed cluster keeps), like a restarted shard without a replica.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::redis::locate_binary;
use crate::resp::{Resp, query};

/// Milliseconds before the other masters consider a silent one failed.
const NODE_TIMEOUT_MS: u64 = 2000;
const SLOTS: u32 = 16384;

pub struct RedisCluster {
    /// `redis-cluster://127.0.0.1:P1?node=127.0.0.1:P2&node=…`: every master is a seed.
    pub url: String,
    pub ports: Vec<u16>,
    nodes: Vec<Option<ChildGuard>>,
    binary: PathBuf,
    dir: tempfile::TempDir,
}

/// A cluster of `masters` masters owned by the caller, every slot served.
pub fn spawn_redis_cluster(masters: usize) -> anyhow::Result<RedisCluster> {
    anyhow::ensure!(masters >= 1, "a cluster needs at least one master");
    let binary = locate_binary(
        "redis-server",
        "REDIS_SERVER",
        &[],
        "install it with `apt-get install -y redis-server`",
    )?;
    let dir = tempfile::Builder::new()
        .prefix("atendo-redis-cluster-")
        .tempdir()?;
    let mut ports = Vec::new();
    let mut nodes = Vec::new();
    for _ in 0..masters {
        // The port is picked before the server binds it; another process may take it.
        let mut last_error = None;
        let mut started = None;
        for _ in 0..3 {
            let port = free_port();
            match start_node(&binary, dir.path(), port) {
                Ok(guard) => {
                    started = Some((port, guard));
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let (port, guard) = started
            .ok_or_else(|| last_error.unwrap_or_else(|| anyhow::anyhow!("no attempt made")))?;
        ports.push(port);
        nodes.push(Some(guard));
    }
    let seeds: Vec<String> = ports[1..]
        .iter()
        .map(|p| format!("node=127.0.0.1:{p}"))
        .collect();
    let url = if seeds.is_empty() {
        format!("redis-cluster://127.0.0.1:{}", ports[0])
    } else {
        format!("redis-cluster://127.0.0.1:{}?{}", ports[0], seeds.join("&"))
    };
    let cluster = RedisCluster {
        url,
        ports,
        nodes,
        binary,
        dir,
    };
    cluster.form()?;
    cluster.wait_until_ok(Duration::from_secs(30))?;
    Ok(cluster)
}

impl RedisCluster {
    /// Slots in equal ranges; distinct config epochs (as `redis-cli --cluster create` sets, so
    /// no node has to win an epoch collision first); then every node meets the first.
    fn form(&self) -> anyhow::Result<()> {
        let n = self.ports.len() as u32;
        for (i, port) in self.ports.iter().enumerate() {
            let i = i as u32;
            let (first, last) = (i * SLOTS / n, (i + 1) * SLOTS / n - 1);
            self.expect_ok(
                *port,
                &[
                    "CLUSTER",
                    "ADDSLOTSRANGE",
                    &first.to_string(),
                    &last.to_string(),
                ],
            )?;
            self.expect_ok(
                *port,
                &["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()],
            )?;
        }
        for port in &self.ports[1..] {
            self.expect_ok(
                self.ports[0],
                &["CLUSTER", "MEET", "127.0.0.1", &port.to_string()],
            )?;
        }
        Ok(())
    }

    fn expect_ok(&self, port: u16, command: &[&str]) -> anyhow::Result<()> {
        match query(&format!("127.0.0.1:{port}"), command)? {
            Resp::Error(e) => anyhow::bail!("{command:?} on 127.0.0.1:{port} failed: {e}"),
            _ => Ok(()),
        }
    }

    /// The cluster URL signed in as `user` (percent-encoding is the caller's business).
    pub fn url_as(&self, user: &str, password: &str) -> String {
        self.url.replacen(
            "redis-cluster://",
            &format!("redis-cluster://{user}:{password}@"),
            1,
        )
    }

    /// `ACL SETUSER user rules…` on every master, saved to its aclfile: ACLs are per node, and
    /// a master restarted later loads its users again.
    pub fn set_user(&self, user: &str, rules: &[String]) -> anyhow::Result<()> {
        for port in self.running_ports() {
            let mut command = vec!["ACL", "SETUSER", user];
            command.extend(rules.iter().map(String::as_str));
            self.expect_ok(port, &command)?;
            self.expect_ok(port, &["ACL", "SAVE"])?;
        }
        Ok(())
    }

    /// `ACL LOG` entries of every running master, as (port, reply).
    pub fn acl_logs(&self) -> anyhow::Result<Vec<(u16, Resp)>> {
        self.running_ports()
            .map(|port| Ok((port, query(&format!("127.0.0.1:{port}"), &["ACL", "LOG"])?)))
            .collect()
    }

    /// Kills master `i` (SIGKILL, like a crash).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut guard) = self.nodes[i].take() {
            guard.kill();
        }
    }

    /// Starts master `i` again on its port, and waits until the cluster is whole again.
    pub fn start(&mut self, i: usize) -> anyhow::Result<()> {
        anyhow::ensure!(self.nodes[i].is_none(), "master {i} is already running");
        self.nodes[i] = Some(start_node(&self.binary, self.dir.path(), self.ports[i])?);
        self.wait_until_ok(Duration::from_secs(30))
    }

    /// The hash slot of `key` (a sharded channel maps to a slot like a key).
    pub fn keyslot(&self, key: &str) -> anyhow::Result<u16> {
        let port = self
            .running_ports()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no master is running"))?;
        match query(&format!("127.0.0.1:{port}"), &["CLUSTER", "KEYSLOT", key])? {
            Resp::Int(slot) => Ok(u16::try_from(slot)?),
            other => anyhow::bail!("CLUSTER KEYSLOT answered {other:?}"),
        }
    }

    /// The index (into `ports`) of the master serving `slot`: the slots were given out in equal
    /// ranges, and without replicas nothing moves them.
    pub fn master_of_slot(&self, slot: u16) -> usize {
        let n = self.ports.len() as u32;
        (0..self.ports.len())
            .find(|&i| u32::from(slot) < (i as u32 + 1) * SLOTS / n)
            .expect("slot below 16384")
    }

    /// Process ids of the running masters (for CPU accounting).
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().flatten().map(ChildGuard::pid).collect()
    }

    /// Waits until every master runs, reports `cluster_state:ok`, knows every other master and
    /// sees every slot served (a restarted master stays flagged `fail` on the others for a few
    /// seconds after it is back).
    pub fn wait_until_ok(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let want_nodes = format!("cluster_known_nodes:{}", self.ports.len());
        loop {
            let mut states = Vec::new();
            for (port, node) in self.ports.iter().zip(&self.nodes) {
                if node.is_none() {
                    states.push(format!("{port}: stopped"));
                    continue;
                }
                let info = query(&format!("127.0.0.1:{port}"), &["CLUSTER", "INFO"])
                    .ok()
                    .and_then(|r| r.text().map(str::to_string))
                    .unwrap_or_default();
                let whole = info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:16384")
                    && info.contains(&want_nodes);
                if !whole {
                    states.push(format!(
                        "{port}: {}",
                        info.lines()
                            .filter(|l| l.starts_with("cluster_state")
                                || l.starts_with("cluster_slots_ok")
                                || l.starts_with("cluster_known_nodes"))
                            .map(str::trim)
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
            }
            if states.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the cluster is not whole after {timeout:?}: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ports
            .iter()
            .zip(&self.nodes)
            .filter(|(_, node)| node.is_some())
            .map(|(port, _)| *port)
    }
}

fn start_node(binary: &Path, dir: &Path, port: u16) -> anyhow::Result<ChildGuard> {
    // Redis refuses to start with an aclfile that does not exist.
    let acl_file = dir.join(format!("users-{port}.acl"));
    if !acl_file.exists() {
        std::fs::write(&acl_file, "")?;
    }
    let mut command = Command::new(binary);
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes"])
        // A node learns its own address from the peers it meets; a lone master (the one-shard
        // cluster) would otherwise announce an empty host in CLUSTER SLOTS.
        .args(["--cluster-announce-ip", "127.0.0.1"])
        .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
        .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
        // The other shards keep serving while one master is down, as ElastiCache's do.
        .args(["--cluster-require-full-coverage", "no"])
        .arg("--aclfile")
        .arg(&acl_file)
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut guard = ChildGuard::spawn("redis-server (cluster)", &mut command)?;
    wait_for_port(&mut guard, port, Duration::from_secs(10))?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_master_comes_back_with_its_slots_and_its_users() {
        let mut cluster = spawn_redis_cluster(3).unwrap();
        let slot = cluster.keyslot("atendo:conv.1").unwrap();
        let owner = cluster.master_of_slot(slot);
        let addr = format!("127.0.0.1:{}", cluster.ports[owner]);
        let rules = ["reset", "on", ">pw", "&atendo:*", "+spublish"].map(String::from);
        cluster.set_user("u", &rules).unwrap();
        let spublish = ["SPUBLISH", "atendo:conv.1", "x"];
        assert_eq!(
            crate::resp::query_as(&addr, "u", "pw", &spublish).unwrap(),
            Resp::Int(0)
        );

        cluster.stop(owner);
        assert!(query(&addr, &["PING"]).is_err(), "the master is down");
        cluster.start(owner).unwrap();
        // The same master serves the slot again (no MOVED) and still knows the user.
        assert_eq!(
            crate::resp::query_as(&addr, "u", "pw", &spublish).unwrap(),
            Resp::Int(0)
        );
    }

    #[test]
    fn a_one_master_cluster_serves_every_slot() {
        let cluster = spawn_redis_cluster(1).unwrap();
        assert!(!cluster.url.contains('?'), "{}", cluster.url);
        assert_eq!(cluster.master_of_slot(16383), 0);
    }
}
