//! The per-process fan-out point between the bus and the sockets.
//!
//! The process holds one bus subscription per topic, however many sockets want it, and copies
//! each inbound payload to the interested sessions' bounded queues. A payload is verified
//! (`super::seal`) and parsed once per process (not per socket) and its text is shared, not
//! copied. A payload that fails verification is dropped, counted in
//! `chat_bus_rejected_total{reason}` and logged (without its body, at most once a second).
//!
//! Back-pressure: the hub never waits for a session. A session whose queue is full is kicked
//! (its alarm is raised, `super::inbox`) and closes itself as a slow consumer; the client resumes
//! with `after_seq`, and the store still has everything.
//!
//! Bus subscribe/unsubscribe calls are serialized by one async lock so that a topic being
//! dropped by the sweep and picked up again by a new session reach the bus in that order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::inbox::Inbox;
use super::seal::BusSeal;
use super::subscription::Outgoing;
use crate::bus::{Bus, BusResult, Inbound};
use crate::metrics::Metrics;
use crate::protocol::PresenceState;

pub type SessionId = u64;

/// What the hub hands a session.
#[derive(Clone, Debug)]
pub enum HubItem {
    Event(Arc<HubEvent>),
    /// The bus reconnected and may have lost payloads: catch up from the store.
    Resync,
}

#[derive(Debug)]
pub struct HubEvent {
    pub topic: String,
    pub kind: EventKind,
    pub text: Utf8Bytes,
}

#[derive(Debug, PartialEq, Eq)]
pub enum EventKind {
    Message {
        conversation_id: String,
        seq: u64,
        committed_ms: i64,
        private: bool,
    },
    Presence {
        agent_id: String,
        state: PresenceState,
    },
    /// Typing from `author_id`: not echoed to the author's own sockets.
    Typing {
        author_id: String,
    },
    Other,
}

impl HubEvent {
    pub fn outgoing(&self) -> Option<Outgoing> {
        match self.kind {
            EventKind::Message {
                seq,
                committed_ms,
                private,
                ..
            } => Some(Outgoing {
                seq,
                committed_ms,
                text: self.text.clone(),
                private,
            }),
            _ => None,
        }
    }
}

/// How the hub reaches one session: its inbox, which raises the session's alarm when full.
#[derive(Clone)]
pub struct SessionPort(pub Arc<Inbox>);

impl SessionPort {
    fn deliver(&self, item: HubItem) {
        self.0.put(item);
    }
}

#[derive(Default)]
struct Topic {
    subscribed: bool,
    sessions: HashMap<SessionId, SessionPort>,
}

pub struct Hub {
    bus: Arc<dyn Bus>,
    topics: Mutex<HashMap<String, Topic>>,
    bus_ops: tokio::sync::Mutex<()>,
    next_session: AtomicU64,
    seal: BusSeal,
    metrics: Arc<Metrics>,
    /// When a refusal was last logged, and how many went unlogged since: a flood of forged
    /// payloads must not become a flood of log lines.
    refusals: Mutex<(Option<Instant>, u64)>,
}

const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(1);

