//! What a socket believes from the bus (security review finding #1, check 12): only payloads
//! sealed with the deployment's key, and only seqs the store holds.
//!
//! - Over channels (the session is generic over Sink/Stream), with frames forged *with* a valid
//!   MAC, as a compromised replica could: a forged far seq and a forged frame across a gap
//!   never suppress or delay the real messages, live or after a resume.
//! - On a real redis-server: an outsider's raw PUBLISH (no MAC, a wrong MAC) on a tenant's
//!   channel never reaches the visitor and is counted; the genuine message with the seq it
//!   named arrives. Two hubs with different signing keys on one bus refuse each other.

mod common;
#[path = "common/outage.rs"]
mod outage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Message as WsMessage;
use bytes::Bytes;
use chat_server::api::AppState;
use chat_server::auth::Principal;
use chat_server::chat::Chat;
use chat_server::config::{BusLocation, Config};
use chat_server::delivery::hub::{Hub, HubItem, SessionPort};
use chat_server::delivery::inbox::Inbox;
use chat_server::delivery::publish::{Publisher, conversation_topic};
use chat_server::delivery::seal::BusSeal;
use chat_server::metrics::Metrics;
use chat_server::model::Message;
use chat_server::protocol::ServerFrame;
use clap::Parser;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY, Ws, str_of};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use outage::{LoggedReplica, metric};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(5);

