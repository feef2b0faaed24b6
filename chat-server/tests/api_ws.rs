//! Black-box WebSocket tests against a server on 127.0.0.1:0: every frame of the contract,
//! the error frames, and the close codes.

mod common;

use chat_server::auth::Principal;
use chat_server::auth::tokens::TokenIssuer;
use common::{TestServer, Ws, str_of};
use serde_json::json;

async fn upgrade_status(s: &TestServer, query: &str) -> u16 {
    let err = tokio_tungstenite::connect_async(format!("{}/api/v1/ws{query}", s.ws_base))
        .await
        .expect_err("upgrade must be refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(r) => r.status().as_u16(),
        other => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn the_upgrade_needs_a_valid_token_of_this_deployment() {
    let s = TestServer::start().await;
    assert_eq!(upgrade_status(&s, "").await, 401);
    assert_eq!(upgrade_status(&s, "?token=garbage").await, 401);
    let foreign = TokenIssuer::new(b"another-deployment-key-0123456789abcdef", 1).issue(
        &Principal::Visitor {
            id: "v".into(),
            name: None,
        },
    );
    assert_eq!(upgrade_status(&s, &format!("?token={foreign}")).await, 401);
}

#[tokio::test]
async fn the_token_travels_in_the_subprotocol_and_the_url_form_still_works_but_is_counted() {
    let s = TestServer::start().await;
    let (_, token) = s.visitor().await;
    // The way clients should: nothing of the token in the URL an access log records.
    let mut ws = s.ws(&token).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await.unwrap(), json!({"type": "pong"}));
    let metrics = |s: &TestServer| {
        let http = s.http.clone();
        let url = s.url("/metrics");
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(metrics(&s).await.contains("chat_ws_token_in_url_total 0"));

    // A bad token in the subprotocol is refused like one in the URL.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}/api/v1/ws", s.ws_base)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "atendo.v1, atendo.bearer.garbage".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!(
            "a bad subprotocol token must get 401, got {:?}",
            other.map(|_| ())
        ),
    }

    // Deprecated, kept for old clients, and visible in the metrics.
    let mut old = Ws::connect(&format!("{}/api/v1/ws?token={token}", s.ws_base)).await;
    old.send(json!({"type": "ping"})).await;
    assert_eq!(old.next().await.unwrap(), json!({"type": "pong"}));
    assert!(metrics(&s).await.contains("chat_ws_token_in_url_total 1"));
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let s = TestServer::start().await;
    let (_, token) = s.visitor().await;
    let mut ws = s.ws(&token).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await.unwrap(), json!({"type": "pong"}));
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_survives() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, other_conversation) = s.conversation().await;
    let mut ws = s.ws(&visitor).await;

    ws.send_raw("{this is not json").await;
    assert_eq!(ws.expect("error").await["code"], "malformed_frame");
    ws.send(json!({"type": "dance"})).await;
    assert_eq!(ws.expect("error").await["code"], "unknown_type");
    ws.send(json!({"type": "send", "conversation_id": c})).await;
    assert_eq!(ws.expect("error").await["code"], "invalid_frame");
    ws.send(json!({"type": "send", "conversation_id": c, "client_msg_id": "big", "body": "x".repeat(4097)})).await;
    let e = ws.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("body_too_large"), Some("big"))
    );
    ws.send(json!({"type": "subscribe", "conversation_id": other_conversation}))
        .await;
    assert_eq!(ws.expect("error").await["code"], "forbidden");
    ws.send(json!({"type": "send", "conversation_id": other_conversation, "client_msg_id": "f", "body": "hi"})).await;
    let e = ws.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("forbidden"), Some("f"))
    );

    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.expect("pong").await["type"], "pong");
    let (_, page) = s
        .get(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
        )
        .await;
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        0,
        "nothing rejected was stored"
    );
}