impl Hub {
    /// Starts the hub's dispatch loop over `inbound` and its sweep of unused topics; both end
    /// when `shutdown` is cancelled.
    pub fn start(
        bus: Arc<dyn Bus>,
        mut inbound: mpsc::Receiver<Inbound>,
        seal: BusSeal,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let hub = Arc::new(Self {
            bus,
            topics: Mutex::new(HashMap::new()),
            bus_ops: tokio::sync::Mutex::new(()),
            next_session: AtomicU64::new(1),
            seal,
            metrics,
            refusals: Mutex::new((None, 0)),
        });
        let dispatcher = hub.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    item = inbound.recv() => match item {
                        Some(item) => dispatcher.dispatch(item),
                        None => break,
                    },
                }
            }
        });
        let sweeper = hub.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => sweeper.sweep().await,
                }
            }
        });
        hub
    }

    pub fn new_session_id(&self) -> SessionId {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a session to a topic. Returns once the process's bus subscription for the topic is
    /// confirmed, so that anything published afterwards reaches the session.
    pub async fn subscribe(&self, topic: &str, id: SessionId, port: SessionPort) -> BusResult<()> {
        if self.insert_if_subscribed(topic, id, &port) {
            return Ok(());
        }
        let _ops = self.bus_ops.lock().await;
        if self.insert_if_subscribed(topic, id, &port) {
            return Ok(());
        }
        self.bus.subscribe(topic).await?;
        let mut topics = self.topics.lock().expect("hub lock");
        let entry = topics.entry(topic.to_string()).or_default();
        entry.subscribed = true;
        entry.sessions.insert(id, port);
        Ok(())
    }

    fn insert_if_subscribed(&self, topic: &str, id: SessionId, port: &SessionPort) -> bool {
        let mut topics = self.topics.lock().expect("hub lock");
        match topics.get_mut(topic) {
            Some(t) if t.subscribed => {
                t.sessions.insert(id, port.clone());
                true
            }
            _ => false,
        }
    }

    /// Removes a session from a topic; the bus subscription is dropped later by the sweep, so
    /// a socket that resubscribes at once costs no bus round trip.
    pub fn unsubscribe(&self, topic: &str, id: SessionId) {
        if let Some(t) = self.topics.lock().expect("hub lock").get_mut(topic) {
            t.sessions.remove(&id);
        }
    }

    /// Hands `text` (a server frame) to this process's sessions on `topic` as if the bus had
    /// carried it, without publishing it: for what every replica works out by itself (agents'
    /// presence, `super::presence`), which published would reach each socket once per replica.
    pub fn deliver_local(&self, topic: &str, text: String) {
        if let Some(event) = parse(topic.to_string(), bytes::Bytes::from(text)) {
            self.fan_out(event);
        }
    }

    pub fn topic_count(&self) -> usize {
        self.topics.lock().expect("hub lock").len()
    }

    async fn sweep(&self) {
        let _ops = self.bus_ops.lock().await;
        let idle: Vec<String> = {
            let mut topics = self.topics.lock().expect("hub lock");
            let idle: Vec<String> = topics
                .iter()
                .filter(|(_, t)| t.sessions.is_empty())
                .map(|(k, _)| k.clone())
                .collect();
            for k in &idle {
                topics.remove(k);
            }
            idle
        };
        for topic in idle {
            if let Err(e) = self.bus.unsubscribe(&topic).await {
                // Harmless: payloads for a topic nobody wants are dropped on arrival.
                tracing::warn!(%topic, error = %e, "bus unsubscribe failed");
            }
        }
    }

    fn dispatch(&self, item: Inbound) {
        match item {
            Inbound::Message { topic, payload } => {
                let frame = match self.seal.open(&topic, &payload) {
                    Ok(frame) => frame,
                    Err(why) => return self.refuse(&topic, why.label(), payload.len()),
                };
                if let Some(event) = parse(topic, frame) {
                    self.fan_out(event);
                }
            }
            Inbound::Resynced => {
                tracing::warn!("bus reconnected; every subscription catches up from the store");
                let topics = self.topics.lock().expect("hub lock");
                let mut told = std::collections::HashSet::new();
                for t in topics.values() {
                    for (id, port) in &t.sessions {
                        if told.insert(*id) {
                            port.deliver(HubItem::Resync);
                        }
                    }
                }
            }
        }
    }
}

impl Hub {
    fn fan_out(&self, event: HubEvent) {
        let event = Arc::new(event);
        let topics = self.topics.lock().expect("hub lock");
        if let Some(t) = topics.get(&event.topic) {
            for port in t.sessions.values() {
                port.deliver(HubItem::Event(event.clone()));
            }
        }
    }

