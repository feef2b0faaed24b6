//! The Socket.IO peer: `node bench/peers/socketio/server.js`, one process per replica.

use std::path::PathBuf;
use std::process::Command;

/// The peer's directory: `SOCKETIO_PEER_DIR`, else the one in this source tree.
pub fn peer_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("SOCKETIO_PEER_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/socketio")));
    anyhow::ensure!(
        dir.join("server.js").is_file(),
        "no server.js in {} (set SOCKETIO_PEER_DIR)",
        dir.display()
    );
    anyhow::ensure!(
        dir.join("node_modules/socket.io").is_dir(),
        "the Socket.IO peer's dependencies are not installed: run {}/setup.sh",
        dir.display()
    );
    Ok(dir)
}

pub fn command(port: u16, redis_url: &str, namespace: &str) -> anyhow::Result<Command> {
    let dir = peer_dir()?;
    let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
    let mut c = Command::new(node);
    super::quiet(&mut c)
        .current_dir(&dir)
        .arg("server.js")
        .env("PEER_LISTEN", format!("127.0.0.1:{port}"))
        .env("REDIS_URL", redis_url)
        .env("PEER_ADAPTER_KEY", namespace)
        .env("NODE_ENV", "production");
    Ok(c)
}
