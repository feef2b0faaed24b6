//! Satisfaction ratings and the summary report, black box over real `chat-server` processes:
//! two replicas on one Redis and one MongoDB-wire server (SecantusDB), and one replica on the
//! embedded store.
//!
//! The report's figures are checked exactly against a scripted day: conversations with known
//! creation, message, resolution and rating times are written through the store the servers
//! use (`Store::import_conversations`, the way the benchmark fills it), so no test waits for a
//! clock; the live paths (appends, resolving, rating over REST) are checked on top of that.

mod common;

use std::sync::Arc;

use chat_server::model::{
    Author, AuthorKind, Conversation, ConversationStatus, Message, Rating, VisitorRef, new_id,
};
use chat_server::store::{self, Store};
use chrono::{DateTime, Duration, Utc};
use common::binary::{self, Replica};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, str_of};
use serde_json::{Value, json};

const PASSWORD: &str = "agent-desk-password-2026";

/// Replicas of one deployment and the store they share, opened by the test as well.
struct Desk {
    replicas: Vec<Replica>,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    admin: String,
    _keep: Vec<Box<dyn std::any::Any>>,
}

impl Desk {
    /// Two replicas on SecantusDB and Redis.
    async fn mongo() -> Self {
        let redis = testkit::redis::redis();
        let mongo = testkit::mongo::mongo();
        let uri = mongo.database_uri(&testkit::unique("reports")).await;
        let env = with_limits(binary::deployment_env(&redis.url, uri.clone()));
        let replicas = vec![binary::start(&env), binary::start(&env)];
        let store = store::open(&uri.parse().unwrap()).await.unwrap();
        Self::with(replicas, store, vec![Box::new(redis), Box::new(mongo)]).await
    }

