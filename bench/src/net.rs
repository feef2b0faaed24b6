//! Opening many WebSockets from one machine.
//!
//! One source address has about 28k ephemeral ports (32768-60999 here), and sockets the tool
//! closes linger in TIME_WAIT for a minute, holding theirs. So every connection is bound, before
//! it connects, to a source address of its own block of 127.0.0.0/8: at most
//! [`PER_SOURCE_ADDR`] connections share one, and no two runs or worker processes share a block.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;

pub const PER_SOURCE_ADDR: u64 = 16_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot bind a client socket to {local}: {source}")]
    Bind {
        local: IpAddr,
        source: std::io::Error,
    },
    #[error("TCP connect to {server} failed: {source}")]
    Tcp {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("WebSocket handshake with {server} failed: {source}")]
    Handshake {
        server: SocketAddr,
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    #[error("connecting to {server} took longer than {CONNECT_TIMEOUT:?}")]
    Timeout { server: SocketAddr },
}

/// Hands out source addresses: connection `n` of a plan gets address `n / PER_SOURCE_ADDR` of
/// the plan's block.
pub struct SourcePlan {
    block: u8,
    next: AtomicU64,
}

impl SourcePlan {
    /// Block `block` is 127.<block>.0.0/16 (block 0 is left alone: 127.0.0.1 is the servers').
    pub fn new(block: u8) -> Self {
        assert!(block > 0, "block 0 holds the servers' address");
        Self {
            block,
            next: AtomicU64::new(0),
        }
    }

    pub fn next_addr(&self) -> IpAddr {
        let n = self.next.fetch_add(1, Ordering::Relaxed) / PER_SOURCE_ADDR;
        // .0 and .255 in the last octet are avoided; 254 per third octet is plenty.
        IpAddr::V4(Ipv4Addr::new(
            127,
            self.block,
            (n / 254) as u8,
            (n % 254) as u8 + 1,
        ))
    }
}

/// A plan block no other plan of this process has used yet; worker processes are given their own.
pub fn fresh_block() -> u8 {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    let b = NEXT.fetch_add(1, Ordering::Relaxed);
    // Blocks 1..=99 for the main process; workers use 100 and up (see the idle scenario).
    1 + (b - 1) % 99
}

/// Connects a WebSocket to `server` at `path` from `local`, with small buffers: the tool holds
/// tens of thousands of these and tungstenite's defaults (128 KiB read buffer) would not fit.
pub async fn connect(server: SocketAddr, local: IpAddr, path: &str) -> Result<Ws, ConnectError> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_inner(server, local, path))
        .await
        .map_err(|_| ConnectError::Timeout { server })?
}

async fn connect_inner(server: SocketAddr, local: IpAddr, path: &str) -> Result<Ws, ConnectError> {
    let bind = |source| ConnectError::Bind { local, source };
    let socket = TcpSocket::new_v4().map_err(bind)?;
    defer_port_choice(&socket).map_err(bind)?;
    socket.bind(SocketAddr::new(local, 0)).map_err(bind)?;
    let stream = socket
        .connect(server)
        .await
        .map_err(|source| ConnectError::Tcp { server, source })?;
    // Every frame is a small message whose latency is measured; Nagle would add up to 40 ms.
    stream
        .set_nodelay(true)
        .map_err(|source| ConnectError::Tcp { server, source })?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let url = format!("ws://{server}{path}");
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| ConnectError::Handshake {
            server,
            source: Box::new(e),
        })?;
    Ok(ws)
}

/// IP_BIND_ADDRESS_NO_PORT: `bind` keeps the address but leaves the port to `connect`, which
/// picks one free for this 4-tuple in O(1). Without it every `bind(addr, 0)` searches the
/// address's bound ports, and with thousands bound that search took most of a core (perf:
/// `inet_bind2_bucket_find`, `inet_bhash2_conflict`).
fn defer_port_choice(socket: &TcpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a pointer to an int that outlives the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_change_every_per_source_addr_connections() {
        let plan = SourcePlan::new(3);
        let first = plan.next_addr();
        assert_eq!(first, IpAddr::V4(Ipv4Addr::new(127, 3, 0, 1)));
        for _ in 1..PER_SOURCE_ADDR {
            assert_eq!(plan.next_addr(), first);
        }
        assert_eq!(plan.next_addr(), IpAddr::V4(Ipv4Addr::new(127, 3, 0, 2)));
    }
}
