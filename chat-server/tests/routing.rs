//! Automatic assignment (`CHAT_AUTO_ASSIGN=round_robin`, capacity 3) across two real
//! `chat-server` processes on one Redis and one MongoDB-wire server (SecantusDB). Agents are
//! online on different replicas and conversations are created through both: each goes at once to
//! the online agent with the fewest open ones, ties in turn, never past the capacity (also when
//! both replicas create at once); the rest wait, and a freed slot or an agent coming online takes
//! the oldest waiting; a disabled agent gets none; a team's conversation goes to its members only.
//! The figures printed are the times from the cause (a create, a resolve, a socket opening) to
//! the conversation carrying its assignee.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::binary::{self, Replica};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Ws, str_of};
use serde_json::{Value, json};

const CAPACITY: u64 = 3;
/// A generous bound for "at once" / "when": far above the milliseconds these take.
const PROMPTLY: Duration = Duration::from_secs(5);
const PASSWORD: &str = "agent-desk-password-2026";

struct Desk {
    a: Replica,
    b: Replica,
    http: reqwest::Client,
    admin: String,
    visitor: String,
    /// The agents' names by id, for readable failures.
    names: BTreeMap<String, &'static str>,
    figures: Vec<(String, Duration)>,
    _redis: testkit::redis::Redis,
    _mongo: testkit::mongo::Mongo,
}

#[derive(Clone, Copy, Debug)]
enum Side {
    A,
    B,
}

