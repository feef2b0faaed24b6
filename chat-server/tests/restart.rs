//! Durability of the embedded store across a real process restart, and the SIGTERM path.

mod common;

use std::time::Duration;

use common::binary;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY, Ws, str_of};
use serde_json::{Value, json};

fn env(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_STORE", dir.join("store").display().to_string()),
        ("CHAT_UPLOAD_DIR", dir.join("uploads").display().to_string()),
        ("CHAT_SIGNING_KEY", SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        // One visitor posts 100 messages back to back; the per-token write budget (burst 60
        // by default) has its own tests.
        ("CHAT_WS_BURST", "200".to_string()),
    ]
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn messages_sent_before_a_restart_are_all_there_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let mut server = binary::start(&env(dir.path()));
    let visitor = post(
        &http,
        format!("{}/api/v1/visitors", server.base),
        None,
        json!({}),
    )
    .await;
    let token = str_of(&visitor, "token");
    let c = post(
        &http,
        format!("{}/api/v1/conversations", server.base),
        Some(&token),
        json!({}),
    )
    .await;
    let c = str_of(&c, "id");
    let mut ws = Ws::connect(&format!("{}/api/v1/ws?token={token}", server.ws_base)).await;
    ws.subscribe(&c, 0).await;
    for i in 1..=100 {
        post(
            &http,
            format!("{}/api/v1/conversations/{c}/messages", server.base),
            Some(&token),
            json!({"body": format!("m{i}"), "client_msg_id": format!("c{i}")}),
        )
        .await;
    }

    server.guard.signal("TERM");
    assert_eq!(
        ws.close_code().await,
        Some(1012),
        "sockets are told to reconnect"
    );
    let status = server
        .guard
        .wait_timeout(Duration::from_secs(15))
        .expect("exits after SIGTERM");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // Same directory, same key: the token still works and every message is there.
    let server = binary::start(&env(dir.path()));
    let r = http
        .get(format!(
            "{}/api/v1/conversations/{c}/messages?limit=1000",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let page: Value = r.json().await.unwrap();
    let bodies: Vec<String> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| str_of(m, "body"))
        .collect();
    assert_eq!(
        bodies,
        (1..=100).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
    let next = post(
        &http,
        format!("{}/api/v1/conversations/{c}/messages", server.base),
        Some(&token),
        json!({"body": "after", "client_msg_id": "after"}),
    )
    .await;
    assert_eq!(next["seq"], 101);
    let again = post(
        &http,
        format!("{}/api/v1/conversations/{c}/messages", server.base),
        Some(&token),
        json!({"body": "m1", "client_msg_id": "c1"}),
    )
    .await;
    assert_eq!(again["seq"], 1, "idempotency survives the restart");
    let admin = post(
        &http,
        format!("{}/api/v1/agents/login", server.base),
        None,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(
        admin["role"], "admin",
        "the bootstrap admin is not duplicated on restart"
    );
}
