//! Fan-out between replicas of one deployment.
//!
//! A bus is a topic-addressed, at-most-once pipe: what is published on a topic reaches every
//! process that is subscribed to that topic at the time (the publisher included). Nothing is
//! stored; durability is the store's job. Delivery (`crate::delivery`) uses one bus
//! subscription per topic per process and fans out to sockets itself.
//!
//! Implementations: [`redis`] (Redis pub/sub through `fred`, one channel namespace per
//! deployment; on a single server or, with sharded pub/sub, a Redis Cluster) and [`local`]
//! (in-process, for `CHAT_BUS=local`). One conformance suite (`tests/bus_conformance.rs`) runs
//! against each.

pub mod local;
pub mod redis;
pub mod tls;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::config::BusLocation;

/// What a process receives from the bus. Implementations are handed the sending half of a
/// channel at construction and push into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A payload published on `topic` (the topic as passed to `publish`, without namespace).
    Message { topic: String, payload: Bytes },
    /// The connection to the bus was lost and is back, with every subscription restored.
    /// Anything published meanwhile may be lost: receivers must catch up from the store.
    Resynced,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    #[error("bus error: {0}")]
    Other(String),
}

pub type BusResult<T> = Result<T, BusError>;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    async fn publish(&self, topic: &str, payload: Bytes) -> BusResult<()>;
    /// Idempotent: subscribing twice to one topic still delivers each payload once.
    async fn subscribe(&self, topic: &str) -> BusResult<()>;
    async fn unsubscribe(&self, topic: &str) -> BusResult<()>;
    /// Cheap round trip for `/health/ready`.
    async fn ping(&self) -> BusResult<()>;
}

/// The bus `location` names, pushing what it receives into `inbound`. `namespace` separates
/// deployments sharing one Redis; the in-process bus has nothing to share and ignores it.
/// `ca` is the private CA a `rediss://` (`rediss-cluster://`) server's certificate must chain
/// to (else the public roots); giving one for any other location is an error, not a silent
/// plain-text connection.
pub async fn connect(
    location: &BusLocation,
    ca: Option<&crate::config::CaFile>,
    namespace: &str,
    inbound: mpsc::Sender<Inbound>,
) -> BusResult<Arc<dyn Bus>> {
    Ok(match location {
        BusLocation::Local => {
            if let Some(ca) = ca {
                return Err(BusError::Other(format!(
                    "CHAT_BUS_CA_FILE ({}) is set but CHAT_BUS is local; it applies to TLS Redis URLs only",
                    ca.path().display()
                )));
            }
            Arc::new(local::LocalBus::new(inbound))
        }
        BusLocation::Redis(url) => {
            Arc::new(redis::RedisBus::connect(url, ca, namespace, inbound).await?)
        }
    })
}
