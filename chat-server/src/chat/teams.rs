//! Teams: named groups of agents that conversations can be routed to. Agents read them; admins
//! create, rename, re-staff and delete them. Names are unique, ignoring case.

use super::paging::{self, Paged};
use super::{Chat, require_admin, require_agent, validate};
use crate::auth::Principal;
use crate::error::Error;
use crate::model::{Team, new_id, now};
use crate::store::{Page, StoreError, TeamPatch};

/// More members than any desk has; bounds the agent lookups one request costs.
const MAX_MEMBERS: usize = 500;

impl Chat {
    pub async fn list_teams(&self, by: &Principal, page: Page) -> Result<Paged<Team>, Error> {
        require_agent(by)?;
        let fetched = self.store.list_teams(&paging::probe(&page)).await?;
        Ok(paging::paged(fetched, &page, |t| &t.id))
    }

    pub async fn team(&self, by: &Principal, id: &str) -> Result<Team, Error> {
        require_agent(by)?;
        self.store
            .team(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("team {id}")))
    }

    pub async fn create_team(
        &self,
        by: &Principal,
        name: &str,
        agent_ids: Vec<String>,
    ) -> Result<Team, Error> {
        require_admin(by, "create teams")?;
        let name = validate::required_name(name)?;
        let agent_ids = self.known_agents(agent_ids).await?;
        self.store
            .create_team(Team {
                id: new_id(),
                name: name.clone(),
                agent_ids,
                created_at: now(),
            })
            .await
            .map_err(|e| duplicate_team(e, &name))
    }

    /// Renames the team and/or replaces its members.
    pub async fn update_team(
        &self,
        by: &Principal,
        id: &str,
        name: Option<String>,
        agent_ids: Option<Vec<String>>,
    ) -> Result<Team, Error> {
        require_admin(by, "change teams")?;
        let name = name.map(|n| validate::required_name(&n)).transpose()?;
        let agent_ids = match agent_ids {
            Some(ids) => Some(self.known_agents(ids).await?),
            None => None,
        };
        let patch = TeamPatch {
            name: name.clone(),
            agent_ids,
        };
        let team = self
            .store
            .update_team(id, &patch)
            .await
            .map_err(|e| duplicate_team(e, name.as_deref().unwrap_or_default()))?;
        // New members may take the team's waiting conversations.
        self.slot_may_have_opened();
        Ok(team)
    }

    /// Deletes the team; its open and pending conversations leave it, and agents hear of each.
    pub async fn delete_team(&self, by: &Principal, id: &str) -> Result<(), Error> {
        require_admin(by, "delete teams")?;
        for conversation in self.store.delete_team(id).await? {
            self.conversation_updated_event(&conversation).await?;
            self.announce(&conversation).await;
        }
        // Its waiting conversations may now go to anyone.
        self.slot_may_have_opened();
        Ok(())
    }

    /// `ids` without repeats, all naming agents; the unknown ones are named in the refusal.
    async fn known_agents(&self, ids: Vec<String>) -> Result<Vec<String>, Error> {
        if ids.len() > MAX_MEMBERS {
            return Err(Error::invalid(
                "too_many_agents",
                format!(
                    "agent_ids has {} entries; a team may have {MAX_MEMBERS} agents",
                    ids.len()
                ),
            ));
        }
        let mut unique: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        let mut unknown = Vec::new();
        for id in &unique {
            if self.store.agent_by_id(id).await?.is_none() {
                unknown.push(id.as_str());
            }
        }
        if !unknown.is_empty() {
            return Err(Error::invalid(
                "unknown_agent",
                format!(
                    "agent_ids names agents that do not exist: {}",
                    unknown.join(", ")
                ),
            ));
        }
        Ok(unique)
    }
}

fn duplicate_team(e: StoreError, name: &str) -> Error {
    match e {
        StoreError::Conflict(_) => {
            Error::conflict("duplicate_team", format!("another team is named {name:?}"))
        }
        other => other.into(),
    }
}
