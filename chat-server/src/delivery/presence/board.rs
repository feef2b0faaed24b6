//! The merged view one replica keeps of every replica's agent sockets: pure state, no clock of
//! its own and no I/O, so the rules below are unit-tested as they are written.
//!
//! - An agent is online (or away) while this replica has a socket of it, or a replica heard from
//!   within the TTL announced one. Otherwise it is offline.
//! - Online/away is the agent's choice, stamped with when it was made (ms); of the choices the
//!   live replicas hold, the newest wins. A replica that hears a newer choice for an agent it
//!   hosts adopts it, so the choice survives the replica it was made on.
//! - Every operation returns the agents whose merged state changed ([`Change`]): each replica
//!   works them out for itself and tells only its own sockets.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::protocol::PresenceState;

/// An agent's own choice (`online` or `away`) and when it was made, in ms since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub state: PresenceState,
    pub at: i64,
}

/// One agent a replica has sockets for, as announced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hosted {
    pub id: String,
    #[serde(flatten)]
    pub choice: Choice,
}

/// An agent whose merged state is now `state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub agent_id: String,
    pub state: PresenceState,
}

struct Local {
    sockets: usize,
    choice: Choice,
}

struct Peer {
    heard: Instant,
    agents: HashMap<String, Choice>,
}

pub struct Board {
    me: String,
    ttl: Duration,
    local: HashMap<String, Local>,
    peers: HashMap<String, Peer>,
    /// The merged state last worked out per agent (absent: offline); what sockets were told.
    told: HashMap<String, PresenceState>,
}

impl Board {
    /// The board of replica `me`, which forgets a replica not heard from for `ttl`.
    pub fn new(me: String, ttl: Duration) -> Self {
        Self {
            me,
            ttl,
            local: HashMap::new(),
            peers: HashMap::new(),
            told: HashMap::new(),
        }
    }

    /// A socket of `agent` opened here. Returns the changes and whether this replica's set
    /// changed (its first socket here), which the other replicas must hear at once.
    pub fn connected(&mut self, agent: &str, now_ms: i64) -> (Vec<Change>, bool) {
        if let Some(local) = self.local.get_mut(agent) {
            local.sockets += 1;
            return (Vec::new(), false);
        }
        // Joining sockets elsewhere keeps the agent's standing choice (an away agent opening a
        // second tab stays away); an agent nowhere else comes online.
        let choice = self.newest_choice(agent).unwrap_or(Choice {
            state: PresenceState::Online,
            at: now_ms,
        });
        self.local
            .insert(agent.to_string(), Local { sockets: 1, choice });
        (self.settle([agent.to_string()]), true)
    }

    /// A socket of `agent` closed here; as for [`Self::connected`], `true` when it was the last.
    pub fn disconnected(&mut self, agent: &str) -> (Vec<Change>, bool) {
        let Some(local) = self.local.get_mut(agent) else {
            return (Vec::new(), false);
        };
        local.sockets -= 1;
        if local.sockets > 0 {
            return (Vec::new(), false);
        }
        self.local.remove(agent);
        (self.settle([agent.to_string()]), true)
    }

    /// `agent` (which has a socket here) chose `state`; `true` when it is to be announced.
    pub fn choose(
        &mut self,
        agent: &str,
        state: PresenceState,
        now_ms: i64,
    ) -> (Vec<Change>, bool) {
        // Later than every choice known, whatever this replica's clock says, so it wins.
        let at = self
            .newest_choice(agent)
            .map_or(now_ms, |c| now_ms.max(c.at + 1));
        let Some(local) = self.local.get_mut(agent) else {
            // The socket closed meanwhile: nothing of it is left to be away or online.
            return (Vec::new(), false);
        };
        local.choice = Choice { state, at };
        (self.settle([agent.to_string()]), true)
    }

    /// Replica `from` announced the agents it has sockets for (all of them: the set replaces
    /// what it announced before).
    pub fn heard(&mut self, from: &str, agents: Vec<Hosted>, now: Instant) -> Vec<Change> {
        if from == self.me {
            return Vec::new();
        }
        let agents: HashMap<String, Choice> =
            agents.into_iter().map(|h| (h.id, h.choice)).collect();
        for (id, choice) in &agents {
            if let Some(local) = self.local.get_mut(id)
                && choice.at > local.choice.at
            {
                local.choice = *choice;
            }
        }
        let mut touched: HashSet<String> = agents.keys().cloned().collect();
        let before = self
            .peers
            .insert(from.to_string(), Peer { heard: now, agents });
        touched.extend(before.into_iter().flat_map(|p| p.agents.into_keys()));
        self.settle(touched)
    }

