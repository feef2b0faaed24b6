//! The stand-in end-to-end test: every example Tenant, rendered by the real `atendo-operator`
//! binary, runs as real `chat-server` processes with the environment its rendered Deployment
//! gives the pods, against real Redis, SecantusDB and moto, and is reached only through its
//! Ingress host. It proves that the operator and the chat-server agree on every setting the
//! render carries. The cluster e2e (`e2e/cluster`) proves what only a cluster can: admission,
//! scheduling, probes, NetworkPolicy, the ingress controller, TLS, DNS and garbage collection.
//!
//! The pods' environment is the rendered one with these differences, each asserted to be
//! needed (a rendered variable is never overridden except CHAT_LISTEN):
//! - CHAT_LISTEN moves from 0.0.0.0:8080 to a free port on 127.0.0.1 (several "pods" share a
//!   host here); the test checks the rendered port is the one the Service targets.
//! - AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY stand in for the workload identity (IRSA).
//!
//! The agent signs in as the first admin the render names (CHAT_ADMIN_EMAIL from the ConfigMap,
//! CHAT_ADMIN_PASSWORD from Secret chat-admin, the placeholder filled as the controller would).

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use e2e::client::{HostClient, expect_status, text};
use e2e::provision::Providers;
use e2e::router::Router;
use e2e::tenant::{self, RunningTenant};
use serde_json::json;

const BASE_DOMAIN: &str = "chat.e2e.test";

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../operator/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no example Tenants in {}", dir.display());
    files
}

/// The run-wide services (scripts/test.sh) or ones started here, stopped when dropped.
struct Services {
    redis: testkit::redis::Redis,
    mongo: testkit::mongo::Mongo,
    s3: testkit::s3::S3,
}

impl Services {
    /// SecantusDB with --auth when the run provides one, so tenant users really sign in;
    /// otherwise the server without auth (users are still created and used).
    fn start() -> Self {
        let mongo = if std::env::var("ATENDO_TEST_MONGO_AUTH_URL").is_ok_and(|u| !u.is_empty()) {
            testkit::mongo::mongo_auth()
        } else {
            testkit::mongo::mongo()
        };
        Services {
            redis: testkit::redis::redis(),
            mongo,
            s3: testkit::s3::s3(),
        }
    }

    /// The operator flags of a self-managed cluster pointed at these services.
    fn render_flags(&self) -> Vec<String> {
        vec![
            format!("--base-domain={BASE_DOMAIN}"),
            "--chat-image=registry.example.com/atendo/chat-server:e2e".into(),
            format!("--redis-url={}", self.redis.url),
            format!("--database-url={}", database_url(&self.mongo.uri)),
            format!("--s3-endpoint={}", self.s3.endpoint),
            "--ingress-class=nginx".into(),
        ]
    }
}

