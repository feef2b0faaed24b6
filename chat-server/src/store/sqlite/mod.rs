//! The embedded store: one SQLite file (`chat.sqlite3`) in the configured directory, for running
//! a single chat-server with nothing else installed.
//!
//! Why it is built this way:
//! - **Durability.** WAL journal with `synchronous=FULL` fsyncs the log at every commit, so a
//!   message `append_message` returned survives a power cut, which the store contract requires.
//!   (`NORMAL`, WAL's usual partner, may lose the last commits on power loss.) Concurrent
//!   appends share a commit and its fsync (group commit, see [`group`]).
//! - **Seq without holes.** The next seq is read from `conversations.last_seq` and written back in
//!   the same `BEGIN IMMEDIATE` transaction as the message insert. IMMEDIATE takes the write lock
//!   up front, so two writers (even two processes on the same file) serialize instead of both
//!   reading the same `last_seq`; either the whole append commits or none of it does, so a seq can
//!   be neither skipped nor reused. `UNIQUE (conversation_id, seq)` backs this up in the schema.
//! - **Idempotency.** The `client_msg_id` lookup runs inside that transaction, so a retransmission
//!   racing its original sees it; `UNIQUE (conversation_id, client_msg_id)` is the backstop.
//! - **Not blocking the runtime.** SQLite calls are synchronous, so each runs on tokio's blocking
//!   pool. Writes go through one connection (SQLite admits one writer at a time anyway); reads use
//!   a few more, which WAL lets proceed while a write is fsyncing.
//! - **Several processes on one file** are tolerated (a `busy_timeout` waits for the lock), but the
//!   embedded store is for one replica; several replicas belong on MongoDB.
//! - **Schema** changes are migrations numbered with `PRAGMA user_version` (see [`schema`]).

mod agents;
mod api_tokens;
mod append;
mod blob_sweeps;
mod connections;
mod conversations;
mod group;
mod outbox;
mod reports;
mod revocations;
mod rights;
mod routing;
mod rows;
mod schema;
mod search;
mod teams;
mod transcripts;
mod visitors;
mod webhooks;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

use self::connections::{Connections, blocking};
use self::group::GroupCommit;

use self::rows::{
    AGENT_COLUMNS, ATTACHMENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, VISITOR_COLUMNS,
    is_unique_violation, millis, signed, store_error, text,
};
use super::{
    AgentPatch, Appended, AssigneeFilter, CannedPatch, ConversationFilter, ConversationPatch, Page,
    Store, StoreError, StoreResult, TeamPatch,
};
use crate::model::{
    Agent, AgentRecord, ApiToken, ApiTokenRecord, Attachment, CannedResponse, Conversation,
    Message, NewMessage, OidcSubject, Rating, Reader, Revocation, Team, Visitor, now,
};
use crate::store::{
    ConversationFacts, Imported, NewMail, OutboxMail, Rated, ResetToken, TranscriptRequest,
    VisitorPatch,
};
use crate::store::{
    DeliveryNext, NewSend, NewWebhookEvent, Sent, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
};

/// The database file inside the configured directory.
pub const FILE_NAME: &str = "chat.sqlite3";

pub use schema::current_version as schema_version;

pub struct SqliteStore {
    conns: Arc<Connections>,
    appends: Arc<GroupCommit>,
}

impl SqliteStore {
    /// Creates the directory if needed, opens (or creates) the database and migrates its schema.
    pub async fn open(dir: &Path) -> StoreResult<Self> {
        let dir = dir.to_path_buf();
        let conns = blocking(move || Connections::open(&dir)).await?;
        Ok(Self {
            conns: Arc::new(conns),
            appends: Arc::default(),
        })
    }

    /// The database file, for messages and backups.
    pub fn path(&self) -> &Path {
        self.conns.path()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.conns
            .read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }

