//! How the fake answers on the wire: watch streams over the event window, one function that
//! answers a request whatever its body type, the tower `Service` kube's in-process client calls,
//! and `serve` on a TCP port for an operator in another process.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::StreamExt;
use http::{Request, Response};
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};

use super::faults::{self, Fault};
use super::{Body, FakeApi, Key, State, matches_fields, matches_selector};

/// What one watch asks for.
pub(super) struct WatchFilter {
    pub(super) group: String,
    pub(super) resource: String,
    pub(super) namespace: String,
    pub(super) selector: Option<String>,
    pub(super) fields: Option<String>,
}

impl WatchFilter {
    fn wants(&self, key: &Key, object: &Value) -> bool {
        key.0 == self.group
            && key.1 == self.resource
            && (self.namespace.is_empty() || key.2 == self.namespace)
            && matches_selector(object, self.selector.as_deref())
            && matches_fields(object, self.fields.as_deref())
    }
}

fn watch_line(kind: &str, object: &Value) -> Bytes {
    Bytes::from(json!({"type": kind, "object": object}).to_string() + "\n")
}

impl FakeApi {
    /// A watch from resourceVersion `since`: the events after it from the window, then each new
    /// one as it happens. The stream reads the history itself, so a slow reader only loses
    /// events (and gets 410) once they leave the window, as with the API server's watch cache.
    pub(super) fn watch(
        &self,
        state: &mut State,
        filter: WatchFilter,
        since: u64,
    ) -> Response<Body> {
        let mut first = Vec::new();
        let cursor = if since == 0 && state.expired > 0 {
            // "Any version": start with what exists now.
            for (key, object) in &state.objects {
                if filter.wants(key, object) {
                    first.push(watch_line("ADDED", object));
                }
            }
            state.rv
        } else {
            since
        };
        let newest = self.newest.subscribe();
        let api = self.clone();
        let filter = Arc::new(filter);
        let pending: VecDeque<Bytes> = first.into();
        let frames = futures::stream::unfold(
            (api, newest, cursor, pending, false),
            move |(api, mut newest, mut cursor, mut pending, mut done)| {
                let filter = filter.clone();
                async move {
                    loop {
                        if let Some(line) = pending.pop_front() {
                            return Some((line, (api, newest, cursor, pending, done)));
                        }
                        if done {
                            return None;
                        }
                        newest.borrow_and_update();
                        {
                            let mut state = api.state.lock().unwrap();
                            if state.expired > cursor {
                                state.expired_watches += 1;
                                let message = format!(
                                    "too old resource version: {cursor} ({})",
                                    state.expired + 1
                                );
                                let error = json!({"kind": "Status", "apiVersion": "v1",
                                    "metadata": {}, "status": "Failure", "message": message,
                                    "reason": "Expired", "code": 410});
                                pending.push_back(watch_line("ERROR", &error));
                                done = true;
                                continue;
                            }
                            let start = state.history.partition_point(|e| e.rv <= cursor);
                            for event in state.history.range(start..) {
                                if filter.wants(&event.key, &event.object) {
                                    pending.push_back(watch_line(event.kind, &event.object));
                                }
                                cursor = event.rv;
                            }
                        }
                        if pending.is_empty() && newest.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            },
        )
        .map(|line| Ok::<_, Infallible>(http_body::Frame::data(line)));
        Response::builder()
            .header("content-type", "application/json")
            .body(BodyExt::boxed(StreamBody::new(frames)))
            .unwrap()
    }

    /// Answers one HTTP request, whatever its body type (kube's in-process, or hyper's in `serve`).
    async fn respond<B>(self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
    {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .to_string();
        let query = parts.uri.query().unwrap_or("");
        self.handle(
            parts.method.as_str(),
            parts.uri.path(),
            query,
            &content_type,
            &body,
        )
    }

    /// Serves this fake over plain HTTP on `listener` until the task is dropped, so that an
    /// operator in another process reaches it as it would an API server.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = axum::Router::new()
            .fallback(move |request: Request<axum::body::Body>| self.clone().respond(request));
        axum::serve(listener, app).await
    }
}

impl tower::Service<Request<kube::client::Body>> for FakeApi {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let query = request.uri().query().unwrap_or("");
            let watching = query
                .split('&')
                .any(|p| p == "watch=true" || p == "watch=1");
            let verb = if watching {
                "WATCH"
            } else {
                request.method().as_str()
            };
            match this.faults.fault_for(verb, request.uri().path()) {
                Some(Fault::Status(code)) => return Ok(faults::status(code)),
                Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
                None => {}
            }
            if watching {
                let resumes = query.split('&').any(|p| {
                    p.strip_prefix("resourceVersion=")
                        .is_some_and(|v| !v.is_empty() && v != "0")
                });
                if let Some(gone) = this.faults.gone(resumes) {
                    return Ok(gone);
                }
                let faults = this.faults.clone();
                return Ok(faults.droppable(this.respond(request).await));
            }
            Ok(this.respond(request).await)
        })
    }
}

/// [`FakeApi`] behind a client-side timeout: an answer slower than `limit` is an error.
#[derive(Clone)]
pub(super) struct Timeout {
    pub(super) inner: FakeApi,
    pub(super) limit: std::time::Duration,
}

impl tower::Service<Request<kube::client::Body>> for Timeout {
    type Response = Response<Body>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let mut inner = self.inner.clone();
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, tower::Service::call(&mut inner, request)).await {
                Ok(answer) => Ok(answer.unwrap_or_else(|never| match never {})),
                Err(_) => Err(format!("no answer within {limit:?} (client timeout)").into()),
            }
        })
    }
}
