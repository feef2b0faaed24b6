//! Webhooks end to end: real `chat-server` processes (embedded store, and SecantusDB with a Redis
//! bus for the crash test), and a receiver (`testkit::webhooks`) that verifies every request with
//! the Standard Webhooks reference library (PyPI `standardwebhooks`), which nobody here wrote.
//!
//! What each test shows: every event is signed so the reference verifier accepts it, and notes
//! say `"private": true`; a failing receiver gets the same `webhook-id` again until it recovers,
//! and a conversation's events still arrive in order; a receiver slower than 10 s counts as a
//! failure; non-public URLs are refused when made and again at delivery, unless
//! CHAT_WEBHOOK_ALLOW_PRIVATE, and so is a host that does not resolve; a `kill -9` in the middle of a burst loses no answered event.
//! Retries are fast through the hidden CHAT_WEBHOOK_RETRY_BASE_MS; nothing here sleeps long.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::binary::{self, Replica};
use common::http::call;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY};
use serde_json::{Value, json};
use testkit::webhooks::{Mode, Receiver, spawn_receiver};

/// Env for one replica on the embedded store in `dir`, reaching receivers on 127.0.0.1.
fn embedded_env(dir: &std::path::Path, allow_private: bool) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CHAT_STORE", dir.join("store").display().to_string()),
        ("CHAT_UPLOAD_DIR", dir.join("uploads").display().to_string()),
        ("CHAT_SIGNING_KEY", SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
    ];
    env.extend(fast(allow_private));
    env
}

/// Retries 200 ms apart (doubling), the shortest lease allowed, and limits out of the way.
fn fast(allow_private: bool) -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_WEBHOOK_ALLOW_PRIVATE", allow_private.to_string()),
        ("CHAT_WEBHOOK_RETRY_BASE_MS", "200".to_string()),
        ("CHAT_WEBHOOK_LEASE_SECS", "11".to_string()),
        ("CHAT_LOGIN_ADDRESS_RATE", "100000".to_string()),
        ("CHAT_WS_RATE", "10000".to_string()),
        ("CHAT_WS_BURST", "10000".to_string()),
    ]
}

