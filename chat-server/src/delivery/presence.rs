//! Which agents are online, across every replica of the deployment.
//!
//! The contract (chat-api-v1, "Working a conversation"): an agent is online while any of its
//! sockets on any replica is, and a replica that dies takes its sockets' presence with it within
//! 60 s. Each replica knows its own sockets exactly and learns the others' from announcements on
//! a bus topic only replicas speak on ([`PRESENCE_TOPIC`]):
//!
//! - a replica announces the whole set of agents it has sockets for, each with its online/away
//!   choice: at once when an agent gets its first socket here, loses its last one or changes its
//!   choice, and every heartbeat (`CHAT_PRESENCE_HEARTBEAT_SECS`, 15 s) in any case;
//! - a replica not heard from for [`TTL_HEARTBEATS`] heartbeats (45 s) is taken to be gone
//!   (killed, cut off) with its sockets; the board is swept every second, so such a replica's
//!   agents go offline at most 46 s after its last announcement (the setting is capped so this
//!   stays under 60 s);
//! - a replica that starts, or whose bus link comes back, asks, and every replica answers with its
//!   set at once: nobody waits a heartbeat to know who is online. One that stops says so (an
//!   empty set) rather than leaving its agents online for the TTL.
//!
//! Why announcements on the bus and not leases in the store: the bus is already isolated per
//! tenant (docs/security.md: a tenant's Redis user may only publish and subscribe on its own
//! channels and holds no keys, which this keeps), it works the same with `CHAT_BUS=local`, and it
//! costs nothing per delivered message: the board is touched when agent sockets open or close,
//! on announcements (one per replica per heartbeat) and by the sweep.
//!
//! Every replica works out the same transitions from the same announcements, so each tells only
//! its own agent sockets (`Hub::deliver_local`) instead of publishing presence frames: one change
//! published by every replica would reach each socket once per replica, and published by one
//! replica alone it would be lost when that replica is the one that died.

mod board;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use self::board::{Board, Change, Hosted};
use super::hub::{Hub, HubItem, SessionPort};
use super::inbox::Inbox;
use super::publish::{AGENTS_TOPIC, Publisher};
use crate::protocol::{PresenceState, ServerFrame};

/// The replicas' own topic; no socket subscribes to it.
pub const PRESENCE_TOPIC: &str = "presence";
/// Heartbeats a replica may miss before its sockets count as closed.
pub const TTL_HEARTBEATS: u32 = 3;
/// How often the board looks for replicas past the TTL.
const SWEEP: Duration = Duration::from_secs(1);
/// The `type` of announcements, so the hub files them with frames it does not look into.
const ANNOUNCEMENT: &str = "replica_presence";

/// What replicas tell each other: every agent `replica` has sockets for. `ask` asks every other
/// replica to announce at once (sent at start and after a bus reconnect).
#[derive(Serialize, Deserialize)]
struct Announcement {
    #[serde(rename = "type")]
    kind: String,
    replica: String,
    #[serde(default)]
    ask: bool,
    agents: Vec<Hosted>,
}

pub struct PresenceBoard {
    board: Mutex<Board>,
    me: String,
    hub: Arc<Hub>,
    publisher: Publisher,
    /// This replica's set changed: announce it.
    announce: Notify,
    /// Some agent's merged state became online (see [`Self::came_online`]).
    came_online: Notify,
}

impl PresenceBoard {
    /// Starts the board of this replica, announcing every `heartbeat`, until `shutdown`.
    pub fn start(
        hub: Arc<Hub>,
        publisher: Publisher,
        heartbeat: Duration,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let me = crate::model::new_id();
        let board = Arc::new(Self {
            board: Mutex::new(Board::new(me.clone(), heartbeat * TTL_HEARTBEATS)),
            me,
            hub,
            publisher,
            announce: Notify::new(),
            came_online: Notify::new(),
        });
        tokio::spawn(board.clone().run(heartbeat, shutdown));
        board
    }

