//! Atendo's side: the release `chat-server` binary, two or more replicas on one Redis bus and one
//! embedded store, and rooms made through the public REST API (a visitor and its conversation).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde_json::{Value, json};

use crate::proto::Room;

/// Fixed, so that every replica accepts every other's tokens.
const SIGNING_KEY: &str = "chat-bench-signing-key-0123456789abcdefghijklmnop";

/// The chat-server binary: `CHAT_SERVER_BIN`, else next to this tool (same cargo profile).
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("CHAT_SERVER_BIN") {
        let p = PathBuf::from(p);
        anyhow::ensure!(
            p.is_file(),
            "CHAT_SERVER_BIN={} does not exist",
            p.display()
        );
        return Ok(p);
    }
    let me = std::env::current_exe().context("locating chat-bench itself")?;
    let sibling = me.with_file_name("chat-server");
    anyhow::ensure!(
        sibling.is_file(),
        "chat-server not found next to chat-bench ({}); build it with the same profile \
         (`cargo build --release -p chat-server -p bench`) or set CHAT_SERVER_BIN",
        sibling.display()
    );
    Ok(sibling)
}

/// The replicas' shared embedded store lives on tmpfs when there is one (/dev/shm): the store
/// fsyncs every message, and this benchmark measures fan-out, not the disk.
pub fn store_dir() -> anyhow::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("chat-bench-")
            .tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("chat-bench-").tempdir()
    };
    dir.context("creating a directory for the embedded store")
}

pub fn command(
    port: u16,
    redis_url: &str,
    namespace: &str,
    store: &Path,
) -> anyhow::Result<Command> {
    let mut c = Command::new(binary()?);
    super::quiet(&mut c)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHAT_STORE", store.join("store"))
        .env("CHAT_UPLOAD_DIR", store.join("uploads"))
        .env("CHAT_BUS", redis_url)
        .env("CHAT_BUS_NAMESPACE", namespace)
        .env("CHAT_SIGNING_KEY", SIGNING_KEY)
        .env(
            "CHAT_LOG",
            std::env::var("CHAT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        // A load tool sends far faster than a person; the product's per-socket and per-address
        // limits would measure themselves instead of the delivery path.
        .env("CHAT_WS_RATE", "1000000")
        .env("CHAT_WS_BURST", "1000000")
        .env("CHAT_VISITOR_RATE", "1000000")
        .env("CHAT_WS_CONNECT_RATE", "1000000")
        // The idle scenario's sockets send nothing for minutes on purpose.
        .env("CHAT_WS_IDLE_TIMEOUT_SECS", "86400");
    // Any other CHAT_* setting of the tool's environment reaches the servers (for experiments
    // such as CHAT_WS_READ_BUFFER); the ones above are the benchmark's and are not overridden.
    const OWN: [&str; 12] = [
        "CHAT_LISTEN",
        "CHAT_STORE",
        "CHAT_UPLOAD_DIR",
        "CHAT_BUS",
        "CHAT_BUS_NAMESPACE",
        "CHAT_SIGNING_KEY",
        "CHAT_LOG",
        "CHAT_WS_RATE",
        "CHAT_WS_BURST",
        "CHAT_VISITOR_RATE",
        "CHAT_WS_CONNECT_RATE",
        "CHAT_WS_IDLE_TIMEOUT_SECS",
    ];
    for (k, v) in std::env::vars_os() {
        if let Some(name) = k.to_str()
            && name.starts_with("CHAT_")
            && !OWN.contains(&name)
            && name != "CHAT_SERVER_BIN"
        {
            c.env(name, v);
        }
    }
    Ok(c)
}

/// One visitor and one conversation per room, created through replica `server`.
pub async fn rooms(server: SocketAddr, count: usize) -> anyhow::Result<Vec<Room>> {
    let http = reqwest::Client::new();
    let base = format!("http://{server}/api/v1");
    let mut rooms = Vec::with_capacity(count);
    for index in 0..count {
        let visitor = post(
            &http,
            &format!("{base}/visitors"),
            None,
            json!({"name": format!("bench {index}")}),
        )
        .await?;
        let token = field(&visitor, "token")?;
        let conversation = post(
            &http,
            &format!("{base}/conversations"),
            Some(&token),
            json!({}),
        )
        .await?;
        rooms.push(Room {
            index,
            name: field(&conversation, "id")?,
            token: Some(token),
        });
    }
    Ok(rooms)
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.with_context(|| format!("POST {url}"))?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "POST {url} answered {status}: {body}");
    Ok(body)
}

fn field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("{key} missing in {v}"))
}
