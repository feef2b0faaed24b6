//! The MongoDB store, for production (Atlas or any MongoDB; SecantusDB in tests). Each tenant has
//! its own database, named in the URI's path, and a user with `readWrite` on that database only:
//! enough to create the indexes below at start, nothing on any other tenant.
//!
//! # Seq: optimistic insert, no counter
//!
//! A message document carries its seq from its first write, and the unique index
//! `(conversation_id, seq)` is what hands seqs out:
//! 1. start from the conversation's `last_seq` + 1 (this read also answers `NotFound`);
//! 2. insert the message with that seq;
//! 3. on a duplicate key, if the `client_msg_id` is taken, return that message as `Existing`;
//!    otherwise another writer took the seq, which is therefore stored: try the next one (2).
//!
//! Then `$max` the conversation's `last_seq`, `last_public_seq` (not for a private note) and
//! `updated_at` (never backwards, whatever order concurrent appends finish in).
//!
//! Why not reserve seqs with `$inc` on the conversation and write the message afterwards: that is
//! two documents, and without a multi-document transaction the gap between them shows. A writer
//! that dies in it leaves a hole forever, a slow one a hole that readers must wait out, and a
//! retransmission that finds the original claim still without a seq has to guess whether its
//! writer is dead or slow (guessing wrong makes a hole). Here a seq only ever exists as part of a
//! stored message, so: no holes, not even after a crash; a message is never visible before every
//! lower seq is (seq n is only tried after n-1 was read as stored); an `Existing` message is
//! always complete; and no transaction is needed, which SecantusDB (the test stand-in) would have
//! to support as well as Atlas.
//!
//! # Contention
//!
//! With k writers appending to one conversation at the same instant, an append may lose up to
//! k-1 races, so a burst of k costs O(k²) attempts. Two things keep k small: within one process,
//! appends to a conversation take turns (a striped async lock; the turn lasts until the
//! conversation's `last_seq` is bumped, so the next one starts from a fresh seq and usually wins
//! at once), which leaves k at most the number of replicas; and a conversation has a visitor and
//! one or two agents anyway. A loser retries at once (a pause starved it against a replica with a queue), and one that
//! keeps losing for `APPEND_BUDGET` fails as `Unavailable` instead of hanging.
//!
//! If a process dies between the insert and the `$max`, the message is stored and the
//! conversation's `last_seq` lags behind it until the conversation's next append; the
//! conversation document is a summary, the messages are the record.
//!
//! # Durability
//!
//! Every write asks for `w: "majority", j: true`, overriding the URI: the API tells clients
//! about a message as soon as the store returns, so it must survive a primary failing over.

mod agents;
mod api_tokens;
mod append;
mod blob_sweeps;
mod conversations;
mod docs;
mod errors;
mod indexes;
mod lease;
mod outbox;
mod reports;
mod revocations;
mod rights;
mod routing;
pub mod schema;
mod search;
mod teams;
mod transcripts;
mod visitors;
mod webhooks;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{
    Acknowledgment, ClientOptions, DatabaseOptions, ReturnDocument, WriteConcern,
};
use mongodb::{Client, Collection, Database};

use self::docs::{
    AgentDoc, ApiTokenDoc, AttachmentDoc, CannedDoc, ConversationDoc, MessageDoc, RevocationDoc,
    TeamDoc, VisitorDoc, bson_time,
};
use self::errors::{is_duplicate_key, store_error};
use super::{
    AgentPatch, Appended, AssigneeFilter, CannedPatch, ConversationFilter, ConversationPatch, Page,
    Store, StoreError, StoreResult, TeamPatch,
};
use crate::model::{
    Agent, AgentRecord, ApiToken, ApiTokenRecord, Attachment, CannedResponse, Conversation,
    ConversationStatus, Message, NewMessage, OidcSubject, Rating, Reader, Revocation, Team,
    Visitor, now,
};
use crate::store::{
    ConversationFacts, Imported, NewMail, OutboxMail, Rated, ResetToken, TranscriptRequest,
    VisitorPatch,
};
use crate::store::{
    DeliveryNext, NewSend, NewWebhookEvent, Sent, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
};

