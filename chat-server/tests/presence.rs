//! Presence across replicas: three real `chat-server` processes on one Redis and one
//! MongoDB-wire server (SecantusDB), with the default heartbeat (15 s), so the bound measured is
//! the one deployed. An agent is online while any of its sockets on any replica is; closing one
//! of two sockets changes nothing anywhere; `kill -9` of the replica holding its last socket
//! makes it offline on every other replica within the contract's 60 s.

mod common;

use std::time::{Duration, Instant};

use common::binary::{self, Replica};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Ws, str_of};
use serde_json::{Value, json};

/// The contract's bound for a dead replica's sockets to stop counting.
const DEAD_REPLICA_BOUND: Duration = Duration::from_secs(60);
/// Far above a bus round trip: long enough for every replica to hear an announcement.
const SETTLE: Duration = Duration::from_secs(1);

struct Desk {
    http: reqwest::Client,
    admin: String,
}

impl Desk {
    async fn new(r: &Replica) -> Self {
        let http = reqwest::Client::new();
        let admin = login(&http, r, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        Self { http, admin }
    }

    /// A new agent: its id and a token.
    async fn agent(&self, r: &Replica, name: &str) -> (String, String) {
        let email = format!("{}@acme.test", name.to_lowercase());
        let created: Value = self
            .http
            .post(format!("{}/api/v1/agents", r.base))
            .bearer_auth(&self.admin)
            .json(&json!({"email": email, "password": PASSWORD, "name": name, "role": "agent"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login(&self.http, r, &email, PASSWORD).await;
        (str_of(&created, "id"), token)
    }

    /// `agent_id`'s presence as `GET /api/v1/agents` on `r` reports it.
    async fn presence_on(&self, r: &Replica, agent_id: &str) -> String {
        let list: Value = self
            .http
            .get(format!("{}/api/v1/agents", r.base))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let agent = list["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == agent_id)
            .unwrap_or_else(|| panic!("{agent_id} listed in {list}"));
        str_of(agent, "presence")
    }
}

const PASSWORD: &str = "ana-desk-password-2026";

async fn login(http: &reqwest::Client, r: &Replica, email: &str, password: &str) -> String {
    let v: Value = http
        .post(format!("{}/api/v1/agents/login", r.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    str_of(&v, "token")
}

async fn socket(r: &Replica, token: &str) -> Ws {
    let mut ws = Ws::connect_bearer(&r.ws_base, token).await;
    ws.send(json!({"type": "ping"})).await;
    ws.expect("pong").await;
    ws
}

/// The presence frames about `agent_id` that `ws` receives within `wait`.
async fn presence_frames(ws: &mut Ws, agent_id: &str, wait: Duration) -> Vec<String> {
    let until = Instant::now() + wait;
    let mut seen = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match ws.next_within(left).await {
            Ok(Some(f)) if f["type"] == "presence" && f["agent_id"] == agent_id => {
                seen.push(str_of(&f, "state"))
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("the watcher's socket closed"),
            Err(()) => break,
        }
    }
    seen
}

/// Waits (pinging, so the socket never idles out) until `ws` hears `agent_id` go `state`;
/// when that was, counted from `since`.
async fn until_presence(ws: &mut Ws, agent_id: &str, state: &str, since: Instant) -> Duration {
    let mut pinged = Instant::now();
    loop {
        let waited = since.elapsed();
        assert!(
            waited < DEAD_REPLICA_BOUND,
            "no {state} frame for {agent_id} within {waited:?}"
        );
        if pinged.elapsed() > Duration::from_secs(10) {
            ws.send(json!({"type": "ping"})).await;
            pinged = Instant::now();
        }
        match ws.next_within(Duration::from_millis(500)).await {
            Ok(Some(f)) if f["type"] == "presence" && f["agent_id"] == agent_id => {
                if f["state"] == state {
                    return since.elapsed();
                }
            }
            Ok(Some(_)) | Err(()) => {}
            Ok(None) => panic!("the watcher's socket closed"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_stays_online_while_any_replica_has_its_socket_and_a_killed_replica_takes_it_offline_within_60_s()
 {
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let store = mongo.database_uri(&testkit::unique("presence")).await;
    let env = binary::deployment_env(&redis.url, store);
    let a = binary::start(&env);
    let mut b = binary::start(&env);
    let desk = Desk::new(&a).await;
    let (ana, ana_token) = desk.agent(&a, "Ana").await;
    let (_, bia_token) = desk.agent(&a, "Bia").await;
    let mut watcher_a = socket(&a, &bia_token).await;
    let mut watcher_b = socket(&b, &bia_token).await;

    let mut ana_on_a = socket(&a, &ana_token).await;
    for watcher in [&mut watcher_a, &mut watcher_b] {
        let took = until_presence(watcher, &ana, "online", Instant::now()).await;
        assert!(took < SETTLE, "online heard after {took:?}");
    }
    let ana_on_b = socket(&b, &ana_token).await;
    tokio::time::sleep(SETTLE).await;

    // Ana's socket on A closes; the one on B keeps her online everywhere.
    ana_on_a.stream.close(None).await.unwrap();
    drop(ana_on_a);
    for (name, watcher) in [("A", &mut watcher_a), ("B", &mut watcher_b)] {
        let frames = presence_frames(watcher, &ana, Duration::from_secs(2)).await;
        assert!(
            frames.is_empty(),
            "the watcher on {name} heard {frames:?} about Ana"
        );
    }
    for r in [&a, &b] {
        assert_eq!(desk.presence_on(r, &ana).await, "online");
    }

    // A replica started now asks, and learns at once who is online elsewhere.
    let c = binary::start(&env);
    let started = Instant::now();
    while desk.presence_on(&c, &ana).await != "online" {
        assert!(
            started.elapsed() < SETTLE * 3,
            "a new replica did not learn Ana's presence"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let learned = started.elapsed();
    let mut watcher_c = socket(&c, &bia_token).await;

    // B dies without a word: Ana's last socket goes with it.
    let killed = Instant::now();
    b.guard.kill();
    drop(ana_on_b);
    drop(watcher_b);
    let (heard_on_a, heard_on_c) = tokio::join!(
        until_presence(&mut watcher_a, &ana, "offline", killed),
        until_presence(&mut watcher_c, &ana, "offline", killed)
    );
    for r in [&a, &c] {
        assert_eq!(desk.presence_on(r, &ana).await, "offline");
    }
    eprintln!(
        "presence: a replica started later learned Ana was online within {learned:?}; after \
         kill -9 of the replica holding her last socket, A's watcher heard offline after \
         {heard_on_a:?}, C's after {heard_on_c:?} (bound {DEAD_REPLICA_BOUND:?}; 45 s after the \
         dead replica's last heartbeat)"
    );
}

/// A replica stopped on purpose (SIGTERM, as Kubernetes does) says it hosts nobody as it goes:
/// its agents go offline on the others at once, not after the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_stops_takes_its_agents_offline_at_once() {
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let store = mongo.database_uri(&testkit::unique("presence")).await;
    let env = binary::deployment_env(&redis.url, store);
    let a = binary::start(&env);
    let b = binary::start(&env);
    let desk = Desk::new(&a).await;
    let (ana, ana_token) = desk.agent(&a, "Ana").await;
    let (_, bia_token) = desk.agent(&a, "Bia").await;
    let mut watcher = socket(&a, &bia_token).await;
    let _ana_on_b = socket(&b, &ana_token).await;
    until_presence(&mut watcher, &ana, "online", Instant::now()).await;

    let stopping = Instant::now();
    b.guard.signal("TERM");
    let took = until_presence(&mut watcher, &ana, "offline", stopping).await;
    assert!(took < Duration::from_secs(5), "offline after {took:?}");
    assert_eq!(desk.presence_on(&a, &ana).await, "offline");
    eprintln!("presence: SIGTERM of the replica holding Ana's socket: offline on A after {took:?}");
}