    /// A socket of `agent` opened on this replica.
    pub fn connected(&self, agent: &str) {
        let outcome = self.lock().connected(agent, now_ms());
        self.apply(outcome);
    }

    /// A socket of `agent` closed on this replica.
    pub fn disconnected(&self, agent: &str) {
        let outcome = self.lock().disconnected(agent);
        self.apply(outcome);
    }

    /// `agent`, from a socket on this replica, chose to be `state` (online or away).
    pub fn choose(&self, agent: &str, state: PresenceState) {
        let outcome = self.lock().choose(agent, state, now_ms());
        self.apply(outcome);
    }

    /// `agent`'s presence across every replica heard from within the TTL.
    pub fn state_of(&self, agent: &str) -> PresenceState {
        self.lock().state_of(agent)
    }

    /// The agents online (not away) on any replica.
    pub fn online(&self) -> Vec<String> {
        self.lock().online()
    }

    /// Resolves once an agent came online since the last call (for automatic assignment).
    pub async fn came_online(&self) {
        self.came_online.notified().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().expect("presence board lock")
    }

    fn apply(&self, (changes, announce): (Vec<Change>, bool)) {
        if announce {
            self.announce.notify_one();
        }
        self.tell(changes);
    }

    /// This replica's agent sockets hear each change; routing hears of agents coming online.
    fn tell(&self, changes: Vec<Change>) {
        for Change { agent_id, state } in changes {
            if state == PresenceState::Online {
                self.came_online.notify_one();
            }
            let frame = ServerFrame::Presence { agent_id, state };
            self.hub.deliver_local(AGENTS_TOPIC, frame.to_text());
        }
    }

    async fn run(self: Arc<Self>, heartbeat: Duration, shutdown: CancellationToken) {
        // Announcements are rare; if this inbox ever fills, the next heartbeat repairs what
        // was dropped, so the alarm it raises has nothing to close.
        let inbound = Arc::new(Inbox::new(1024));
        let port = SessionPort(inbound.clone());
        let id = self.hub.new_session_id();
        while let Err(e) = self.hub.subscribe(PRESENCE_TOPIC, id, port.clone()).await {
            tracing::warn!(error = %e, "cannot listen for other replicas' presence yet; retrying");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        self.publish(true).await;
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let mut sweep = tokio::time::interval(SWEEP);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.announce.notified() => self.publish(false).await,
                _ = beat.tick() => self.publish(false).await,
                _ = sweep.tick() => {
                    let changes = self.lock().expire(Instant::now());
                    self.tell(changes);
                }
                item = inbound.take() => match item {
                    HubItem::Event(event) => self.hear(event.text.as_str()).await,
                    // Announcements may have been lost both ways: ask for everyone's again.
                    HubItem::Resync => self.publish(true).await,
                },
            }
        }
        // Stopping: every socket here is being told to reconnect elsewhere, so this replica
        // hosts nobody from now on.
        self.send(false, Vec::new()).await;
        self.hub.unsubscribe(PRESENCE_TOPIC, id);
    }

    async fn hear(&self, text: &str) {
        let Ok(a) = serde_json::from_str::<Announcement>(text) else {
            return;
        };
        if a.kind != ANNOUNCEMENT || a.replica == self.me {
            return;
        }
        let changes = self.lock().heard(&a.replica, a.agents, Instant::now());
        self.tell(changes);
        if a.ask {
            self.publish(false).await;
        }
    }

    async fn publish(&self, ask: bool) {
        let agents = self.lock().hosted();
        self.send(ask, agents).await;
    }

    async fn send(&self, ask: bool, agents: Vec<Hosted>) {
        let announcement = Announcement {
            kind: ANNOUNCEMENT.into(),
            replica: self.me.clone(),
            ask,
            agents,
        };
        let text = serde_json::to_string(&announcement).expect("announcements serialize");
        self.publisher
            .publish_text(PRESENCE_TOPIC.into(), &text)
            .await;
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