/// `--database-url` from an admin URI: the same hosts, without credentials, database or options.
fn database_url(admin_uri: &str) -> String {
    let (scheme, rest) = admin_uri.split_once("://").expect("a mongodb:// URI");
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{hosts}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_tenant_holds_a_conversation_with_an_upload_through_its_ingress_host() {
    let services = Services::start();
    let flags = services.render_flags();
    // The test Redis's default user stands in for the operator's admin credential.
    let providers = Providers::connect(
        &services.s3.endpoint,
        "us-east-1",
        &services.mongo.uri,
        &services.redis.url,
    )
    .await
    .expect("the operator's providers connect");
    let mut tenants = vec![];
    for file in examples() {
        let running = tenant::start(&file, &flags, &providers)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
        eprintln!(
            "tenant {}: host {}, bucket {}, database {}, replicas {:?}",
            running.name,
            running.host,
            running.bucket,
            running.database,
            running.replicas.iter().map(|r| r.addr).collect::<Vec<_>>()
        );
        tenants.push(running);
    }
    let router = Router::start(tenants.iter().flat_map(|t| t.targets()).collect())
        .await
        .expect("router");

    let mut conversations = vec![];
    for t in &mut tenants {
        let outcome = conversation(t, &router, &providers).await;
        t.ensure_running()
            .expect("the tenant's chat-servers are still up");
        let outcome = outcome.unwrap_or_else(|e| panic!("tenant {}: {e:#}", t.name));
        eprintln!(
            "tenant {}: conversation {} held, {} messages, upload round-tripped",
            t.name, outcome.id, outcome.seq
        );
        conversations.push(outcome);
    }
    for (t, c) in tenants.iter().zip(&conversations) {
        let reached: Vec<_> = router
            .hits()
            .into_iter()
            .filter(|h| h.host == t.host)
            .collect();
        for replica in &t.replicas {
            assert!(
                reached.iter().any(|h| h.backend == replica.addr),
                "tenant {}: no request reached its replica on {} through the router",
                t.name,
                replica.addr
            );
        }
        assert!(c.seq >= 3, "tenant {}: {} messages", t.name, c.seq);
    }
    isolation(&tenants, &conversations, &router).await;
    let unknown = HostClient::new(&format!("nobody.{BASE_DOMAIN}"), router.addr).unwrap();
    let (status, _) = unknown.get("/health/live", None).await.unwrap();
    assert_eq!(
        status, 404,
        "a host without an Ingress rule reaches no tenant"
    );
}

/// What one tenant's conversation left behind, for the isolation checks.
struct Conversation {
    id: String,
    visitor_token: String,
    agent_token: String,
    seq: u64,
}

async fn conversation(
    t: &RunningTenant,
    router: &Router,
    providers: &Providers,
) -> anyhow::Result<Conversation> {
    let client = HostClient::new(&t.host, router.addr)?;
    branding(t, &client).await?;

    let (_, visitor) = client.visitor("Vera").await?;
    let (status, created) = client
        .post("/api/v1/conversations", Some(&visitor), json!({}))
        .await?;
    expect_status(status, 201, &created, "creating a conversation")?;
    let id = text(&created, "id")?;

    let mut visitor_ws = client.ws(&visitor).await?;
    ensure!(
        visitor_ws.subscribe(&id).await?.is_empty(),
        "a new conversation replays nothing"
    );
    visitor_ws
        .send(json!({"type": "send", "conversation_id": id, "client_msg_id": "v-1", "body": "Olá, preciso de ajuda"}))
        .await?;
    let ack = visitor_ws.expect("ack").await?;
    ensure!(ack["message"]["seq"] == 1, "first message seq: {ack}");

    let bytes = format!("invoice for {}\n", t.name).into_bytes();
    let attachment = upload(&client, &visitor, &id, &bytes, t).await?;
    let (status, message) = client
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            Some(&visitor),
            json!({"body": "segue a fatura", "client_msg_id": "v-2", "attachments": [attachment]}),
        )
        .await?;
    expect_status(
        status,
        201,
        &message,
        "sending a message with the attachment",
    )?;
    ensure!(
        message["attachments"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "the message carries no attachment: {message}"
    );
    download(&client, &visitor, &attachment, &bytes).await?;
    let listed = providers
        .s3
        .list_objects_v2()
        .bucket(&t.bucket)
        .send()
        .await
        .context("listing the tenant's bucket")?;
    ensure!(
        listed.key_count().unwrap_or(0) >= 1,
        "the upload is not in the tenant's bucket {}",
        t.bucket
    );

    let (email, password) = &t.admin;
    let (_, agent) = client.login(email, password).await?;
    // With two replicas, the agent's socket must sit on the other pod, so the reply reaches
    // the visitor only through the tenant's Redis channels (CHAT_BUS, CHAT_BUS_NAMESPACE).
    let visitor_pod = last_socket_backend(router, &t.host)?;
    let mut agent_ws = client.ws(&agent).await?;
    for _ in 0..t.replicas.len() {
        if t.replicas.len() < 2 || last_socket_backend(router, &t.host)? != visitor_pod {
            break;
        }
        agent_ws = client.ws(&agent).await?;
    }
    ensure!(
        t.replicas.len() < 2 || last_socket_backend(router, &t.host)? != visitor_pod,
        "the router never put the agent's socket on another replica"
    );
    let replayed = agent_ws.subscribe(&id).await?;
    let bodies: Vec<&str> = replayed.iter().filter_map(|m| m["body"].as_str()).collect();
    ensure!(
        bodies == ["Olá, preciso de ajuda", "segue a fatura"],
        "the agent replays {bodies:?}"
    );
    agent_ws
        .send(json!({"type": "send", "conversation_id": id, "client_msg_id": "a-1", "body": "Recebi, obrigado!"}))
        .await?;
    let reply = agent_ws.expect("ack").await?;
    let seen = loop {
        let frame = visitor_ws.expect("message").await?;
        if frame["message"]["client_msg_id"] == "a-1" {
            break frame;
        }
    };
    ensure!(
        seen["message"]["author"]["kind"] == "agent" && seen["message"] == reply["message"],
        "the visitor got {seen} for the agent's {reply}"
    );
    let seq = reply["message"]["seq"].as_u64().context("reply seq")?;
    Ok(Conversation {
        id,
        visitor_token: visitor,
        agent_token: agent,
        seq,
    })
}

/// The replica the latest WebSocket of `host` went to.
fn last_socket_backend(router: &Router, host: &str) -> anyhow::Result<std::net::SocketAddr> {
    router
        .hits()
        .into_iter()
        .rev()
        .find(|h| h.host == host && h.path == "/api/v1/ws")
        .map(|h| h.backend)
        .context("no WebSocket went through the router")
}

/// The widget's branding endpoint serves the ConfigMap's CHAT_BRAND_* values.
async fn branding(t: &RunningTenant, client: &HostClient) -> anyhow::Result<()> {
    let (status, body) = client.get("/api/v1/branding", None).await?;
    expect_status(status, 200, &body, "branding")?;
    let env = |k: &str| t.env.get(k).cloned();
    let want = [
        ("product_name", env("CHAT_BRAND_PRODUCT_NAME")),
        (
            "primary_color",
            env("CHAT_BRAND_PRIMARY_COLOR").map(|c| c.to_ascii_lowercase()),
        ),
        ("logo_url", env("CHAT_BRAND_LOGO_URL")),
        ("welcome_message", env("CHAT_BRAND_WELCOME_MESSAGE")),
    ];
    for (key, value) in want {
        if let Some(value) = value {
            ensure!(
                body[key] == value.as_str(),
                "branding {key}: served {body}, rendered {value:?}"
            );
        }
    }
    // The screens speak languages, not regions: en-US is served as en.
    if let Some(tag) = env("CHAT_BRAND_LOCALE") {
        let language = |t: &str| t.split('-').next().unwrap_or("").to_ascii_lowercase();
        let served = body["locale"].as_str().unwrap_or("");
        ensure!(
            language(served) == language(&tag),
            "branding locale: served {served:?}, rendered {tag:?}"
        );
    }
    ensure!(
        t.env.contains_key("CHAT_BRAND_PRODUCT_NAME"),
        "no product name rendered"
    );
    Ok(())
}

async fn upload(
    client: &HostClient,
    token: &str,
    conversation: &str,
    bytes: &[u8],
    t: &RunningTenant,
) -> anyhow::Result<String> {
    let (status, body) = client
        .post(
            "/api/v1/uploads",
            Some(token),
            json!({"conversation_id": conversation, "filename": "fatura.txt", "content_type": "text/plain", "size": bytes.len()}),
        )
        .await?;
    expect_status(status, 201, &body, "asking for an upload URL")?;
    let url = text(&body, "upload_url")?;
    let endpoint = t
        .env
        .get("CHAT_S3_ENDPOINT")
        .context("no CHAT_S3_ENDPOINT rendered")?;
    ensure!(
        url.starts_with(&format!("{endpoint}/{}/", t.bucket)),
        "the upload URL {url} is not in the tenant's bucket {} at {endpoint}",
        t.bucket
    );
    let put = reqwest::Client::new()
        .put(&url)
        .header("content-type", "text/plain")
        .body(bytes.to_vec())
        .send()
        .await?;
    ensure!(
        put.status().is_success(),
        "PUT to the presigned URL: {}",
        put.status()
    );
    text(&body, "attachment_id")
}

/// The download answers with a redirect to a short-lived URL on the bucket.
async fn download(client: &HostClient, token: &str, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let response = client
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/attachments/{id}"),
            Some(token),
            None,
        )
        .await?;
    ensure!(
        response.status().is_redirection(),
        "download: {}",
        response.status()
    );
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("download redirect without a location")?
        .to_string();
    let got = reqwest::get(&location).await?.bytes().await?;
    ensure!(
        got.as_ref() == bytes,
        "downloaded {} bytes that differ from the upload",
        got.len()
    );
    Ok(())
}