    fn refuse(&self, topic: &str, reason: &'static str, len: usize) {
        self.metrics.bus_rejected(reason);
        let mut refusals = self.refusals.lock().expect("refusals lock");
        let now = Instant::now();
        if refusals
            .0
            .is_some_and(|last| now < last + REFUSAL_LOG_EVERY)
        {
            refusals.1 += 1;
            return;
        }
        let unlogged = std::mem::replace(&mut *refusals, (Some(now), 0)).1;
        // Never the payload: it is attacker-chosen and may carry a planted message body.
        tracing::warn!(
            %topic,
            reason,
            bytes = len,
            also_refused_since_last_line = unlogged,
            "dropping a bus payload that failed verification (is another deployment or an \
             outsider publishing on this namespace, or do replicas have different CHAT_SIGNING_KEYs?)"
        );
    }
}

#[derive(Deserialize)]
struct Peek {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<PeekMessage>,
    #[serde(default)]
    author: Option<PeekAuthor>,
    #[serde(default)]
    agent_id: Option<String>,
    /// A presence state here, but a boolean in typing frames: parsed only for presence.
    #[serde(default)]
    state: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PeekMessage {
    conversation_id: String,
    seq: u64,
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    private: bool,
}

#[derive(Deserialize)]
struct PeekAuthor {
    id: String,
}

/// Bus payloads are server frames as clients receive them; the hub only peeks at what ordering
/// and echo suppression need.
fn parse(topic: String, payload: bytes::Bytes) -> Option<HubEvent> {
    let text = match Utf8Bytes::try_from(payload) {
        Ok(t) => t,
        Err(_) => {
            tracing::warn!(%topic, "dropping a bus payload that is not UTF-8");
            return None;
        }
    };
    let peek: Peek = match serde_json::from_str(text.as_str()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(%topic, error = %e, "dropping a bus payload that is not a frame");
            return None;
        }
    };
    let presence = peek
        .state
        .as_ref()
        .and_then(|v| serde_json::from_value::<PresenceState>(v.clone()).ok());
    if let ("presence", Some(agent_id), Some(state)) =
        (peek.kind.as_str(), &peek.agent_id, presence)
    {
        let kind = EventKind::Presence {
            agent_id: agent_id.clone(),
            state,
        };
        return Some(HubEvent { topic, kind, text });
    }
    let kind = match (peek.kind.as_str(), peek.message, peek.author) {
        ("message", Some(m), _) => EventKind::Message {
            conversation_id: m.conversation_id,
            seq: m.seq,
            committed_ms: m.created_at.timestamp_millis(),
            private: m.private,
        },
        ("typing", _, Some(a)) => EventKind::Typing { author_id: a.id },
        _ => EventKind::Other,
    };
    Some(HubEvent { topic, kind, text })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::{EventKind, Hub, HubItem, Inbox, SessionPort, parse};
    use crate::bus::Inbound;
    use crate::bus::local::LocalBus;
    use crate::delivery::seal::BusSeal;
    use crate::metrics::Metrics;
    use crate::protocol::PresenceState;

    const PRESENCE: &str = r#"{"type":"presence","agent_id":"a1","state":"away"}"#;