    async fn create_agent(&self, record: AgentRecord) -> StoreResult<Agent> {
        self.conns
            .write(move |conn, path| {
                let a = &record.agent;
                conn.execute(
                &format!(
                    "INSERT INTO agents ({AGENT_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                params![
                    a.id,
                    a.email,
                    a.name,
                    text(a.role),
                    record.password_hash,
                    millis(a.created_at),
                    record.oidc.as_ref().map(|o| &o.issuer),
                    record.oidc.as_ref().map(|o| &o.subject),
                    a.disabled,
                    a.email.to_lowercase()
                ],
            )
            .map_err(|e| match is_unique_violation(&e) {
                true => StoreError::Conflict(format!(
                    "an agent with email {}, id {} or that OIDC identity",
                    a.email, a.id
                )),
                false => store_error(path, e),
            })?;
                Ok(record.agent)
            })
            .await
    }

    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>> {
        let key = email.to_lowercase();
        self.conns
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email_key = ?"),
                    [key],
                    rows::agent_record,
                )
                .optional()
            })
            .await
    }

    async fn agent_by_oidc(&self, oidc: &OidcSubject) -> StoreResult<Option<AgentRecord>> {
        let oidc = oidc.clone();
        self.conns
            .read(move |conn| {
                conn.query_row(
                    &format!(
                        "SELECT {AGENT_COLUMNS} FROM agents WHERE oidc_issuer = ? AND oidc_subject = ?"
                    ),
                    [oidc.issuer, oidc.subject],
                    rows::agent_record,
                )
                .optional()
            })
            .await
    }

    async fn link_oidc(&self, agent_id: &str, oidc: &OidcSubject) -> StoreResult<()> {
        let (id, oidc) = (agent_id.to_string(), oidc.clone());
        self.conns
            .write(move |conn, path| {
                let taken = || StoreError::Conflict(format!("an OIDC identity for agent {id}"));
                let linked = conn
                    .execute(
                        "UPDATE agents SET oidc_issuer = ?, oidc_subject = ? \
                         WHERE id = ? AND oidc_issuer IS NULL",
                        params![oidc.issuer, oidc.subject, id],
                    )
                    .map_err(|e| match is_unique_violation(&e) {
                        true => taken(),
                        false => store_error(path, e),
                    })?;
                if linked == 1 {
                    return Ok(());
                }
                let held: Option<(Option<String>, Option<String>)> = conn
                    .query_row(
                        "SELECT oidc_issuer, oidc_subject FROM agents WHERE id = ?",
                        [&id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(|e| store_error(path, e))?;
                match held {
                    None => Err(StoreError::NotFound(format!("agent {id}"))),
                    Some((Some(i), Some(s))) if i == oidc.issuer && s == oidc.subject => Ok(()),
                    Some(_) => Err(taken()),
                }
            })
            .await
    }

    async fn agent_by_id(&self, id: &str) -> StoreResult<Option<AgentRecord>> {
        let id = id.to_string();
        self.conns
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?"),
                    [id],
                    rows::agent_record,
                )
                .optional()
            })
            .await
    }

    async fn list_agents(&self, page: &Page) -> StoreResult<Vec<Agent>> {
        let page = page.clone();
        self.conns
            .read(move |conn| {
                teams::list(conn, "agents", AGENT_COLUMNS, &page, |row| {
                    rows::agent_record(row).map(|r| r.agent)
                })
            })
            .await
    }

    async fn update_agent(&self, id: &str, patch: &AgentPatch) -> StoreResult<Agent> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.conns
            .write(move |conn, path| agents::update(conn, path, &id, &patch))
            .await
    }

    async fn delete_agent(&self, id: &str) -> StoreResult<Vec<Conversation>> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| agents::delete(conn, path, &id))
            .await
    }

    async fn revoke(&self, revocation: &Revocation) -> StoreResult<()> {
        let revocation = revocation.clone();
        self.conns
            .write(move |conn, path| revocations::revoke(conn, path, &revocation))
            .await
    }

    async fn revocations_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Revocation>> {
        self.conns
            .read(move |conn| revocations::since(conn, millis(since)))
            .await
    }

    async fn create_visitor(&self, visitor: Visitor) -> StoreResult<()> {
        self.conns
            .write(move |conn, path| {
                conn.execute(
                    &format!("INSERT INTO visitors ({VISITOR_COLUMNS}) VALUES (?, ?, ?, ?)"),
                    params![
                        visitor.id,
                        visitor.name,
                        visitor.email,
                        millis(visitor.created_at)
                    ],
                )
                .map_err(|e| match is_unique_violation(&e) {
                    true => StoreError::Conflict(format!("visitor {}", visitor.id)),
                    false => store_error(path, e),
                })?;
                Ok(())
            })
            .await
    }

    async fn visitor(&self, id: &str) -> StoreResult<Option<Visitor>> {
        let id = id.to_string();
        self.conns
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {VISITOR_COLUMNS} FROM visitors WHERE id = ?"),
                    [id],
                    rows::visitor,
                )
                .optional()
            })
            .await
    }

    async fn update_visitor(&self, id: &str, patch: &VisitorPatch) -> StoreResult<Visitor> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.conns
            .write(move |conn, path| visitors::update(conn, path, &id, &patch))
            .await
    }

    async fn request_transcript(&self, request: &TranscriptRequest) -> StoreResult<()> {
        let request = request.clone();
        self.conns
            .write(move |conn, path| transcripts::request(conn, path, &request))
            .await
    }

    async fn take_transcript_request(
        &self,
        conversation_id: &str,
    ) -> StoreResult<Option<TranscriptRequest>> {
        let id = conversation_id.to_string();
        self.conns
            .write(move |conn, path| transcripts::take(conn, path, &id))
            .await
    }

    async fn create_conversation(&self, conversation: Conversation) -> StoreResult<Conversation> {
        // The seqs belong to the store: a new conversation has no messages yet.
        let conversation = Conversation {
            last_seq: 0,
            last_public_seq: 0,
            read: Default::default(),
            ..conversation
        };
        self.conns
            .write(move |conn, path| conversations::create(conn, path, conversation))
            .await
    }

    async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>> {
        let id = id.to_string();
        self.conns
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?"),
                    [id],
                    rows::conversation,
                )
                .optional()
            })
            .await
    }

    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<Conversation>> {
        let mut sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(Value::Text(status.as_str().into()));
        }
        match &filter.assignee {
            AssigneeFilter::Any => {}
            AssigneeFilter::Unassigned => sql.push_str(" AND assignee IS NULL"),
            AssigneeFilter::Agent(agent) => {
                sql.push_str(" AND assignee = ?");
                args.push(Value::Text(agent.clone()));
            }
        }
        if let Some(visitor) = &filter.visitor_id {
            sql.push_str(" AND visitor_id = ?");
            args.push(Value::Text(visitor.clone()));
        }
        if let Some(label) = &filter.label {
            sql.push_str(
                " AND id IN (SELECT conversation_id FROM conversation_labels WHERE label = ?)",
            );
            args.push(Value::Text(label.clone()));
        }
        if let Some(team) = &filter.team {
            sql.push_str(" AND team_id = ?");
            args.push(Value::Text(team.clone()));
        }
        if let Some(before) = &filter.before_id {
            sql.push_str(" AND id < ?");
            args.push(Value::Text(before.clone()));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Value::Integer(filter.limit.into()));
        self.conns
            .read(move |conn| {
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(params_from_iter(args), rows::conversation)?;
                rows.collect()
            })
            .await
    }

    async fn update_conversation(
        &self,
        id: &str,
        patch: &ConversationPatch,
    ) -> StoreResult<Conversation> {
        let id = id.to_string();
        let patch = patch.clone();
        self.conns
            .write(move |conn, path| {
                let (set_assignee, assignee) = match patch.assignee {
                    Some(a) => (true, a),
                    None => (false, None),
                };
                let (set_team, team) = match patch.team {
                    Some(t) => (true, t),
                    None => (false, None),
                };
                // max(): an append in the same millisecond may already have moved updated_at.
                // resolved_at: set when the status becomes resolved (the right-hand sides read
                // the old row, so resolving again keeps the first time), cleared on reopening.
                conn.query_row(
                    &format!(
                        "UPDATE conversations SET status = coalesce(?1, status),
                         assignee = CASE WHEN ?2 THEN ?3 ELSE assignee END,
                         team_id = CASE WHEN ?6 THEN ?7 ELSE team_id END,
                         awaiting_desk = CASE WHEN ?1 IS NULL THEN awaiting_desk ELSE 0 END,
                         resolved_at = CASE WHEN ?1 IS NULL THEN resolved_at
                             WHEN ?1 <> 'resolved' THEN NULL
                             WHEN status = 'resolved' THEN resolved_at ELSE ?4 END,
                         updated_at = max(updated_at, ?4)
                     WHERE id = ?5 RETURNING {CONVERSATION_COLUMNS}"
                    ),
                    params![
                        patch.status.map(|s| s.as_str()),
                        set_assignee,
                        assignee,
                        millis(now()),
                        id,
                        set_team,
                        team
                    ],
                    rows::conversation,
                )
                .optional()
                .map_err(|e| store_error(path, e))?
                .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
            })
            .await
    }

    async fn waiting_for_desk(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let after = after.map(str::to_string);
        self.conns
            .read(move |conn| conversations::waiting_for_desk(conn, after.as_deref(), limit))
            .await
    }

    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended> {
        let send = NewSend {
            message,
            owner: None,
            event: None,
            read_by: None,
        };
        match self.appends.append(&self.conns, send).await? {
            Sent::Stored { appended, .. } => Ok(appended),
            Sent::NotOwner => unreachable!("a send without an owner is nobody's to refuse"),
        }
    }

    async fn send_message(&self, send: NewSend) -> StoreResult<Sent> {
        self.appends.append(&self.conns, send).await
    }

    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let conversation_id = conversation_id.to_string();
        self.conns
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?"
                ))?;
                let rows = stmt.query_map(
                    params![conversation_id, signed(after_seq), limit],
                    rows::message,
                )?;
                rows.collect()
            })
            .await
    }

    async fn mark_read(
        &self,
        conversation_id: &str,
        reader: &Reader,
        seq: u64,
    ) -> StoreResult<Option<Conversation>> {
        let (id, reader) = (conversation_id.to_string(), reader.clone());
        self.conns
            .write(move |conn, path| conversations::mark_read(conn, path, &id, &reader, seq))
            .await
    }

    async fn set_labels(
        &self,
        conversation_id: &str,
        labels: &[String],
    ) -> StoreResult<Conversation> {
        let (id, labels) = (conversation_id.to_string(), labels.to_vec());
        self.conns
            .write(move |conn, path| conversations::set_labels(conn, path, &id, &labels))
            .await
    }

    async fn create_team(&self, team: Team) -> StoreResult<Team> {
        self.conns
            .write(move |conn, path| teams::create_team(conn, path, team))
            .await
    }

    async fn team(&self, id: &str) -> StoreResult<Option<Team>> {
        let id = id.to_string();
        self.conns.read(move |conn| teams::team(conn, &id)).await
    }

    async fn list_teams(&self, page: &Page) -> StoreResult<Vec<Team>> {
        let page = page.clone();
        self.conns
            .read(move |conn| teams::list_teams(conn, &page))
            .await
    }

    async fn update_team(&self, id: &str, patch: &TeamPatch) -> StoreResult<Team> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.conns
            .write(move |conn, path| teams::update_team(conn, path, &id, &patch))
            .await
    }

    async fn delete_team(&self, id: &str) -> StoreResult<Vec<Conversation>> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| teams::delete_team(conn, path, &id))
            .await
    }

    async fn teams_of(&self, agent_id: &str) -> StoreResult<Vec<String>> {
        let id = agent_id.to_string();
        self.conns
            .read(move |conn| teams::teams_of(conn, &id))
            .await
    }

    async fn create_canned_response(&self, canned: CannedResponse) -> StoreResult<CannedResponse> {
        self.conns
            .write(move |conn, path| teams::create_canned(conn, path, canned))
            .await
    }

    async fn canned_response(&self, id: &str) -> StoreResult<Option<CannedResponse>> {
        let id = id.to_string();
        self.conns.read(move |conn| teams::canned(conn, &id)).await
    }

    async fn list_canned_responses(&self, page: &Page) -> StoreResult<Vec<CannedResponse>> {
        let page = page.clone();
        self.conns
            .read(move |conn| teams::list_canned(conn, &page))
            .await
    }

    async fn update_canned_response(
        &self,
        id: &str,
        patch: &CannedPatch,
    ) -> StoreResult<CannedResponse> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.conns
            .write(move |conn, path| teams::update_canned(conn, path, &id, &patch))
            .await
    }

    async fn delete_canned_response(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| teams::delete_canned(conn, path, &id))
            .await
    }

    async fn create_api_token(&self, record: ApiTokenRecord) -> StoreResult<ApiToken> {
        self.conns
            .write(move |conn, path| api_tokens::create(conn, path, record))
            .await
    }

    async fn api_token(&self, id: &str) -> StoreResult<Option<ApiTokenRecord>> {
        let id = id.to_string();
        self.conns
            .read(move |conn| api_tokens::get(conn, &id))
            .await
    }

    async fn list_api_tokens(&self, page: &Page) -> StoreResult<Vec<ApiToken>> {
        let page = page.clone();
        self.conns
            .read(move |conn| api_tokens::list(conn, &page))
            .await
    }

    async fn delete_api_token(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| api_tokens::delete(conn, path, &id))
            .await
    }

    async fn open_counts_by_assignee(
        &self,
    ) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        self.conns.read(routing::open_counts).await
    }

    async fn assign_if_unassigned(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let (id, agent) = (conversation_id.to_string(), agent_id.to_string());
        self.conns
            .write(move |conn, path| routing::assign_if_unassigned(conn, path, &id, &agent))
            .await
    }

    async fn oldest_unassigned(
        &self,
        teams: Option<&[String]>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let teams = teams.map(<[String]>::to_vec);
        self.conns
            .read(move |conn| routing::oldest_unassigned(conn, teams.as_deref(), limit))
            .await
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        let until = millis(now()).saturating_add(ttl.as_millis() as i64);
        self.conns
            .write(move |conn, path| routing::try_lease(conn, path, &name, &holder, until))
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.conns
            .write(move |conn, path| routing::release_lease(conn, path, &name, &holder))
            .await
    }

    async fn routing_turns(&self) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        self.conns.read(routing::turns).await
    }

    async fn record_routing_turn(&self, agent_id: &str, turn: u64) -> StoreResult<()> {
        let agent_id = agent_id.to_string();
        self.conns
            .write(move |conn, path| routing::record_turn(conn, path, &agent_id, turn))
            .await
    }

    async fn search_messages(&self, query: &str, page: &Page) -> StoreResult<Vec<Message>> {
        let (query, page) = (query.to_string(), page.clone());
        self.conns
            .read(move |conn| search::search(conn, &query, &page))
            .await
    }

    async fn create_attachment(&self, attachment: Attachment) -> StoreResult<()> {
        self.conns.write(move |conn, path| {
            let a = &attachment;
            conn.execute(
                &format!("INSERT INTO attachments ({ATTACHMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                params![a.id, a.conversation_id, a.filename, a.content_type, signed(a.size), a.key,
                    a.uploaded_by.kind.as_str(), a.uploaded_by.id, a.uploaded_by.name, millis(a.created_at)],
            )
            .map_err(|e| match is_unique_violation(&e) {
                true => StoreError::Conflict(format!("attachment {}", a.id)),
                false => store_error(path, e),
            })?;
            Ok(())
        })
        .await
    }

    async fn attachment(&self, id: &str) -> StoreResult<Option<Attachment>> {
        let id = id.to_string();
        self.conns
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = ?"),
                    [id],
                    rows::attachment,
                )
                .optional()
            })
            .await
    }

    async fn carried_publicly(
        &self,
        conversation_id: &str,
        attachment_id: &str,
    ) -> StoreResult<bool> {
        let (conversation_id, attachment_id) =
            (conversation_id.to_string(), attachment_id.to_string());
        self.conns
            .read(move |conn| {
                // The conversation's messages through the (conversation_id, seq) key; only
                // those with attachments are opened.
                conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM messages, json_each(messages.attachments) AS a
                         WHERE messages.conversation_id = ?1 AND messages.private = 0
                           AND messages.attachments != '[]'
                           AND json_extract(a.value, '$.id') = ?2)",
                    params![conversation_id, attachment_id],
                    |row| row.get(0),
                )
            })
            .await
    }

    async fn enqueue_mail(&self, mail: NewMail) -> StoreResult<()> {
        self.conns
            .write(move |conn, path| outbox::enqueue(conn, path, mail))
            .await
    }

    async fn claim_mails(
        &self,
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMail>> {
        let claimer = claimer.to_string();
        self.conns
            .write(move |conn, path| {
                outbox::claim(conn, &claimer, now, lease_until, limit)
                    .map_err(|e| store_error(path, e))
            })
            .await
    }

    async fn mail_sent(&self, id: &str, claimer: &str) -> StoreResult<bool> {
        let (id, claimer) = (id.to_string(), claimer.to_string());
        self.conns
            .write(move |conn, path| outbox::sent(conn, path, &id, &claimer))
            .await
    }

    async fn mail_failed(
        &self,
        id: &str,
        claimer: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let (id, claimer, error) = (id.to_string(), claimer.to_string(), error.to_string());
        self.conns
            .write(move |conn, path| outbox::failed(conn, path, &id, &claimer, &error, retry_at))
            .await
    }

    async fn outbox_mail(&self, id: &str) -> StoreResult<Option<OutboxMail>> {
        let id = id.to_string();
        self.conns.read(move |conn| outbox::get(conn, &id)).await
    }

    async fn purge_mails(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.conns
            .write(move |conn, path| outbox::purge(conn, path, before))
            .await
    }

    async fn rate_conversation(
        &self,
        conversation_id: &str,
        rating: &Rating,
    ) -> StoreResult<Rated> {
        let (id, rating) = (conversation_id.to_string(), rating.clone());
        self.conns
            .write(move |conn, path| reports::rate(conn, path, &id, &rating))
            .await
    }

    async fn report_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ConversationFacts>> {
        self.conns
            .read(move |conn| reports::facts(conn, from, to))
            .await
    }

    async fn import_conversations(&self, batch: Vec<Imported>) -> StoreResult<()> {
        self.conns
            .write(move |conn, path| reports::import(conn, path, batch))
            .await
    }

    async fn list_visitors(&self, page: &Page) -> StoreResult<Vec<Visitor>> {
        let page = page.clone();
        self.conns
            .read(move |conn| rights::list_visitors(conn, &page))
            .await
    }

    async fn attachments_of(&self, conversation_id: &str) -> StoreResult<Vec<Attachment>> {
        let id = conversation_id.to_string();
        self.conns
            .read(move |conn| rights::attachments_of(conn, &id))
            .await
    }

    async fn erase_conversation(&self, id: &str) -> StoreResult<Option<super::Erased>> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| rights::erase_conversation(conn, path, &id))
            .await
    }

    async fn delete_visitor(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| rights::delete_visitor(conn, path, &id))
            .await
    }

    async fn schedule_blob_sweeps(
        &self,
        keys: &[String],
        due_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let keys = keys.to_vec();
        self.conns
            .write(move |conn, path| blob_sweeps::schedule(conn, path, &keys, due_at))
            .await
    }

    async fn due_blob_sweeps(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<String>> {
        self.conns
            .read(move |conn| blob_sweeps::due(conn, now, limit))
            .await
    }

    async fn blob_swept(&self, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        self.conns
            .write(move |conn, path| blob_sweeps::swept(conn, path, &key))
            .await
    }

    async fn resolved_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.conns
            .read(move |conn| rights::resolved_before(conn, before, limit))
            .await
    }

    async fn create_reset_token(&self, token: ResetToken) -> StoreResult<()> {
        self.conns
            .write(move |conn, path| outbox::create_reset(conn, path, token))
            .await
    }

    async fn take_reset_token(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ResetToken>> {
        let sha = token_sha256.to_string();
        self.conns
            .write(move |conn, path| outbox::take_reset(conn, path, &sha, now))
            .await
    }

    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
        self.conns
            .write(move |conn, path| webhooks::create(conn, path, endpoint))
            .await
    }

    async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
        let id = id.to_string();
        self.conns.read(move |conn| webhooks::get(conn, &id)).await
    }

    async fn list_webhooks(&self, page: &Page) -> StoreResult<Vec<WebhookEndpoint>> {
        let page = page.clone();
        self.conns
            .read(move |conn| webhooks::list(conn, &page))
            .await
    }

    async fn delete_webhook(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.conns
            .write(move |conn, path| webhooks::delete(conn, path, &id))
            .await
    }

    async fn enqueue_webhook_event(&self, event: NewWebhookEvent) -> StoreResult<u32> {
        self.conns
            .write(move |conn, path| webhooks::enqueue(conn, path, event))
            .await
    }

    async fn claim_webhook_deliveries(
        &self,
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let claimer = claimer.to_string();
        self.conns
            .write(move |conn, path| {
                webhooks::claim(conn, &claimer, now, lease_until, limit)
                    .map_err(|e| store_error(path, e))
            })
            .await
    }

    async fn finish_webhook_delivery(
        &self,
        id: &str,
        claimer: &str,
        attempt: WebhookAttempt,
        next: DeliveryNext,
    ) -> StoreResult<bool> {
        let (id, claimer) = (id.to_string(), claimer.to_string());
        self.conns
            .write(move |conn, path| webhooks::finish(conn, path, &id, &claimer, attempt, next))
            .await
    }

    async fn webhook_delivery(&self, id: &str) -> StoreResult<Option<WebhookDelivery>> {
        let id = id.to_string();
        self.conns
            .read(move |conn| webhooks::get_delivery(conn, &id))
            .await
    }

    async fn webhook_attempts(
        &self,
        webhook_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        let (webhook_id, page) = (webhook_id.to_string(), page.clone());
        self.conns
            .read(move |conn| webhooks::attempts(conn, &webhook_id, &page))
            .await
    }

    async fn purge_webhook_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.conns
            .write(move |conn, path| webhooks::purge_history(conn, path, before))
            .await
    }

    async fn drop_reset_tokens(&self, agent_id: &str) -> StoreResult<u64> {
        let agent_id = agent_id.to_string();
        self.conns
            .write(move |conn, path| outbox::drop_resets(conn, path, &agent_id))
            .await
    }
}