    /// Forgets the replicas not heard from for the TTL, and with them their sockets.
    pub fn expire(&mut self, now: Instant) -> Vec<Change> {
        let ttl = self.ttl;
        let gone: Vec<String> = self
            .peers
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.heard) >= ttl)
            .map(|(id, _)| id.clone())
            .collect();
        let mut touched = HashSet::new();
        for id in gone {
            if let Some(peer) = self.peers.remove(&id) {
                tracing::info!(
                    replica = %id,
                    agents = peer.agents.len(),
                    "a replica was not heard from within the presence TTL; its sockets count as closed"
                );
                touched.extend(peer.agents.into_keys());
            }
        }
        self.settle(touched)
    }

    pub fn state_of(&self, agent: &str) -> PresenceState {
        self.told
            .get(agent)
            .copied()
            .unwrap_or(PresenceState::Offline)
    }

    /// Agents whose merged state is `online` (not away).
    pub fn online(&self) -> Vec<String> {
        self.told
            .iter()
            .filter(|(_, s)| **s == PresenceState::Online)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// What this replica announces: every agent it has a socket for, with its choice.
    pub fn hosted(&self) -> Vec<Hosted> {
        self.local
            .iter()
            .map(|(id, l)| Hosted {
                id: id.clone(),
                choice: l.choice,
            })
            .collect()
    }

    fn newest_choice(&self, agent: &str) -> Option<Choice> {
        let here = self.local.get(agent).map(|l| l.choice);
        let there = self
            .peers
            .values()
            .filter_map(|p| p.agents.get(agent).copied());
        here.into_iter().chain(there).max_by_key(|c| c.at)
    }

    fn settle(&mut self, touched: impl IntoIterator<Item = String>) -> Vec<Change> {
        let mut changes = Vec::new();
        for agent in touched {
            let state = self
                .newest_choice(&agent)
                .map_or(PresenceState::Offline, |c| c.state);
            if state == self.state_of(&agent) {
                continue;
            }
            if state == PresenceState::Offline {
                self.told.remove(&agent);
            } else {
                self.told.insert(agent.clone(), state);
            }
            changes.push(Change {
                agent_id: agent,
                state,
            });
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PresenceState::{Away, Offline, Online};

    const TTL: Duration = Duration::from_secs(45);

    fn hosted(id: &str, state: PresenceState, at: i64) -> Hosted {
        Hosted {
            id: id.into(),
            choice: Choice { state, at },
        }
    }

    fn change(agent: &str, state: PresenceState) -> Vec<Change> {
        vec![Change {
            agent_id: agent.into(),
            state,
        }]
    }

    #[test]
    fn an_agent_is_online_while_any_replica_has_a_socket_of_it() {
        let t0 = Instant::now();
        let mut a = Board::new("A".into(), TTL);
        assert_eq!(a.connected("x", 1), (change("x", Online), true));
        assert_eq!(a.connected("x", 2), (vec![], false), "a second socket here");
        assert!(a.heard("B", vec![hosted("x", Online, 5)], t0).is_empty());
        assert_eq!(a.disconnected("x"), (vec![], false));
        assert_eq!(a.disconnected("x"), (vec![], true), "B still has one");
        assert_eq!(a.state_of("x"), Online);
        assert_eq!(a.heard("B", vec![], t0), change("x", Offline));
        assert_eq!(a.state_of("x"), Offline);
    }

    #[test]
    fn a_replica_not_heard_from_within_the_ttl_takes_its_sockets_with_it() {
        let t0 = Instant::now();
        let mut a = Board::new("A".into(), TTL);
        a.heard("B", vec![hosted("x", Online, 1), hosted("y", Away, 1)], t0);
        a.heard("C", vec![hosted("y", Online, 0)], t0 + TTL / 2);
        assert_eq!(a.online(), vec!["x".to_string()]);
        assert!(a.expire(t0 + TTL - Duration::from_millis(1)).is_empty());
        let mut changes = a.expire(t0 + TTL);
        changes.sort_by(|l, r| l.agent_id.cmp(&r.agent_id));
        assert_eq!(
            changes,
            [change("x", Offline), change("y", Online)].concat(),
            "y falls back to C's (older) choice"
        );
        assert_eq!(a.expire(t0 + TTL * 2)[0].state, Offline);
    }

    #[test]
    fn the_newest_choice_wins_and_outlives_the_replica_it_was_made_on() {
        let t0 = Instant::now();
        let mut a = Board::new("A".into(), TTL);
        a.connected("x", 100);
        assert!(a.heard("B", vec![hosted("x", Online, 50)], t0).is_empty());
        // Chosen on B, whose clock runs behind: still later than A's.
        assert_eq!(
            a.heard("B", vec![hosted("x", Away, 90)], t0),
            vec![],
            "older than A's own choice"
        );
        assert_eq!(a.choose("x", Away, 80), (change("x", Away), true));
        assert!(
            a.hosted()[0].choice.at > 100,
            "stamped after every known choice"
        );
        let at = a.hosted()[0].choice.at;
        assert_eq!(
            a.heard("B", vec![hosted("x", Online, at + 1)], t0),
            change("x", Online)
        );
        // B dies; A adopted B's newer choice, so x stays online.
        assert!(a.expire(t0 + TTL).is_empty());
        assert_eq!(a.state_of("x"), Online);
    }

    #[test]
    fn a_second_replica_joining_keeps_the_agents_choice() {
        let t0 = Instant::now();
        let mut a = Board::new("A".into(), TTL);
        a.heard("B", vec![hosted("x", Away, 7)], t0);
        assert_eq!(a.connected("x", 100), (vec![], true));
        assert_eq!(a.hosted(), vec![hosted("x", Away, 7)]);
    }

    #[test]
    fn own_announcements_and_choices_without_a_socket_change_nothing() {
        let mut a = Board::new("A".into(), TTL);
        assert!(
            a.heard("A", vec![hosted("x", Online, 1)], Instant::now())
                .is_empty()
        );
        assert_eq!(a.choose("x", Away, 1), (vec![], false));
        assert_eq!(a.disconnected("x"), (vec![], false));
        assert_eq!(a.state_of("x"), Offline);
    }
}
