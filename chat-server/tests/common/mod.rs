//! A chat-server in this test process, on 127.0.0.1:0 with the embedded store in a temp dir,
//! and small HTTP/WebSocket clients. Dropping the server shuts it down.
#![allow(dead_code)]

pub mod binary;
pub mod http;
pub mod mail;
pub mod s3;

use std::time::Duration;

use chat_server::config::Config;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMsg;
use tokio_util::sync::CancellationToken;

pub const ADMIN_EMAIL: &str = "admin@acme.test";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const SIGNING_KEY: &str = "test-signing-key-0123456789abcdefghijklmnop";

pub struct TestServer {
    pub base: String,
    pub ws_base: String,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    pub task: Option<tokio::task::JoinHandle<Result<(), chat_server::server::StartError>>>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Extra command-line flags, e.g. `&["--visitor-rate", "2"]`.
    pub async fn start_with(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("store");
        let uploads = dir.path().join("uploads");
        let mut args: Vec<String> = vec![
            "chat-server".into(),
            "--listen=127.0.0.1:0".into(),
            format!("--store={}", store.display()),
            format!("--upload-dir={}", uploads.display()),
            format!("--signing-key={SIGNING_KEY}"),
            format!("--admin-email={ADMIN_EMAIL}"),
            format!("--admin-password={ADMIN_PASSWORD}"),
            "--bus=local".into(),
        ];
        // Tests sign the admin in again and again from one address; the login limits have
        // their own tests, which set them.
        for (flag, value) in [
            ("--login-address-rate", "100000"),
            ("--login-account-rate", "100000"),
        ] {
            if !flags.iter().any(|f| f.starts_with(flag)) {
                args.push(format!("{flag}={value}"));
            }
        }
        args.extend(flags.iter().map(|s| s.to_string()));
        let config = Config::try_parse_from(args).expect("test config parses");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(chat_server::server::serve(
            config,
            listener,
            shutdown.clone(),
        ));
        let server = Self {
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown,
            task: Some(task),
            dir,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            let ready = self
                .http
                .get(format!("{}/health/ready", self.base))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("test server never became ready");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let (s, b) = self
            .post(
                "/api/v1/agents/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        (str_of(&b, "agent_id"), str_of(&b, "token"))
    }

    pub async fn admin(&self) -> (String, String) {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// A new agent (created by the admin) and its token.
    pub async fn agent(&self, name: &str) -> (String, String) {
        let (_, admin) = self.admin().await;
        let email = format!("{}@acme.test", name.to_lowercase());
        let (s, b) = self
            .post(
                "/api/v1/agents",
                Some(&admin),
                json!({"email": email, "password": "agent-password", "name": name, "role": "agent"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        self.login(&email, "agent-password").await
    }

    pub async fn visitor(&self) -> (String, String) {
        let (s, b) = self
            .post("/api/v1/visitors", None, json!({"name": "Vera"}))
            .await;
        assert_eq!(s, 201, "{b}");
        (str_of(&b, "visitor_id"), str_of(&b, "token"))
    }

    /// A visitor with a fresh conversation: (visitor token, conversation id).
    pub async fn conversation(&self) -> (String, String) {
        let (_, token) = self.visitor().await;
        let (s, c) = self
            .post("/api/v1/conversations", Some(&token), json!({}))
            .await;
        assert_eq!(s, 201, "{c}");
        (token, str_of(&c, "id"))
    }

    /// Uploads `bytes` as `filename` to conversation `c` the way clients do (POST `/uploads`,
    /// then PUT the bytes to the URL it answers with); the attachment id to send with a message.
    pub async fn upload(
        &self,
        token: &str,
        c: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> String {
        let (status, up) = self
            .post(
                "/api/v1/uploads",
                Some(token),
                json!({"conversation_id": c, "filename": filename, "content_type": content_type, "size": bytes.len()}),
            )
            .await;
        assert_eq!(status, 201, "{up}");
        let url = str_of(&up, "upload_url");
        // The embedded upload store answers with a path on this server; S3 with a full URL.
        let url = if url.starts_with('/') {
            self.url(&url)
        } else {
            url
        };
        let put = self
            .http
            .put(&url)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("PUT the upload");
        let status = put.status();
        assert!(
            status.is_success(),
            "PUT {status}: {}",
            put.text().await.unwrap_or_default()
        );
        str_of(&up, "attachment_id")
    }

    /// A websocket carrying `token` the way clients should: in `Sec-WebSocket-Protocol`.
    pub async fn ws(&self, token: &str) -> Ws {
        Ws::connect_bearer(&self.ws_base, token).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn str_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
        .to_string()
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Ws {
    pub stream: Stream,
}

pub const WAIT: Duration = Duration::from_secs(5);

impl Ws {
    pub async fn connect(url: &str) -> Self {
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Self { stream }
    }

    /// `GET {ws_base}/api/v1/ws` offering the protocol and the token as subprotocols; checks
    /// that the server selected the protocol (and never echoed the token).
    pub async fn connect_bearer(ws_base: &str, token: &str) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("{ws_base}/api/v1/ws")
            .into_client_request()
            .expect("ws request");
        req.headers_mut().insert(
            "sec-websocket-protocol",
            format!("atendo.v1, atendo.bearer.{token}")
                .parse()
                .expect("token is a header value"),
        );
        let (stream, response) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("atendo.v1"),
            "the server selects the protocol, never the token"
        );
        Self { stream }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(WsMsg::text(v.to_string()))
            .await
            .expect("ws send");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream
            .send(WsMsg::text(text.to_string()))
            .await
            .expect("ws send");
    }

    /// The next JSON frame within `wait`: `Err` on timeout, `Ok(None)` when the socket closed.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<Value>, ()> {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return Err(()),
                Ok(Some(Ok(WsMsg::Text(t)))) => {
                    return Ok(Some(serde_json::from_str(t.as_str()).expect("json frame")));
                }
                Ok(Some(Ok(WsMsg::Close(_))) | Some(Err(_)) | None) => return Ok(None),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next JSON frame, or `None` when the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("no frame within 5 s")?;
            match msg {
                Ok(WsMsg::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("json frame"));
                }
                Ok(WsMsg::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Frames until one of `kind`; panics on close or timeout.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let f = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {kind}"));
            if f["type"] == kind {
                return f;
            }
        }
    }

    /// The close code the server sends, skipping other frames.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("no close within 5 s")
            {
                Some(Ok(WsMsg::Close(Some(f)))) => return Some(f.code.into()),
                Some(Ok(WsMsg::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn subscribe(&mut self, conversation_id: &str, after_seq: u64) -> Vec<Value> {
        self.send(json!({"type": "subscribe", "conversation_id": conversation_id, "after_seq": after_seq}))
            .await;
        let mut replayed = Vec::new();
        loop {
            let f = self.next().await.expect("closed during subscribe");
            match f["type"].as_str() {
                Some("message") => replayed.push(f["message"].clone()),
                Some("subscribed") => return replayed,
                Some("error") => panic!("subscribe failed: {f}"),
                _ => {}
            }
        }
    }
}
