//! Automatic assignment (`CHAT_AUTO_ASSIGN=round_robin`): a new conversation goes at once to the
//! online, enabled agent (of its team, when it has one) with the fewest open conversations below
//! `CHAT_AGENT_CAPACITY`, ties in turn; with none free it waits unassigned and is assigned when
//! one comes online or frees a slot (chat-api-v1, "Teams and routing").
//!
//! One routine does all of it: a *pass* assigns the waiting conversations, oldest first, while
//! agents have room. It runs at once for a new conversation (so the creator's answer already
//! carries the assignee), and in the background when a slot may have opened or an agent may have
//! come: a conversation resolved, reassigned or moved to a team, an agent changed (disabled,
//! re-teamed) or removed, a team re-staffed or removed, an agent online on any replica (presence,
//! `crate::delivery::presence`), and every [`SWEEP`] as a safety net.
//!
//! Several replicas: the capacity must hold when two replicas route at once, and "in turn" must
//! mean the same everywhere, so a pass runs under a store lease ([`LEASE`]; one replica at a
//! time, passes take milliseconds) and reads the load and the turns from the store inside it.
//! Turns are a counter kept in the store (the agent whose last turn is oldest goes first, one
//! never given a turn before anyone), not clock times, so replicas' clocks do not matter. A pass
//! stops before half the lease's life and leaves the rest to the next one, so it never outlives
//! its lease. The assignment itself is still a compare-and-set (`assign_if_unassigned`): an
//! agent who takes a conversation by hand meanwhile keeps it.
//!
//! "Online" means online, not away: an agent who set away takes nothing new. Disabled agents
//! never receive (their sockets are closed at once anyway). Assignment by hand is not capped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use super::Chat;
use crate::error::Error;
use crate::model::{Conversation, new_id};

/// The store lease one replica routes under.
pub const LEASE: &str = "routing";
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How long a new conversation waits for its pass before it is left to the background one.
const INLINE_WAIT: Duration = Duration::from_secs(2);
/// How long a background pass waits for the lease: past `LEASE_TTL`, so a dead holder's lease
/// runs out first.
const BACKGROUND_WAIT: Duration = Duration::from_secs(12);
/// Waiting conversations read per store query.
const BATCH: u32 = 200;
/// The safety net: a pass this often even when nothing said a slot opened.
pub const SWEEP: Duration = Duration::from_secs(30);

/// This replica's side of automatic assignment.
pub struct Routing {
    enabled: bool,
    capacity: u64,
    /// Who holds the lease when this replica does.
    holder: String,
    /// One pass at a time here, so this replica does not compete with itself for the lease.
    pass: Mutex<()>,
    /// Asks the background task for a pass.
    wake: Notify,
}

impl Routing {
    /// `enabled` is `CHAT_AUTO_ASSIGN=round_robin`; `capacity` is `CHAT_AGENT_CAPACITY`.
    pub fn new(enabled: bool, capacity: u32) -> Self {
        Self {
            enabled,
            capacity: u64::from(capacity),
            holder: new_id(),
            pass: Mutex::new(()),
            wake: Notify::new(),
        }
    }
}

