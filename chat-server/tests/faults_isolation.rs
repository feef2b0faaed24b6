//! Isolation between tenants and between visitors, and secrets kept out of the logs.
//!
//! Already proven elsewhere, and not repeated here: a token signed with another key is refused
//! (api_rest `missing_invalid_and_foreign_tokens_get_401`), a visitor cannot read another's
//! conversation over REST or subscribe to it (api_rest `visitors_see_only_their_own_conversations`,
//! api_ws `a_visitor_token_cannot_subscribe_to_another_visitors_conversation`), and a tenant's
//! database user cannot reach another tenant's database on SecantusDB with --auth
//! (store_conformance `a_tenant_user_cannot_read_or_write_another_tenants_database`). The
//! NetworkPolicy is checked in operator/tests/network_policy_isolation.rs.

mod common;
#[path = "common/outage.rs"]
mod outage;

use std::time::Duration;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer, Ws, str_of};
use outage::LoggedReplica;
use serde_json::{Value, json};

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn ws_upgrade_status(ws_base: &str, token: &str) -> u16 {
    match tokio_tungstenite::connect_async(format!("{ws_base}/api/v1/ws?token={token}")).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("upgrade failed without an HTTP answer: {e}"),
    }
}

/// Two real deployments (tenant A in-process, tenant B the binary) with their own keys and
/// stores: the tokens each one issues, visitor and admin alike, are worthless at the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_issued_by_one_tenants_deployment_are_refused_by_anothers() {
    let a = TestServer::start().await;
    let b = LoggedReplica::start(&[
        ("CHAT_STORE", "./store".into()),
        (
            "CHAT_SIGNING_KEY",
            "tenant-b-signing-key-9876543210zyxwvutsrqpo".into(),
        ),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.into()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
    ]);
    let (_, a_visitor) = a.visitor().await;
    let (_, a_admin) = a.admin().await;
    let (_, b_admin) = call(
        reqwest::Method::POST,
        format!("{}/api/v1/agents/login", b.base),
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
    )
    .await;
    let b_admin = str_of(&b_admin, "token");
    for (token, at, ws_base, what) in [
        (&a_visitor, &b.base, &b.ws_base, "A's visitor at B"),
        (&a_admin, &b.base, &b.ws_base, "A's admin at B"),
        (&b_admin, &a.base, &a.ws_base, "B's admin at A"),
    ] {
        let (status, body) = call(
            reqwest::Method::GET,
            format!("{at}/api/v1/conversations"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, 401, "{what}: REST {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{what}");
        assert_eq!(
            ws_upgrade_status(ws_base, token).await,
            401,
            "{what}: websocket"
        );
    }
    // And each token still works at home, so the refusals above are about the tenant.
    assert_eq!(a.get("/api/v1/conversations", Some(&a_admin)).await.0, 200);
    assert_eq!(ws_upgrade_status(&b.ws_base, &b_admin).await, 101);
}

/// Beyond reading (covered elsewhere): a visitor can neither write into another visitor's
/// conversation, over REST or the websocket, nor hear it after a refused subscribe.
#[tokio::test]
async fn a_visitor_cannot_write_to_or_overhear_another_visitors_conversation() {
    let s = TestServer::start().await;
    let (owner, c) = s.conversation().await;
    let (_, stranger) = s.visitor().await;

    let (status, body) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&stranger),
            json!({"body": "planted", "client_msg_id": "x1"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    let mut intruder: Ws = s.ws(&stranger).await;
    intruder
        .send(
            json!({"type": "send", "conversation_id": c, "client_msg_id": "x2", "body": "planted"}),
        )
        .await;
    let e = intruder.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("forbidden"), Some("x2"))
    );
    intruder
        .send(json!({"type": "typing", "conversation_id": c, "state": true}))
        .await;
    assert_eq!(intruder.expect("error").await["code"], "forbidden");
    intruder
        .send(json!({"type": "subscribe", "conversation_id": c}))
        .await;
    assert_eq!(intruder.expect("error").await["code"], "forbidden");

    // The owner talks; the intruder's socket hears nothing of it.
    let (status, _) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&owner),
            json!({"body": "my card number is in the next message", "client_msg_id": "o1"}),
        )
        .await;
    assert_eq!(status, 201);
    intruder.send(json!({"type": "ping"})).await;
    let next = intruder.next_within(Duration::from_secs(2)).await;
    assert_eq!(
        next.map(|f| f.map(|f| f["type"].clone())),
        Ok(Some(json!("pong"))),
        "the next frame is the pong, not the owner's message"
    );

    let (_, messages) = s
        .get(&format!("/api/v1/conversations/{c}/messages"), Some(&owner))
        .await;
    let bodies: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["my card number is in the next message"],
        "nothing planted"
    );
}

