//! The real `chat-server` binary as a child process, stopped by its guard.

use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{ChildGuard, free_port};

pub struct Replica {
    pub guard: ChildGuard,
    pub base: String,
    pub ws_base: String,
    pub port: u16,
}

/// Starts the binary with `env` (CHAT_LISTEN is chosen here) and waits until it listens.
pub fn start(env: &[(&str, String)]) -> Replica {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_chat-server"));
    // A free port can be taken by another test's server before this one binds it; then this
    // one exits, and a caller that only waited for the port would talk to the other server.
    for _ in 0..3 {
        if let Some(replica) = try_start(exe, free_port(), env) {
            return replica;
        }
    }
    panic!("chat-server could not bind a free port in 3 tries")
}

/// Starts `exe` (another build of the chat-server) on `port`, as [`start`] does.
pub fn start_exe(exe: &std::path::Path, port: u16, env: &[(&str, String)]) -> Replica {
    try_start(exe, port, env).unwrap_or_else(|| panic!("chat-server could not bind port {port}"))
}

/// `None` when the server exited before listening (its port was taken).
fn try_start(exe: &std::path::Path, port: u16, env: &[(&str, String)]) -> Option<Replica> {
    let mut cmd = Command::new(exe);
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
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // Listening means this child holds the listening socket, not merely that the port answers.
    while !listens(guard.pid(), port) {
        if guard.ensure_running().is_err() {
            return None;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "chat-server did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Replica {
        guard,
        base: format!("http://127.0.0.1:{port}"),
        ws_base: format!("ws://127.0.0.1:{port}"),
        port,
    })
}

/// Whether process `pid` has a socket listening on 127.0.0.1:`port` (Linux: the listening
/// socket's inode in /proc/net/tcp among the process's file descriptors).
fn listens(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let wanted = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local address, state 0A = LISTEN, inode
            (fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&"0A"))
                .then(|| fields.get(9).map(|i| format!("socket:[{i}]")))
                .flatten()
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
            .unwrap_or(false)
    })
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
