//! Faults of the API server itself, switched on and off by a test: an error status (5xx) or a
//! slow answer (past the client's timeout, see [`super::FakeApi::client_with_timeout`]) on
//! chosen verbs and resources, open watch streams dropped, and the watch after a drop refused
//! with 410 Gone so the watcher must re-list. Counted, so a test can show they happened.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::Response;
use http_body_util::{BodyExt, BodyStream, Full, StreamBody};
use serde_json::json;
use tokio::sync::watch;

use super::Body;

/// What a matching request gets instead of (or before) its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// This status with a Kubernetes Status body, e.g. 500 or 503.
    Status(u16),
    /// The answer only after this long.
    Slow(Duration),
}

/// One fault rule: requests with this verb ("GET", "POST", "PATCH", "DELETE", or "WATCH") whose
/// path contains `resource` (e.g. "/deployments", "/status"), every `every`-th of them.
#[derive(Clone, Debug)]
pub struct Rule {
    pub verb: &'static str,
    pub resource: &'static str,
    pub every: u32,
    pub fault: Fault,
}

#[derive(Default)]
struct State {
    rules: Vec<(Rule, u32)>,
    /// Watches to refuse with 410 Gone (the next ones that name a resourceVersion).
    gone: usize,
    injected: usize,
    gone_sent: usize,
}

#[derive(Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    /// Bumped to end every open watch stream.
    drops: Arc<watch::Sender<u64>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::default(),
            drops: Arc::new(watch::channel(0).0),
        }
    }
}

impl Faults {
    pub fn add(&self, rule: Rule) {
        self.state.lock().unwrap().rules.push((rule, 0));
    }

    /// No more faults from now on (open streams stay open).
    pub fn clear(&self) {
        let mut state = self.state.lock().unwrap();
        state.rules.clear();
        state.gone = 0;
    }

    /// Ends every open watch stream, and answers the next `gone` watches that resume from a
    /// resourceVersion with 410 Gone.
    pub fn drop_watches(&self, gone: usize) {
        self.state.lock().unwrap().gone = gone;
        self.drops.send_modify(|n| *n += 1);
    }

    /// (status or slow answers injected, watches refused with 410) so far.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.injected, state.gone_sent)
    }

    /// The fault this request meets, if any.
    pub(super) fn fault_for(&self, verb: &str, path: &str) -> Option<Fault> {
        let mut state = self.state.lock().unwrap();
        let mut hit = None;
        for (rule, seen) in &mut state.rules {
            if rule.verb == verb && path.contains(rule.resource) {
                *seen += 1;
                if hit.is_none() && (*seen).is_multiple_of(rule.every.max(1)) {
                    hit = Some(rule.fault);
                }
            }
        }
        if hit.is_some() {
            state.injected += 1;
        }
        hit
    }

    /// 410 Gone for a watch that resumes from a resourceVersion, while any are owed.
    pub(super) fn gone(&self, resumes: bool) -> Option<Response<Body>> {
        let mut state = self.state.lock().unwrap();
        if !resumes || state.gone == 0 {
            return None;
        }
        state.gone -= 1;
        state.gone_sent += 1;
        let error = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "metadata": {}, "status": "Failure", "message": "too old resource version (injected)",
            "reason": "Expired", "code": 410}});
        Some(
            Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(error.to_string() + "\n")).boxed())
                .unwrap(),
        )
    }

    /// A watch response whose stream ends at the next [`Faults::drop_watches`].
    pub(super) fn droppable(&self, response: Response<Body>) -> Response<Body> {
        let mut drops = self.drops.subscribe();
        drops.borrow_and_update();
        let (parts, body) = response.into_parts();
        let frames = BodyStream::new(body).take_until(async move {
            let _ = drops.changed().await;
        });
        Response::from_parts(parts, BodyExt::boxed(StreamBody::new(frames)))
    }
}

/// A Kubernetes Status answer with `code`.
pub(super) fn status(code: u16) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("injected fault: {code}"), "reason": "InternalError", "code": code});
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}
