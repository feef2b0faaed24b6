//! Agents' accounts over time: changes by an admin, removal, password changes and logout, each
//! revoking the tokens it must on every replica (see `auth::revocation`).

use chrono::Utc;

use super::{Chat, validate};
use crate::auth::revocation::{agent_key, session_key};
use crate::auth::{Authenticated, Principal};
use crate::error::Error;
use crate::model::{Agent, Revocation, Role, Team};
use crate::store::{AgentPatch, TeamPatch};

/// What an admin may change of an agent (`PATCH /api/v1/agents/{id}`).
#[derive(Clone, Debug, Default)]
pub struct AgentChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub teams: Option<Vec<String>>,
}

impl Chat {
    /// Applies an admin's change. Disabling or a role change signs the agent out everywhere:
    /// its tokens carry the old role, and a disabled agent must lose access at once.
    pub async fn change_agent(
        &self,
        by: &Principal,
        agent_id: &str,
        change: AgentChange,
    ) -> Result<Agent, Error> {
        if !by.is_admin() {
            return Err(Error::forbidden("only admins change agents"));
        }
        let before = self
            .store
            .agent_by_id(agent_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("agent {agent_id}")))?
            .agent;
        let name = change
            .name
            .map(|n| validate::required_name(&n))
            .transpose()?;
        if let Some(teams) = &change.teams {
            self.set_teams_of(agent_id, teams).await?;
        }
        let agent = self
            .store
            .update_agent(
                agent_id,
                &AgentPatch {
                    name,
                    role: change.role,
                    disabled: change.disabled,
                    password_hash: None,
                },
            )
            .await?;
        let disabled_now = agent.disabled && !before.disabled;
        if disabled_now {
            // Re-enabling later must not bring back a link mailed before the agent left.
            self.store.drop_reset_tokens(agent_id).await?;
        }
        let signed_out = disabled_now || agent.role != before.role;
        if signed_out {
            self.revoke(agent_key(agent_id), None).await?;
        }
        // Re-enabled or given other teams, it may take conversations that wait for it.
        self.slot_may_have_opened();
        Ok(agent)
    }

    /// Removes an agent: its open conversations become unassigned (and are announced), and its
    /// tokens stop working everywhere.
    pub async fn delete_agent(&self, by: &Principal, agent_id: &str) -> Result<(), Error> {
        if !by.is_admin() {
            return Err(Error::forbidden("only admins remove agents"));
        }
        let unassigned = self.store.delete_agent(agent_id).await?;
        self.revoke(agent_key(agent_id), None).await?;
        for conversation in &unassigned {
            self.conversation_updated_event(conversation).await?;
            self.announce(conversation).await;
        }
        // Its open conversations wait again.
        self.slot_may_have_opened();
        Ok(())
    }

    /// The caller's own password; every other token of the caller stops working.
    pub async fn change_password(
        &self,
        who: &Authenticated,
        current: &str,
        new: &str,
    ) -> Result<(), Error> {
        let Principal::Agent { id, .. } = &who.principal else {
            return Err(Error::forbidden("only agents have passwords"));
        };
        let record = self
            .store
            .agent_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("agent {id}")))?;
        let Some(hash) = record.password_hash else {
            return Err(Error::conflict(
                "no_password",
                "this account signs in through single sign-on and has no password",
            ));
        };
        let ok = self
            .auth
            .passwords
            .verify(current.to_string(), hash)
            .await
            .map_err(|e| self.password_error(e))?;
        if !ok {
            self.metrics.login_failures.inc();
            return Err(Error::new(
                crate::error::Kind::Forbidden,
                "wrong_password",
                "current_password is not this account's password",
            ));
        }
        validate::password(new)?;
        let hash = self
            .auth
            .passwords
            .hash(new.to_string())
            .await
            .map_err(|e| self.password_error(e))?;
        self.store
            .update_agent(
                id,
                &AgentPatch {
                    password_hash: Some(hash),
                    ..AgentPatch::default()
                },
            )
            .await?;
        // A reset link mailed before the change would undo it: whoever can read the mailbox
        // (perhaps why the password changed) must not get the account back.
        self.store.drop_reset_tokens(id).await?;
        self.revoke(agent_key(id), who.issued.session.clone()).await
    }

    /// Ends the sign-in session the caller's token belongs to (other sessions keep working). A
    /// token without a session (an issuer's, or one from before sessions) signs the principal
    /// out entirely: there is nothing narrower to revoke.
    pub async fn logout(&self, who: &Authenticated) -> Result<(), Error> {
        let key = match &who.issued.session {
            Some(sid) => session_key(sid),
            None => who.issued.subject.clone(),
        };
        self.revoke(key, None).await
    }

    /// Makes `agent_id` a member of exactly `teams` (each must exist).
    async fn set_teams_of(&self, agent_id: &str, teams: &[String]) -> Result<(), Error> {
        for id in teams {
            if self.store.team(id).await?.is_none() {
                return Err(Error::invalid(
                    "unknown_team",
                    format!("teams: team {id} does not exist"),
                ));
            }
        }
        for team in self.all_teams().await? {
            let member = team.agent_ids.iter().any(|a| a == agent_id);
            let wanted = teams.contains(&team.id);
            if member == wanted {
                continue;
            }
            let mut agent_ids: Vec<String> = team
                .agent_ids
                .into_iter()
                .filter(|a| a != agent_id)
                .collect();
            if wanted {
                agent_ids.push(agent_id.to_string());
            }
            let patch = TeamPatch {
                name: None,
                agent_ids: Some(agent_ids),
            };
            self.store.update_team(&team.id, &patch).await?;
        }
        Ok(())
    }

    /// Every team, page by page (a tenant has few).
    pub(super) async fn all_teams(&self) -> Result<Vec<Team>, Error> {
        let store = &self.store;
        super::paging::every(
            |page| async move { store.list_teams(&page).await },
            |t: &Team| &t.id,
        )
        .await
    }

    /// Revokes every token of `key` issued until now (except session `keep`'s), stores it for
    /// the other replicas and applies it here at once.
    pub(super) async fn revoke(&self, key: String, keep: Option<String>) -> Result<(), Error> {
        let now = Utc::now();
        let revocation = Revocation {
            key,
            not_before: now,
            expires_at: now + self.auth.tokens.ttl(),
            at: now,
            keep_session: keep,
        };
        self.store.revoke(&revocation).await?;
        // This replica at once; the others when they next poll the store.
        if self.auth.revoked.learn(&revocation) {
            self.signed_in.sign_out(&revocation);
        }
        Ok(())
    }
}
