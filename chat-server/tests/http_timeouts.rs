//! Connection timeouts: a client that never finishes its headers, a kept-alive connection that
//! never sends another request and a request body that never arrives are all let go, while a
//! websocket outlives the request timeout.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes); returns what came and when
/// the close was seen, if it was.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into(), None),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&got).into(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_requests_are_closed_after_the_header_timeout() {
    let s = TestServer::start_with(&[
        "--http-header-timeout-secs=1",
        "--http-idle-timeout-secs=30",
    ])
    .await;
    let mut stalled = Vec::new();
    for _ in 0..100 {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        c.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        stalled.push(c);
    }
    // The server keeps answering others meanwhile.
    let (status, _) = s.get("/health/live", None).await;
    assert_eq!(status, 200);
    let mut closed = Vec::new();
    for c in &mut stalled {
        let (_, when) = until_closed(c, Duration::from_secs(5)).await;
        closed.push(when.expect("a stalled request is closed"));
    }
    let slowest = closed.iter().max().unwrap();
    eprintln!(
        "[half-open] FIGURES connections=100 header_timeout_s=1 all_closed_within_ms={}",
        slowest.as_millis()
    );
    // Each was closed about a second after its first byte (they were opened in a row).
    assert!(*slowest < Duration::from_secs(3), "{slowest:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_lasts_the_idle_timeout_not_the_header_timeout() {
    let s = TestServer::start_with(&["--http-header-timeout-secs=1", "--http-idle-timeout-secs=3"])
        .await;
    let mut c = TcpStream::connect(addr(&s)).await.unwrap();
    c.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    // Past the header timeout, the idle connection still serves a next request...
    tokio::time::sleep(Duration::from_millis(1800)).await;
    c.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let n = c.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "kept alive past the header timeout"
    );
    // ...and is closed once idle for the idle timeout.
    let again = Instant::now();
    let (_, when) = until_closed(&mut c, Duration::from_secs(8)).await;
    let idle_for = when.expect("the idle connection is closed");
    eprintln!(
        "[keep-alive] FIGURES header_timeout_s=1 idle_timeout_s=3 second_request_after_ms={} \
         closed_after_idle_ms={}",
        (again - answered).as_millis(),
        idle_for.as_millis()
    );
    assert!(
        idle_for > Duration::from_millis(2500) && idle_for < Duration::from_secs(5),
        "{idle_for:?}"
    );
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_is_answered_503_after_the_request_timeout() {
    let s = TestServer::start_with(&["--http-request-timeout-secs=1"]).await;
    let mut c = TcpStream::connect(addr(&s)).await.unwrap();
    c.write_all(
        b"POST /api/v1/visitors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"name\":",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .expect("answered before 5 s")
        .unwrap();
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    eprintln!(
        "[slow body] FIGURES request_timeout_s=1 answered_after_ms={}",
        took.as_millis()
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""code":"timeout""#), "{answer}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn a_websocket_outlives_the_request_timeout() {
    let s = TestServer::start_with(&["--http-request-timeout-secs=1"]).await;
    let (_, token) = s.visitor().await;
    let mut ws = s.ws(&token).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.expect("pong").await["type"], "pong");
}
