//! Redis over TLS (`rediss://`) against a real `redis-server` that speaks only TLS, with a
//! private CA and server certificates made by the test (testkit::redis_tls). The bus's
//! behaviour over TLS is the conformance suite's (bus_conformance.rs, `redis_tls`); here: chat
//! between two real replicas, and every way the server's identity can fail to check out.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use chat_server::bus::{self, BusError};
use chat_server::config::BusLocation;
use chat_server::config::CaFile;
use common::binary;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY, Ws, str_of};
use serde_json::{Value, json};
use testkit::ChildGuard;
use testkit::redis_tls::{TestCa, TlsRedis, spawn_redis_tls, spawn_redis_tls_for};
use tokio::sync::mpsc;

const PASSWORD: &str = "s3cret-bus-password";

fn url_with_password(redis: &TlsRedis) -> String {
    format!("rediss://tenant:{PASSWORD}@localhost:{}", redis.port)
}

fn shown(redis: &TlsRedis) -> String {
    format!("rediss://***@localhost:{}", redis.port)
}

/// Connects the bus as the server does at start and returns the refusal.
async fn refusal(url: String, ca: Option<&CaFile>) -> BusError {
    let (tx, _rx) = mpsc::channel(1);
    match bus::connect(&BusLocation::Redis(url), ca, "ns", tx).await {
        Ok(_) => panic!("the bus connected although the server's certificate must be refused"),
        Err(e) => e,
    }
}

fn assert_names_url_and_problem(err: &str, url: &str, problem: &str) {
    eprintln!("refused as expected: {}", err.trim());
    assert!(err.contains(url), "the error must name {url}: {err}");
    assert!(
        err.contains(problem),
        "the error must name the certificate problem ({problem}): {err}"
    );
    assert!(
        !err.contains(PASSWORD),
        "the password must not appear: {err}"
    );
}

#[tokio::test]
async fn a_server_certificate_from_a_private_ca_is_refused_without_the_ca_file() {
    let redis = spawn_redis_tls().expect("start a TLS redis-server");
    let err = refusal(url_with_password(&redis), None).await.to_string();
    assert_names_url_and_problem(&err, &shown(&redis), "UnknownIssuer");
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_than_the_ca_file_is_refused() {
    let redis = spawn_redis_tls().expect("start a TLS redis-server");
    let other = TestCa::new("some other CA").unwrap();
    let ca = CaFile::load(&other.ca_file).unwrap();
    let err = refusal(url_with_password(&redis), Some(&ca))
        .await
        .to_string();
    assert_names_url_and_problem(&err, &shown(&redis), "UnknownIssuer");
}

#[tokio::test]
async fn a_server_certificate_for_another_host_name_is_refused() {
    let redis = spawn_redis_tls_for(&["redis.elsewhere.test"]).expect("start a TLS redis-server");
    let ca = CaFile::load(&redis.ca.ca_file).unwrap();
    let err = refusal(url_with_password(&redis), Some(&ca))
        .await
        .to_string();
    assert_names_url_and_problem(&err, &shown(&redis), "NotValidForName");
}

#[tokio::test]
async fn a_plain_text_url_to_a_tls_only_redis_does_not_connect() {
    let redis = spawn_redis_tls().expect("start a TLS redis-server");
    let url = format!("redis://localhost:{}", redis.port);
    let err = refusal(url.clone(), None).await.to_string();
    assert!(err.contains(&url), "{err}");
}

/// The real binary with a wrong CA: it exits at start (no serving without fan-out), and what
/// it prints names the URL (password hidden) and the certificate problem.
#[tokio::test]
async fn the_server_refuses_to_start_when_the_bus_certificate_does_not_check_out() {
    let redis = spawn_redis_tls().expect("start a TLS redis-server");
    let other = TestCa::new("some other CA").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chat-server.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    cmd.env_clear()
        .env("CHAT_LISTEN", format!("127.0.0.1:{}", testkit::free_port()))
        .env("CHAT_STORE", dir.path().join("store"))
        .env("CHAT_UPLOAD_DIR", dir.path().join("uploads"))
        .env("CHAT_BUS", url_with_password(&redis))
        .env("CHAT_BUS_CA_FILE", &other.ca_file)
        .env("CHAT_SIGNING_KEY", SIGNING_KEY)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let mut guard = ChildGuard::spawn("chat-server", &mut cmd).unwrap();
    let status = guard.wait_timeout(Duration::from_secs(30));
    let printed = std::fs::read_to_string(&log).unwrap();
    let status = status.unwrap_or_else(|| panic!("the server kept running:\n{printed}"));
    assert!(!status.success(), "{printed}");
    assert_names_url_and_problem(&printed, &shown(&redis), "UnknownIssuer");
}

#[tokio::test]
async fn a_missing_ca_file_stops_the_server_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let output = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .env_clear()
        .env("CHAT_BUS", "rediss://localhost:6380")
        .env("CHAT_BUS_CA_FILE", &missing)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains("CHAT_BUS_CA_FILE") && printed.contains(&missing.display().to_string()),
        "{printed}"
    );
}

async fn post(url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("request");
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

/// Two real replicas on one store, their bus a TLS-only Redis behind a private CA: a message
/// an agent sends on replica B reaches a visitor's socket on replica A live, which only the
/// bus can carry (A has no other reason to read the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_chat_through_a_tls_only_redis_with_a_private_ca() {
    let redis = spawn_redis_tls().expect("start a TLS redis-server");
    let mongo = testkit::mongo::mongo();
    let store = mongo.database_uri(&testkit::unique("bustls")).await;
    let env = vec![
        ("CHAT_STORE", store),
        ("CHAT_BUS", redis.url.clone()),
        ("CHAT_BUS_CA_FILE", redis.ca.ca_file.display().to_string()),
        ("CHAT_BUS_NAMESPACE", testkit::unique("ns")),
        ("CHAT_SIGNING_KEY", SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
    ];
    let a = binary::start(&env);
    let b = binary::start(&env);

    let visitor = post(
        format!("{}/api/v1/visitors", a.base),
        None,
        json!({"name": "Vera"}),
    )
    .await;
    let v_token = str_of(&visitor, "token");
    let conversation = post(
        format!("{}/api/v1/conversations", a.base),
        Some(&v_token),
        json!({}),
    )
    .await;
    let conversation = str_of(&conversation, "id");
    let mut visitor_ws = Ws::connect(&format!("{}/api/v1/ws?token={v_token}", a.ws_base)).await;
    visitor_ws.subscribe(&conversation, 0).await;

    let agent = post(
        format!("{}/api/v1/agents/login", b.base),
        None,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    let a_token = str_of(&agent, "token");
    let mut agent_ws = Ws::connect(&format!("{}/api/v1/ws?token={a_token}", b.ws_base)).await;
    agent_ws.subscribe(&conversation, 0).await;
    agent_ws
        .send(json!({"type": "send", "conversation_id": conversation, "client_msg_id": "a-1", "body": "Olá, por TLS"}))
        .await;

    let message = visitor_ws.expect("message").await;
    assert_eq!(message["message"]["body"], "Olá, por TLS", "{message}");
}
