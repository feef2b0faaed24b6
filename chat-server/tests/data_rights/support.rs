//! Deployments of real `chat-server` processes for the data-rights tests, and a small client.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::binary::{self, Replica};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY, str_of};

/// A tenant's chat-server(s) on one store, with the admin signed in.
pub struct Deployment {
    pub replicas: Vec<Replica>,
    pub admin: String,
    pub http: reqwest::Client,
    /// The embedded store's and the local uploads' directory, when there is one.
    pub dir: Option<tempfile::TempDir>,
    pub bucket: Option<String>,
    /// The MongoDB store's URI (database included), when it is one.
    pub mongo_uri: Option<String>,
    pub _keep: Vec<Box<dyn Send + Sync>>,
}

/// Settings every deployment here shares: generous sign-in and write limits (tests sign in and
/// write in bursts from one address; the limits have tests of their own). The write burst is as
/// generous as the rate: governor reads the clock before it takes its turn on the key, so a
/// request preempted in between arrives with an old "now", and against the default burst of 60
/// at 100,000/s (a tolerance of 0.6 ms) a loaded CI machine refused one with 429.
fn common_env() -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_SIGNING_KEY", SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        ("CHAT_LOGIN_ADDRESS_RATE", "100000".to_string()),
        ("CHAT_LOGIN_ACCOUNT_RATE", "100000".to_string()),
        ("CHAT_VISITOR_RATE", "100000".to_string()),
        ("CHAT_WS_RATE", "100000".to_string()),
        ("CHAT_WS_BURST", "100000".to_string()),
    ]
}