    /// Payloads reach the hub as the bus hands them over: unsigned, sealed with another
    /// deployment's key, sealed for another topic, garbled, and finally one genuine. Only the
    /// genuine one reaches the session (as the bare frame).
    #[tokio::test]
    async fn only_payloads_sealed_with_this_deployments_key_for_their_topic_reach_sessions() {
        let (bus_tx, _bus_rx) = mpsc::channel(8);
        let (inbound, rx) = mpsc::channel(8);
        let metrics = Arc::new(Metrics::new());
        let ours = BusSeal::new(b"ours-0123456789abcdefghijklmnopqrstuv");
        let theirs = BusSeal::new(b"theirs-0123456789abcdefghijklmnopqrst");
        let stop = CancellationToken::new();
        let hub = Hub::start(
            Arc::new(LocalBus::new(bus_tx)),
            rx,
            ours.clone(),
            metrics.clone(),
            stop.clone(),
        );
        let session = Arc::new(Inbox::new(8));
        let port = SessionPort(session.clone());
        hub.subscribe("agents", 1, port).await.unwrap();
        let send = |payload: bytes::Bytes| {
            inbound.try_send(Inbound::Message {
                topic: "agents".into(),
                payload,
            })
        };
        send(bytes::Bytes::from_static(PRESENCE.as_bytes())).unwrap();
        send(theirs.seal("agents", PRESENCE)).unwrap();
        send(ours.seal("conv.c1", PRESENCE)).unwrap();
        send(bytes::Bytes::from_static(b"v1.garbled")).unwrap();
        let genuine = r#"{"type":"presence","agent_id":"a2","state":"online"}"#;
        send(ours.seal("agents", genuine)).unwrap();

        let HubItem::Event(event) = session.take().await else {
            panic!("the genuine payload arrives");
        };
        assert_eq!(event.text.as_str(), genuine);
        assert!(session.try_take().is_none(), "nothing else was delivered");
        let text = metrics.encode();
        for line in [
            r#"chat_bus_rejected_total{reason="unsigned"} 1"#,
            r#"chat_bus_rejected_total{reason="bad_mac"} 2"#,
            r#"chat_bus_rejected_total{reason="malformed"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        stop.cancel();
    }

    /// What one replica works out for itself reaches its own sessions on the topic, parsed as
    /// a bus payload would be, and never the bus.
    #[tokio::test]
    async fn local_deliveries_reach_this_processs_sessions_on_the_topic_only() {
        let (bus_tx, mut bus_rx) = mpsc::channel(8);
        let (_inbound, rx) = mpsc::channel(8);
        let stop = CancellationToken::new();
        let seal = BusSeal::new(b"ours-0123456789abcdefghijklmnopqrstuv");
        let bus = Arc::new(LocalBus::new(bus_tx));
        let hub = Hub::start(bus, rx, seal, Arc::new(Metrics::new()), stop.clone());
        let agents = Arc::new(Inbox::new(8));
        let other = Arc::new(Inbox::new(8));
        hub.subscribe("agents", 1, SessionPort(agents.clone()))
            .await
            .unwrap();
        hub.subscribe("conv.c1", 2, SessionPort(other.clone()))
            .await
            .unwrap();
        hub.deliver_local("agents", PRESENCE.to_string());
        let HubItem::Event(event) = agents.take().await else {
            panic!("delivered");
        };
        assert_eq!(
            (event.text.as_str(), &event.kind),
            (
                PRESENCE,
                &EventKind::Presence {
                    agent_id: "a1".into(),
                    state: PresenceState::Away
                }
            )
        );
        assert!(other.try_take().is_none(), "not to other topics");
        assert!(bus_rx.try_recv().is_err(), "nothing was published");
        stop.cancel();
    }

    fn kind(payload: &str) -> EventKind {
        parse("t".into(), bytes::Bytes::from(payload.to_string()))
            .expect("parses")
            .kind
    }

    #[test]
    fn typing_and_presence_frames_are_told_apart_though_both_carry_a_state() {
        let typing = r#"{"type":"typing","conversation_id":"c","author":{"kind":"agent","id":"a1"},"state":true}"#;
        assert_eq!(
            kind(typing),
            EventKind::Typing {
                author_id: "a1".into()
            }
        );
        let presence = r#"{"type":"presence","agent_id":"a1","state":"away"}"#;
        assert_eq!(
            kind(presence),
            EventKind::Presence {
                agent_id: "a1".into(),
                state: PresenceState::Away
            }
        );
    }

    #[test]
    fn payloads_that_are_not_frames_are_dropped() {
        assert!(parse("t".into(), bytes::Bytes::from_static(b"\xff")).is_none());
        assert!(parse("t".into(), bytes::Bytes::from_static(b"[1]")).is_none());
    }
}
