//! The websocket session driven through channels instead of a socket (it is generic over
//! Sink/Stream), to prove what a socket can't show quickly: a client that stops reading is
//! cut off instead of being buffered for without bound, and senders never wait for it.

use std::time::{Duration, Instant};

use axum::extract::ws::Message as WsMessage;
use chat_server::auth::Principal;
use chat_server::config::Config;
use chat_server::model::Role;
use clap::Parser;
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_senders_never_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::try_parse_from([
        "chat-server".to_string(),
        format!("--store={}", dir.path().join("store").display()),
        format!("--upload-dir={}", dir.path().join("up").display()),
        "--ws-outbound-queue=8".to_string(),
    ])
    .unwrap();
    let shutdown = CancellationToken::new();
    let (state, _) = chat_server::server::build(&config, shutdown.clone())
        .await
        .unwrap();
    let chat = state.chat.clone();
    let visitor = Principal::Visitor {
        id: "v1".into(),
        name: None,
    };
    let conversation = chat.create_conversation(&visitor).await.unwrap();
    let agent = Principal::Agent {
        id: "a1".into(),
        name: "Ana".into(),
        role: Role::Agent,
    };

    // Client -> server frames, and a server -> client channel with no room to spare.
    let (mut to_server, from_client) = mpsc::unbounded::<Result<WsMessage, String>>();
    let (to_client, mut from_server) = mpsc::channel::<WsMessage>(0);
    let session = tokio::spawn(chat_server::api::ws::run_session(
        &state,
        chat_server::auth::Authenticated::now(agent, None),
        chat_server::api::ws::Duplex::new(to_client, from_client),
    ));
    let subscribe = json!({"type": "subscribe", "conversation_id": conversation.id});
    to_server
        .send(Ok(WsMessage::Text(subscribe.to_string().into())))
        .await
        .unwrap();
    loop {
        let WsMessage::Text(t) = from_server.next().await.unwrap() else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] == "subscribed" {
            break;
        }
    }

    // The client reads nothing more. 200 messages go out; none of the sends may stall.
    let started = Instant::now();
    for i in 0..200 {
        chat.send(
            &visitor,
            &conversation.id,
            Some(format!("c{i}")),
            format!("m{i}"),
            &[],
        )
        .await
        .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "senders waited for a slow reader"
    );
    tokio::time::timeout(Duration::from_secs(5), session)
        .await
        .expect("the slow session ends instead of buffering")
        .unwrap();
    let metrics = state.delivery.metrics.encode();
    assert!(
        metrics.contains("chat_ws_closed_total{reason=\"slow_consumer\"} 1"),
        "{metrics}"
    );
    shutdown.cancel();
}
