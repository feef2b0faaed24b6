//! Where a stored message becomes a bus publish. Always after the store commit: a frame on the
//! bus describes something already durable. Every payload is sealed (`super::seal`) once here.
//!
//! A failed publish is retried in the background a few times; if it still fails, subscribers
//! get the message anyway through gap-filling (the next message reveals the gap) or a resync
//! after the bus reconnects, because the store has it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::seal::BusSeal;
use crate::bus::Bus;
use crate::metrics::Metrics;
use crate::protocol::ServerFrame;

/// Topic of a conversation's messages, typing and read receipts.
pub fn conversation_topic(conversation_id: &str) -> String {
    format!("conv.{conversation_id}")
}

/// Topic every agent socket listens to: conversation changes and presence.
pub const AGENTS_TOPIC: &str = "agents";

const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

#[derive(Clone)]
pub struct Publisher {
    bus: Arc<dyn Bus>,
    seal: BusSeal,
    metrics: Arc<Metrics>,
}

impl Publisher {
    pub fn new(bus: Arc<dyn Bus>, seal: BusSeal, metrics: Arc<Metrics>) -> Self {
        Self { bus, seal, metrics }
    }

    /// Publishes `frame` on `topic`; on failure keeps trying in the background and returns.
    pub async fn publish(&self, topic: String, frame: &ServerFrame) {
        self.publish_text(topic, &frame.to_text()).await
    }

    /// As [`Self::publish`], for what replicas say to each other rather than to clients (e.g.
    /// `super::presence`'s announcements): sealed the same way, never on a client's topic.
    pub async fn publish_text(&self, topic: String, text: &str) {
        let payload: Bytes = self.seal.seal(&topic, text);
        if self.bus.publish(&topic, payload.clone()).await.is_ok() {
            return;
        }
        self.metrics.bus_publish_failures.inc();
        let this = self.clone();
        tokio::spawn(async move {
            for delay in RETRY_DELAYS {
                tokio::time::sleep(delay).await;
                match this.bus.publish(&topic, payload.clone()).await {
                    Ok(()) => return,
                    Err(e) => {
                        this.metrics.bus_publish_failures.inc();
                        tracing::warn!(%topic, error = %e, "bus publish failed; retrying");
                    }
                }
            }
            tracing::error!(%topic, "bus publish gave up; subscribers will catch up from the store");
        });
    }
}
