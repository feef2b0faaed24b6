//! The HTTP/1.1 listener: hyper with a header-read timeout and an idle keep-alive timeout, which
//! `axum::serve` has neither of (a client could hold a connection forever by never finishing its
//! headers, or by never sending another request).
//!
//! hyper arms one clock, `header_read_timeout`, whenever it waits for a request head, which
//! includes the wait for the next request on a kept-alive connection. Those are two different
//! limits: a client that started a request has `header` to finish its headers, but an idle
//! connection may wait `idle` (longer than the ingress's own idle timeout, so the proxy closes it
//! first and never sends on a connection being closed). [`ConnTimer`] gives hyper's clock both
//! meanings: it counts from the request's first byte once one arrived, else from the start of
//! the wait, with the idle limit.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::rt::{Sleep, Timer};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
pub struct HttpTimeouts {
    /// From a request's first byte to the end of its headers.
    pub header: Duration,
    /// From the end of a response (or the connection's start) to the next request's first byte.
    pub idle: Duration,
}

/// Connections accepted by every listener of this process: the heap trimmer
/// (`crate::heap`) waits for it to stop moving. Process-wide, like the heap it watches.
static ACCEPTED: AtomicU64 = AtomicU64::new(0);

pub fn accepted() -> u64 {
    ACCEPTED.load(Ordering::Relaxed)
}

/// Serves `router` on `listener` until `shutdown`, then lets open requests finish (kept-alive
/// connections close after their current response). Upgraded websockets are not waited for
/// here; their sessions are tracked by the caller.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: HttpTimeouts,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or the like: wait instead of spinning on the error.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        ACCEPTED.fetch_add(1, Ordering::Relaxed);
        let router = router.clone();
        let stop = shutdown.clone();
        connections.spawn(serve_connection(stream, peer, router, timeouts, stop));
    }
    connections.close();
    connections.wait().await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: HttpTimeouts,
    shutdown: CancellationToken,
) {
    let read = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(CountingIo {
        inner: stream,
        read: read.clone(),
    });
    let service = router.map_request(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.map(axum::body::Body::new)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(ConnTimer { read, timeouts })
        .header_read_timeout(timeouts.header);
    let conn = builder
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => return log_end(r),
        _ = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    log_end(conn.await);
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and clients going away are routine; nothing for an operator to act on.
        tracing::debug!(error = %e, "connection ended");
    }
}

/// The socket, counting bytes read so [`ConnTimer`] can tell an idle wait from a started request.
struct CountingIo {
    inner: TcpStream,
    read: Arc<AtomicU64>,
}

impl AsyncRead for CountingIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            self.read.fetch_add(n, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for CountingIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// hyper's clock for one connection; only the header-read timeout uses it (see the module doc).
#[derive(Clone)]
struct ConnTimer {
    read: Arc<AtomicU64>,
    timeouts: HttpTimeouts,
}

impl Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(FixedSleep(Box::pin(tokio::time::sleep(duration))))
    }

    fn sleep_until(&self, _deadline: Instant) -> Pin<Box<dyn Sleep>> {
        let now = Instant::now();
        Box::pin(HeadSleep {
            read: self.read.clone(),
            read_at_start: self.read.load(Ordering::Relaxed),
            first_byte: None,
            timeouts: self.timeouts,
            inner: Box::pin(tokio::time::sleep_until((now + self.timeouts.idle).into())),
        })
    }
}

struct FixedSleep(Pin<Box<tokio::time::Sleep>>);

impl Future for FixedSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Sleep for FixedSleep {}

/// The wait for a request head: `idle` until its first byte arrives, then `header` from that
/// byte. hyper polls it right after each read that leaves the head incomplete, so the first byte
/// is seen when it comes.
struct HeadSleep {
    read: Arc<AtomicU64>,
    read_at_start: u64,
    first_byte: Option<Instant>,
    timeouts: HttpTimeouts,
    inner: Pin<Box<tokio::time::Sleep>>,
}

impl Future for HeadSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.first_byte.is_none() && self.read.load(Ordering::Relaxed) > self.read_at_start {
            let now = Instant::now();
            self.first_byte = Some(now);
            let deadline = now + self.timeouts.header;
            self.inner.as_mut().reset(deadline.into());
        }
        self.inner.as_mut().poll(cx)
    }
}

impl Sleep for HeadSleep {}