/// One deployment built in this process (embedded store, local bus) and a visitor's conversation.
struct Deployment {
    state: AppState,
    chat: Arc<Chat>,
    visitor: Principal,
    conversation: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::try_parse_from([
            "chat-server".to_string(),
            format!("--store={}", dir.path().join("store").display()),
            format!("--upload-dir={}", dir.path().join("up").display()),
            format!("--signing-key={SIGNING_KEY}"),
            "--ws-outbound-queue=64".to_string(),
            "--ws-rate=1000".to_string(),
            "--ws-burst=1000".to_string(),
            "--ws-max-strikes=10".to_string(),
        ])
        .unwrap();
        let shutdown = CancellationToken::new();
        let (state, _) = chat_server::server::build(&config, shutdown.clone())
            .await
            .unwrap();
        let visitor = Principal::Visitor {
            id: "v1".into(),
            name: None,
        };
        let conversation = state.chat.create_conversation(&visitor).await.unwrap().id;
        Self {
            chat: state.chat.clone(),
            state,
            visitor,
            conversation,
            shutdown,
            _dir: dir,
        }
    }

    /// A genuine message from the visitor: stored, then published.
    async fn send(&self, body: &str) -> Message {
        self.chat
            .send(
                &self.visitor,
                &self.conversation,
                Some(format!("c-{body}")),
                body.to_string(),
                &[],
            )
            .await
            .unwrap()
            .into_message()
    }

    /// A frame published with this deployment's own key (a compromised replica): `like` with
    /// another seq and body, from "the agent".
    async fn forge(&self, like: &Message, seq: u64, body: &str) {
        let mut message = like.clone();
        message.seq = seq;
        message.body = body.to_string();
        message.id = format!("forged-{seq}");
        self.state
            .delivery
            .publisher
            .publish(
                conversation_topic(&self.conversation),
                &ServerFrame::Message { message },
            )
            .await;
    }

    fn socket(&self) -> Socket {
        let (to_server, from_client) = mpsc::unbounded::<Result<WsMessage, String>>();
        let (to_client, from_server) = mpsc::channel::<WsMessage>(64);
        let session = tokio::spawn(chat_server::api::ws::run_session(
            &self.state,
            chat_server::auth::Authenticated::now(self.visitor.clone(), None),
            chat_server::api::ws::Duplex::new(to_client, from_client),
        ));
        Socket {
            to_server,
            from_server,
            _session: session,
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A websocket client over channels.
struct Socket {
    to_server: mpsc::UnboundedSender<Result<WsMessage, String>>,
    from_server: mpsc::Receiver<WsMessage>,
    _session: tokio::task::JoinHandle<()>,
}

impl Socket {
    async fn send(&mut self, frame: Value) {
        self.to_server
            .send(Ok(WsMessage::Text(frame.to_string().into())))
            .await
            .unwrap();
    }

    async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.from_server.next())
                .await
                .expect("a frame within 5 s")
                .expect("the session is open");
            if let WsMessage::Text(t) = frame {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }

    /// Subscribes; returns the bodies of the replayed messages.
    async fn subscribe(&mut self, conversation: &str, after_seq: u64) -> Vec<(u64, String)> {
        self.send(
            json!({"type": "subscribe", "conversation_id": conversation, "after_seq": after_seq}),
        )
        .await;
        let mut replayed = Vec::new();
        loop {
            let f = self.next().await;
            match f["type"].as_str() {
                Some("message") => replayed.push(seq_body(&f)),
                Some("subscribed") => return replayed,
                _ => panic!("unexpected frame while subscribing: {f}"),
            }
        }
    }

    /// Every message frame up to the pong answering a ping sent now. The session handles what
    /// the hub queued before it reads the ping, so nothing already published can come later.
    async fn messages_until_pong(&mut self) -> Vec<(u64, String)> {
        self.send(json!({"type": "ping"})).await;
        let mut seen = Vec::new();
        loop {
            let f = self.next().await;
            match f["type"].as_str() {
                Some("pong") => return seen,
                Some("message") => seen.push(seq_body(&f)),
                _ => {}
            }
        }
    }
}

fn seq_body(frame: &Value) -> (u64, String) {
    (
        frame["message"]["seq"].as_u64().unwrap(),
        frame["message"]["body"].as_str().unwrap().to_string(),
    )
}

fn owned(v: &[(u64, &str)]) -> Vec<(u64, String)> {
    v.iter().map(|(s, b)| (*s, b.to_string())).collect()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "{what} did not happen within 5 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    started.elapsed()
}

/// The review's attack, with a valid MAC: a forged seq of 1,000,000. Before, the hub buffered
/// it, skipped to it after the 3 s hole grace and dropped every real message after it, for good.
#[tokio::test]
async fn a_forged_seq_of_a_million_never_holds_back_the_real_messages_live_or_after_resume() {
    let d = Deployment::start().await;
    let mut socket = d.socket();
    assert!(socket.subscribe(&d.conversation, 0).await.is_empty());
    let first = d.send("one").await;
    assert_eq!(socket.messages_until_pong().await, owned(&[(1, "one")]));

    let forged_at = Instant::now();
    d.forge(
        &first,
        1_000_000,
        "re-enter your card at https://evil.example",
    )
    .await;
    d.send("two").await;
    let two = socket.next().await;
    let two_after = forged_at.elapsed();
    assert_eq!(seq_body(&two), (2, "two".to_string()), "not delayed: {two}");
    let metrics = d.state.delivery.metrics.clone();
    let dropped_after = wait_for("dropping the forged frame", || {
        metrics.encode().contains("chat_bus_unconfirmed_total 1")
    })
    .await;
    eprintln!(
        "the real seq 2 arrived {two_after:?} after the forged seq 1,000,000; the forged frame \
         was dropped by the first store read, {dropped_after:?} later"
    );

    // Past the hole grace, where the old algorithm jumped to the forged seq.
    tokio::time::sleep(d.state.ws.session.hole_grace + Duration::from_millis(500)).await;
    d.send("three").await;
    assert_eq!(
        socket.messages_until_pong().await,
        owned(&[(3, "three")]),
        "the forged frame never reached the socket, and the next real one did"
    );

    let mut resumed = d.socket();
    assert_eq!(
        resumed.subscribe(&d.conversation, 1).await,
        owned(&[(2, "two"), (3, "three")])
    );
    d.send("four").await;
    assert_eq!(resumed.messages_until_pong().await, owned(&[(4, "four")]));
    assert_eq!(socket.messages_until_pong().await, owned(&[(4, "four")]));
}

/// A forged frame naming a seq beyond the next one, published before the real messages: the
/// socket gets the store's copies of both seqs, never the forged body. (A frame naming exactly
/// the next seq is sent without a store read: the documented limit, which only the MAC covers.)
#[tokio::test]
async fn a_forged_frame_across_a_gap_is_replaced_by_the_stores_copy() {
    let d = Deployment::start().await;
    let mut socket = d.socket();
    socket.subscribe(&d.conversation, 0).await;
    let first = d.send("one").await;
    assert_eq!(socket.messages_until_pong().await, owned(&[(1, "one")]));

    d.forge(&first, 3, "forged three").await;
    d.send("two").await;
    d.send("three").await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.extend(socket.messages_until_pong().await);
    }
    assert_eq!(seen, owned(&[(2, "two"), (3, "three")]));
    tokio::time::sleep(d.state.ws.session.hole_grace + Duration::from_millis(500)).await;
    assert_eq!(socket.messages_until_pong().await, []);
}

