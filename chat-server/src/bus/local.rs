//! In-process bus for a single replica (`CHAT_BUS=local`).
//!
//! There is no connection to lose, so [`Inbound::Resynced`] is never sent, and nothing is ever
//! dropped: `publish` waits for room in the inbound channel, which pushes back on publishers
//! when the receiver falls behind instead of losing payloads. The receiver of the inbound
//! channel must therefore not `publish` from its own receive loop.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::{Bus, BusError, BusResult, Inbound};

pub struct LocalBus {
    topics: Mutex<HashSet<String>>,
    inbound: mpsc::Sender<Inbound>,
}

impl LocalBus {
    pub fn new(inbound: mpsc::Sender<Inbound>) -> Self {
        Self {
            topics: Mutex::new(HashSet::new()),
            inbound,
        }
    }

    fn topics(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // The set is valid after any panic in another holder (inserts and removes are atomic).
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> BusResult<()> {
        if !self.topics().contains(topic) {
            return Ok(());
        }
        let message = Inbound::Message {
            topic: topic.to_string(),
            payload,
        };
        self.inbound
            .send(message)
            .await
            .map_err(|_| BusError::Unavailable("the inbound receiver was dropped".into()))
    }

    async fn subscribe(&self, topic: &str) -> BusResult<()> {
        self.topics().insert(topic.to_string());
        Ok(())
    }

    async fn unsubscribe(&self, topic: &str) -> BusResult<()> {
        self.topics().remove(topic);
        Ok(())
    }

    async fn ping(&self) -> BusResult<()> {
        if self.inbound.is_closed() {
            Err(BusError::Unavailable(
                "the inbound receiver was dropped".into(),
            ))
        } else {
            Ok(())
        }
    }
}
