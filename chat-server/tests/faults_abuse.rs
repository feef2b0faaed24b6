//! Abuse from one address: a socket flooding frames, a loop opening sockets, a flood of visitor
//! sessions. Each is limited and counted in /metrics (`chat_rate_limited_total{limit=…}`),
//! while a well-behaved visitor and agent on other addresses keep talking. The server trusts
//! X-Forwarded-For here, as it does behind the ingress, so each client has its own address.
//! The latency bound is deliberately loose (seconds, where the usual figure is milliseconds):
//! it catches a server starved by the abuse without flaking on a busy machine.

mod common;
#[path = "common/outage.rs"]
mod outage;

use std::time::{Duration, Instant};

use common::{TestServer, Ws, str_of};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ABUSER: &str = "203.0.113.66";
const GOOD_BOUND: Duration = Duration::from_secs(3);

async fn start(flags: &[&str]) -> TestServer {
    let mut all = vec!["--trusted-proxy-hops=1"];
    all.extend_from_slice(flags);
    TestServer::start_with(&all).await
}

fn ws_request(
    s: &TestServer,
    token: &str,
    from: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = format!("{}/api/v1/ws?token={token}", s.ws_base)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-forwarded-for", from.parse().unwrap());
    req
}

async fn ws_from(s: &TestServer, token: &str, from: &str) -> Ws {
    let (stream, _) = tokio_tungstenite::connect_async(ws_request(s, token, from))
        .await
        .expect("ws connect");
    Ws { stream }
}

async fn visitor_from(s: &TestServer, from: &str) -> reqwest::Response {
    s.http
        .post(s.url("/api/v1/visitors"))
        .header("x-forwarded-for", from)
        .json(&json!({"name": "Vera"}))
        .send()
        .await
        .unwrap()
}

/// A visitor (from its own address) and an agent exchange `n` messages; returns the slowest
/// time from send to delivery on the other side.
async fn well_behaved_exchange(s: &TestServer, n: usize) -> Duration {
    let r = visitor_from(s, "198.51.100.7").await;
    assert_eq!(r.status(), 201, "a well-behaved visitor is let in");
    let token = str_of(&r.json::<Value>().await.unwrap(), "token");
    let (_, c) = s
        .post("/api/v1/conversations", Some(&token), json!({}))
        .await;
    let c = str_of(&c, "id");
    let (_, agent) = s.admin().await;
    let mut v = ws_from(s, &token, "198.51.100.7").await;
    let mut a = ws_from(s, &agent, "198.51.100.8").await;
    v.subscribe(&c, 0).await;
    a.subscribe(&c, 0).await;
    let mut slowest = Duration::ZERO;
    for i in 0..n {
        let sent = Instant::now();
        v.send(json!({"type": "send", "conversation_id": c, "client_msg_id": format!("good-{i}"), "body": format!("hello {i}")}))
            .await;
        loop {
            let f = a
                .next_within(GOOD_BOUND * 2)
                .await
                .expect("the agent hears the visitor")
                .expect("the agent's socket stays open");
            if f["type"] == "message" && f["message"]["client_msg_id"] == format!("good-{i}") {
                break;
            }
        }
        slowest = slowest.max(sent.elapsed());
        // A person types; this also keeps the visitor under its own frame limit.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    slowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_flooding_frames_is_limited_then_closed_while_others_keep_talking() {
    let s = start(&[]).await;
    let r = visitor_from(&s, ABUSER).await;
    let token = str_of(&r.json::<Value>().await.unwrap(), "token");
    let flood = ws_from(&s, &token, ABUSER).await;
    let (mut tx, mut rx) = futures::StreamExt::split(flood.stream);
    // The flood writes as fast as the socket takes frames, until the server closes it.
    let writing = tokio::spawn(async move {
        let mut sent = 0usize;
        let ping = tokio_tungstenite::tungstenite::Message::text(r#"{"type":"ping"}"#);
        while sent < 100_000 && futures::SinkExt::send(&mut tx, ping.clone()).await.is_ok() {
            sent += 1;
        }
        sent
    });
    let flooding = tokio::spawn(async move {
        let mut limited = 0;
        let mut code = None;
        while let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(&mut rx)).await
        {
            match frame {
                Ok(tokio_tungstenite::tungstenite::Message::Text(t)) => {
                    let f: Value = serde_json::from_str(t.as_str()).unwrap();
                    limited += usize::from(f["code"] == "rate_limited");
                }
                Ok(tokio_tungstenite::tungstenite::Message::Close(c)) => {
                    code = c.map(|c| u16::from(c.code));
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        (writing.await.unwrap(), limited, code)
    });
    let slowest = well_behaved_exchange(&s, 20).await;
    let (sent, limited, code) = flooding.await.unwrap();
    let counted = outage::metric(&s.base, "chat_rate_limited_total", "ws_frame").await;
    let closed = outage::metric(&s.base, "chat_ws_closed_total", "misbehaving").await;
    eprintln!(
        "[frame flood] FIGURES frames_sent={sent} rate_limited_errors={limited} close={code:?} \
         metric_ws_frame={counted} good_client_slowest_ms={}",
        slowest.as_millis()
    );
    assert!(limited > 0, "the flood heard it was rate-limited");
    assert_eq!(code, Some(4029), "and was closed as misbehaving");
    assert!(
        counted >= limited as f64 && closed >= 1.0,
        "metrics show it"
    );
    assert!(slowest < GOOD_BOUND, "the good client kept its latency");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_opening_sockets_is_refused_per_address_while_others_connect() {
    let s = start(&["--ws-connect-rate=30"]).await;
    let r = visitor_from(&s, ABUSER).await;
    let token = str_of(&r.json::<Value>().await.unwrap(), "token");
    let mut opened = 0;
    let mut refused = 0;
    for _ in 0..200 {
        match tokio_tungstenite::connect_async(ws_request(&s, &token, ABUSER)).await {
            // Opened and dropped at once, as a reconnect loop does.
            Ok(_) => opened += 1,
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 429);
                refused += 1;
            }
            Err(e) => panic!("unexpected upgrade failure: {e}"),
        }
    }
    let slowest = well_behaved_exchange(&s, 10).await;
    let counted = outage::metric(&s.base, "chat_rate_limited_total", "ws_connect").await;
    eprintln!(
        "[socket loop] FIGURES attempts=200 opened={opened} refused={refused} metric_ws_connect={counted} \
         good_client_slowest_ms={}",
        slowest.as_millis()
    );
    assert!(
        (30..=35).contains(&opened),
        "about the burst of 30 got through: {opened}"
    );
    assert_eq!(counted, refused as f64, "every refusal is counted");
    assert!(slowest < GOOD_BOUND, "the good client kept its latency");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_visitor_sessions_from_one_address_is_refused_and_counted() {
    let s = start(&["--visitor-rate=20"]).await;
    let mut created = 0;
    let mut refused = 0;
    for _ in 0..300 {
        let r = visitor_from(&s, ABUSER).await;
        match r.status().as_u16() {
            201 => created += 1,
            429 => {
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "rate_limited");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let slowest = well_behaved_exchange(&s, 10).await;
    let counted = outage::metric(&s.base, "chat_rate_limited_total", "visitor_create").await;
    eprintln!(
        "[visitor flood] FIGURES attempts=300 created={created} refused={refused} \
         metric_visitor_create={counted} good_client_slowest_ms={}",
        slowest.as_millis()
    );
    assert!(
        (20..=25).contains(&created),
        "about the burst got through: {created}"
    );
    assert_eq!(counted, refused as f64, "every refusal is counted");
    assert!(slowest < GOOD_BOUND, "the good client kept its latency");
}