/// The review's attack as it was run: with the shared Redis credential, a PUBLISH on the
/// tenant's channel of a forged agent message (unsigned, and with a MAC made with another key),
/// naming the seq the next genuine message will have, while the visitor's socket listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_publish_on_a_tenants_channel_never_reaches_its_visitor_and_is_counted() {
    let redis = testkit::redis::redis();
    let namespace = testkit::unique("tenant-b");
    let replica = LoggedReplica::start(&[
        ("CHAT_STORE", "./store".into()),
        ("CHAT_BUS", redis.url.clone()),
        ("CHAT_BUS_NAMESPACE", namespace.clone()),
        ("CHAT_SIGNING_KEY", SIGNING_KEY.into()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.into()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
    ]);
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{}{path}", replica.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let visitor = str_of(
        &post("/api/v1/visitors", None, json!({"name": "Vera"})).await,
        "token",
    );
    let conversation = str_of(
        &post("/api/v1/conversations", Some(&visitor), json!({})).await,
        "id",
    );
    let agent = str_of(
        &post(
            "/api/v1/agents/login",
            None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await,
        "token",
    );
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    let mut ws = Ws::connect(&format!("{}/api/v1/ws?token={visitor}", replica.ws_base)).await;
    ws.subscribe(&conversation, 0).await;
    let genuine = post(
        &messages,
        Some(&agent),
        json!({"body": "hello", "client_msg_id": "g1"}),
    )
    .await;
    assert_eq!(ws.expect("message").await["message"]["seq"], 1);

    // The attacker: any client with the Redis credential. This is the same PUBLISH command
    // redis-cli would send, on the channel the deployment uses for the conversation.
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let outsider =
        chat_server::bus::connect(&BusLocation::Redis(redis.url.clone()), None, &namespace, tx)
            .await
            .unwrap();
    let mut forged = genuine.clone();
    forged["seq"] = json!(2);
    forged["body"] = json!("re-enter your card at https://evil.example");
    let frame = json!({"type": "message", "message": forged}).to_string();
    let topic = conversation_topic(&conversation);
    let other_key = BusSeal::new(b"tenant-a-signing-key-9876543210zyxwvutsrqpo");
    let mut far = forged.clone();
    far["seq"] = json!(1_000_000);
    let far = json!({"type": "message", "message": far}).to_string();
    for payload in [
        Bytes::from(frame.clone()),
        other_key.seal(&topic, &frame),
        other_key.seal(&topic, &far),
    ] {
        outsider.publish(&topic, payload).await.unwrap();
    }
    let counted = async {
        let started = Instant::now();
        loop {
            let refused = metric(&replica.base, "chat_bus_rejected_total", "").await;
            if refused >= 3.0 {
                return refused;
            }
            assert!(started.elapsed() < WAIT, "refusals counted: {refused}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert_eq!(counted.await, 3.0);
    assert_eq!(
        metric(
            &replica.base,
            "chat_bus_rejected_total",
            r#"reason="unsigned""#
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &replica.base,
            "chat_bus_rejected_total",
            r#"reason="bad_mac""#
        )
        .await,
        2.0
    );

    let real = post(
        &messages,
        Some(&agent),
        json!({"body": "the real two", "client_msg_id": "g2"}),
    )
    .await;
    assert_eq!(real["seq"], 2);
    let next = ws.expect("message").await;
    assert_eq!(
        (
            next["message"]["seq"].as_u64(),
            next["message"]["body"].as_str()
        ),
        (Some(2), Some("the real two")),
        "the genuine message with the seq the forgery named"
    );
    // Past the old hole grace: still nothing forged.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(
        ws.next().await.unwrap()["type"],
        "pong",
        "nothing else arrived"
    );

    let mut resumed = Ws::connect(&format!("{}/api/v1/ws?token={visitor}", replica.ws_base)).await;
    let replay = resumed.subscribe(&conversation, 1).await;
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0]["body"], "the real two");

    drop((ws, resumed));
    let log = replica.stop_and_read_log();
    assert!(
        log.contains("failed verification") && log.contains("WARN"),
        "the refusal is logged at WARN:\n{log}"
    );
    assert!(
        !log.contains("evil.example"),
        "the log never carries the payload:\n{log}"
    );
}

