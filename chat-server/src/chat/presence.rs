//! Which agents are online: this replica counts its own sockets per agent, announces the first
//! and the last, and answers with what it last heard on the bus.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Chat;
use crate::delivery::publish::AGENTS_TOPIC;
use crate::protocol::{PresenceState, ServerFrame};

/// Sockets per agent on this replica.
#[derive(Default)]
pub(super) struct Presence {
    sockets: Mutex<HashMap<String, usize>>,
}

impl Chat {
    /// Counts an agent's sockets on this replica; the first and last change its presence.
    pub async fn agent_connected(&self, agent_id: &str, connected: bool) {
        let changed_to = {
            let mut counts = self.presence.sockets.lock().expect("presence lock");
            let n = counts.entry(agent_id.to_string()).or_default();
            if connected {
                *n += 1;
                (*n == 1).then_some(PresenceState::Online)
            } else {
                *n = n.saturating_sub(1);
                let gone = *n == 0;
                if gone {
                    counts.remove(agent_id);
                }
                gone.then_some(PresenceState::Offline)
            }
        };
        if let Some(state) = changed_to {
            self.set_presence(agent_id, state).await;
        }
    }

    pub async fn set_presence(&self, agent_id: &str, state: PresenceState) {
        let frame = ServerFrame::Presence {
            agent_id: agent_id.to_string(),
            state,
        };
        self.publisher
            .publish(AGENTS_TOPIC.to_string(), &frame)
            .await;
    }

    /// An agent's presence as this replica last heard it on the bus.
    pub(super) fn presence_of(&self, agent_id: &str) -> PresenceState {
        self.hub.presence_of(agent_id)
    }
}
