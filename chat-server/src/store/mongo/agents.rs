//! Changing and removing agents. Every write that can take an enabled admin away (disabling,
//! setting the role to agent, deleting) runs under the `admins` lease (see [`super::lease`]), and
//! re-reads the agent and counts the other enabled admins inside it: two replicas demoting the two
//! last admins at once are serialized, so the second sees the first's write and is refused with
//! `LastAdmin`. Writes that cannot remove an admin (name, password, enabling, promoting) skip it.

use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::docs::AgentDoc;
use super::errors::store_error;
use crate::model::{Agent, AgentRecord, Conversation, Role};
use crate::store::{AgentPatch, StoreError, StoreResult};

const ADMINS: &str = "admins";

impl MongoStore {
    pub(super) async fn update_agent_doc(
        &self,
        id: &str,
        patch: &AgentPatch,
    ) -> StoreResult<Agent> {
        let may_remove_admin = patch.disabled == Some(true) || patch.role == Some(Role::Agent);
        if !may_remove_admin {
            return self.apply_agent_patch(id, patch).await;
        }
        let lease = self.acquire(ADMINS).await?;
        let result = async {
            let current = self.existing_agent(id).await?;
            let stays_enabled_admin = patch.role.unwrap_or(current.agent.role) == Role::Admin
                && !patch.disabled.unwrap_or(current.agent.disabled);
            if !stays_enabled_admin {
                self.guard_last_admin(&current.agent).await?;
            }
            self.apply_agent_patch(id, patch).await
        }
        .await;
        self.release(lease).await;
        result
    }

    pub(super) async fn delete_agent_doc(&self, id: &str) -> StoreResult<Vec<Conversation>> {
        let lease = self.acquire(ADMINS).await?;
        let result = async {
            let current = self.existing_agent(id).await?;
            self.guard_last_admin(&current.agent).await?;
            // Unassign first: if this process dies half-way, the agent still exists and a retry
            // finishes the job, instead of conversations assigned to no one that exists.
            let changed = self.clear_on_open("assignee", id).await?;
            self.leave_all_teams(id).await?;
            self.agents
                .delete_one(doc! { "_id": id })
                .await
                .map_err(|e| store_error(&format!("deleting agent {id}"), e))?;
            Ok(changed)
        }
        .await;
        self.release(lease).await;
        result
    }

    async fn existing_agent(&self, id: &str) -> StoreResult<AgentRecord> {
        use crate::store::Store;
        self.agent_by_id(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
    }

    async fn apply_agent_patch(&self, id: &str, patch: &AgentPatch) -> StoreResult<Agent> {
        let mut set = Document::new();
        if let Some(name) = &patch.name {
            set.insert("name", name.as_str());
        }
        if let Some(role) = patch.role {
            set.insert(
                "role",
                if role == Role::Admin {
                    "admin"
                } else {
                    "agent"
                },
            );
        }
        if let Some(disabled) = patch.disabled {
            set.insert("disabled", disabled);
        }
        if let Some(hash) = &patch.password_hash {
            set.insert("password_hash", hash.as_str());
        }
        let what = || format!("updating agent {id}");
        let updated = if set.is_empty() {
            self.agents.find_one(doc! { "_id": id }).await
        } else {
            self.agents
                .find_one_and_update(doc! { "_id": id }, doc! { "$set": set })
                .return_document(ReturnDocument::After)
                .await
        };
        updated
            .map_err(|e| store_error(&what(), e))?
            .map(|d: AgentDoc| AgentRecord::from(d).agent)
            .ok_or_else(|| StoreError::NotFound(format!("agent {id}")))
    }

    /// `LastAdmin` when `agent` is an enabled admin and no other enabled admin exists.
    async fn guard_last_admin(&self, agent: &Agent) -> StoreResult<()> {
        if agent.role != Role::Admin || agent.disabled {
            return Ok(());
        }
        let others = self
            .agents
            .count_documents(
                doc! { "role": "admin", "disabled": { "$ne": true }, "_id": { "$ne": &agent.id } },
            )
            .await
            .map_err(|e| store_error("counting enabled admins", e))?;
        match others {
            0 => Err(StoreError::LastAdmin(agent.id.clone())),
            _ => Ok(()),
        }
    }
}