pub struct MongoStore {
    db: Database,
    /// Serialize this process's appends per conversation (see "Contention" above).
    append_locks: Box<[tokio::sync::Mutex<()>]>,
    lock_hasher: std::hash::RandomState,
    agents: Collection<AgentDoc>,
    visitors: Collection<VisitorDoc>,
    conversations: Collection<ConversationDoc>,
    messages: Collection<MessageDoc>,
    attachments: Collection<AttachmentDoc>,
    revocations: Collection<RevocationDoc>,
    teams: Collection<TeamDoc>,
    canned: Collection<CannedDoc>,
    api_tokens: Collection<ApiTokenDoc>,
    /// See [`lease`].
    leases: Collection<Document>,
    /// `{_id: agent_id, turn}`: see [`routing`].
    routing_turns: Collection<Document>,
    /// See [`outbox`].
    outbox: Collection<Document>,
    password_resets: Collection<Document>,
    /// One-off facts about the database, e.g. that a backfill is done.
    meta: Collection<Document>,
}

/// The driver's own default is 30 s: while MongoDB is away, every send would hang that long
/// before the client hears the retryable `store_unavailable`. A URI setting still wins.
const DEFAULT_SERVER_SELECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl MongoStore {
    /// Connects to `database` through `uri` and creates the indexes (a no-op when they exist).
    /// The driver connects lazily, so an unreachable server shows up here, as `Unavailable`
    /// after the URI's `serverSelectionTimeoutMS` (`DEFAULT_SERVER_SELECTION_TIMEOUT` when the
    /// URI has none).
    pub async fn open(uri: &str, database: &str) -> StoreResult<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| store_error("reading the connection URI", e))?;
        options
            .app_name
            .get_or_insert_with(|| "atendo-chat-server".into());
        options
            .server_selection_timeout
            .get_or_insert(DEFAULT_SERVER_SELECTION_TIMEOUT);
        let client =
            Client::with_options(options).map_err(|e| store_error("creating the client", e))?;
        let durable = WriteConcern::builder()
            .w(Acknowledgment::Majority)
            .journal(true)
            .build();
        let db = client.database_with_options(
            database,
            DatabaseOptions::builder().write_concern(durable).build(),
        );
        let store = Self {
            append_locks: (0..append::APPEND_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            lock_hasher: std::hash::RandomState::new(),
            agents: db.collection("agents"),
            visitors: db.collection("visitors"),
            conversations: db.collection("conversations"),
            messages: db.collection("messages"),
            attachments: db.collection("attachments"),
            revocations: db.collection("revocations"),
            teams: db.collection("teams"),
            canned: db.collection("canned_responses"),
            api_tokens: db.collection("api_tokens"),
            leases: db.collection("leases"),
            routing_turns: db.collection("routing_turns"),
            outbox: db.collection("outbox"),
            password_resets: db.collection("password_resets"),
            meta: db.collection("meta"),
            db,
        };
        store.create_indexes().await?;
        store.migrate().await?;
        Ok(store)
    }
}

/// Without repeats, first occurrence kept.
fn distinct(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .cloned()
        .collect()
}

/// Maps an insert's duplicate key to `Conflict` naming `what`.
fn inserted(
    what: impl Fn() -> String,
    result: mongodb::error::Result<impl Sized>,
) -> StoreResult<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_duplicate_key(&e) => Err(StoreError::Conflict(what())),
        Err(e) => Err(store_error(&format!("storing {}", what()), e)),
    }
}

impl MongoStore {
    /// The conversation after `update`, or `None` when `filter` matched nothing.
    async fn update_returning(
        &self,
        id: &str,
        filter: Document,
        update: Document,
    ) -> StoreResult<Option<Conversation>> {
        let updated = self
            .conversations
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| store_error(&format!("updating conversation {id}"), e))?;
        Ok(updated.map(Conversation::from))
    }
}