impl Deployment {
    /// One process on the embedded SQLite store with local uploads; `extra` env on top.
    pub async fn sqlite(extra: &[(&'static str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = common_env();
        env.extend([
            ("CHAT_STORE", dir.path().join("store").display().to_string()),
            (
                "CHAT_UPLOAD_DIR",
                dir.path().join("uploads").display().to_string(),
            ),
            ("CHAT_BUS", "local".to_string()),
        ]);
        env.extend(extra.iter().cloned());
        let replica = binary::start(&env);
        Self::signed_in(vec![replica], Some(dir), None, Vec::new()).await
    }

    /// `replicas` processes on one SecantusDB database and one Redis; `extra` env on top.
    pub async fn mongo(replicas: usize, extra: &[(&'static str, String)]) -> Self {
        let redis = testkit::redis::redis();
        let mongo = testkit::mongo::mongo();
        let store = mongo.database_uri(&testkit::unique("rights")).await;
        let mongo_uri = store.clone();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = binary::deployment_env(&redis.url, store);
        env.extend(common_env());
        env.push((
            "CHAT_UPLOAD_DIR",
            dir.path().join("uploads").display().to_string(),
        ));
        env.extend(extra.iter().cloned());
        let started = (0..replicas).map(|_| binary::start(&env)).collect();
        let keep: Vec<Box<dyn Send + Sync>> = vec![Box::new(redis), Box::new(mongo)];
        let mut d = Self::signed_in(started, Some(dir), None, keep).await;
        d.mongo_uri = Some(mongo_uri);
        d
    }

    /// One process on the embedded store with attachments in a new, versioned bucket of moto's
    /// (as the operator makes them), reached through `gate`; `extra` env on top.
    pub async fn s3(s3: &testkit::s3::S3, gate: &Gate, extra: &[(&'static str, String)]) -> Self {
        let bucket = testkit::unique("atendo-rights-");
        let client = s3_client(&s3.endpoint).await;
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create the bucket");
        client
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("turn versioning on");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = common_env();
        env.extend([
            ("CHAT_STORE", dir.path().join("store").display().to_string()),
            ("CHAT_BUS", "local".to_string()),
            ("CHAT_S3_BUCKET", bucket.clone()),
            ("CHAT_S3_ENDPOINT", gate.url()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ]);
        env.extend(extra.iter().cloned());
        let replica = binary::start(&env);
        Self::signed_in(vec![replica], Some(dir), Some(bucket), Vec::new()).await
    }

    async fn signed_in(
        replicas: Vec<Replica>,
        dir: Option<tempfile::TempDir>,
        bucket: Option<String>,
        keep: Vec<Box<dyn Send + Sync>>,
    ) -> Self {
        let mut d = Self {
            replicas,
            admin: String::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            dir,
            bucket,
            mongo_uri: None,
            _keep: keep,
        };
        d.admin = d.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        d
    }

    pub fn base(&self) -> &str {
        &self.replicas[0].base
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base())
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
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

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// `GET path` as it comes: status, headers and body text.
    pub async fn get_raw(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let (s, b) = self
            .post(
                "/api/v1/agents/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        str_of(&b, "token")
    }

    /// A new agent made by the admin: (id, token).
    pub async fn agent(&self, name: &str) -> (String, String) {
        let email = format!("{}@acme.test", name.to_lowercase());
        let password = "agent-password-2026";
        let (s, b) = self
            .post(
                "/api/v1/agents",
                Some(&self.admin),
                json!({"email": email, "password": password, "name": name, "role": "agent"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        (str_of(&b, "id"), self.login(&email, password).await)
    }

    /// A new visitor: (id, token).
    pub async fn visitor(&self, name: &str, email: Option<&str>) -> (String, String) {
        let mut body = json!({"name": name});
        if let Some(e) = email {
            body["email"] = json!(e);
        }
        let (s, b) = self.post("/api/v1/visitors", None, body).await;
        assert_eq!(s, 201, "{b}");
        (str_of(&b, "visitor_id"), str_of(&b, "token"))
    }

    /// A conversation the visitor starts.
    pub async fn conversation(&self, visitor: &str) -> String {
        let (s, c) = self
            .post("/api/v1/conversations", Some(visitor), json!({}))
            .await;
        assert_eq!(s, 201, "{c}");
        str_of(&c, "id")
    }

    /// Sends a message (a note with `private`) carrying `attachments`; the stored message.
    pub async fn send(
        &self,
        token: &str,
        conversation: &str,
        body: &str,
        private: bool,
        attachments: &[&str],
    ) -> Value {
        let (s, m) = self
            .post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                Some(token),
                json!({"body": body, "client_msg_id": testkit::unique("m"),
                       "private": private, "attachments": attachments}),
            )
            .await;
        assert_eq!(s, 201, "{m}");
        m
    }

    /// Uploads `bytes` as `filename` into the conversation (the PUT as the answer says): the
    /// attachment id and the URL its bytes were put at.
    pub async fn upload(
        &self,
        token: &str,
        conversation: &str,
        filename: &str,
        bytes: &[u8],
    ) -> (String, String) {
        let (id, put) = self
            .upload_url(token, conversation, filename, bytes.len())
            .await;
        let r = put.send(self, bytes).await;
        assert!(r.is_success(), "PUT {r}");
        (id, put.url)
    }

    /// An attachment's id and the URL to PUT its bytes to, not used yet.
    pub async fn upload_url(
        &self,
        token: &str,
        conversation: &str,
        filename: &str,
        size: usize,
    ) -> (String, PutUrl) {
        let (s, up) = self
            .post(
                "/api/v1/uploads",
                Some(token),
                json!({"conversation_id": conversation, "filename": filename,
                       "content_type": "application/pdf", "size": size}),
            )
            .await;
        assert_eq!(s, 201, "{up}");
        let headers = up["headers"]
            .as_object()
            .expect("upload headers")
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
            .collect();
        let url = PutUrl {
            url: self.url(&str_of(&up, "upload_url")),
            headers,
        };
        (str_of(&up, "attachment_id"), url)
    }

    /// Waits up to `within` for `check` to hold, polling.
    pub async fn eventually<F, Fut>(&self, within: Duration, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = std::time::Instant::now();
        while !check().await {
            assert!(
                start.elapsed() < within,
                "{what} did not happen within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An upload URL with the headers it was signed with.
pub struct PutUrl {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl PutUrl {
    pub async fn send(&self, d: &Deployment, bytes: &[u8]) -> reqwest::StatusCode {
        let mut put = d.http.put(&self.url).body(bytes.to_vec());
        for (name, value) in &self.headers {
            put = put.header(name.as_str(), value.as_str());
        }
        put.send().await.unwrap().status()
    }
}

/// An S3 client of moto's.
pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    crate::common::s3::client(endpoint).await
}

/// Every version and delete marker under `prefix` in the bucket: what is left of the files.
pub async fn versions_under(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<String> {
    let listed = client
        .list_object_versions()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list object versions");
    let versions = listed
        .versions()
        .iter()
        .map(|v| format!("version {:?} {:?}", v.key(), v.version_id()));
    let markers = listed
        .delete_markers()
        .iter()
        .map(|m| format!("delete marker {:?} {:?}", m.key(), m.version_id()));
    versions.chain(markers).collect()
}

/// A TCP forwarder to `target` that the test can shut: closed, it drops every connection, open
/// ones included, as a storage outage would. The port stays the same.
pub struct Gate {
    port: u16,
    state: std::sync::Arc<std::sync::Mutex<(bool, tokio_util::sync::CancellationToken)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// `target`: `http://127.0.0.1:PORT`.
    pub async fn open_to(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::new(std::sync::Mutex::new((
            true,
            tokio_util::sync::CancellationToken::new(),
        )));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let (open, cut) = {
                    let s = shared.lock().unwrap();
                    (s.0, s.1.clone())
                };
                if !open {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Self { port, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Drops every connection from now on, and the open ones.
    pub fn shut(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 = false;
        s.1.cancel();
    }

    pub fn open(&self) {
        let mut s = self.state.lock().unwrap();
        *s = (true, tokio_util::sync::CancellationToken::new());
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}
