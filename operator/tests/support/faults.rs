//! Fault injection at the operator's two boundaries.
//!
//! - [`CrashAfterWrite`] wraps the Kubernetes API fake: the k-th write reaches the fake (and is
//!   stored), but its answer and every later answer never come, as if the operator's process had
//!   died right after that write. The test then drops that controller and starts a fresh one on
//!   the same stored state.
//! - [`FaultProxy`] is an HTTP proxy in front of moto's S3 server. It was chosen over a wiremock
//!   S3 endpoint because recovery must be judged against real S3 behaviour: while a fault is set
//!   the matching requests get an S3 error document (or never an answer), and once it clears
//!   every request reaches moto unchanged, so the bucket the operator ends up with is a real one.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use axum::extract::State;
use axum::response::{IntoResponse, Response as AxumResponse};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use tokio::sync::watch;

use super::fake_api::FakeApi;

type Body = BoxBody<Bytes, Infallible>;

/// The API fake, with the process "dying" right after its k-th write (counted from 1).
#[derive(Clone)]
pub struct CrashAfterWrite {
    inner: FakeApi,
    crash_after: usize,
    writes: Arc<AtomicUsize>,
    /// The method and path of the write the process died after, once it happened.
    crashed: watch::Sender<Option<String>>,
}

impl CrashAfterWrite {
    pub fn new(inner: FakeApi, crash_after: usize) -> Self {
        CrashAfterWrite {
            inner,
            crash_after,
            writes: Arc::default(),
            crashed: watch::channel(None).0,
        }
    }

    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }

    /// Waits until the crash happened and returns "METHOD path" of the last write that did.
    pub async fn crashed(&self, within: Duration) -> String {
        let mut rx = self.crashed.subscribe();
        let seen = tokio::time::timeout(within, rx.wait_for(Option::is_some))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "write {} never came within {within:?} (only {} writes)",
                    self.crash_after,
                    self.writes.load(Ordering::SeqCst)
                )
            })
            .expect("the sender lives in self");
        seen.clone().expect("waited for Some")
    }
}

impl tower::Service<Request<kube::client::Body>> for CrashAfterWrite {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let mut inner = self.inner.clone();
        let crashed = self.crashed.clone();
        let dead = crashed.borrow().is_some();
        let write = request.method() != http::Method::GET;
        let n = if write && !dead {
            self.writes.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            0
        };
        let crash_after = self.crash_after;
        Box::pin(async move {
            if dead || n > crash_after {
                // A dead process sends nothing more.
                return futures::future::pending().await;
            }
            let what = format!("{} {}", request.method(), request.uri().path());
            let response = tower::Service::call(&mut inner, request).await;
            if n == crash_after {
                crashed.send_replace(Some(what));
                return futures::future::pending().await;
            }
            response
        })
    }
}

/// What the proxy does with a request that matches the rule.
#[derive(Clone, Debug)]
pub enum HttpFault {
    /// Answers with this status and S3 error code instead of forwarding.
    Status(u16, &'static str),
    /// Never answers and never forwards.
    Hang,
    /// Forwards (moto acts on it) but never answers: the process died waiting for the answer.
    LoseAnswer,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub fault: HttpFault,
    /// Only requests whose path contains this are faulted (e.g. one tenant's bucket).
    pub path_contains: Option<String>,
    /// This many matching requests pass untouched first.
    pub pass_first: usize,
}

impl Rule {
    pub fn always(fault: HttpFault) -> Self {
        Rule {
            fault,
            path_contains: None,
            pass_first: 0,
        }
    }

