//! Which agents are online: the use cases over this replica's view of every replica's sockets
//! (`crate::delivery::presence`, which says how replicas keep it in step).

use super::Chat;
use crate::protocol::PresenceState;

impl Chat {
    /// An agent's socket opened (`connected`) or closed on this replica.
    pub async fn agent_connected(&self, agent_id: &str, connected: bool) {
        if connected {
            self.presence.connected(agent_id);
        } else {
            self.presence.disconnected(agent_id);
        }
    }

    /// The agent chose to be online or away (offline follows from its sockets closing).
    pub async fn set_presence(&self, agent_id: &str, state: PresenceState) {
        self.presence.choose(agent_id, state);
    }

    /// An agent's presence across every replica.
    pub(super) fn presence_of(&self, agent_id: &str) -> PresenceState {
        self.presence.state_of(agent_id)
    }
}