impl Chat {
    /// Assigns waiting conversations in the background, on every wake-up, agent coming online
    /// and [`SWEEP`], until `shutdown`. Does nothing when automatic assignment is off.
    pub async fn route_in_background(self: Arc<Self>, shutdown: CancellationToken) {
        if !self.routing.enabled {
            return;
        }
        let mut sweep = tokio::time::interval(SWEEP);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.routing.wake.notified() => {}
                _ = self.presence.came_online() => {}
                _ = sweep.tick() => {}
            }
            if let Err(e) = self.route(BACKGROUND_WAIT).await {
                tracing::warn!(error = %e, "automatic assignment failed; retrying at the next change or sweep");
            }
        }
    }

    /// Something happened that may let a waiting conversation be assigned.
    pub(super) fn slot_may_have_opened(&self) {
        if self.routing.enabled {
            self.routing.wake.notify_one();
        }
    }

    /// `conversation`, just created, as automatic assignment leaves it: assigned if an agent is
    /// free, else as it was (it waits; a busy lease leaves it to the background pass).
    pub(super) async fn route_new(&self, conversation: Conversation) -> Conversation {
        if !self.routing.enabled {
            return conversation;
        }
        match self.route(INLINE_WAIT).await {
            // Read back rather than looked for in this pass's work: when replicas create at
            // once, another creation's pass may be the one that assigned it.
            Ok(_) => match self.store.conversation(&conversation.id).await {
                Ok(Some(stored)) => stored,
                _ => conversation,
            },
            Err(e) => {
                tracing::warn!(error = %e, "routing a new conversation failed; the background pass retries");
                self.routing.wake.notify_one();
                conversation
            }
        }
    }

    /// One pass under the lease, waiting at most `wait` for it; the conversations assigned.
    async fn route(&self, wait: Duration) -> Result<Vec<Conversation>, Error> {
        let deadline = Instant::now() + wait;
        let Ok(_one) = tokio::time::timeout(wait, self.routing.pass.lock()).await else {
            return Err(busy(wait));
        };
        // Most wake-ups find nobody online or nothing waiting: then the lease is not worth a
        // write.
        if self.presence.online().is_empty()
            || self.store.oldest_unassigned(None, 1).await?.is_empty()
        {
            return Ok(Vec::new());
        }
        let holder = &self.routing.holder;
        while !self.store.try_lease(LEASE, holder, LEASE_TTL).await? {
            if Instant::now() >= deadline {
                return Err(busy(wait));
            }
            let jitter = Duration::from_millis(rand::random_range(10..=40));
            tokio::time::sleep(jitter).await;
        }
        let result = self.assign_waiting(Instant::now()).await;
        if let Err(e) = self.store.release_lease(LEASE, holder).await {
            tracing::warn!(error = %e, "releasing the routing lease failed; it runs out by itself");
        }
        result
    }

    /// Holding the lease since `since`: gives the waiting conversations, oldest first, to the
    /// agents free for them.
    async fn assign_waiting(&self, since: Instant) -> Result<Vec<Conversation>, Error> {
        let mut assigned = Vec::new();
        let online: HashSet<String> = self.presence.online().into_iter().collect();
        let agents: Vec<String> = self
            .all_agents()
            .await?
            .into_iter()
            .filter(|a| !a.disabled && online.contains(&a.id))
            .map(|a| a.id)
            .collect();
        if agents.is_empty() {
            return Ok(assigned);
        }
        let mut load = self.store.open_counts_by_assignee().await?;
        let mut turns = self.store.routing_turns().await?;
        let mut members: Option<HashMap<String, HashSet<String>>> = None;
        loop {
            let waiting = self.store.oldest_unassigned(None, BATCH).await?;
            let more = waiting.len() == BATCH as usize;
            let before = assigned.len();
            for conversation in waiting {
                if since.elapsed() > LEASE_TTL / 2 {
                    // Never past the lease: the next pass goes on from here.
                    self.routing.wake.notify_one();
                    return Ok(assigned);
                }
                let team = match &conversation.team_id {
                    None => None,
                    Some(team) => {
                        if members.is_none() {
                            members = Some(self.team_members().await?);
                        }
                        Some(members.as_ref().and_then(|m| m.get(team)))
                    }
                };
                let free = |a: &&String| {
                    let in_team = match team {
                        None => true,
                        Some(members) => members.is_some_and(|m| m.contains(*a)),
                    };
                    in_team && load.get(*a).copied().unwrap_or(0) < self.routing.capacity
                };
                let next = agents.iter().filter(free).min_by_key(|a| {
                    let load = load.get(*a).copied().unwrap_or(0);
                    (load, turns.get(*a).copied().unwrap_or(0), (*a).clone())
                });
                let Some(agent) = next.cloned() else {
                    continue;
                };
                let Some(conversation) = self
                    .store
                    .assign_if_unassigned(&conversation.id, &agent)
                    .await?
                else {
                    continue; // taken by hand meanwhile
                };
                let turn = turns.values().max().copied().unwrap_or(0) + 1;
                self.store.record_routing_turn(&agent, turn).await?;
                turns.insert(agent.clone(), turn);
                *load.entry(agent).or_default() += 1;
                self.conversation_updated_event(&conversation).await?;
                self.announce(&conversation).await;
                assigned.push(conversation);
            }
            // A full batch with progress may hide more waiting ones behind it.
            if !more || assigned.len() == before {
                return Ok(assigned);
            }
        }
    }

    /// Each team's members.
    async fn team_members(&self) -> Result<HashMap<String, HashSet<String>>, Error> {
        Ok(self
            .all_teams()
            .await?
            .into_iter()
            .map(|t| (t.id, t.agent_ids.into_iter().collect()))
            .collect())
    }
}

fn busy(wait: Duration) -> Error {
    Error::unavailable(
        "routing_busy",
        format!("another replica held the routing lease for {wait:?}"),
    )
}