    pub fn on_path(fault: HttpFault, path_contains: &str) -> Self {
        Rule {
            path_contains: Some(path_contains.into()),
            ..Rule::always(fault)
        }
    }
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The SDK's own attempt number (`amz-sdk-request: attempt=N`), 1 for a first try.
    pub attempt: u32,
    pub at: Instant,
    pub faulted: bool,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    rule: Mutex<Option<(Rule, usize)>>,
    seen: Mutex<Vec<Seen>>,
    /// Set by `LoseAnswer`/`Hang` once a request was held: the "process" is then dead.
    dead: watch::Sender<bool>,
}

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to give the S3 client as its endpoint.
    pub endpoint: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').into(),
            http: reqwest::Client::new(),
            rule: Mutex::default(),
            seen: Mutex::default(),
            dead: watch::channel(false).0,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FaultProxy {
            endpoint,
            state,
            task,
        }
    }

    /// Replaces the rule (None: every request reaches moto).
    pub fn set(&self, rule: Option<Rule>) {
        *self.state.rule.lock().unwrap() = rule.map(|r| (r, 0));
        self.state.dead.send_replace(false);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Waits until a `Hang` or `LoseAnswer` fault held a request.
    pub async fn held(&self, within: Duration) {
        let mut rx = self.state.dead.subscribe();
        tokio::time::timeout(within, rx.wait_for(|dead| *dead))
            .await
            .unwrap_or_else(|_| panic!("no request was held within {within:?}"))
            .expect("the sender lives in the state");
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn s3_error(status: u16, code: &str) -> AxumResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected fault</Message><RequestId>fault</RequestId></Error>"
    );
    let status = StatusCode::from_u16(status).expect("a valid status");
    (status, [("content-type", "application/xml")], body).into_response()
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request<AxumBody>) -> AxumResponse {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let attempt = parts
        .headers
        .get("amz-sdk-request")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';')
                .find_map(|kv| kv.trim().strip_prefix("attempt="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let fault = {
        let mut rule = state.rule.lock().unwrap();
        match rule.as_mut() {
            Some((rule, matched))
                if rule
                    .path_contains
                    .as_deref()
                    .is_none_or(|p| path.contains(p)) =>
            {
                *matched += 1;
                (*matched > rule.pass_first).then(|| rule.fault.clone())
            }
            _ => None,
        }
    };
    state.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        attempt,
        at: Instant::now(),
        faulted: fault.is_some(),
    });
    match fault {
        Some(HttpFault::Status(status, code)) => return s3_error(status, code),
        Some(HttpFault::Hang) => {
            state.dead.send_replace(true);
            return futures::future::pending().await;
        }
        Some(HttpFault::LoseAnswer) | None => {}
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let url = if query.is_empty() {
        format!("{}{path}", state.upstream)
    } else {
        format!("{}{path}?{query}", state.upstream)
    };
    let mut upstream = state.http.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(e) => return s3_error(502, &format!("ProxyError {e}")),
    };
    if matches!(fault, Some(HttpFault::LoseAnswer)) {
        state.dead.send_replace(true);
        return futures::future::pending().await;
    }
    let mut response = AxumResponse::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response
        .body(AxumBody::from(bytes))
        .expect("headers copied from a valid response")
}

/// An S3 client configured as `run` configures the provider's (the SDK's default retries, no
/// read timeout of its own), pointed at `endpoint` with moto's test credentials.
pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub async fn s3_storage(endpoint: &str) -> atendo_operator::controller::s3_storage::S3Storage {
    atendo_operator::controller::s3_storage::S3Storage::new(s3_client(endpoint).await, "us-east-1")
}

/// Plays the Deployment and ingress controllers, which the fake does not run: a chat-server
/// Deployment whose status is missing or stale gets two available replicas, an Ingress without
/// an address gets one.
pub fn report_workload_up(api: &FakeApi, ns: &str) {
    if let Some(mut deployment) = api.get("apps", "deployments", ns, "chat-server") {
        let generation = deployment["metadata"]["generation"].clone();
        if deployment["status"]["observedGeneration"] != generation {
            deployment["status"] = serde_json::json!({"observedGeneration": generation, "replicas": 2, "availableReplicas": 2});
            api.put("apps", "deployments", ns, deployment);
        }
    }
    if let Some(mut ingress) = api.get("networking.k8s.io", "ingresses", ns, "chat-server")
        && ingress["status"]["loadBalancer"]["ingress"].is_null()
    {
        ingress["status"] =
            serde_json::json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}});
        api.put("networking.k8s.io", "ingresses", ns, ingress);
    }
}

/// (status, reason) of one condition of the stored Tenant, if both exist.
pub fn condition(api: &FakeApi, tenant: &str, kind: &str) -> Option<(String, String)> {
    let tenant = api.get("atendo.io", "tenants", "", tenant)?;
    let conditions = tenant["status"]["conditions"].as_array()?.clone();
    let c = conditions.iter().find(|c| c["type"] == kind)?;
    Some((
        c["status"].as_str()?.to_string(),
        c["reason"].as_str()?.to_string(),
    ))
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `within`.
pub async fn eventually(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Plays the workload controllers until the Tenant's Ready condition is True.
pub async fn until_ready(api: &FakeApi, tenant: &str, within: Duration) {
    let ns = format!("tenant-{tenant}");
    eventually(&format!("{tenant} Ready"), within, || {
        report_workload_up(api, &ns);
        condition(api, tenant, "Ready").is_some_and(|(s, _)| s == "True")
    })
    .await;
}