#[tokio::test]
async fn subscribe_replays_after_seq_then_goes_live_and_send_is_acked_once() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, agent) = s.agent("Ana").await;
    for i in 1..=3 {
        s.post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
            json!({"body": format!("m{i}"), "client_msg_id": format!("r{i}")}),
        )
        .await;
    }
    let mut a = s.ws(&agent).await;
    let replay = a.subscribe(&c, 1).await;
    assert_eq!(
        replay
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );

    let mut v = s.ws(&visitor).await;
    v.subscribe(&c, 3).await;
    v.send(
        json!({"type": "send", "conversation_id": c, "client_msg_id": "live-1", "body": "live"}),
    )
    .await;
    let ack = v.expect("ack").await;
    assert_eq!(ack["client_msg_id"], "live-1");
    assert_eq!(ack["message"]["seq"], 4);
    assert_eq!(
        v.expect("message").await["message"]["seq"],
        4,
        "the sender gets its own message"
    );
    assert_eq!(a.expect("message").await["message"]["body"], "live");

    v.send(
        json!({"type": "send", "conversation_id": c, "client_msg_id": "live-1", "body": "live"}),
    )
    .await;
    let again = v.expect("ack").await;
    assert_eq!(
        again["message"], ack["message"],
        "a repeated send answers with the original"
    );
    v.send(
        json!({"type": "send", "conversation_id": c, "client_msg_id": "live-2", "body": "next"}),
    )
    .await;
    // The agent sees seq 5 next: the repeated send produced no second delivery of seq 4.
    assert_eq!(a.expect("message").await["message"]["seq"], 5);
}

/// Frames larger than the socket's read buffer (`CHAT_WS_READ_BUFFER`) take several reads:
/// each must arrive whole, back to back, and unchanged.
#[tokio::test]
async fn frames_larger_than_the_read_buffer_arrive_whole() {
    let s = TestServer::start_with(&["--ws-read-buffer=64"]).await;
    let (visitor, c) = s.conversation().await;
    let mut v = s.ws(&visitor).await;
    v.subscribe(&c, 0).await;
    let bodies: Vec<String> = (0..3).map(|i| format!("{i}{}", "é".repeat(2000))).collect();
    for (i, body) in bodies.iter().enumerate() {
        v.send(json!({"type": "send", "conversation_id": c, "client_msg_id": format!("big-{i}"), "body": body}))
            .await;
    }
    let (mut acks, mut got) = (Vec::new(), Vec::new());
    while acks.len() < bodies.len() || got.len() < bodies.len() {
        let f = v.next().await.expect("the socket stays open");
        match f["type"].as_str() {
            Some("ack") => acks.push(f["client_msg_id"].as_str().unwrap().to_string()),
            Some("message") => got.push(f["message"]["body"].as_str().unwrap().to_string()),
            _ => {}
        }
    }
    assert_eq!(acks, ["big-0", "big-1", "big-2"]);
    assert!(got == bodies, "the bodies came back changed");
}

#[tokio::test]
async fn typing_and_read_receipts_reach_the_other_side_only() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (agent_id, agent) = s.agent("Ana").await;
    s.post(
        &format!("/api/v1/conversations/{c}/messages"),
        Some(&visitor),
        json!({"body": "hi", "client_msg_id": "1"}),
    )
    .await;
    let mut v = s.ws(&visitor).await;
    let mut a = s.ws(&agent).await;
    v.subscribe(&c, 1).await;
    a.subscribe(&c, 1).await;
    a.send(json!({"type": "typing", "conversation_id": c, "state": true}))
        .await;
    let t = v.expect("typing").await;
    assert_eq!(
        (t["state"].as_bool(), t["author"]["id"].as_str()),
        (Some(true), Some(agent_id.as_str()))
    );
    a.send(json!({"type": "read", "conversation_id": c, "seq": 1}))
        .await;
    let r = v.expect("read").await;
    assert_eq!(
        (r["seq"].as_u64(), r["author"]["kind"].as_str()),
        (Some(1), Some("agent"))
    );
    // The agent's own typing is not echoed back: its next frame is the read receipt.
    assert_eq!(a.next().await.unwrap()["type"], "read");
    a.send(json!({"type": "read", "conversation_id": c, "seq": 99}))
        .await;
    assert_eq!(a.expect("error").await["code"], "invalid_seq");
}