    /// One replica on the embedded store (a second process, the test, opens the same file).
    async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut env = with_limits(binary::deployment_env("local", data.display().to_string()));
        env.push((
            "CHAT_UPLOAD_DIR",
            dir.path().join("up").display().to_string(),
        ));
        let replicas = vec![binary::start(&env)];
        let store = store::open(&data.display().to_string().parse().unwrap())
            .await
            .unwrap();
        Self::with(replicas, store, vec![Box::new(dir)]).await
    }

    async fn with(
        replicas: Vec<Replica>,
        store: Arc<dyn Store>,
        keep: Vec<Box<dyn std::any::Any>>,
    ) -> Self {
        let mut desk = Self {
            replicas,
            store,
            http: reqwest::Client::new(),
            admin: String::new(),
            _keep: keep,
        };
        desk.admin = desk.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.1;
        desk
    }

    async fn call(
        &self,
        replica: usize,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let base = &self.replicas[replica % self.replicas.len()].base;
        let mut req = self.http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, email: &str, password: &str) -> (String, String) {
        let body = json!({"email": email, "password": password});
        let (s, v) = self
            .call(0, "POST", "/api/v1/agents/login", None, Some(body))
            .await;
        assert_eq!(s, 200, "login of {email}: {v}");
        (str_of(&v, "agent_id"), str_of(&v, "token"))
    }

    /// A new agent: (id, token).
    async fn agent(&self, name: &str) -> (String, String) {
        let email = format!("{}@acme.test", name.to_lowercase());
        let body = json!({"email": email, "password": PASSWORD, "name": name, "role": "agent"});
        let (s, v) = self
            .call(0, "POST", "/api/v1/agents", Some(&self.admin), Some(body))
            .await;
        assert_eq!(s, 201, "{v}");
        self.login(&email, PASSWORD).await
    }

    async fn visitor(&self) -> String {
        let (s, v) = self
            .call(
                0,
                "POST",
                "/api/v1/visitors",
                None,
                Some(json!({"name": "Vera"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        str_of(&v, "token")
    }

    async fn summary(&self, query: &str, token: &str) -> (u16, Value) {
        self.call(
            1,
            "GET",
            &format!("/api/v1/reports/summary?{query}"),
            Some(token),
            None,
        )
        .await
    }
}

/// Tests sign in several times from one address; the login limits have tests of their own.
fn with_limits(mut env: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    env.extend([
        ("CHAT_LOGIN_ADDRESS_RATE", "100000".to_string()),
        ("CHAT_LOGIN_ACCOUNT_RATE", "100000".to_string()),
    ]);
    env
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One scripted conversation: created at `created`; `messages` as (author, private, seconds
/// after creation); resolved `resolved` seconds after creation; rated `score`.
fn scripted(
    created: &str,
    assignee: Option<&str>,
    messages: &[(AuthorKind, bool, i64)],
    resolved: Option<i64>,
    score: Option<u8>,
) -> (Conversation, Vec<Message>) {
    let created = t(created);
    let id = new_id();
    let after = |s: i64| created + Duration::seconds(s);
    let conversation = Conversation {
        id: id.clone(),
        status: match resolved {
            Some(_) => ConversationStatus::Resolved,
            None => ConversationStatus::Open,
        },
        visitor: VisitorRef {
            id: new_id(),
            name: Some("Vera".into()),
        },
        assignee: assignee.map(str::to_string),
        created_at: created,
        updated_at: created,
        last_seq: 0,
        last_public_seq: 0,
        read: Default::default(),
        labels: Vec::new(),
        team_id: None,
        resolved_at: resolved.map(after),
        rating: score.map(|score| Rating {
            score,
            comment: None,
            created_at: after(7200),
        }),
        unread: None,
    };
    let messages = (1..)
        .zip(messages)
        .map(|(seq, (kind, private, at))| Message {
            id: new_id(),
            conversation_id: id.clone(),
            seq,
            client_msg_id: None,
            author: Author {
                kind: *kind,
                id: "someone".into(),
                name: None,
            },
            body: format!("message {seq}"),
            attachments: Vec::new(),
            private: *private,
            created_at: after(*at),
        })
        .collect();
    (conversation, messages)
}

/// The scripted day (2026-11-02, UTC) and its neighbours. First responses on the day: 30, 60,
/// 90 (Ana), 120, 300 (Bruno; after a greeting, a system line and a note, none of which count)
/// seconds; resolutions 600, 1200 (Ana), 1800, 3600 (Bruno) seconds; ratings 5, 4 (Ana), 2
/// (Bruno); one unassigned conversation nobody answered.
async fn script_the_day(desk: &Desk, ana: &str, bruno: &str) {
    use AuthorKind::{Agent, System, Visitor};
    let day = vec![
        scripted(
            "2026-11-02T09:00:00Z",
            Some(ana),
            &[(Visitor, false, 10), (Agent, false, 40)],
            Some(600),
            Some(5),
        ),
        scripted(
            "2026-11-02T09:30:00Z",
            Some(ana),
            &[(Visitor, false, 10), (Agent, false, 70), (Agent, false, 80)],
            Some(1200),
            Some(4),
        ),
        scripted(
            "2026-11-02T10:00:00Z",
            Some(ana),
            &[
                (Visitor, false, 10),
                (Visitor, false, 50),
                (Agent, false, 100),
            ],
            None,
            None,
        ),
        scripted(
            "2026-11-02T11:00:00Z",
            Some(bruno),
            &[(Visitor, false, 10), (Agent, false, 130)],
            Some(1800),
            Some(2),
        ),
        scripted(
            "2026-11-02T13:00:00Z",
            Some(bruno),
            &[
                (Agent, false, 0),
                (Visitor, false, 10),
                (System, false, 15),
                (Agent, true, 20),
                (Agent, false, 310),
            ],
            Some(3600),
            None,
        ),
        scripted(
            "2026-11-02T15:00:00Z",
            None,
            &[(Visitor, false, 10)],
            None,
            None,
        ),
        // The next day, and the last second of the day before.
        scripted(
            "2026-11-03T10:00:00Z",
            Some(ana),
            &[(Visitor, false, 10), (Agent, false, 55)],
            Some(300),
            Some(3),
        ),
        scripted(
            "2026-11-01T23:59:59Z",
            Some(bruno),
            &[(Visitor, false, 1)],
            None,
            None,
        ),
    ];
    desk.store.import_conversations(day).await.unwrap();
}

async fn the_summary_of_a_scripted_day_has_exact_figures(desk: Desk) {
    let (ana, ana_token) = desk.agent("Ana").await;
    let (bruno, _) = desk.agent("Bruno").await;
    script_the_day(&desk, &ana, &bruno).await;

    let (s, day) = desk
        .summary("from=2026-11-02&to=2026-11-02", &ana_token)
        .await;
    assert_eq!(s, 200, "{day}");
    let csat = |average: Value, responses: u64, scores: [u64; 5]| json!({"average": average, "responses": responses, "scores": scores});
    assert_eq!(
        (&day["from"], &day["to"]),
        (
            &json!("2026-11-02T00:00:00Z"),
            &json!("2026-11-03T00:00:00Z")
        )
    );
    assert_eq!(
        (&day["conversations"], &day["resolved"]),
        (&json!(6), &json!(4))
    );
    assert_eq!(
        day["first_response_seconds"],
        json!({"median": 90.0, "p90": 228.0, "count": 5})
    );
    assert_eq!(
        day["resolution_seconds"],
        json!({"median": 1500.0, "p90": 3060.0, "count": 4})
    );
    assert_eq!(day["csat"], csat(json!(3.67), 3, [0, 1, 0, 1, 1]));
    assert_eq!(
        day["by_agent"],
        json!([
            {"agent_id": ana, "name": "Ana", "conversations": 3, "resolved": 2,
             "first_response_median_seconds": 60.0, "resolution_median_seconds": 900.0,
             "csat": csat(json!(4.5), 2, [0, 0, 0, 1, 1])},
            {"agent_id": bruno, "name": "Bruno", "conversations": 2, "resolved": 2,
             "first_response_median_seconds": 210.0, "resolution_median_seconds": 2700.0,
             "csat": csat(json!(2.0), 1, [0, 1, 0, 0, 0])},
            {"agent_id": null, "name": null, "conversations": 1, "resolved": 0,
             "first_response_median_seconds": null, "resolution_median_seconds": null,
             "csat": csat(Value::Null, 0, [0; 5])},
        ])
    );
    assert_eq!(
        day["by_day"],
        json!([{"date": "2026-11-02", "conversations": 6, "resolved": 4,
                "first_response_median_seconds": 90.0, "resolution_median_seconds": 1500.0,
                "csat": csat(json!(3.67), 3, [0, 1, 0, 1, 1])}])
    );

    // Two days: the second day's conversation joins; by_day has a row per day.
    let (s, two) = desk
        .summary("from=2026-11-02&to=2026-11-03", &desk.admin)
        .await;
    assert_eq!(s, 200, "{two}");
    assert_eq!(
        (&two["conversations"], &two["resolved"]),
        (&json!(7), &json!(5))
    );
    let days: Vec<(Value, Value, Value)> = two["by_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].clone(),
                d["conversations"].clone(),
                d["first_response_median_seconds"].clone(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            (json!("2026-11-02"), json!(6), json!(90.0)),
            (json!("2026-11-03"), json!(1), json!(45.0))
        ]
    );
    // Times are taken as given, `to` excluded: the last second of 1 November alone.
    let (s, edge) = desk
        .summary(
            "from=2026-11-01T23:00:00Z&to=2026-11-02T00:00:00%2B00:00",
            &ana_token,
        )
        .await;
    assert_eq!(s, 200, "{edge}");
    assert_eq!(
        (
            &edge["conversations"],
            &edge["first_response_seconds"]["count"]
        ),
        (&json!(1), &json!(0))
    );

    // Refusals name what is wrong.
    for (query, code, field) in [
        ("from=yesterday&to=2026-11-02", "invalid_time", "from"),
        ("from=2026-11-02&to=2026-11-31", "invalid_time", "to"),
        ("from=2026-11-03&to=2026-11-02", "invalid_range", "from"),
        ("from=2024-01-01&to=2026-11-02", "range_too_long", "from"),
    ] {
        let (s, e) = desk.summary(query, &ana_token).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {e}"
        );
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{query}: {message}");
    }
    let visitor = desk.visitor().await;
    let (s, e) = desk.summary("", &visitor).await;
    assert_eq!(s, 403, "a visitor sees no report: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_of_a_scripted_day_has_exact_figures_on_mongodb() {
    the_summary_of_a_scripted_day_has_exact_figures(Desk::mongo().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_of_a_scripted_day_has_exact_figures_on_the_embedded_store() {
    the_summary_of_a_scripted_day_has_exact_figures(Desk::embedded().await).await
}

/// The live path on two replicas: a visitor's conversation, answered and resolved by an agent
/// on one replica, rated on the other; the rules of a rating; and the rating, response and
/// resolution in today's summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_rates_its_resolved_conversation_once_and_agents_see_it() {
    let desk = Desk::mongo().await;
    let (ana, ana_token) = desk.agent("Ana").await;
    let visitor = desk.visitor().await;
    let (s, c) = desk
        .call(
            0,
            "POST",
            "/api/v1/conversations",
            Some(&visitor),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = str_of(&c, "id");
    let path = format!("/api/v1/conversations/{id}");
    let rate = |replica: usize, token: String, body: Value| {
        let path = format!("{path}/rating");
        let desk = &desk;
        async move {
            desk.call(replica, "POST", &path, Some(&token), Some(body))
                .await
        }
    };
    for (who, body) in [("visitor", &visitor), ("agent", &ana_token)] {
        let (s, m) = desk
            .call(
                0,
                "POST",
                &format!("{path}/messages"),
                Some(body),
                Some(json!({"body": format!("from the {who}"), "client_msg_id": who})),
            )
            .await;
        assert_eq!(s, 201, "{m}");
    }

    // Not resolved yet.
    let (s, e) = rate(1, visitor.clone(), json!({"score": 5})).await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (409, &json!("not_resolved")),
        "{e}"
    );

    let (s, a) = desk
        .call(
            0,
            "POST",
            &format!("{path}/assign"),
            Some(&ana_token),
            Some(json!({"agent_id": ana})),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let (s, resolved) = desk
        .call(
            0,
            "POST",
            &format!("{path}/status"),
            Some(&ana_token),
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(s, 200, "{resolved}");
    assert!(resolved["resolved_at"].is_string(), "{resolved}");

    // Bad bodies are refused naming the field; nothing is stored.
    for (body, code, named) in [
        (json!({"score": 0}), "invalid_score", "score"),
        (json!({"score": 6}), "invalid_score", "score"),
        (json!({"score": 4.5}), "invalid_score", "score"),
        (json!({"comment": "no score"}), "invalid_score", "score"),
        (
            json!({"score": 4, "comment": "x".repeat(1001)}),
            "comment_too_long",
            "comment",
        ),
    ] {
        let (s, e) = rate(0, visitor.clone(), body.clone()).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}: {e}"
        );
        assert!(
            e["error"]["message"].as_str().unwrap().starts_with(named),
            "{e}"
        );
    }
    // Another visitor, and an agent, may not rate it.
    let stranger = desk.visitor().await;
    let (s, e) = rate(0, stranger, json!({"score": 1})).await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = rate(0, ana_token.clone(), json!({"score": 5})).await;
    assert_eq!(s, 403, "{e}");

    let (s, r) = rate(
        1,
        visitor.clone(),
        json!({"score": 4, "comment": "  Muito bom!  "}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        (&r["score"], &r["comment"]),
        (&json!(4), &json!("Muito bom!"))
    );
    // A second rating, on either replica, is refused and changes nothing.
    for replica in [0, 1] {
        let (s, e) = rate(replica, visitor.clone(), json!({"score": 1})).await;
        assert_eq!(
            (s, &e["error"]["code"]),
            (409, &json!("already_rated")),
            "{e}"
        );
    }
    let (s, seen) = desk.call(0, "GET", &path, Some(&ana_token), None).await;
    assert_eq!(s, 200, "{seen}");
    assert_eq!(
        seen["rating"], r,
        "the agent sees the rating on the conversation"
    );

    // Today's summary counts the live conversation: answered, resolved and rated.
    let (s, today) = desk.summary("", &ana_token).await;
    assert_eq!(s, 200, "{today}");
    assert_eq!(
        (&today["conversations"], &today["resolved"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(today["first_response_seconds"]["count"], 1, "{today}");
    assert_eq!(today["resolution_seconds"]["count"], 1, "{today}");
    assert_eq!(today["csat"]["average"], 4.0, "{today}");
    assert_eq!(today["by_agent"][0]["agent_id"], json!(ana), "{today}");
}
