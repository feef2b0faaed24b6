//! "Tenant ready" notices against real sinks: SNS on moto (delivered to an SQS queue the test
//! reads, as a subscriber would) and a CloudEvents receiver on a local port. `conformance` holds
//! what every sink must do, run against both; `transitions` runs the controller (the real
//! reconcile against the API fake) with each sink: one notice per Ready transition, through a
//! sink outage and an operator restart. One binary, one file per topic.

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/mod.rs"]
mod support;

mod cloudevents;
mod conformance;
mod decisions;
mod settings;
mod sns;
mod transitions;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atendo_operator::notices::NoticeSink;
use serde_json::Value;

/// A notice as the receiving end got it, whatever the sink.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// The CloudEvent id, or the SNS message's `id` attribute.
    pub id: String,
    /// The CloudEvent type, or the SNS `event_type` attribute.
    pub kind: String,
    /// The notice JSON: the CloudEvent's data, or the SNS message.
    pub data: Value,
}

/// A sink under test and the receiving end behind it.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A sink publishing to the receiver (a new one each time, as after an operator restart).
    async fn sink(&self) -> Arc<dyn NoticeSink>;
    /// Down: publishes fail (connections dropped, or 503). Up: they are delivered.
    fn set_down(&self, down: bool);
    /// Every notice delivered so far, oldest first.
    async fn received(&self) -> Vec<Received>;
}

/// Polls `received` until it holds `n` notices or `limit` passes; what it holds then.
pub async fn wait_for(h: &dyn Harness, n: usize, limit: Duration) -> Vec<Received> {
    let start = std::time::Instant::now();
    loop {
        let got = h.received().await;
        if got.len() >= n || start.elapsed() > limit {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
