//! Two real `chat-server` processes on one Redis and one MongoDB-wire server (SecantusDB).
//! A visitor on replica A and an agent on replica B exchange 1,000 messages each way while
//! both drop and resume their sockets at random points. Each side must see every message
//! exactly once in seq order, and the store must hold exactly 2,000.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::binary::{self, Replica};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Ws, str_of};
use futures::SinkExt;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMsg;

const EACH_WAY: usize = 1000;
const WINDOW: usize = 16;

struct Side {
    name: &'static str,
    ws_url: String,
    conversation: String,
    prefix: &'static str,
}

/// Sends its `EACH_WAY` messages through a window of unacknowledged sends and reads everything
/// in the conversation; drops the socket at random and resumes with `after_seq`. Returns the
/// seqs and client ids it received, in arrival order.
async fn run(side: Side) -> Vec<(u64, String)> {
    // Seeded and printed, so a failing interleaving of drops can be replayed.
    let seed: u64 = std::env::var("REPLICAS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!(
        "{}: drop seed {seed} (set REPLICAS_SEED to replay)",
        side.name
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut received: Vec<(u64, String)> = Vec::new();
    let mut acked: HashSet<usize> = HashSet::new();
    let mut next_to_send = 0usize;
    let mut drops = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while received.len() < 2 * EACH_WAY || acked.len() < EACH_WAY {
        assert!(
            Instant::now() < deadline,
            "{}: stuck at {} received, {} acked",
            side.name,
            received.len(),
            acked.len()
        );
        let mut ws = Ws::connect(&side.ws_url).await;
        let last = received.last().map(|r| r.0).unwrap_or(0);
        ws.send(
            json!({"type": "subscribe", "conversation_id": side.conversation, "after_seq": last}),
        )
        .await;
        // Everything unacknowledged is sent again after a reconnect; idempotency dedupes it.
        let mut in_flight: BTreeMap<usize, ()> = (0..next_to_send)
            .filter(|i| !acked.contains(i))
            .map(|i| (i, ()))
            .collect();
        for &i in in_flight.keys() {
            send(&mut ws, &side, i).await;
        }
        let frames_until_drop = rng.random_range(50..400);
        let mut frames = 0;
        loop {
            while in_flight.len() < WINDOW && next_to_send < EACH_WAY {
                send(&mut ws, &side, next_to_send).await;
                in_flight.insert(next_to_send, ());
                next_to_send += 1;
            }
            if received.len() >= 2 * EACH_WAY && acked.len() >= EACH_WAY {
                return received;
            }
            if frames >= frames_until_drop {
                drops += 1;
                // Abrupt: no close handshake, as when a network drops.
                drop(ws);
                break;
            }
            let frame = match ws.next_within(Duration::from_secs(30)).await {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => panic!(
                    "{}: no frame for 30 s with {} received (last seq {:?}), {} acked, {} in flight {:?}, {} drops",
                    side.name,
                    received.len(),
                    received.last().map(|r| r.0),
                    acked.len(),
                    in_flight.len(),
                    in_flight.keys().take(5).collect::<Vec<_>>(),
                    drops
                ),
            };
            frames += 1;
            match frame["type"].as_str() {
                Some("message") => {
                    let m = &frame["message"];
                    let seq = m["seq"].as_u64().unwrap();
                    let expected = received.last().map(|r| r.0).unwrap_or(0) + 1;
                    assert_eq!(
                        seq, expected,
                        "{}: got seq {seq}, expected {expected} (drops so far {drops})",
                        side.name
                    );
                    received.push((seq, str_of(m, "client_msg_id")));
                }
                Some("ack") => {
                    let id = str_of(&frame, "client_msg_id");
                    let i: usize = id.trim_start_matches(side.prefix).parse().unwrap();
                    acked.insert(i);
                    in_flight.remove(&i);
                }
                Some("error") => panic!("{}: error frame {frame}", side.name),
                _ => {}
            }
        }
    }
    received
}

async fn send(ws: &mut Ws, side: &Side, i: usize) {
    let frame = json!({"type": "send", "conversation_id": side.conversation, "client_msg_id": format!("{}{i}", side.prefix), "body": format!("{} says {i}", side.name)});
    // The socket may already be gone; the resend after reconnect covers it.
    let _ = ws.stream.send(WsMsg::text(frame.to_string())).await;
    let _ = ws.stream.flush().await;
}

async fn json_post(url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_exchange_2000_messages_exactly_once_in_order_across_drops() {
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let db = testkit::unique("replicas");
    let store = mongo.database_uri(&db).await;
    let mut env = binary::deployment_env(&redis.url, store);
    env.extend([
        ("CHAT_WS_RATE", "100000".to_string()),
        ("CHAT_WS_BURST", "100000".to_string()),
    ]);
    let a: Replica = binary::start(&env);
    let b: Replica = binary::start(&env);

    let visitor = json_post(
        format!("{}/api/v1/visitors", a.base),
        None,
        json!({"name": "Vera"}),
    )
    .await;
    let v_token = str_of(&visitor, "token");
    let c = json_post(
        format!("{}/api/v1/conversations", a.base),
        Some(&v_token),
        json!({}),
    )
    .await;
    let c = str_of(&c, "id");
    let agent = json_post(
        format!("{}/api/v1/agents/login", b.base),
        None,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    let a_token = str_of(&agent, "token");

    let visitor_side = tokio::spawn(run(Side {
        name: "visitor",
        ws_url: format!("{}/api/v1/ws?token={v_token}", a.ws_base),
        conversation: c.clone(),
        prefix: "v-",
    }));
    let agent_side = tokio::spawn(run(Side {
        name: "agent",
        ws_url: format!("{}/api/v1/ws?token={a_token}", b.ws_base),
        conversation: c.clone(),
        prefix: "a-",
    }));
    let (seen_by_visitor, seen_by_agent) = (visitor_side.await.unwrap(), agent_side.await.unwrap());

    for seen in [&seen_by_visitor, &seen_by_agent] {
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            (1..=2000).collect::<Vec<u64>>()
        );
        let ids: HashSet<&String> = seen.iter().map(|s| &s.1).collect();
        assert_eq!(ids.len(), 2000, "every client id once");
    }
    assert_eq!(
        seen_by_visitor, seen_by_agent,
        "both sides saw the same order"
    );

    let page: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/conversations/{c}/messages?limit=1000&after_seq=1000",
            a.base
        ))
        .bearer_auth(&v_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tail = page["messages"].as_array().unwrap();
    assert_eq!(tail.len(), 1000);
    assert_eq!(tail.last().unwrap()["seq"], 2000);
    let conv = json_post(
        format!("{}/api/v1/conversations/{c}/status", b.base),
        Some(&a_token),
        json!({"status": "resolved"}),
    )
    .await;
    assert_eq!(
        conv["last_seq"], 2000,
        "the store holds exactly 2,000 messages"
    );
}