async fn admin(base: &str) -> String {
    let (s, b) = call(
        base,
        "POST",
        "/agents/login",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["token"].as_str().unwrap().to_string()
}

/// A visitor's token and a new conversation of it.
async fn conversation(base: &str) -> (String, String) {
    let (s, v) = call(
        base,
        "POST",
        "/visitors",
        None,
        Some(json!({"name": "Vera"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let (s, c) = call(
        base,
        "POST",
        "/conversations",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    (token, c["id"].as_str().unwrap().to_string())
}

/// Registers the receiver for `events` and tells it the secret.
async fn register(base: &str, admin: &str, receiver: &Receiver, events: &[&str]) -> String {
    let (s, hook) = call(
        base,
        "POST",
        "/webhooks",
        Some(admin),
        Some(json!({"url": receiver.url, "events": events})),
    )
    .await;
    assert_eq!(s, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{hook}");
    receiver.set_secret(secret);
    hook["id"].as_str().unwrap().to_string()
}

async fn send(
    base: &str,
    token: &str,
    conversation: &str,
    body: &str,
    private: bool,
) -> (u16, Value) {
    call(
        base,
        "POST",
        &format!("/conversations/{conversation}/messages"),
        Some(token),
        Some(json!({"body": body, "client_msg_id": body, "private": private})),
    )
    .await
}

/// The receiver's requests as JSON, with the body parsed.
fn parsed(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let mut r: Value = serde_json::from_str(l).expect("a JSON line");
            r["event"] = serde_json::from_str(r["body"].as_str().unwrap()).unwrap_or(Value::Null);
            r
        })
        .collect()
}

fn delivered(r: &Value) -> bool {
    r["verified"] == true && r["status"] == 204
}

fn wait(receiver: &Receiver, secs: u64, done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let mut done = done;
    let got = receiver
        .wait_until(Duration::from_secs(secs), |lines| done(&parsed(lines)))
        .unwrap_or_else(|e| panic!("{e}"));
    parsed(&got)
}

async fn deliveries(base: &str, admin: &str, hook: &str) -> Vec<Value> {
    let (s, page) = call(
        base,
        "GET",
        &format!("/webhooks/{hook}/deliveries?limit=200"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(s, 200, "{page}");
    page["deliveries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_signed_so_the_reference_verifier_accepts_it_and_notes_say_private() {
    let receiver = spawn_receiver(12.0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = binary::start(&embedded_env(dir.path(), true));
    let base = &server.base;
    let admin = admin(base).await;
    let hook = register(
        base,
        &admin,
        &receiver,
        &[
            "conversation.created",
            "conversation.updated",
            "message.created",
            "rating.created",
        ],
    )
    .await;
    let (s, listed) = call(base, "GET", "/webhooks", Some(&admin), None).await;
    assert_eq!(s, 200);
    assert_eq!(listed["webhooks"][0]["id"], hook.as_str());
    assert!(listed["webhooks"][0].get("secret").is_none(), "{listed}");

    let (visitor, conv) = conversation(base).await;
    assert_eq!(send(base, &visitor, &conv, "hello", false).await.0, 201);
    assert_eq!(send(base, &admin, &conv, "vip customer", true).await.0, 201);
    let (s, _) = call(
        base,
        "POST",
        &format!("/conversations/{conv}/status"),
        Some(&admin),
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        base,
        "POST",
        &format!("/conversations/{conv}/rating"),
        Some(&visitor),
        Some(json!({"score": 4, "comment": "quick"})),
    )
    .await;
    assert_eq!(s, 201);

    let got = wait(&receiver, 20, |r| {
        r.iter().filter(|r| delivered(r)).count() >= 5
    });
    assert!(
        got.iter().all(delivered),
        "every request verified: {got:#?}"
    );
    let types: Vec<&str> = got
        .iter()
        .map(|r| r["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "conversation.created",
            "message.created",
            "message.created",
            "conversation.updated",
            "rating.created"
        ],
        "one conversation's events in the order they happened"
    );
    assert_eq!(got[0]["event"]["data"]["id"], conv.as_str());
    assert_eq!(got[1]["event"]["data"]["body"], "hello");
    assert!(
        got[1]["event"]["data"].get("private").is_none(),
        "{}",
        got[1]
    );
    assert_eq!(got[2]["event"]["data"]["private"], true, "a note says so");
    assert_eq!(got[3]["event"]["data"]["status"], "resolved");
    assert_eq!(
        got[4]["event"]["data"],
        json!({"conversation_id": conv, "score": 4, "comment": "quick",
               "created_at": got[4]["event"]["data"]["created_at"]}),
    );
    assert!(got[4]["event"]["data"]["created_at"].is_string());
    for r in &got {
        assert!(r["webhook_id"].as_str().unwrap().starts_with("msg_"));
        assert!(
            r["event"]["timestamp"].as_str().unwrap().ends_with('Z'),
            "{r}"
        );
    }

    // The receiver really checks: with another secret the same kind of request fails it.
    receiver.set_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_eq!(send(base, &visitor, &conv, "again", false).await.0, 201);
    let got = wait(&receiver, 20, |r| r.len() >= 6);
    assert_eq!(got[5]["verified"], false, "{}", got[5]);

    let log = deliveries(base, &admin, &hook).await;
    let first = log
        .iter()
        .find(|a| a["event_id"] == got[0]["webhook_id"])
        .unwrap();
    assert_eq!(
        (&first["type"], &first["attempt"], &first["status"]),
        (
            &json!("conversation.created"),
            &json!(1),
            &json!("delivered")
        )
    );
    assert!(first["at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_the_same_event_again_until_it_recovers_and_order_is_kept() {
    let receiver = spawn_receiver(12.0).unwrap();
    receiver.set_mode(Mode::Fail);
    let dir = tempfile::tempdir().unwrap();
    let server = binary::start(&embedded_env(dir.path(), true));
    let base = &server.base;
    let admin = admin(base).await;
    let hook = register(base, &admin, &receiver, &["message.created"]).await;
    let (visitor, conv) = conversation(base).await;
    let (other_visitor, other) = conversation(base).await;
    for body in ["m1", "m2", "m3"] {
        assert_eq!(send(base, &visitor, &conv, body, false).await.0, 201);
    }
    assert_eq!(send(base, &other_visitor, &other, "x1", false).await.0, 201);

    // Failing: m1 and x1 (another conversation) are tried again and again; m2 waits behind m1.
    let failing = wait(&receiver, 20, |r| {
        r.iter()
            .filter(|r| r["event"]["data"]["body"] == "m1")
            .count()
            >= 3
    });
    let bodies: HashSet<&str> = failing
        .iter()
        .map(|r| r["event"]["data"]["body"].as_str().unwrap())
        .collect();
    assert!(
        !bodies.contains("m2") && !bodies.contains("m3"),
        "{bodies:?}"
    );
    let m1_ids: HashSet<&str> = failing
        .iter()
        .filter(|r| r["event"]["data"]["body"] == "m1")
        .map(|r| r["webhook_id"].as_str().unwrap())
        .collect();
    assert_eq!(m1_ids.len(), 1, "the same webhook-id on every retry");
    assert!(
        failing.iter().all(|r| r["verified"] == true),
        "retries are signed afresh"
    );

    receiver.set_mode(Mode::Ok);
    let got = wait(&receiver, 30, |r| {
        r.iter().filter(|r| delivered(r)).count() >= 4
    });
    let order: Vec<&str> = got
        .iter()
        .filter(|r| r["event"]["data"]["conversation_id"] == conv.as_str())
        .map(|r| r["event"]["data"]["body"].as_str().unwrap())
        .collect();
    let first_m2 = order.iter().position(|b| *b == "m2").unwrap();
    assert!(order[..first_m2].iter().all(|b| *b == "m1"), "{order:?}");
    let delivered_order: Vec<&str> = got
        .iter()
        .filter(|r| delivered(r) && r["event"]["data"]["conversation_id"] == conv.as_str())
        .map(|r| r["event"]["data"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(delivered_order, ["m1", "m2", "m3"]);

    let log = deliveries(base, &admin, &hook).await;
    let m1 = m1_ids.iter().next().unwrap();
    let mut attempts: Vec<(u64, String)> = log
        .iter()
        .filter(|a| a["event_id"] == *m1)
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    attempts.sort();
    let n = attempts.len() as u64;
    assert!(n >= 4, "{attempts:?}");
    assert_eq!(attempts.last().unwrap(), &(n, "delivered".to_string()));
    assert!(
        attempts[..attempts.len() - 1]
            .iter()
            .enumerate()
            .all(|(i, a)| *a == (i as u64 + 1, "retrying".to_string())),
        "{attempts:?}"
    );
    let failed_one = log.iter().find(|a| a["status"] == "retrying").unwrap();
    assert_eq!(failed_one["response_status"], 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_slower_than_ten_seconds_counts_as_a_failure_and_gets_the_event_again() {
    let receiver = spawn_receiver(12.0).unwrap();
    receiver.set_mode(Mode::Slow);
    let dir = tempfile::tempdir().unwrap();
    let server = binary::start(&embedded_env(dir.path(), true));
    let base = &server.base;
    let admin = admin(base).await;
    let hook = register(base, &admin, &receiver, &["message.created"]).await;
    let (visitor, conv) = conversation(base).await;
    let started = Instant::now();
    assert_eq!(send(base, &visitor, &conv, "slow", false).await.0, 201);
    let timed_out = loop {
        let log = deliveries(base, &admin, &hook).await;
        if let Some(a) = log.iter().find(|a| a["error"] == "timeout") {
            break a.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no timeout logged: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(12),
        "the attempt was cut at 10 s, not before and not at the receiver's 12 s: {waited:?}"
    );
    assert_eq!(
        (&timed_out["attempt"], &timed_out["status"]),
        (&json!(1), &json!("retrying"))
    );

    receiver.set_mode(Mode::Ok);
    let got = wait(&receiver, 20, |r| {
        r.iter().any(delivered) && r.iter().any(|r| r["mode"] == "slow")
    });
    let ids: HashSet<&str> = got
        .iter()
        .map(|r| r["webhook_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "the retry carries the same webhook-id: {got:#?}"
    );
    let log = deliveries(base, &admin, &hook).await;
    assert!(
        log.iter()
            .any(|a| a["status"] == "delivered" && a["attempt"].as_u64() >= Some(2)),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_on_non_public_addresses_are_refused_when_made_and_at_delivery_unless_allowed() {
    let receiver = spawn_receiver(12.0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = binary::start(&embedded_env(dir.path(), false));
    let base = server.base.clone();
    let admin = admin(&base).await;
    for (url, code) in [
        ("http://127.0.0.1:9/hook", "webhook_url_forbidden"),
        ("http://10.1.2.3/hook", "webhook_url_forbidden"),
        (
            "http://169.254.169.254/latest/meta-data",
            "webhook_url_forbidden",
        ),
        ("http://[::1]:8080/hook", "webhook_url_forbidden"),
        ("http://localhost:8080/hook", "webhook_url_forbidden"),
        ("https://192.168.0.10/", "webhook_url_forbidden"),
        ("http://[fd00::1]/", "webhook_url_forbidden"),
        (receiver.url.as_str(), "webhook_url_forbidden"),
        ("ftp://example.com/hook", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
    ] {
        let (s, b) = call(
            &base,
            "POST",
            "/webhooks",
            Some(&admin),
            Some(json!({"url": url, "events": ["message.created"]})),
        )
        .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (400, Some(code)),
            "{url}: {b}"
        );
        assert!(
            b["error"]["message"].as_str().unwrap().starts_with("url "),
            "{b}"
        );
    }
    let (s, b) = call(
        &base,
        "POST",
        "/webhooks",
        Some(&admin),
        Some(json!({"url": "https://hooks.example.com/", "events": ["message.deleted"]})),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_events")),
        "{b}"
    );
    let (visitor, conv) = conversation(&base).await;
    let (s, _) = call(
        &base,
        "POST",
        "/webhooks",
        Some(&visitor),
        Some(json!({"url": "https://hooks.example.com/", "events": ["message.created"]})),
    )
    .await;
    assert_eq!(s, 403);
    server.guard.kill();

    // Allowed: the receiver is registered, and gets events.
    let server = binary::start(&embedded_env(dir.path(), true));
    let hook = register(&server.base, &admin, &receiver, &["message.created"]).await;
    assert_eq!(
        send(&server.base, &visitor, &conv, "allowed", false)
            .await
            .0,
        201
    );
    wait(&receiver, 20, |r| r.iter().any(delivered));
    drop(server);

    // Forbidden again: the endpoint stays, but delivery checks the address again and refuses.
    let server = binary::start(&embedded_env(dir.path(), false));
    assert_eq!(
        send(&server.base, &visitor, &conv, "refused", false)
            .await
            .0,
        201
    );
    let started = Instant::now();
    let refused = loop {
        let log = deliveries(&server.base, &admin, &hook).await;
        if let Some(a) = log.iter().find(|a| a["status"] == "retrying") {
            break a.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{refused}"
    );
    assert!(
        refused.get("response_status").is_none(),
        "no request was made: {refused}"
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "only the allowed event reached the receiver"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_whose_host_does_not_resolve_is_refused_when_made_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = binary::start(&embedded_env(dir.path(), false));
    let admin = admin(&server.base).await;
    // `.invalid` never resolves (RFC 6761): a mistyped host is said at once, not found out
    // by a day of failed deliveries.
    let (s, b) = call(
        &server.base,
        "POST",
        "/webhooks",
        Some(&admin),
        Some(json!({"url": "https://hooks.atendo.invalid/hook", "events": ["message.created"]})),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_url")),
        "{b}"
    );
    let message = b["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("url hooks.atendo.invalid ") && message.contains("resolve"),
        "{b}"
    );
    let (s, list) = call(&server.base, "GET", "/webhooks", Some(&admin), None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        list["webhooks"],
        json!([]),
        "nothing was registered: {list}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_burst_loses_no_event_that_was_answered() {
    let receiver = spawn_receiver(12.0).unwrap();
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let store = mongo.database_uri(&testkit::unique("webhooks")).await;
    let mut env = binary::deployment_env(&redis.url, store);
    env.extend(fast(true));
    let dir = tempfile::tempdir().unwrap();
    env.push(("CHAT_UPLOAD_DIR", dir.path().display().to_string()));
    let mut server: Replica = binary::start(&env);
    let base = server.base.clone();
    let admin = admin(&base).await;
    let hook = register(&base, &admin, &receiver, &["message.created"]).await;
    let (visitor, conv) = conversation(&base).await;

    // A burst from several senders at once; the server is killed while it runs.
    let mut tasks = Vec::new();
    for sender in 0..4 {
        let (base, visitor, conv) = (base.clone(), visitor.clone(), conv.clone());
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for n in 0..100 {
                let body = format!("s{sender}-{n}");
                match send(&base, &visitor, &conv, &body, false).await {
                    (201, m) => answered.push(m["id"].as_str().unwrap().to_string()),
                    _ => break, // the server is gone
                }
            }
            answered
        }));
    }
    wait(&receiver, 20, |r| {
        r.iter().filter(|r| delivered(r)).count() >= 20
    });
    server.guard.kill();
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.unwrap());
    }
    let at_kill: HashSet<String> = parsed(&receiver.received())
        .iter()
        .filter(|r| delivered(r))
        .map(|r| r["event"]["data"]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        answered.len() > at_kill.len(),
        "the kill came mid-burst: {} answered, {} delivered",
        answered.len(),
        at_kill.len()
    );

    let restarted = binary::start(&env);
    let got = wait(&receiver, 60, |r| {
        let arrived: HashSet<&str> = r
            .iter()
            .filter(|r| delivered(r))
            .filter_map(|r| r["event"]["data"]["id"].as_str())
            .collect();
        answered.iter().all(|id| arrived.contains(id.as_str()))
    });
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for r in got.iter().filter(|r| delivered(r)) {
        *times
            .entry(r["event"]["data"]["id"].as_str().unwrap())
            .or_default() += 1;
    }
    eprintln!(
        "{} answered before the kill, {} delivered by then; after the restart all {} arrived ({} twice or more)",
        answered.len(),
        at_kill.len(),
        answered.len(),
        times.values().filter(|n| **n > 1).count()
    );
    // The log trails the receiver: by a moment (an attempt is logged once the receiver has
    // answered), or by a lease (an event the killed server sent but never logged is sent and
    // logged again once its 11 s claim runs out).
    let want = answered.len().min(200);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let log = loop {
        let log = deliveries(&restarted.base, &admin, &hook).await;
        if log.len() >= want || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(log.iter().all(|a| a["status"] == "delivered"), "{log:?}");
    assert!(
        log.len() >= want,
        "the log shows the attempts: {} of {want}",
        log.len()
    );
}