/// Every tenant's visitor and agent tokens are refused by every other tenant, over REST and
/// the WebSocket, while each tenant still accepts its own.
async fn isolation(tenants: &[RunningTenant], conversations: &[Conversation], router: &Router) {
    for (a, ca) in tenants.iter().zip(conversations) {
        let own = HostClient::new(&a.host, router.addr).unwrap();
        let (status, body) = own
            .get(
                &format!("/api/v1/conversations/{}", ca.id),
                Some(&ca.agent_token),
            )
            .await
            .unwrap();
        assert_eq!(
            status, 200,
            "{}: its own agent reads its conversation: {body}",
            a.name
        );
        for b in tenants.iter().filter(|b| b.name != a.name) {
            let other = HostClient::new(&b.host, router.addr).unwrap();
            for (who, token) in [("visitor", &ca.visitor_token), ("agent", &ca.agent_token)] {
                let (status, body) = other
                    .get(&format!("/api/v1/conversations/{}", ca.id), Some(token))
                    .await
                    .unwrap();
                assert_eq!(
                    status, 401,
                    "{}'s {who} token on {}: {body}",
                    a.name, b.name
                );
                let refused = other.try_ws(token).await.unwrap();
                assert!(
                    matches!(refused, Err(401)),
                    "{}'s {who} token opened a websocket on {}",
                    a.name,
                    b.name
                );
            }
        }
    }
}
