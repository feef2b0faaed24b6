//! Limits on what one token or one client address can make the server do: REST writes share the
//! websocket's budget per token, control frames are charged, subscriptions per socket are
//! capped, silent sockets are closed, and a forged X-Forwarded-For entry buys no new address.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, str_of};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMsg;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[path = "common/outage.rs"]
mod outage;

async fn post(s: &TestServer, path: &str, token: &str, body: Value) -> reqwest::Response {
    s.http
        .post(s.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_writes_of_one_token_are_limited_and_share_the_budget_of_its_websockets() {
    // A burst of 10, then one a second: the checks below run within milliseconds of each other,
    // so at most one cell comes back while they run.
    let s =
        TestServer::start_with(&["--ws-rate=1", "--ws-burst=10", "--ws-max-strikes=1000"]).await;
    let (flooder, conversation) = s.conversation().await;
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    // Messages as fast as the server answers.
    let started = Instant::now();
    let (mut sent, mut limited, mut waits) = (0, 0, Vec::new());
    for i in 0..100 {
        let r = post(
            &s,
            &messages,
            &flooder,
            json!({"body": format!("flood {i}"), "client_msg_id": format!("f{i}")}),
        )
        .await;
        match r.status().as_u16() {
            201 => sent += 1,
            429 => {
                waits.push(r.headers()["retry-after"].to_str().unwrap().to_string());
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let took = started.elapsed().as_secs_f64();
    // Conversations and upload grants draw on the same budget: of two tries in a row, one at
    // most finds a cell that came back meanwhile.
    let upload = json!({"conversation_id": conversation, "filename": "a.png", "content_type": "image/png", "size": 10});
    let mut refused_other = 0;
    for (path, body) in [
        ("/api/v1/conversations", json!({})),
        ("/api/v1/uploads", upload),
    ] {
        let first = post(&s, path, &flooder, body.clone()).await.status();
        let second = post(&s, path, &flooder, body).await.status();
        let refused = usize::from(first == 429) + usize::from(second == 429);
        assert!(refused >= 1, "{path} waits too: {first} {second}");
        refused_other += refused;
    }
    // And so do its websocket's frames.
    let mut ws = s.ws(&flooder).await;
    ws.send(json!({"type": "ping"})).await;
    ws.send(json!({"type": "ping"})).await;
    let replies = [ws.next().await.unwrap(), ws.next().await.unwrap()];
    assert!(
        replies.iter().any(|f| f["code"] == "rate_limited"),
        "the token's socket is held to the same budget: {replies:?}"
    );
    // Another visitor is not held up.
    let (other, other_conversation) = s.conversation().await;
    let r = post(
        &s,
        &format!("/api/v1/conversations/{other_conversation}/messages"),
        &other,
        json!({"body": "hello", "client_msg_id": "o1"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let counted = outage::metric(&s.base, "chat_rate_limited_total", "rest_write").await;
    eprintln!(
        "[rest flood] FIGURES attempts=100 created={sent} limited={limited} seconds={took:.2} \
         retry_after={:?} metric_rest_write={counted}",
        waits.first()
    );
    // The burst of 10 (one went on the conversation), plus one a second while the loop ran.
    assert!(
        (9.0..=10.0 + took).contains(&(sent as f64)),
        "{sent} created in {took:.2}s"
    );
    assert_eq!(
        counted,
        (limited + refused_other) as f64,
        "every REST refusal is counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_control_frames_are_charged_and_a_ping_flood_is_closed() {
    let s = TestServer::start_with(&["--ws-rate=5", "--ws-burst=10", "--ws-max-strikes=5"]).await;
    let (_, token) = s.visitor().await;
    let ws = s.ws(&token).await;
    let (mut tx, mut rx) = ws.stream.split();
    let writing = tokio::spawn(async move {
        let mut sent = 0;
        while sent < 3000 && tx.send(WsMsg::Ping(vec![7u8; 125].into())).await.is_ok() {
            sent += 1;
        }
        sent
    });
    let (mut pongs, mut limited, mut code) = (0, 0, None);
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(10), rx.next()).await {
        match frame {
            Ok(WsMsg::Pong(_)) => pongs += 1,
            Ok(WsMsg::Text(t)) => {
                let f: Value = serde_json::from_str(t.as_str()).unwrap();
                limited += usize::from(f["code"] == "rate_limited");
            }
            Ok(WsMsg::Close(c)) => {
                code = c.map(|c| u16::from(c.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let sent = writing.await.unwrap();
    eprintln!(
        "[ping flood] FIGURES pings_sent={sent} pongs={pongs} rate_limited_errors={limited} close={code:?}"
    );
    assert!(limited >= 5, "the pings past the budget were refused");
    assert_eq!(code, Some(4029), "and the flood was closed as misbehaving");
}

#[tokio::test]
async fn a_socket_follows_a_capped_number_of_conversations() {
    let s = TestServer::start_with(&["--ws-max-subscriptions-visitor=2"]).await;
    let (_, token) = s.visitor().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, c) = s
            .post("/api/v1/conversations", Some(&token), json!({}))
            .await;
        ids.push(str_of(&c, "id"));
    }
    let mut ws = s.ws(&token).await;
    ws.subscribe(&ids[0], 0).await;
    ws.subscribe(&ids[1], 0).await;
    // Subscribing again to one it follows is not a new subscription.
    ws.subscribe(&ids[1], 0).await;
    ws.send(json!({"type": "subscribe", "conversation_id": ids[2]}))
        .await;
    let f = ws.expect("error").await;
    assert_eq!(f["code"], "too_many_subscriptions", "{f}");
    assert!(f["message"].as_str().unwrap().contains('2'), "{f}");
    // Letting one go makes room.
    ws.send(json!({"type": "unsubscribe", "conversation_id": ids[0]}))
        .await;
    ws.subscribe(&ids[2], 0).await;
}

#[tokio::test]
async fn a_silent_socket_is_closed_and_one_that_pings_stays_open() {
    let s = TestServer::start_with(&["--ws-idle-timeout-secs=1"]).await;
    let (_, token) = s.visitor().await;
    let mut silent = s.ws(&token).await;
    let mut pinging = s.ws(&token).await;
    let started = Instant::now();
    let keep_alive = async {
        for _ in 0..8 {
            pinging.send(json!({"type": "ping"})).await;
            assert_eq!(pinging.expect("pong").await["type"], "pong");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        pinging
    };
    let closed = async {
        let code = silent.close_code().await;
        (code, started.elapsed())
    };
    let ((code, closed_after), mut pinging) = tokio::join!(closed, keep_alive);
    eprintln!(
        "[ws idle] FIGURES timeout_s=1 silent_closed_after_ms={}",
        closed_after.as_millis()
    );
    assert_eq!(code, Some(1001), "the silent socket heard it went idle");
    assert!(
        closed_after >= Duration::from_millis(900),
        "{closed_after:?}"
    );
    // 2.4 s later, the pinging socket still answers.
    pinging.send(json!({"type": "ping"})).await;
    assert_eq!(pinging.expect("pong").await["type"], "pong");
}

async fn visitor_via(s: &TestServer, forwarded_for: &str) -> u16 {
    s.http
        .post(s.url("/api/v1/visitors"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn ws_via(s: &TestServer, token: &str, forwarded_for: &str) -> u16 {
    let mut req = format!("{}/api/v1/ws?token={token}", s.ws_base)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-forwarded-for", forwarded_for.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("unexpected upgrade failure: {e}"),
    }
}

#[tokio::test]
async fn a_forged_leftmost_forwarded_entry_never_buys_a_new_address() {
    let s = TestServer::start_with(&[
        "--trusted-proxy-hops=1",
        "--visitor-rate=5",
        "--ws-connect-rate=5",
    ])
    .await;
    // ALB style (and ingress-nginx with compute-full-forwarded-for): the proxy appends the
    // address it saw to whatever the client sent, here a new forged address every time.
    let mut created = 0;
    for i in 0..40 {
        created += usize::from(
            visitor_via(&s, &format!("10.9.{}.{}, 203.0.113.7", i / 250, i % 250)).await == 201,
        );
    }
    assert_eq!(created, 5, "one client, one budget, whatever it forges");
    // ingress-nginx by default: the header is replaced by the address nginx saw.
    let mut from_nginx = 0;
    for _ in 0..10 {
        from_nginx += usize::from(visitor_via(&s, "198.51.100.9").await == 201);
    }
    assert_eq!(from_nginx, 5);
    // The websocket connect limit reads the same address.
    let (_, token) = s.visitor().await;
    let mut upgraded = 0;
    for i in 0..20 {
        upgraded +=
            usize::from(ws_via(&s, &token, &format!("10.8.0.{i}, 203.0.113.8")).await == 101);
    }
    eprintln!(
        "[forwarded-for] FIGURES forged_visitors=40 created={created} nginx_created={from_nginx} \
         forged_upgrades=20 upgraded={upgraded}"
    );
    assert_eq!(upgraded, 5);
}

#[tokio::test]
async fn with_no_trusted_proxy_the_forwarded_header_is_ignored() {
    let s = TestServer::start_with(&["--visitor-rate=3"]).await;
    let mut created = 0;
    for i in 0..10 {
        created += usize::from(visitor_via(&s, &format!("10.7.0.{i}")).await == 201);
    }
    assert_eq!(created, 3, "every request counts against the socket peer");
}

#[tokio::test]
async fn a_visitor_keeps_a_few_unresolved_conversations_at_most() {
    let s = TestServer::start_with(&["--visitor-max-open-conversations=3"]).await;
    let (_, token) = s.visitor().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, c) = s
            .post("/api/v1/conversations", Some(&token), json!({}))
            .await;
        assert_eq!(status, 201, "{c}");
        ids.push(str_of(&c, "id"));
    }
    let (status, body) = s
        .post("/api/v1/conversations", Some(&token), json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "too_many_open_conversations");
    // Another visitor is not affected, and resolving one makes room.
    let (_, other) = s.visitor().await;
    assert_eq!(
        s.post("/api/v1/conversations", Some(&other), json!({}))
            .await
            .0,
        201
    );
    let (_, admin) = s.admin().await;
    let (status, _) = s
        .post(
            &format!("/api/v1/conversations/{}/status", ids[0]),
            Some(&admin),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        s.post("/api/v1/conversations", Some(&token), json!({}))
            .await
            .0,
        201
    );
}
