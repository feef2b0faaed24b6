//! A real `redis-server` (Debian package `redis-server`) on 127.0.0.1, without persistence.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{ChildGuard, free_port, wait_for_port};

/// A Redis to test against. When this value owns the server process (see [`spawn_redis`]),
/// dropping it stops the server, and [`Redis::stop`] / [`Redis::start`] simulate an outage on
/// the same port.
pub struct Redis {
    pub url: String,
    pub port: u16,
    server: Option<Server>,
}

struct Server {
    binary: PathBuf,
    guard: Option<ChildGuard>,
}

/// The run-wide Redis from `ATENDO_TEST_REDIS_URL` (set by `scripts/test.sh`), else a new one
/// for the caller. Panics with the reason when neither is possible.
pub fn redis() -> Redis {
    if let Ok(url) = std::env::var("ATENDO_TEST_REDIS_URL") {
        let port = port_of(&url).unwrap_or_else(|| {
            panic!("ATENDO_TEST_REDIS_URL={url:?} has no port; expected redis://127.0.0.1:PORT")
        });
        return Redis {
            url,
            port,
            server: None,
        };
    }
    spawn_redis().unwrap_or_else(|e| panic!("{e:#}"))
}

/// A Redis owned by the caller, on a fresh port.
pub fn spawn_redis() -> anyhow::Result<Redis> {
    let binary = locate_binary(
        "redis-server",
        "REDIS_SERVER",
        &[],
        "install it with `apt-get install -y redis-server`",
    )?;
    // The port is picked before the server binds it; another process may take it in between.
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port();
        match start_server(&binary, port) {
            Ok(guard) => {
                return Ok(Redis {
                    url: format!("redis://127.0.0.1:{port}"),
                    port,
                    server: Some(Server {
                        binary,
                        guard: Some(guard),
                    }),
                });
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.expect("three attempts were made"))
}

impl Redis {
    /// Kills the server (SIGKILL, like a crash) and waits until it is gone.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let server = self.owned()?;
        if let Some(mut guard) = server.guard.take() {
            guard.kill();
        }
        Ok(())
    }

    /// Starts the server again on the same port (and URL).
    pub fn start(&mut self) -> anyhow::Result<()> {
        let port = self.port;
        let server = self.owned()?;
        anyhow::ensure!(server.guard.is_none(), "redis-server is already running");
        server.guard = Some(start_server(&server.binary, port)?);
        Ok(())
    }

    fn owned(&mut self) -> anyhow::Result<&mut Server> {
        self.server.as_mut().ok_or_else(|| {
            anyhow::anyhow!(
                "this Redis ({}) is shared through ATENDO_TEST_REDIS_URL; use spawn_redis() for one you may stop",
                self.url
            )
        })
    }
}

fn start_server(binary: &Path, port: u16) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(binary);
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        // Not the machine's default /etc/redis config or working directory.
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .args(["--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut guard = ChildGuard::spawn("redis-server", &mut command)?;
    wait_for_port(&mut guard, port, Duration::from_secs(10))?;
    Ok(guard)
}

/// Finds a service binary: the path in `env_var` if set, else the first of `candidates` that
/// exists, else `name` on PATH. Fails naming all three places and how to install it.
/// (Shared by the other services of this crate.)
pub fn locate_binary(
    name: &str,
    env_var: &str,
    candidates: &[PathBuf],
    install_hint: &str,
) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "{env_var}={} does not exist; {install_hint}",
            path.display()
        );
        return Ok(path);
    }
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    on_path.ok_or_else(|| {
        anyhow::anyhow!(
            "{name} not found: {env_var} is unset, {} and it is not on PATH; {install_hint}",
            if candidates.is_empty() {
                "no default location applies".to_string()
            } else {
                format!(
                    "{} does not exist",
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )
    })
}

fn port_of(url: &str) -> Option<u16> {
    let authority = url.split("://").nth(1)?.split('/').next()?;
    authority.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_port_is_read_from_the_url() {
        assert_eq!(super::port_of("redis://127.0.0.1:6390"), Some(6390));
        assert_eq!(super::port_of("redis://127.0.0.1:6390/0"), Some(6390));
        assert_eq!(super::port_of("redis://127.0.0.1"), None);
    }
}
