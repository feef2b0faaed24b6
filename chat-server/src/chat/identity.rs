//! Who uses the desk: the bootstrap admin, visitors, agents, and signing in.

use std::collections::HashMap;
use std::time::Duration;

use super::paging::{self, Paged};
use super::{Chat, require_agent, validate};
use crate::auth::Principal;
use crate::auth::passwords::PasswordError;
use crate::error::{Error, Kind};
use crate::model::{Agent, AgentRecord, Role, Visitor, new_id, now};
use crate::protocol::PresenceState;
use crate::store::Page;

/// An agent as `GET /api/v1/agents` shows it.
pub struct Listed {
    pub agent: Agent,
    pub teams: Vec<String>,
    pub presence: PresenceState,
}

impl Chat {
    /// Creates the bootstrap admin unless that email exists. Safe when replicas race: the
    /// store's unique email decides, and the loser sees `Conflict`.
    pub async fn bootstrap_admin(&self, email: &str, password: &str) -> Result<bool, Error> {
        if self.store.agent_by_email(email).await?.is_some() {
            return Ok(false);
        }
        match self
            .insert_agent(email, password, "Administrator", Role::Admin)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind == Kind::Conflict => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn create_visitor(
        &self,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<(Visitor, String), Error> {
        let name = validate::optional_name(name)?;
        let email = email.map(|e| validate::email(&e)).transpose()?;
        let visitor = Visitor {
            id: new_id(),
            name,
            email,
            created_at: now(),
        };
        self.store.create_visitor(visitor.clone()).await?;
        let token = self.auth.tokens.issue(&Principal::Visitor {
            id: visitor.id.clone(),
            name: visitor.name.clone(),
        });
        Ok((visitor, token))
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<(Agent, String), Error> {
        let denied = || Error::unauthenticated("wrong email or password");
        let record = self.store.agent_by_email(email.trim()).await?;
        let Some(AgentRecord {
            agent,
            password_hash: Some(hash),
            ..
        }) = record
        else {
            // Same cost as a real check, so timing does not reveal which emails exist.
            self.auth
                .passwords
                .verify(password.to_string(), validate::DUMMY_HASH.to_string())
                .await
                .map_err(|e| self.password_error(e))?;
            self.metrics.login_failures.inc();
            return Err(denied());
        };
        let ok = self
            .auth
            .passwords
            .verify(password.to_string(), hash)
            .await
            .map_err(|e| self.password_error(e))?;
        if !ok {
            self.metrics.login_failures.inc();
            return Err(denied());
        }
        // Only after the password: nobody learns an account is disabled without knowing it.
        if agent.disabled {
            return Err(Error::forbidden_code(
                "agent_disabled",
                "this account is disabled; ask an admin",
            ));
        }
        let token = self.auth.tokens.issue(&Principal::Agent {
            id: agent.id.clone(),
            name: agent.name.clone(),
            role: agent.role,
        });
        Ok((agent, token))
    }

    pub async fn create_agent(
        &self,
        by: &Principal,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<Agent, Error> {
        if !by.is_admin() {
            return Err(Error::forbidden("only admins create agents"));
        }
        self.insert_agent(email, password, name, role).await
    }

    async fn insert_agent(
        &self,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<Agent, Error> {
        let email = validate::email(email)?;
        let name = validate::required_name(name)?;
        validate::password(password)?;
        let hash = self
            .auth
            .passwords
            .hash(password.to_string())
            .await
            .map_err(|e| self.password_error(e))?;
        let record = AgentRecord {
            agent: Agent {
                id: new_id(),
                email,
                name,
                role,
                disabled: false,
                created_at: now(),
            },
            password_hash: Some(hash),
            oidc: None,
        };
        Ok(self.store.create_agent(record).await?)
    }

    /// A page of agents (newest first) with their teams and their presence across every replica.
    pub async fn list_agents(&self, by: &Principal, page: Page) -> Result<Paged<Listed>, Error> {
        require_agent(by)?;
        let fetched = self.store.list_agents(&paging::probe(&page)).await?;
        let agents = paging::paged(fetched, &page, |a| &a.id);
        // One read of the teams for the whole page, not one per agent.
        let mut teams_of: HashMap<String, Vec<String>> = HashMap::new();
        for team in self.all_teams().await? {
            for agent_id in team.agent_ids {
                teams_of.entry(agent_id).or_default().push(team.id.clone());
            }
        }
        Ok(Paged {
            items: agents
                .items
                .into_iter()
                .map(|agent| Listed {
                    teams: teams_of.remove(&agent.id).unwrap_or_default(),
                    presence: self.presence_of(&agent.id),
                    agent,
                })
                .collect(),
            next: agents.next,
        })
    }

    /// Every agent, oldest first, page by page: for the server's own whole-desk work (routing,
    /// reports, export, mail to the admins), which a tenant's few agents keep cheap.
    pub(super) async fn all_agents(&self) -> Result<Vec<Agent>, Error> {
        let store = &self.store;
        let mut all = paging::every(
            |page| async move { store.list_agents(&page).await },
            |a: &Agent| &a.id,
        )
        .await?;
        all.reverse();
        Ok(all)
    }

    /// Saturated password checks are the server being flooded, not the caller's fault:
    /// unavailable with a short retry, counted with the rate limits.
    pub(super) fn password_error(&self, e: PasswordError) -> Error {
        match e {
            PasswordError::Busy => {
                self.metrics.limited("password_busy");
                Error::unavailable(
                    "busy",
                    "too many sign-ins are being checked; try again in a moment",
                )
                .retry_after(Duration::from_secs(1))
            }
            PasswordError::Failed(e) => Error::internal("internal", e),
        }
    }
}