#[async_trait]
impl Store for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| store_error("ping", e))?;
        Ok(())
    }

    async fn create_agent(&self, record: AgentRecord) -> StoreResult<Agent> {
        let result = self.agents.insert_one(AgentDoc::from(&record)).await;
        let email = &record.agent.email;
        inserted(
            || format!("an agent with email {email} or that OIDC identity"),
            result,
        )?;
        Ok(record.agent)
    }

    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>> {
        let found = self
            .agents
            .find_one(doc! { "email_key": docs::email_key(email) })
            .await
            .map_err(|e| store_error("reading an agent by email", e))?;
        Ok(found.map(AgentRecord::from))
    }

    async fn agent_by_oidc(&self, oidc: &OidcSubject) -> StoreResult<Option<AgentRecord>> {
        let found = self
            .agents
            .find_one(doc! { "oidc.iss": &oidc.issuer, "oidc.sub": &oidc.subject })
            .await
            .map_err(|e| store_error("reading an agent by OIDC identity", e))?;
        Ok(found.map(AgentRecord::from))
    }

    async fn link_oidc(&self, agent_id: &str, oidc: &OidcSubject) -> StoreResult<()> {
        let taken = || StoreError::Conflict(format!("an OIDC identity for agent {agent_id}"));
        let what = format!("linking agent {agent_id} to an OIDC identity");
        let wanted = docs::OidcDoc::from(oidc);
        let set = mongodb::bson::to_bson(&wanted).map_err(|e| StoreError::Other(e.to_string()))?;
        let linked = self
            .agents
            .update_one(
                doc! { "_id": agent_id, "oidc": { "$exists": false } },
                doc! { "$set": { "oidc": set } },
            )
            .await;
        match linked {
            Ok(r) if r.modified_count == 1 => return Ok(()),
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => return Err(taken()),
            Err(e) => return Err(store_error(&what, e)),
        }
        match self.agent_by_id(agent_id).await?.map(|r| r.oidc) {
            None => Err(StoreError::NotFound(format!("agent {agent_id}"))),
            Some(Some(held)) if docs::OidcDoc::from(&held) == wanted => Ok(()),
            Some(_) => Err(taken()),
        }
    }

    async fn agent_by_id(&self, id: &str) -> StoreResult<Option<AgentRecord>> {
        let found = self
            .agents
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading agent {id}"), e))?;
        Ok(found.map(AgentRecord::from))
    }

    async fn list_agents(&self, page: &Page) -> StoreResult<Vec<Agent>> {
        let records: Vec<AgentRecord> = self.page_of(&self.agents, page, "listing agents").await?;
        Ok(records.into_iter().map(|r| r.agent).collect())
    }

    async fn update_agent(&self, id: &str, patch: &AgentPatch) -> StoreResult<Agent> {
        self.update_agent_doc(id, patch).await
    }

    async fn delete_agent(&self, id: &str) -> StoreResult<Vec<Conversation>> {
        self.delete_agent_doc(id).await
    }

    async fn revoke(&self, revocation: &Revocation) -> StoreResult<()> {
        self.upsert_revocation(revocation).await
    }

    async fn revocations_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<Revocation>> {
        self.revocations_written_since(since).await
    }

    async fn create_visitor(&self, visitor: Visitor) -> StoreResult<()> {
        let id = visitor.id.clone();
        let result = self.visitors.insert_one(VisitorDoc::from(visitor)).await;
        inserted(|| format!("visitor {id}"), result)
    }

    async fn visitor(&self, id: &str) -> StoreResult<Option<Visitor>> {
        let found = self
            .visitors
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading visitor {id}"), e))?;
        Ok(found.map(Visitor::from))
    }

    async fn update_visitor(&self, id: &str, patch: &VisitorPatch) -> StoreResult<Visitor> {
        self.patch_visitor(id, patch).await
    }

    async fn request_transcript(&self, request: &TranscriptRequest) -> StoreResult<()> {
        self.upsert_transcript_request(request).await
    }

    async fn take_transcript_request(
        &self,
        conversation_id: &str,
    ) -> StoreResult<Option<TranscriptRequest>> {
        self.delete_transcript_request(conversation_id).await
    }

    async fn create_conversation(&self, conversation: Conversation) -> StoreResult<Conversation> {
        // The seqs belong to the store: a new conversation has no messages yet.
        let conversation = Conversation {
            last_seq: 0,
            last_public_seq: 0,
            read: Default::default(),
            labels: distinct(&conversation.labels),
            ..conversation
        };
        let result = self
            .conversations
            .insert_one(ConversationDoc::from(conversation.clone()))
            .await;
        inserted(|| format!("conversation {}", conversation.id), result)?;
        Ok(conversation)
    }

    async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>> {
        let found = self
            .conversations
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading conversation {id}"), e))?;
        Ok(found.map(Conversation::from))
    }

    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<Conversation>> {
        // The driver reads a limit of 0 as "no limit".
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = Document::new();
        if let Some(status) = filter.status {
            query.insert("status", status.as_str());
        }
        match &filter.assignee {
            AssigneeFilter::Any => {}
            AssigneeFilter::Unassigned => {
                query.insert("assignee", Bson::Null);
            }
            AssigneeFilter::Agent(agent) => {
                query.insert("assignee", agent.as_str());
            }
        }
        if let Some(visitor) = &filter.visitor_id {
            query.insert("visitor.id", visitor.as_str());
        }
        if let Some(label) = &filter.label {
            query.insert("labels", label.as_str());
        }
        if let Some(team) = &filter.team {
            query.insert("team_id", team.as_str());
        }
        if let Some(before) = &filter.before_id {
            query.insert("_id", doc! { "$lt": before.as_str() });
        }
        let what = "listing conversations";
        let cursor = self
            .conversations
            .find(query)
            .sort(doc! { "_id": -1 })
            .limit(i64::from(filter.limit))
            .await
            .map_err(|e| store_error(what, e))?;
        let docs: Vec<ConversationDoc> = cursor
            .try_collect()
            .await
            .map_err(|e| store_error(what, e))?;
        Ok(docs.into_iter().map(Conversation::from).collect())
    }

    async fn update_conversation(
        &self,
        id: &str,
        patch: &ConversationPatch,
    ) -> StoreResult<Conversation> {
        let mut set = Document::new();
        if let Some(status) = patch.status {
            set.insert("status", status.as_str());
            set.insert("awaiting_desk", false);
        }
        if let Some(assignee) = &patch.assignee {
            set.insert(
                "assignee",
                assignee.as_deref().map_or(Bson::Null, Bson::from),
            );
        }
        if let Some(team) = &patch.team {
            set.insert("team_id", team.as_deref().map_or(Bson::Null, Bson::from));
        }
        // `$max`: an append in the same millisecond may already have moved updated_at.
        let at = now();
        let mut update = doc! { "$max": { "updated_at": bson_time(at) } };
        match patch.status {
            Some(ConversationStatus::Resolved) => {
                // Resolving sets resolved_at only when it was not resolved already: one update
                // matching only then, and the plain one below when it did not match.
                let mut resolving = update.clone();
                let mut set = set.clone();
                set.insert("resolved_at", bson_time(at));
                resolving.insert("$set", set);
                let filter = doc! { "_id": id, "status": { "$ne": "resolved" } };
                if let Some(changed) = self.update_returning(id, filter, resolving).await? {
                    return Ok(changed);
                }
            }
            Some(_) => {
                update.insert("$unset", doc! { "resolved_at": "" });
            }
            None => {}
        }
        if !set.is_empty() {
            update.insert("$set", set);
        }
        self.update_returning(id, doc! { "_id": id }, update)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
    }

    async fn waiting_for_desk(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.find_waiting_for_desk(after, limit).await
    }

    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended> {
        self.append(message).await
    }

    async fn send_message(&self, send: NewSend) -> StoreResult<Sent> {
        self.send(send).await
    }

    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let Ok(after_seq) = i64::try_from(after_seq) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let what = || format!("reading messages of conversation {conversation_id}");
        let cursor = self
            .messages
            .find(doc! { "conversation_id": conversation_id, "seq": { "$gt": after_seq } })
            .sort(doc! { "seq": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(|e| store_error(&what(), e))?;
        let docs: Vec<MessageDoc> = cursor
            .try_collect()
            .await
            .map_err(|e| store_error(&what(), e))?;
        Ok(docs.into_iter().map(Message::from).collect())
    }

    async fn mark_read(
        &self,
        conversation_id: &str,
        reader: &Reader,
        seq: u64,
    ) -> StoreResult<Option<Conversation>> {
        self.raise_read(conversation_id, reader, seq).await
    }

    async fn set_labels(
        &self,
        conversation_id: &str,
        labels: &[String],
    ) -> StoreResult<Conversation> {
        self.replace_labels(conversation_id, labels).await
    }

    async fn create_team(&self, team: Team) -> StoreResult<Team> {
        self.insert_team(team).await
    }

    async fn team(&self, id: &str) -> StoreResult<Option<Team>> {
        self.find_team(id).await
    }

    async fn list_teams(&self, page: &Page) -> StoreResult<Vec<Team>> {
        self.page_of(&self.teams, page, "listing teams").await
    }

    async fn update_team(&self, id: &str, patch: &TeamPatch) -> StoreResult<Team> {
        self.patch_team(id, patch).await
    }

    async fn delete_team(&self, id: &str) -> StoreResult<Vec<Conversation>> {
        self.remove_team(id).await
    }

    async fn teams_of(&self, agent_id: &str) -> StoreResult<Vec<String>> {
        self.team_ids_of(agent_id).await
    }

    async fn create_canned_response(&self, canned: CannedResponse) -> StoreResult<CannedResponse> {
        self.insert_canned(canned).await
    }

    async fn canned_response(&self, id: &str) -> StoreResult<Option<CannedResponse>> {
        self.find_canned(id).await
    }

    async fn list_canned_responses(&self, page: &Page) -> StoreResult<Vec<CannedResponse>> {
        self.page_of(&self.canned, page, "listing canned responses")
            .await
    }

    async fn update_canned_response(
        &self,
        id: &str,
        patch: &CannedPatch,
    ) -> StoreResult<CannedResponse> {
        self.patch_canned(id, patch).await
    }

    async fn delete_canned_response(&self, id: &str) -> StoreResult<()> {
        self.remove_canned(id).await
    }

    async fn create_api_token(&self, record: ApiTokenRecord) -> StoreResult<ApiToken> {
        self.insert_api_token(record).await
    }

    async fn api_token(&self, id: &str) -> StoreResult<Option<ApiTokenRecord>> {
        self.find_api_token(id).await
    }

    async fn list_api_tokens(&self, page: &Page) -> StoreResult<Vec<ApiToken>> {
        self.page_of_api_tokens(page).await
    }

    async fn delete_api_token(&self, id: &str) -> StoreResult<()> {
        self.remove_api_token(id).await
    }

    async fn open_counts_by_assignee(
        &self,
    ) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        self.count_open_by_assignee().await
    }

    async fn assign_if_unassigned(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        self.assign_when_unassigned(conversation_id, agent_id).await
    }

    async fn oldest_unassigned(
        &self,
        teams: Option<&[String]>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.unassigned_oldest_first(teams, limit).await
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<bool> {
        self.take_lease(name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.give_up_lease(name, holder).await
    }

    async fn routing_turns(&self) -> StoreResult<std::collections::BTreeMap<String, u64>> {
        self.turns().await
    }

    async fn record_routing_turn(&self, agent_id: &str, turn: u64) -> StoreResult<()> {
        self.record_turn(agent_id, turn).await
    }

    async fn search_messages(&self, query: &str, page: &Page) -> StoreResult<Vec<Message>> {
        self.search(query, page).await
    }

    async fn create_attachment(&self, attachment: Attachment) -> StoreResult<()> {
        let id = attachment.id.clone();
        let result = self
            .attachments
            .insert_one(AttachmentDoc::from(attachment))
            .await;
        inserted(|| format!("attachment {id}"), result)
    }

    async fn attachment(&self, id: &str) -> StoreResult<Option<Attachment>> {
        let found = self
            .attachments
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading attachment {id}"), e))?;
        Ok(found.map(Attachment::from))
    }

    async fn carried_publicly(
        &self,
        conversation_id: &str,
        attachment_id: &str,
    ) -> StoreResult<bool> {
        // `private` is left out when false (and in documents older than notes).
        let found = self
            .messages
            .count_documents(doc! {
                "conversation_id": conversation_id,
                "attachments.id": attachment_id,
                "private": { "$ne": true },
            })
            .limit(1)
            .await
            .map_err(|e| {
                store_error(
                    &format!("looking for attachment {attachment_id} in public messages"),
                    e,
                )
            })?;
        Ok(found > 0)
    }

    async fn enqueue_mail(&self, mail: NewMail) -> StoreResult<()> {
        self.insert_mail(mail).await
    }

    async fn claim_mails(
        &self,
        claimer: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMail>> {
        self.claim_due_mails(claimer, now, lease_until, limit).await
    }

    async fn mail_sent(&self, id: &str, claimer: &str) -> StoreResult<bool> {
        let update = doc! { "$set": { "state": "sent", "body": "" }, "$unset": { "html": "" } };
        self.finish_mail(id, claimer, update).await
    }

    async fn mail_failed(
        &self,
        id: &str,
        claimer: &str,
        error: &str,
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<bool> {
        let update = match retry_at {
            Some(at) => doc! {
                "$set": { "last_error": error, "due_at": bson_time(at) },
                "$inc": { "attempts": 1 },
            },
            None => doc! {
                "$set": { "last_error": error, "state": "failed", "body": "" },
                "$unset": { "html": "" },
                "$inc": { "attempts": 1 },
            },
        };
        self.finish_mail(id, claimer, update).await
    }

    async fn outbox_mail(&self, id: &str) -> StoreResult<Option<OutboxMail>> {
        self.find_mail(id).await
    }

    async fn purge_mails(&self, before: chrono::DateTime<chrono::Utc>) -> StoreResult<u64> {
        self.delete_old_mails(before).await
    }

    async fn rate_conversation(
        &self,
        conversation_id: &str,
        rating: &Rating,
    ) -> StoreResult<Rated> {
        self.rate(conversation_id, rating).await
    }

    async fn report_facts(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<ConversationFacts>> {
        self.facts(from, to).await
    }

    async fn import_conversations(&self, batch: Vec<Imported>) -> StoreResult<()> {
        self.import(batch).await
    }

    async fn list_visitors(&self, page: &Page) -> StoreResult<Vec<Visitor>> {
        self.page_of_visitors(page).await
    }

    async fn attachments_of(&self, conversation_id: &str) -> StoreResult<Vec<Attachment>> {
        self.find_attachments_of(conversation_id).await
    }

    async fn erase_conversation(&self, id: &str) -> StoreResult<Option<super::Erased>> {
        self.erase(id).await
    }

    async fn delete_visitor(&self, id: &str) -> StoreResult<bool> {
        self.remove_visitor(id).await
    }

    async fn schedule_blob_sweeps(
        &self,
        keys: &[String],
        due_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        self.schedule_sweeps(keys, due_at).await
    }

    async fn due_blob_sweeps(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        self.due_sweeps(now, limit).await
    }

    async fn blob_swept(&self, key: &str) -> StoreResult<()> {
        self.forget_sweep(key).await
    }

    async fn resolved_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.resolved_updated_before(before, limit).await
    }

    async fn create_reset_token(&self, token: ResetToken) -> StoreResult<()> {
        self.insert_reset_token(token).await
    }

    async fn take_reset_token(
        &self,
        token_sha256: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Option<ResetToken>> {
        self.delete_reset_token(token_sha256, now).await
    }

    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
        self.insert_webhook(endpoint).await
    }

    async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookEndpoint>> {
        self.find_webhook(id).await
    }

    async fn list_webhooks(&self, page: &Page) -> StoreResult<Vec<WebhookEndpoint>> {
        self.page_of_webhooks(page).await
    }

    async fn delete_webhook(&self, id: &str) -> StoreResult<()> {
        self.remove_webhook(id).await
    }

    async fn enqueue_webhook_event(&self, event: NewWebhookEvent) -> StoreResult<u32> {
        self.insert_webhook_event(event).await
    }

    async fn claim_webhook_deliveries(
        &self,
        claimer: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.claim_due_webhook_deliveries(claimer, now, lease_until, limit)
            .await
    }

    async fn finish_webhook_delivery(
        &self,
        id: &str,
        claimer: &str,
        attempt: WebhookAttempt,
        next: DeliveryNext,
    ) -> StoreResult<bool> {
        self.settle_webhook_delivery(id, claimer, attempt, next)
            .await
    }

    async fn webhook_delivery(&self, id: &str) -> StoreResult<Option<WebhookDelivery>> {
        self.find_webhook_delivery(id).await
    }

    async fn webhook_attempts(
        &self,
        webhook_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<WebhookAttempt>> {
        self.page_of_webhook_attempts(webhook_id, page).await
    }

    async fn purge_webhook_history(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64> {
        self.delete_webhook_history(before).await
    }

    async fn drop_reset_tokens(&self, agent_id: &str) -> StoreResult<u64> {
        self.delete_reset_tokens_of(agent_id).await
    }
}
