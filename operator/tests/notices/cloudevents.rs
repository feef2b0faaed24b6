//! The CloudEvents harness: an HTTP receiver on a local port that checks each request is a
//! structured-mode CloudEvent 1.0, records every attempt, and answers 503 while down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use atendo_operator::notices::NoticeSink;
use atendo_operator::notices::cloudevents::CloudEventsSink;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::{Harness, Received};

pub const SOURCE: &str = "/clusters/test/atendo-operator";

#[derive(Default)]
struct Inbox {
    down: AtomicBool,
    /// Every valid request, accepted or not: (accepted, event).
    attempts: Mutex<Vec<(bool, Value)>>,
    /// Why requests were refused as invalid.
    problems: Mutex<Vec<String>>,
}

pub struct CloudEvents {
    url: String,
    inbox: Arc<Inbox>,
    task: tokio::task::JoinHandle<()>,
}

impl CloudEvents {
    pub async fn start() -> CloudEvents {
        let inbox = Arc::new(Inbox::default());
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        CloudEvents { url, inbox, task }
    }

    /// Every request's event with whether it was accepted, oldest first.
    pub fn attempts(&self) -> Vec<(bool, Value)> {
        self.inbox.attempts.lock().unwrap().clone()
    }
}

impl Drop for CloudEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Records the attempt, or the reason the request is no valid CloudEvent (answered 400, and
/// failing the test when it reads what arrived).
async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: String) -> StatusCode {
    let event = match check(&headers, &body) {
        Ok(event) => event,
        Err(problem) => {
            inbox.problems.lock().unwrap().push(problem);
            return StatusCode::BAD_REQUEST;
        }
    };
    let down = inbox.down.load(Ordering::SeqCst);
    inbox.attempts.lock().unwrap().push((!down, event));
    if down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::ACCEPTED
    }
}

/// CloudEvents 1.0, JSON event format in structured content mode: the required attributes, the
/// optional ones this sink promises, and a timestamp in RFC 3339.
fn check(headers: &HeaderMap, body: &str) -> Result<Value, String> {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if content_type != Some("application/cloudevents+json") {
        return Err(format!(
            "content-type {content_type:?} is not structured mode"
        ));
    }
    let event: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    for attribute in [
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
    ] {
        if event[attribute].as_str().is_none_or(str::is_empty) {
            return Err(format!("{attribute} is no non-empty string in {event}"));
        }
    }
    if event["specversion"] != "1.0" || event["datacontenttype"] != "application/json" {
        return Err(format!("specversion or datacontenttype wrong in {event}"));
    }
    if !event["data"].is_object() {
        return Err(format!("data is no object in {event}"));
    }
    event["time"]
        .as_str()
        .unwrap()
        .parse::<k8s_openapi::jiff::Timestamp>()
        .map_err(|e| format!("time is not RFC 3339: {e}"))?;
    Ok(event)
}

#[async_trait]
impl Harness for CloudEvents {
    async fn sink(&self) -> Arc<dyn NoticeSink> {
        Arc::new(CloudEventsSink::new(&self.url, SOURCE))
    }

    fn set_down(&self, down: bool) {
        self.inbox.down.store(down, Ordering::SeqCst);
    }

    async fn received(&self) -> Vec<Received> {
        assert_eq!(*self.inbox.problems.lock().unwrap(), Vec::<String>::new());
        self.attempts()
            .into_iter()
            .filter(|(accepted, _)| *accepted)
            .map(|(_, event)| {
                assert_eq!(event["source"], SOURCE);
                assert_eq!(event["subject"], event["data"]["tenant"]);
                assert_eq!(event["time"], event["data"]["readyAt"]);
                Received {
                    id: event["id"].as_str().unwrap().to_string(),
                    kind: event["type"].as_str().unwrap().to_string(),
                    data: event["data"].clone(),
                }
            })
            .collect()
    }
}