/// Creates `bucket` on the S3 stand-in with the same keys the server is given.
async fn create_bucket(endpoint: &str, bucket: &str, key_id: &str, secret: &str) {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key_id, secret, None, None, "tests",
        ))
        .load()
        .await;
    let config = chat_server::uploads::s3::client_config(&sdk, Some(endpoint));
    aws_sdk_s3::Client::from_conf(config)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create the bucket");
}

/// The real binary at debug level, with known secrets in every place a deployment puts them
/// (signing key, admin password, database password inside the store URL, S3 keys), through a
/// whole conversation and its failure paths (wrong password, forged and foreign tokens, a
/// forbidden subscribe, an oversize upload, a database that goes away). None of the values,
/// nor any token the server issued, may appear in what it logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_ever_reaches_the_logs() {
    let mongo = testkit::mongo::mongo_auth();
    let s3 = testkit::s3::s3();
    let db = testkit::unique("secrets");
    // Seconds, not the driver's 30 s, before a send fails once the database is gone.
    let store = format!(
        "{}?serverSelectionTimeoutMS=2000",
        mongo.database_uri(&db).await
    );
    let db_password = store
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|creds| creds.split(':').nth(1))
        .expect("the tenant URI carries a password")
        .to_string();
    let signing_key = "sk-LOGCANARY-0123456789abcdefghijklmnopqrstuv".to_string();
    let admin_password = "pw-LOGCANARY-admin-5f1e".to_string();
    let (key_id, secret_key) = ("AKIALOGCANARY0000001", "sak-LOGCANARY-s3-secret-4b7d9c");
    let bucket = testkit::unique("atendo-secrets-");
    create_bucket(&s3.endpoint, &bucket, key_id, secret_key).await;

    let replica = LoggedReplica::start(&[
        ("CHAT_STORE", store.clone()),
        ("CHAT_BUS", "local".into()),
        ("CHAT_SIGNING_KEY", signing_key.clone()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.into()),
        ("CHAT_ADMIN_PASSWORD", admin_password.clone()),
        ("CHAT_S3_BUCKET", bucket.clone()),
        ("CHAT_S3_ENDPOINT", s3.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", key_id.into()),
        ("AWS_SECRET_ACCESS_KEY", secret_key.into()),
        ("AWS_REGION", "us-east-1".into()),
        ("CHAT_MAX_UPLOAD_MB", "1".into()),
        ("CHAT_LOG", "debug".into()),
    ]);
    let (base, ws_base) = (replica.base.clone(), replica.ws_base.clone());
    let post = |path: &str, token: Option<&str>, body: Value| {
        let (url, token) = (format!("{base}{path}"), token.map(str::to_string));
        async move { call(reqwest::Method::POST, url, token.as_deref(), Some(body)).await }
    };
    let mut issued = Vec::new();

    // A whole conversation.
    let (_, v) = post("/api/v1/visitors", None, json!({"name": "Vera"})).await;
    let visitor = str_of(&v, "token");
    let (_, conv) = post("/api/v1/conversations", Some(&visitor), json!({})).await;
    let c = str_of(&conv, "id");
    let (status, admin) = post(
        "/api/v1/agents/login",
        None,
        json!({"email": ADMIN_EMAIL, "password": admin_password}),
    )
    .await;
    assert_eq!(status, 200, "{admin}");
    let admin = str_of(&admin, "token");
    let mut vws = Ws::connect(&format!("{ws_base}/api/v1/ws?token={visitor}")).await;
    let mut aws = Ws::connect(&format!("{ws_base}/api/v1/ws?token={admin}")).await;
    vws.subscribe(&c, 0).await;
    aws.subscribe(&c, 0).await;
    vws.send(json!({"type": "send", "conversation_id": c, "client_msg_id": "v1", "body": "hello"}))
        .await;
    vws.expect("ack").await;
    aws.send(json!({"type": "send", "conversation_id": c, "client_msg_id": "a1", "body": "hi!"}))
        .await;
    aws.expect("ack").await;
    let (status, upload) = post(
        "/api/v1/uploads",
        Some(&visitor),
        json!({"conversation_id": c, "filename": "a.pdf", "content_type": "application/pdf", "size": 1000}),
    )
    .await;
    assert_eq!(status, 201, "{upload}");
    issued.push(visitor.clone());
    issued.push(admin.clone());

    // Failure paths.
    let (status, _) = post(
        "/api/v1/agents/login",
        None,
        json!({"email": ADMIN_EMAIL, "password": format!("{admin_password}-wrong")}),
    )
    .await;
    assert_eq!(status, 401);
    let (_, stranger) = post("/api/v1/visitors", None, json!({})).await;
    let stranger = str_of(&stranger, "token");
    issued.push(stranger.clone());
    let mut sws = Ws::connect(&format!("{ws_base}/api/v1/ws?token={stranger}")).await;
    sws.send(json!({"type": "subscribe", "conversation_id": c}))
        .await;
    sws.expect("error").await;
    sws.send_raw("{not json").await;
    sws.expect("error").await;
    let (status, _) = post(
        "/api/v1/uploads",
        Some(&visitor),
        json!({"conversation_id": c, "filename": "big.bin", "content_type": "application/octet-stream", "size": 50_000_000}),
    )
    .await;
    assert_eq!(status, 413);
    let forged = format!("{}x", &admin[..admin.len() - 1]);
    assert_eq!(ws_upgrade_status(&ws_base, &forged).await, 401);
    let (status, _) = call(
        reqwest::Method::GET,
        format!("{base}/api/v1/conversations"),
        Some(&forged),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // The database goes away under a send: the error path of the store.
    drop(mongo);
    vws.send(
        json!({"type": "send", "conversation_id": c, "client_msg_id": "v2", "body": "anyone?"}),
    )
    .await;
    let _ = vws.next_within(Duration::from_secs(40)).await;
    let _ = call(
        reqwest::Method::GET,
        format!("{base}/health/ready"),
        None,
        None,
    )
    .await;

    let log = replica.stop_and_read_log();
    assert!(
        log.lines().count() > 20 && log.contains("DEBUG"),
        "the replica logged at debug level ({} lines)",
        log.lines().count()
    );
    let secrets = [
        ("signing key", signing_key.as_str()),
        ("admin password", admin_password.as_str()),
        ("database password", db_password.as_str()),
        ("S3 secret key", secret_key),
    ];
    let leaks =
        |value: &str| -> Vec<&str> { log.lines().filter(|l| l.contains(value)).take(3).collect() };
    for (what, value) in secrets {
        assert_eq!(
            leaks(value),
            Vec::<&str>::new(),
            "the {what} appears in the logs"
        );
    }
    for token in &issued {
        // A token's signature is what makes it a credential.
        let signature = token.rsplit('.').next().unwrap();
        assert_eq!(
            leaks(signature),
            Vec::<&str>::new(),
            "an issued token appears in the logs"
        );
    }
    eprintln!(
        "[secrets] FIGURES log_lines={} secrets_checked={} tokens_checked={}",
        log.lines().count(),
        secrets.len(),
        issued.len()
    );
}
