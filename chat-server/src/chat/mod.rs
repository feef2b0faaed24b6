//! The use cases of the chat, shared by REST handlers and websocket sessions: who may do what,
//! what is stored, and what is published afterwards.

pub(crate) mod validate;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use crate::api::error::ApiError;
use crate::auth::passwords::PasswordError;
use crate::auth::{Authenticator, Principal};
use crate::delivery::catch_up::CatchUp;
use crate::delivery::hub::Hub;
use crate::delivery::publish::{AGENTS_TOPIC, Publisher, conversation_topic};
use crate::metrics::Metrics;
use crate::model::{
    Agent, AgentRecord, Attachment, AttachmentRef, Conversation, ConversationStatus, Message,
    NewMessage, Role, Visitor, VisitorRef, new_id, now,
};
use crate::protocol::{PresenceState, ServerFrame};
use crate::store::{Appended, ConversationFilter, ConversationPatch, Store};
use crate::uploads::{BlobStore, PresignedUrl};

pub use validate::Limits;

pub struct Chat {
    pub store: Arc<dyn Store>,
    pub publisher: Publisher,
    pub hub: Arc<Hub>,
    /// Store reads for replay and gap fills, shared by sessions asking for the same page.
    pub catch_up: CatchUp,
    pub auth: Authenticator,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    presence: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

pub struct Upload {
    pub attachment: Attachment,
    pub url: PresignedUrl,
}

impl Chat {
    pub fn new(
        store: Arc<dyn Store>,
        publisher: Publisher,
        hub: Arc<Hub>,
        auth: Authenticator,
        blobs: Arc<dyn BlobStore>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            catch_up: CatchUp::from_store(store.clone(), metrics.clone()),
            store,
            publisher,
            hub,
            auth,
            blobs,
            limits,
            metrics,
            presence: Default::default(),
        }
    }

    /// Creates the bootstrap admin unless that email exists. Safe when replicas race: the
    /// store's unique email decides, and the loser sees `Conflict`.
    pub async fn bootstrap_admin(&self, email: &str, password: &str) -> Result<bool, ApiError> {
        if self.store.agent_by_email(email).await?.is_some() {
            return Ok(false);
        }
        match self
            .insert_agent(email, password, "Administrator", Role::Admin)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status == StatusCode::CONFLICT => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn create_visitor(
        &self,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<(Visitor, String), ApiError> {
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

    pub async fn login(&self, email: &str, password: &str) -> Result<(Agent, String), ApiError> {
        let denied = || ApiError::unauthorized("wrong email or password");
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
    ) -> Result<Agent, ApiError> {
        if !by.is_admin() {
            return Err(ApiError::forbidden("only admins create agents"));
        }
        self.insert_agent(email, password, name, role).await
    }

    async fn insert_agent(
        &self,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<Agent, ApiError> {
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
                created_at: now(),
            },
            password_hash: Some(hash),
            oidc: None,
        };
        Ok(self.store.create_agent(record).await?)
    }

    /// Agents with their presence as this replica last heard it.
    pub async fn list_agents(
        &self,
        by: &Principal,
    ) -> Result<Vec<(Agent, PresenceState)>, ApiError> {
        require_agent(by)?;
        let agents = self.store.list_agents().await?;
        Ok(agents
            .into_iter()
            .map(|a| {
                let presence = self.hub.presence_of(&a.id);
                (a, presence)
            })
            .collect())
    }

    pub async fn create_conversation(&self, by: &Principal) -> Result<Conversation, ApiError> {
        let Principal::Visitor { id, name } = by else {
            return Err(ApiError::forbidden("only visitors start conversations"));
        };
        self.check_open_conversations(id).await?;
        let at = now();
        let conversation = self
            .store
            .create_conversation(Conversation {
                id: new_id(),
                status: ConversationStatus::Open,
                visitor: VisitorRef {
                    id: id.clone(),
                    name: name.clone(),
                },
                assignee: None,
                created_at: at,
                updated_at: at,
                last_seq: 0,
            })
            .await?;
        self.announce(&conversation).await;
        Ok(conversation)
    }

    /// One visitor cannot fill the agents' inbox: a few unresolved conversations at a time. Two
    /// racing creations may both pass; the cap is for floods, not an exact count.
    async fn check_open_conversations(&self, visitor_id: &str) -> Result<(), ApiError> {
        let cap = self.limits.max_open_conversations;
        let mut open = 0;
        for status in [ConversationStatus::Open, ConversationStatus::Pending] {
            let filter = ConversationFilter {
                status: Some(status),
                visitor_id: Some(visitor_id.to_string()),
                limit: cap,
                ..ConversationFilter::default()
            };
            open += self.store.list_conversations(&filter).await?.len();
        }
        if open >= cap as usize {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "too_many_open_conversations",
                format!(
                    "this visitor already has {open} unresolved conversations, the most it may; \
                     continue one of them"
                ),
            ));
        }
        Ok(())
    }