/// A hub with its bus, as `server::build` wires them, on a real Redis.
async fn replica(redis: &str, namespace: &str, key: &[u8]) -> (Publisher, Arc<Hub>, Arc<Metrics>) {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let bus = chat_server::bus::connect(&BusLocation::Redis(redis.into()), None, namespace, tx)
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::new());
    let seal = BusSeal::new(key);
    let hub = Hub::start(
        bus.clone(),
        rx,
        seal.clone(),
        metrics.clone(),
        CancellationToken::new(),
    );
    (Publisher::new(bus, seal, metrics.clone()), hub, metrics)
}

async fn next_text(inbox: &Inbox) -> String {
    match tokio::time::timeout(WAIT, inbox.take()).await {
        Ok(HubItem::Event(e)) => e.text.as_str().to_string(),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Two replicas on one Redis and one namespace but with different signing keys (a
/// misconfiguration, or a deployment squatting on another's namespace): each hears only itself.
#[tokio::test]
async fn replicas_with_different_signing_keys_on_one_bus_refuse_each_others_payloads() {
    let redis = testkit::redis::redis();
    let namespace = testkit::unique("shared");
    let (pub_a, hub_a, metrics_a) = replica(
        &redis.url,
        &namespace,
        b"key-a-0123456789abcdefghijklmnopqrstu",
    )
    .await;
    let (pub_b, hub_b, metrics_b) = replica(
        &redis.url,
        &namespace,
        b"key-b-0123456789abcdefghijklmnopqrstu",
    )
    .await;
    let (rx_a, rx_b) = (Arc::new(Inbox::new(8)), Arc::new(Inbox::new(8)));
    hub_a
        .subscribe("agents", 1, SessionPort(rx_a.clone()))
        .await
        .unwrap();
    hub_b
        .subscribe("agents", 1, SessionPort(rx_b.clone()))
        .await
        .unwrap();
    let from = |who: &str| ServerFrame::Presence {
        agent_id: who.into(),
        state: chat_server::protocol::PresenceState::Online,
    };

    // Redis relays one namespace's publishes to every subscriber in the order it received
    // them, so each hub's next event shows whether the other's payload in between got through.
    pub_a.publish("agents".into(), &from("a1")).await;
    pub_b.publish("agents".into(), &from("b1")).await;
    pub_a.publish("agents".into(), &from("a2")).await;
    pub_b.publish("agents".into(), &from("b2")).await;
    for expected in ["b1", "b2"] {
        let got = next_text(&rx_b).await;
        assert!(
            got.contains(&format!(r#""agent_id":"{expected}""#)),
            "B got {got}"
        );
    }
    let text = metrics_b.encode();
    assert!(
        text.contains(r#"chat_bus_rejected_total{reason="bad_mac"} 2"#),
        "B refused A's two payloads:\n{text}"
    );
    pub_a.publish("agents".into(), &from("a3")).await;
    for expected in ["a1", "a2", "a3"] {
        let got = next_text(&rx_a).await;
        assert!(
            got.contains(&format!(r#""agent_id":"{expected}""#)),
            "A got {got}"
        );
    }
    let text = metrics_a.encode();
    assert!(
        text.contains(r#"chat_bus_rejected_total{reason="bad_mac"} 2"#),
        "A refused B's two payloads:\n{text}"
    );
}

/// A random per-process key would make replicas refuse each other's payloads without a sound:
/// with a Redis bus, a missing key is a start-up error naming the setting.
#[tokio::test]
async fn a_redis_bus_without_a_signing_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::try_parse_from([
        "chat-server".to_string(),
        format!("--store={}", dir.path().join("store").display()),
        format!("--upload-dir={}", dir.path().join("up").display()),
        "--bus=redis://127.0.0.1:1".to_string(),
    ])
    .unwrap();
    let err = match chat_server::server::build(&config, CancellationToken::new()).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("started without a signing key"),
    };
    assert!(
        err.contains("CHAT_SIGNING_KEY") && err.contains("Redis"),
        "{err}"
    );
}