impl Desk {
    async fn start() -> Self {
        let redis = testkit::redis::redis();
        let mongo = testkit::mongo::mongo();
        let store = mongo.database_uri(&testkit::unique("routing")).await;
        let mut env = binary::deployment_env(&redis.url, store);
        env.extend([
            ("CHAT_AUTO_ASSIGN", "round_robin".to_string()),
            ("CHAT_AGENT_CAPACITY", CAPACITY.to_string()),
            ("CHAT_VISITOR_MAX_OPEN_CONVERSATIONS", "50".to_string()),
            ("CHAT_LOGIN_ADDRESS_RATE", "100000".to_string()),
            ("CHAT_LOGIN_ACCOUNT_RATE", "100000".to_string()),
        ]);
        let (a, b) = (binary::start(&env), binary::start(&env));
        let http = reqwest::Client::new();
        let mut desk = Desk {
            a,
            b,
            http,
            admin: String::new(),
            visitor: String::new(),
            names: BTreeMap::new(),
            figures: Vec::new(),
            _redis: redis,
            _mongo: mongo,
        };
        desk.admin = desk.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (s, v) = desk
            .call(
                Side::A,
                "POST",
                "/api/v1/visitors",
                None,
                Some(json!({"name": "Vera"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        desk.visitor = str_of(&v, "token");
        desk
    }

    fn replica(&self, side: Side) -> &Replica {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    async fn call(
        &self,
        side: Side,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let url = format!("{}{path}", self.replica(side).base);
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn admin(&self, side: Side, method: &str, path: &str, body: Value) -> Value {
        let (s, v) = self
            .call(side, method, path, Some(&self.admin), Some(body))
            .await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let body = json!({"email": email, "password": password});
        let (s, v) = self
            .call(Side::A, "POST", "/api/v1/agents/login", None, Some(body))
            .await;
        assert_eq!(s, 200, "login of {email}: {v}");
        str_of(&v, "token")
    }

    /// A new agent: its id and a token.
    async fn agent(&mut self, name: &'static str) -> (String, String) {
        let email = format!("{}@acme.test", name.to_lowercase());
        let body = json!({"email": email, "password": PASSWORD, "name": name, "role": "agent"});
        let v = self.admin(Side::A, "POST", "/api/v1/agents", body).await;
        let id = str_of(&v, "id");
        self.names.insert(id.clone(), name);
        (id, self.login(&email, PASSWORD).await)
    }

    /// An agent socket on `side`, once both replicas list the agent online.
    async fn online(&self, side: Side, agent: &str, token: &str) -> Ws {
        let mut ws = Ws::connect_bearer(&self.replica(side).ws_base, token).await;
        ws.send(json!({"type": "ping"})).await;
        ws.expect("pong").await;
        let since = Instant::now();
        for other in [Side::A, Side::B] {
            while self.presence(other, agent).await != "online" {
                assert!(
                    since.elapsed() < PROMPTLY,
                    "{agent} not online on {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        ws
    }

    async fn presence(&self, side: Side, agent: &str) -> String {
        let (_, list) = self
            .call(side, "GET", "/api/v1/agents", Some(&self.admin), None)
            .await;
        let found = list["agents"].as_array().unwrap().iter();
        str_of(
            found.clone().find(|a| a["id"] == agent).unwrap(),
            "presence",
        )
    }

    /// A visitor's new conversation through `side`, as the creation answered it.
    async fn post_conversation(&self, side: Side) -> Value {
        let (s, c) = self
            .call(
                side,
                "POST",
                "/api/v1/conversations",
                Some(&self.visitor),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        c
    }

    /// As [`Self::post_conversation`], recording how long an assigning creation took.
    async fn create(&mut self, side: Side) -> Value {
        let at = Instant::now();
        let c = self.post_conversation(side).await;
        if !c["assignee"].is_null() {
            self.figures
                .push((format!("create on {side:?} -> assigned"), at.elapsed()));
        }
        c
    }

    /// The open conversations assigned to `agent`, newest first.
    async fn mine(&self, agent: &str) -> Vec<String> {
        let path = format!("/api/v1/conversations?status=open&assignee={agent}");
        let (_, v) = self
            .call(Side::A, "GET", &path, Some(&self.admin), None)
            .await;
        v["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect()
    }

    async fn conversation(&self, side: Side, id: &str) -> Value {
        let path = format!("/api/v1/conversations/{id}");
        let (s, c) = self.call(side, "GET", &path, Some(&self.admin), None).await;
        assert_eq!(s, 200, "{c}");
        c
    }

    /// Waits until conversation `id` is assigned (seen through `side`); to whom. Records how
    /// long since `cause`.
    async fn assigned_after(
        &mut self,
        side: Side,
        id: &str,
        cause: &str,
        since: Instant,
    ) -> String {
        loop {
            let c = self.conversation(side, id).await;
            if let Some(agent) = c["assignee"].as_str() {
                self.figures.push((cause.to_string(), since.elapsed()));
                return agent.to_string();
            }
            assert!(since.elapsed() < PROMPTLY, "{id} still waits after {cause}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn name(&self, agent: Option<&str>) -> &'static str {
        agent.map_or("nobody", |a| self.names[a])
    }

    /// Open conversations per agent name, as `side` lists them (`nobody` = waiting).
    async fn open_load(&self, side: Side) -> BTreeMap<&'static str, u64> {
        let path = "/api/v1/conversations?status=open&limit=200";
        let (_, v) = self.call(side, "GET", path, Some(&self.admin), None).await;
        let mut load = BTreeMap::new();
        for c in v["conversations"].as_array().unwrap() {
            *load.entry(self.name(c["assignee"].as_str())).or_default() += 1;
        }
        load
    }

    async fn set_status(&self, side: Side, id: &str, status: &str) {
        let path = format!("/api/v1/conversations/{id}/status");
        self.admin(side, "POST", &path, json!({"status": status}))
            .await;
    }
}

fn id(c: &Value) -> String {
    str_of(c, "id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_created_on_two_replicas_go_to_the_least_loaded_online_agent_in_turn_within_capacity()
 {
    let mut d = Desk::start().await;
    let (ana, ana_token) = d.agent("Ana").await;
    let (bia, bia_token) = d.agent("Bia").await;
    let (caio, caio_token) = d.agent("Caio").await;
    let (dani, dani_token) = d.agent("Dani").await;
    let team = d
        .admin(
            Side::A,
            "POST",
            "/api/v1/teams",
            json!({"name": "Billing", "agent_ids": [dani]}),
        )
        .await;
    let team = str_of(&team, "id");

    // Nobody online: the first conversation waits; Bia coming online (on B) takes it.
    let c1 = d.create(Side::A).await;
    assert!(c1["assignee"].is_null(), "{c1}");
    let at = Instant::now();
    let _bia_ws = d.online(Side::B, &bia, &bia_token).await;
    let got = d
        .assigned_after(
            Side::A,
            &id(&c1),
            "agent online -> waiting one assigned",
            at,
        )
        .await;
    assert_eq!(d.name(Some(&got)), "Bia");

    // Ana online on A. Each new conversation goes at once to the one with fewer open; on a tie,
    // to the one whose last turn is older (Bia first: not the older account, Ana), whichever
    // replica creates it.
    let _ana_ws = d.online(Side::A, &ana, &ana_token).await;
    let mut order = Vec::new();
    for side in [Side::B, Side::A, Side::B, Side::A] {
        let c = d.create(side).await;
        order.push(d.name(c["assignee"].as_str()));
    }
    assert_eq!(order, ["Ana", "Bia", "Ana", "Bia"]);

    // Bia is full (3), Ana has one slot. Four created at once through both replicas: one is
    // assigned, to Ana, and three wait.
    let burst = tokio::join!(
        d.post_conversation(Side::A),
        d.post_conversation(Side::B),
        d.post_conversation(Side::A),
        d.post_conversation(Side::B)
    );
    let mut waiting = Vec::new();
    let mut assigned = Vec::new();
    for c in [burst.0, burst.1, burst.2, burst.3] {
        let stored = d.conversation(Side::B, &id(&c)).await;
        assert_eq!(
            c["assignee"], stored["assignee"],
            "the creation answered the truth"
        );
        match stored["assignee"].as_str() {
            Some(agent) => assigned.push(d.name(Some(agent))),
            None => waiting.push(id(&c)),
        }
    }
    assert_eq!(assigned, ["Ana"], "one slot was free");
    let full = BTreeMap::from([("Ana", CAPACITY), ("Bia", CAPACITY), ("nobody", 3)]);
    for side in [Side::A, Side::B] {
        assert_eq!(d.open_load(side).await, full, "seen on {side:?}");
    }
    waiting.sort(); // ids are time-ordered: oldest first

    // Resolving one of Ana's (through B) frees a slot: the oldest waiting one takes it.
    let ana_first = d.mine(&ana).await[0].clone();
    let at = Instant::now();
    d.set_status(Side::B, &ana_first, "resolved").await;
    let got = d
        .assigned_after(
            Side::A,
            &waiting[0],
            "resolve -> oldest waiting assigned",
            at,
        )
        .await;
    assert_eq!(d.name(Some(&got)), "Ana");
    for w in &waiting[1..] {
        assert!(d.conversation(Side::A, w).await["assignee"].is_null());
    }

    // Dani coming online (on B) takes the two still waiting.
    let at = Instant::now();
    let _dani_ws = d.online(Side::B, &dani, &dani_token).await;
    for w in &waiting[1..] {
        let got = d
            .assigned_after(Side::A, w, "agent online -> waiting one assigned", at)
            .await;
        assert_eq!(d.name(Some(&got)), "Dani");
    }

    // Caio, online on B with nothing open, is disabled through A; a conversation created on A
    // right after (while A may still see his socket) goes to Dani, not to him.
    let _caio_ws = d.online(Side::B, &caio, &caio_token).await;
    let path = format!("/api/v1/agents/{caio}");
    d.admin(Side::A, "PATCH", &path, json!({"disabled": true}))
        .await;
    let c = d.create(Side::A).await;
    assert_eq!(d.name(c["assignee"].as_str()), "Dani", "{c}");
    assert!(d.mine(&caio).await.is_empty());

    // Everyone is full. Bia frees a slot; one of Ana's moves to the Billing team: it waits for
    // Dani (full), though Ana and Bia have room.
    let bia_first = d.mine(&bia).await[0].clone();
    d.set_status(Side::A, &bia_first, "resolved").await;
    let moved = d.mine(&ana).await[0].clone();
    let path = format!("/api/v1/conversations/{moved}/assign");
    let body = json!({"team_id": team, "agent_id": null});
    let v = d.admin(Side::B, "POST", &path, body).await;
    assert_eq!(v["team_id"], team.as_str());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = d.conversation(Side::A, &moved).await;
    assert!(c["assignee"].is_null(), "went outside its team: {c}");
    // Dani frees a slot: the team's conversation goes to Dani.
    let dani_first = d.mine(&dani).await[0].clone();
    let at = Instant::now();
    d.set_status(Side::A, &dani_first, "resolved").await;
    let got = d
        .assigned_after(
            Side::B,
            &moved,
            "resolve -> team's waiting one assigned",
            at,
        )
        .await;
    assert_eq!(d.name(Some(&got)), "Dani");
    for side in [Side::A, Side::B] {
        let load = d.open_load(side).await;
        assert!(
            load.iter()
                .all(|(who, n)| *who == "nobody" || *n <= CAPACITY),
            "past capacity on {side:?}: {load:?}"
        );
    }
    for (what, took) in &d.figures {
        eprintln!("routing: {what}: {took:?}");
    }
}
