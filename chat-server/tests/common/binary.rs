//! The real `chat-server` binary as a child process, stopped by its guard.

use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{ChildGuard, free_port, wait_for_port};

pub struct Replica {
    pub guard: ChildGuard,
    pub base: String,
    pub ws_base: String,
    pub port: u16,
}

/// Starts the binary with `env` (CHAT_LISTEN is chosen here) and waits until it listens.
pub fn start(env: &[(&str, String)]) -> Replica {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHAT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut guard = ChildGuard::spawn("chat-server", &mut cmd).expect("spawn chat-server");
    wait_for_port(&mut guard, port, Duration::from_secs(30)).expect("chat-server listens");
    Replica {
        guard,
        base: format!("http://127.0.0.1:{port}"),
        ws_base: format!("ws://127.0.0.1:{port}"),
        port,
    }
}

/// What replicas sharing one Redis bus and one store need to be one deployment: the store, the
/// bus under a namespace of their own, one signing key, and the bootstrap admin.
pub fn deployment_env(bus_url: &str, store_uri: String) -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_STORE", store_uri),
        ("CHAT_BUS", bus_url.to_string()),
        ("CHAT_BUS_NAMESPACE", testkit::unique("ns")),
        ("CHAT_SIGNING_KEY", super::SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", super::ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", super::ADMIN_PASSWORD.to_string()),
    ]
}