#[tokio::test]
async fn agents_hear_about_new_and_changed_conversations_and_presence() {
    let s = TestServer::start().await;
    let (ana_id, ana) = s.agent("Ana").await;
    let (bia_id, bia) = s.agent("Bia").await;
    let mut a = s.ws(&ana).await;
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    let mut b = s.ws(&bia).await;
    let p = a.expect("presence").await;
    assert_eq!(
        (p["agent_id"].as_str(), p["state"].as_str()),
        (Some(bia_id.as_str()), Some("online"))
    );
    b.send(json!({"type": "presence", "state": "away"})).await;
    assert_eq!(a.expect("presence").await["state"], "away");
    // A console opened now learns the current presence from the agent list.
    let (_, list) = s.get("/api/v1/agents", Some(&ana)).await;
    let presence_of = |id: &str| {
        list["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()["presence"]
            .clone()
    };
    assert_eq!(presence_of(&bia_id), "away");
    assert_eq!(presence_of(&ana_id), "online");

    let (_, c) = s.conversation().await;
    let created = a.expect("conversation").await;
    assert_eq!(created["conversation"]["id"], c.as_str());
    s.post(
        &format!("/api/v1/conversations/{c}/assign"),
        Some(&ana),
        json!({"agent_id": ana_id}),
    )
    .await;
    let changed = b.expect("conversation").await;
    let changed = if changed["conversation"]["assignee"].is_null() {
        b.expect("conversation").await
    } else {
        changed
    };
    assert_eq!(changed["conversation"]["assignee"], ana_id.as_str());

    drop(b);
    let gone = a.expect("presence").await;
    assert_eq!(
        (gone["agent_id"].as_str(), gone["state"].as_str()),
        (Some(bia_id.as_str()), Some("offline"))
    );
}

#[tokio::test]
async fn a_client_that_keeps_misbehaving_is_closed_with_4029() {
    let s = TestServer::start_with(&["--ws-max-strikes=3"]).await;
    let (_, token) = s.visitor().await;
    let mut ws = s.ws(&token).await;
    for _ in 0..4 {
        ws.send_raw("nope").await;
    }
    assert_eq!(ws.close_code().await, Some(4029));
}

#[tokio::test]
async fn frames_over_the_rate_limit_get_rate_limited_errors() {
    let s = TestServer::start_with(&["--ws-rate=1", "--ws-burst=2", "--ws-max-strikes=100"]).await;
    let (_, token) = s.visitor().await;
    let mut ws = s.ws(&token).await;
    for _ in 0..5 {
        ws.send(json!({"type": "ping"})).await;
    }
    let mut codes = Vec::new();
    for _ in 0..5 {
        let f = ws.next().await.unwrap();
        codes.push(
            f["code"]
                .as_str()
                .unwrap_or(f["type"].as_str().unwrap())
                .to_string(),
        );
    }
    assert_eq!(
        codes.iter().filter(|c| *c == "pong").count(),
        2,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| *c == "rate_limited").count(),
        3,
        "{codes:?}"
    );
}

#[tokio::test]
async fn a_frame_over_the_frame_limit_closes_with_1009() {
    let s = TestServer::start_with(&["--max-frame-bytes=1024"]).await;
    let (_, token) = s.visitor().await;
    let mut ws = s.ws(&token).await;
    ws.send_raw(&format!(
        "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(2000)
    ))
    .await;
    assert_eq!(ws.close_code().await, Some(1009));
}

#[tokio::test]
async fn shutdown_tells_sockets_to_reconnect_with_1012() {
    let s = TestServer::start().await;
    let (_, token) = s.visitor().await;
    let mut ws: Ws = s.ws(&token).await;
    ws.send(json!({"type": "ping"})).await;
    ws.expect("pong").await;
    s.shutdown.cancel();
    assert_eq!(ws.close_code().await, Some(1012));
}

#[tokio::test]
async fn a_visitor_token_cannot_subscribe_to_another_visitors_conversation() {
    let s = TestServer::start().await;
    let (_, c) = s.conversation().await;
    let (_, stranger) = s.visitor().await;
    let mut ws = s.ws(&stranger).await;
    ws.send(json!({"type": "subscribe", "conversation_id": c}))
        .await;
    let e = ws.expect("error").await;
    assert_eq!(e["code"], "forbidden");
    assert!(str_of(&e, "message").contains(&c));
}