    /// The conversation if `by` may see it: agents see all, visitors their own.
    pub async fn authorize(&self, by: &Principal, id: &str) -> Result<Conversation, ApiError> {
        let conversation = self
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("conversation {id}")))?;
        match by {
            Principal::Visitor { id: v, .. } if *v != conversation.visitor.id => Err(
                ApiError::forbidden(format!("conversation {id} belongs to another visitor")),
            ),
            _ => Ok(conversation),
        }
    }

    pub async fn list_conversations(
        &self,
        by: &Principal,
        mut filter: ConversationFilter,
    ) -> Result<Vec<Conversation>, ApiError> {
        if let Principal::Visitor { id, .. } = by {
            filter.visitor_id = Some(id.clone());
        }
        filter.limit = filter.limit.clamp(1, 500);
        Ok(self.store.list_conversations(&filter).await?)
    }

    pub async fn messages(
        &self,
        by: &Principal,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, ApiError> {
        self.authorize(by, conversation_id).await?;
        Ok(self
            .store
            .messages_after(conversation_id, after_seq, limit.clamp(1, 1000))
            .await?)
    }

    /// Stores a message (idempotently by `client_msg_id`), then publishes it.
    pub async fn send(
        &self,
        by: &Principal,
        conversation_id: &str,
        client_msg_id: Option<String>,
        body: String,
        attachment_ids: &[String],
    ) -> Result<Appended, ApiError> {
        let client_msg_id = client_msg_id
            .map(|c| validate::client_msg_id(&c))
            .transpose()?;
        validate::body(
            &body,
            !attachment_ids.is_empty(),
            self.limits.max_message_bytes,
        )?;
        let conversation = self.authorize(by, conversation_id).await?;
        let attachments = self
            .attachments_for(conversation_id, attachment_ids)
            .await?;
        let appended = self
            .store
            .append_message(NewMessage {
                conversation_id: conversation_id.to_string(),
                client_msg_id,
                author: by.author(),
                body,
                attachments,
            })
            .await?;
        if let Appended::Created(_) = appended {
            self.metrics.messages.inc();
        }
        // Publishing a replayed send again is harmless (receivers drop seqs they have) and
        // heals the case where the first attempt stored but died before publishing.
        let message = appended.message().clone();
        self.publisher
            .publish(
                conversation_topic(conversation_id),
                &ServerFrame::Message { message },
            )
            .await;
        if !by.is_agent() && conversation.status == ConversationStatus::Resolved {
            // A visitor writing again reopens the conversation for the agents.
            self.change(
                conversation_id,
                ConversationPatch {
                    status: Some(ConversationStatus::Open),
                    assignee: None,
                },
            )
            .await?;
        }
        Ok(appended)
    }

    async fn attachments_for(
        &self,
        conversation_id: &str,
        ids: &[String],
    ) -> Result<Vec<AttachmentRef>, ApiError> {
        if ids.len() > 10 {
            return Err(ApiError::bad_request(
                "too_many_attachments",
                "a message carries at most 10 attachments",
            ));
        }
        let mut refs = Vec::with_capacity(ids.len());
        for id in ids {
            match self.store.attachment(id).await? {
                Some(a) if a.conversation_id == conversation_id => {
                    // A message must never point at bytes that are not there (or that a later
                    // PUT to a leaked URL could still put there).
                    if !self.blobs.exists(&a.key).await? {
                        return Err(ApiError::new(
                            StatusCode::CONFLICT,
                            "attachment_not_uploaded",
                            format!(
                                "attachment {id} has no bytes yet: PUT them to its upload_url, then send"
                            ),
                        ));
                    }
                    refs.push(a.as_ref())
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "unknown_attachment",
                        format!("attachment {id} was not uploaded to this conversation"),
                    ));
                }
            }
        }
        Ok(refs)
    }

    pub async fn assign(
        &self,
        by: &Principal,
        conversation_id: &str,
        agent_id: Option<String>,
    ) -> Result<Conversation, ApiError> {
        require_agent(by)?;
        self.authorize(by, conversation_id).await?;
        if let Some(agent_id) = &agent_id
            && self.store.agent_by_id(agent_id).await?.is_none()
        {
            return Err(ApiError::bad_request(
                "unknown_agent",
                format!("agent {agent_id} does not exist"),
            ));
        }
        self.change(
            conversation_id,
            ConversationPatch {
                status: None,
                assignee: Some(agent_id),
            },
        )
        .await
    }

    pub async fn set_status(
        &self,
        by: &Principal,
        conversation_id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation, ApiError> {
        require_agent(by)?;
        self.authorize(by, conversation_id).await?;
        self.change(
            conversation_id,
            ConversationPatch {
                status: Some(status),
                assignee: None,
            },
        )
        .await
    }

    async fn change(&self, id: &str, patch: ConversationPatch) -> Result<Conversation, ApiError> {
        let conversation = self.store.update_conversation(id, &patch).await?;
        self.announce(&conversation).await;
        Ok(conversation)
    }

    /// Tells agents (and the conversation's own subscribers) that a conversation changed.
    async fn announce(&self, conversation: &Conversation) {
        let frame = ServerFrame::Conversation {
            conversation: conversation.clone(),
        };
        self.publisher
            .publish(AGENTS_TOPIC.to_string(), &frame)
            .await;
    }

    pub async fn typing(
        &self,
        by: &Principal,
        conversation_id: &str,
        state: bool,
    ) -> Result<(), ApiError> {
        self.authorize(by, conversation_id).await?;
        let frame = ServerFrame::Typing {
            conversation_id: conversation_id.to_string(),
            author: by.author(),
            state,
        };
        self.publisher
            .publish(conversation_topic(conversation_id), &frame)
            .await;
        Ok(())
    }

    pub async fn read(
        &self,
        by: &Principal,
        conversation_id: &str,
        seq: u64,
    ) -> Result<(), ApiError> {
        let conversation = self.authorize(by, conversation_id).await?;
        if seq > conversation.last_seq {
            return Err(ApiError::bad_request(
                "invalid_seq",
                format!(
                    "seq {seq} is beyond the conversation's last message ({})",
                    conversation.last_seq
                ),
            ));
        }
        let frame = ServerFrame::Read {
            conversation_id: conversation_id.to_string(),
            author: by.author(),
            seq,
        };
        self.publisher
            .publish(conversation_topic(conversation_id), &frame)
            .await;
        Ok(())
    }

    /// Counts an agent's sockets on this replica; the first and last change its presence.
    pub async fn agent_connected(&self, agent_id: &str, connected: bool) {
        let changed_to = {
            let mut counts = self.presence.lock().expect("presence lock");
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

    pub async fn create_upload(
        &self,
        by: &Principal,
        conversation_id: &str,
        filename: &str,
        content_type: &str,
        size: u64,
    ) -> Result<Upload, ApiError> {
        let filename = validate::filename(filename)?;
        let content_type = validate::content_type(content_type)?;
        if size == 0 {
            return Err(ApiError::bad_request(
                "empty_upload",
                "size must be at least 1 byte",
            ));
        }
        if size > self.limits.max_upload_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload_too_large",
                format!(
                    "{size} bytes is over this tenant's upload limit of {} bytes",
                    self.limits.max_upload_bytes
                ),
            ));
        }
        self.authorize(by, conversation_id).await?;
        let id = new_id();
        let attachment = Attachment {
            key: format!("conversations/{conversation_id}/{id}/{filename}"),
            id,
            conversation_id: conversation_id.to_string(),
            filename,
            content_type,
            size,
            uploaded_by: by.author(),
            created_at: now(),
        };
        let url = self
            .blobs
            .presign_put(&attachment.key, &attachment.content_type, size)
            .await?;
        self.store.create_attachment(attachment.clone()).await?;
        Ok(Upload { attachment, url })
    }

    /// A short-lived download URL for an attachment `by` may see.
    pub async fn attachment_url(&self, by: &Principal, id: &str) -> Result<PresignedUrl, ApiError> {
        let attachment = self
            .store
            .attachment(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("attachment {id}")))?;
        self.authorize(by, &attachment.conversation_id).await?;
        let download = crate::uploads::Download {
            filename: &attachment.filename,
            content_type: &attachment.content_type,
        };
        Ok(self.blobs.presign_get(&attachment.key, download).await?)
    }

    /// Saturated password checks are the server being flooded, not the caller's fault: 503 with
    /// a short Retry-After, counted with the rate limits.
    fn password_error(&self, e: PasswordError) -> ApiError {
        match e {
            PasswordError::Busy => {
                self.metrics.limited("password_busy");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "too many sign-ins are being checked; try again in a moment",
                )
                .retry_after(Duration::from_secs(1))
            }
            PasswordError::Failed(e) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e)
            }
        }
    }

    pub fn hole_grace(&self) -> Duration {
        self.limits.hole_grace
    }
}

fn require_agent(by: &Principal) -> Result<(), ApiError> {
    if by.is_agent() {
        Ok(())
    } else {
        Err(ApiError::forbidden("this needs an agent token"))
    }
}
