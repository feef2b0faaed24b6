//! Durable state of one tenant: agents, visitors, conversations, messages (private notes
//! included), attachments, teams, canned responses, API tokens, token revocations, the mail
//! outbox and password-reset tokens.
//!
//! Two implementations share one conformance suite (`tests/store_conformance.rs`):
//! [`mongo`] for production (MongoDB / Atlas) and [`sqlite`] for the embedded default.
//!
//! Invariants every implementation keeps, because delivery depends on them:
//! - `seq` is per conversation, starts at 1, increases by exactly 1 and is never reused;
//!   concurrent appends (from several replicas) never leave a hole. Both implementations
//!   keep this even across a crash (a seq exists only on a stored message); delivery still
//!   skips a hole after a grace period, so a future store that can leave one stays live.
//! - `append_message` with a `(conversation_id, client_msg_id)` that already exists stores
//!   nothing and returns the original message as [`Appended::Existing`].
//! - A message returned by `append_message` is durable.

pub mod mongo;
pub mod outbox;
pub mod reports;
pub mod search;
pub mod send;
pub mod sqlite;
pub mod visitors;
pub mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;

use chrono::{DateTime, Utc};

pub use outbox::{MailState, NewMail, OutboxMail, ResetToken};
pub use reports::{ConversationFacts, Imported, Rated};
pub use send::{NewSend, Sent};
pub use visitors::{TranscriptRequest, VisitorPatch};
pub use webhooks::{
    DeliveryNext, DeliveryState, NewWebhookEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
};

use crate::model::{
    Agent, AgentRecord, ApiToken, ApiTokenRecord, Attachment, CannedResponse, Conversation,
    ConversationStatus, Message, NewMessage, OidcSubject, Rating, Reader, Revocation, Role, Team,
    Visitor,
};

/// What [`Store::erase_conversation`] removed besides the conversation itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Messages and private notes.
    pub messages: u64,
    /// Attachment records (the bucket's objects are the caller's to delete, first).
    pub attachments: u64,
}

/// Clone: one failed read can be the answer to several sessions (`delivery::catch_up`).
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// The change would leave the tenant without an enabled admin; names the agent.
    #[error("agent {0} is the last enabled admin")]
    LastAdmin(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store `location` names, creating its schema or indexes if missing.
pub async fn open(location: &crate::config::StoreLocation) -> StoreResult<Arc<dyn Store>> {
    use crate::config::StoreLocation;
    Ok(match location {
        StoreLocation::Embedded(dir) => Arc::new(sqlite::SqliteStore::open(dir).await?),
        StoreLocation::Mongo { uri, database } => {
            Arc::new(mongo::MongoStore::open(uri, database).await?)
        }
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    Created(Message),
    /// The `client_msg_id` was seen before; nothing new was stored.
    Existing(Message),
}

impl Appended {
    pub fn message(&self) -> &Message {
        match self {
            Self::Created(m) | Self::Existing(m) => m,
        }
    }
    pub fn into_message(self) -> Message {
        match self {
            Self::Created(m) | Self::Existing(m) => m,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AssigneeFilter {
    #[default]
    Any,
    Unassigned,
    Agent(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub assignee: AssigneeFilter,
    /// Only this visitor's conversations.
    pub visitor_id: Option<String>,
    /// Only conversations carrying this label (exact match).
    pub label: Option<String>,
    /// Only conversations routed to this team.
    pub team: Option<String>,
    /// Only conversations with an id lower than this (paging; ids are time-ordered).
    pub before_id: Option<String>,
    pub limit: u32,
}

impl Default for ConversationFilter {
    fn default() -> Self {
        Self {
            status: None,
            assignee: AssigneeFilter::Any,
            visitor_id: None,
            label: None,
            team: None,
            before_id: None,
            limit: 100,
        }
    }
}

/// A change to a conversation; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationPatch {
    pub status: Option<ConversationStatus>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    /// `Some(None)` takes the conversation out of its team.
    pub team: Option<Option<String>>,
}

/// A change to a team; `None` leaves a field as it is. `agent_ids` replaces the members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub agent_ids: Option<Vec<String>>,
}

/// A change to a canned response; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CannedPatch {
    pub shortcut: Option<String>,
    pub body: Option<String>,
}

/// One page of a list, newest first: items with an id below `before_id` (when given), at most
/// `limit`. Ids are time-ordered, so the last item's id is the next page's `before_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub before_id: Option<String>,
    pub limit: u32,
}

/// A change to an agent; `None` leaves a field as it is. The email and the OIDC link do not
/// change here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// A new PHC-format hash (the caller hashes).
    pub password_hash: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip for `/health/ready`.
    async fn ping(&self) -> StoreResult<()>;

    /// Fails with `Conflict` when the email (compared case-insensitively) or the OIDC identity
    /// is taken.
    async fn create_agent(&self, record: AgentRecord) -> StoreResult<Agent>;
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>>;
    /// The agent holding this OIDC identity (issuer and subject compared exactly).
    async fn agent_by_oidc(&self, oidc: &OidcSubject) -> StoreResult<Option<AgentRecord>>;
    /// Gives agent `agent_id` the identity `oidc`, atomically and only if it has none yet (the
    /// same identity again is a no-op). `Conflict` when the agent holds another identity or
    /// another agent holds this one; `NotFound` when there is no such agent.
    async fn link_oidc(&self, agent_id: &str, oidc: &OidcSubject) -> StoreResult<()>;
    async fn agent_by_id(&self, id: &str) -> StoreResult<Option<AgentRecord>>;
    /// Newest first.
    async fn list_agents(&self, page: &Page) -> StoreResult<Vec<Agent>>;
    /// Applies the patch and returns the agent; `NotFound` if absent. Fails with `LastAdmin`
    /// (changing nothing) when it would disable or demote the last enabled admin, also when
    /// two such changes race (each implementation says how it serializes them).
    async fn update_agent(&self, id: &str, patch: &AgentPatch) -> StoreResult<Agent>;
    /// Removes the agent (`NotFound` if absent; `LastAdmin` if it is the last enabled admin),
    /// takes it out of every team, unassigns its open and pending conversations and returns
    /// those, as changed, for the caller to publish. Resolved conversations keep its id.
    async fn delete_agent(&self, id: &str) -> StoreResult<Vec<Conversation>>;

    /// Stores a revocation; one that already exists for `revocation.key` keeps the later
    /// `not_before` and `expires_at` and takes the new `at`. Expired records may be purged.
    async fn revoke(&self, revocation: &Revocation) -> StoreResult<()>;
    /// The unexpired revocations whose `at` is at or after `since` (inclusive, so polling with
    /// an overlap sees a record twice rather than never), oldest `at` first. Indexed by `at`.
    async fn revocations_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Revocation>>;

    async fn create_visitor(&self, visitor: Visitor) -> StoreResult<()>;
    async fn visitor(&self, id: &str) -> StoreResult<Option<Visitor>>;
    /// Applies the patch and returns the visitor; `NotFound` if absent.
    async fn update_visitor(&self, id: &str, patch: &VisitorPatch) -> StoreResult<Visitor>;
    /// Stores the request, replacing the conversation's earlier one. The conversation is not
    /// checked.
    async fn request_transcript(&self, request: &TranscriptRequest) -> StoreResult<()>;
    /// Removes and returns the conversation's request, if any: of concurrent takers (on any
    /// replica) at most one gets it.
    async fn take_transcript_request(
        &self,
        conversation_id: &str,
    ) -> StoreResult<Option<TranscriptRequest>>;

    async fn create_conversation(&self, conversation: Conversation) -> StoreResult<Conversation>;
    async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>>;
    /// Newest first (descending id).
    async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<Conversation>>;
    /// Applies the patch, bumps `updated_at`, and returns the result; `NotFound` if absent.
    /// A status in the patch, whatever it is, ends the conversation's wait for the desk (see
    /// [`Self::waiting_for_desk`]).
    async fn update_conversation(
        &self,
        id: &str,
        patch: &ConversationPatch,
    ) -> StoreResult<Conversation>;
    /// Conversations created `pending` (offline capture) that no status change has touched
    /// since and nobody is assigned, with ids above `after`, oldest first, at most `limit`:
    /// what the desk opens when it opens. One an agent set pending (waiting for the visitor)
    /// is not among them.
    async fn waiting_for_desk(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;

    /// Assigns the next seq atomically and stores the message (see the module invariants).
    /// Also bumps the conversation's `last_seq` and `updated_at`, and `last_public_seq` unless
    /// the message is a private note (notes take seqs from the same sequence). `NotFound` if
    /// the conversation does not exist.
    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended>;
    /// A message as a sender sends it: `NotFound` for a missing conversation, [`Sent::NotOwner`]
    /// (storing nothing) for another visitor's, else what [`Self::append_message`] and, for
    /// `send.event`, [`Self::enqueue_webhook_event`] would store, in as few round trips as the
    /// store allows (see [`send`]).
    async fn send_message(&self, send: NewSend) -> StoreResult<Sent>;
    /// Messages with `seq > after_seq`, ascending, at most `limit`, private notes included (the
    /// caller filters them out for visitors).
    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;

    /// Raises `reader`'s read seq of the conversation to `seq` and returns the conversation, or
    /// `None` when the stored seq was already at or above it (nothing changed: nothing to
    /// publish). Concurrent calls end at the highest seq. The caller keeps `seq` within
    /// `last_seq`. `NotFound` if the conversation does not exist.
    async fn mark_read(
        &self,
        conversation_id: &str,
        reader: &Reader,
        seq: u64,
    ) -> StoreResult<Option<Conversation>>;

    /// Replaces the conversation's labels (repeats dropped, order kept), bumps `updated_at` and
    /// returns it; `NotFound` if absent.
    async fn set_labels(
        &self,
        conversation_id: &str,
        labels: &[String],
    ) -> StoreResult<Conversation>;

    /// `Conflict` when the name (ignoring case) or the id is taken. Repeated agent ids are
    /// dropped; they are not checked against the agents.
    async fn create_team(&self, team: Team) -> StoreResult<Team>;
    async fn team(&self, id: &str) -> StoreResult<Option<Team>>;
    /// Newest first.
    async fn list_teams(&self, page: &Page) -> StoreResult<Vec<Team>>;
    /// `NotFound` if absent, `Conflict` if the new name is another team's.
    async fn update_team(&self, id: &str, patch: &TeamPatch) -> StoreResult<Team>;
    /// Removes the team and takes its open and pending conversations out of it, returning those
    /// as changed (resolved ones keep the id, as history). `NotFound` if absent.
    async fn delete_team(&self, id: &str) -> StoreResult<Vec<Conversation>>;
    /// The ids of the teams `agent_id` belongs to, oldest team first.
    async fn teams_of(&self, agent_id: &str) -> StoreResult<Vec<String>>;

    /// `Conflict` when the shortcut (ignoring case) or the id is taken.
    async fn create_canned_response(&self, canned: CannedResponse) -> StoreResult<CannedResponse>;
    async fn canned_response(&self, id: &str) -> StoreResult<Option<CannedResponse>>;
    /// Newest first.
    async fn list_canned_responses(&self, page: &Page) -> StoreResult<Vec<CannedResponse>>;
    /// Bumps `updated_at`. `NotFound` if absent, `Conflict` if the shortcut is another's.
    async fn update_canned_response(
        &self,
        id: &str,
        patch: &CannedPatch,
    ) -> StoreResult<CannedResponse>;
    /// `NotFound` if absent.
    async fn delete_canned_response(&self, id: &str) -> StoreResult<()>;

    /// `Conflict` when the id is taken.
    async fn create_api_token(&self, record: ApiTokenRecord) -> StoreResult<ApiToken>;
    async fn api_token(&self, id: &str) -> StoreResult<Option<ApiTokenRecord>>;
    /// Newest first, without secrets.
    async fn list_api_tokens(&self, page: &Page) -> StoreResult<Vec<ApiToken>>;
    /// `NotFound` if absent. Once it returns, `api_token` finds it on every replica: the token
    /// signs no one in any more.
    async fn delete_api_token(&self, id: &str) -> StoreResult<()>;

    /// How many `open` conversations each agent is assigned (agents with none are absent): the
    /// load automatic assignment balances.
    async fn open_counts_by_assignee(&self)
    -> StoreResult<std::collections::BTreeMap<String, u64>>;
    /// Assigns the conversation to `agent_id` only if it has no assignee at that instant (one
    /// atomic compare-and-set), bumping `updated_at`: of two replicas routing one conversation,
    /// exactly one gets `Some` (the changed conversation); the other gets `None`. `NotFound` if
    /// the conversation does not exist. The status is not checked.
    async fn assign_if_unassigned(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> StoreResult<Option<Conversation>>;
    /// Open conversations without an assignee, oldest first, at most `limit`: with `teams`,
    /// only those without a team or routed to one of `teams`.
    async fn oldest_unassigned(
        &self,
        teams: Option<&[String]>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;

    /// Takes the lease `name` for `holder` until `ttl` from now when it is free, expired or
    /// already `holder`'s (which renews it): `true` when `holder` holds it now. Of several callers
    /// at once, at most one gets `true`. Holders are serialized as long as each finishes within
    /// `ttl` and the processes' clocks agree to well within it. `"admins"` is the MongoDB store's
    /// own (the last-admin rule); callers pick other names.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<bool>;
    /// Gives the lease up if `holder` holds it; otherwise changes nothing.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    /// The turn each agent last took in automatic assignment (agents never given one are
    /// absent): of agents equally loaded, the one whose turn is oldest goes next.
    async fn routing_turns(&self) -> StoreResult<std::collections::BTreeMap<String, u64>>;
    /// Records that `agent_id` took turn `turn` (replacing its previous one).
    async fn record_routing_turn(&self, agent_id: &str, turn: u64) -> StoreResult<()>;

    /// Messages (private notes included) whose body has every word of `query`, compared after
    /// [`search::fold`] (case and accents ignored), newest first: ids below `page.before_id`
    /// when given, at most `page.limit`. A query without words ([`search::query_words`]) matches
    /// nothing; words past [`search::MAX_QUERY_WORDS`] are ignored.
    async fn search_messages(&self, query: &str, page: &Page) -> StoreResult<Vec<Message>>;

    async fn create_attachment(&self, attachment: Attachment) -> StoreResult<()>;
    async fn attachment(&self, id: &str) -> StoreResult<Option<Attachment>>;
    /// Whether a message of the conversation that is not a private note carries attachment
    /// `attachment_id`: of the files agents upload, a visitor may see only these.
    async fn carried_publicly(
        &self,
        conversation_id: &str,
        attachment_id: &str,
    ) -> StoreResult<bool>;

    /// Stores a mail, pending and due at `created_at`. `Conflict` when the id is taken.
    async fn enqueue_mail(&self, mail: NewMail) -> StoreResult<()>;
    /// Claims up to `limit` pending mails due at `now`, oldest due first, for `claimer` until
    /// `lease_until` (their `due_at` becomes `lease_until`, `claimed_by` the claimer) and
    /// returns them as claimed. Each mail is claimed atomically: of replicas claiming at once,
    /// one gets it, and nobody else can before the lease runs out.
    async fn claim_mails(
        &self,
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMail>>;
    /// Marks a pending mail that `claimer` holds as sent and forgets its body; `false` (nothing
    /// changed) when it is not pending or someone else claimed it since.
    async fn mail_sent(&self, id: &str, claimer: &str) -> StoreResult<bool>;
    /// Records a failed attempt of a pending mail `claimer` holds: one more attempt and the
    /// error; due again at `retry_at`, or `Failed` (body forgotten) when `None`. `false` as for
    /// [`Store::mail_sent`].
    async fn mail_failed(
        &self,
        id: &str,
        claimer: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
    async fn outbox_mail(&self, id: &str) -> StoreResult<Option<OutboxMail>>;
    /// Removes the sent and failed mails queued before `before` (mail ids begin with a ULID of
    /// when they were made) and returns how many; pending mails stay whatever their age.
    async fn purge_mails(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Gives a resolved conversation its visitor's rating, once: one atomic conditional write
    /// (resolved and not rated yet), so of two replicas rating at once exactly one gets
    /// `Stored`. `NotFound` if the conversation does not exist.
    async fn rate_conversation(&self, conversation_id: &str, rating: &Rating)
    -> StoreResult<Rated>;
    /// The facts of every conversation created in `[from, to)`, in no particular order: what
    /// the reports summarise. Indexed by creation time.
    async fn report_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ConversationFacts>>;
    /// Bulk load (benchmarks, tests with scripted times, imports): each conversation as given
    /// (times, status, `resolved_at`, rating) with its messages as given (ids, seqs, times);
    /// `last_seq`, `last_public_seq` and the report's message times are derived from the
    /// messages ([`reports::message_times`]). Nothing is checked beyond unique ids.
    async fn import_conversations(&self, batch: Vec<Imported>) -> StoreResult<()>;

    // Data rights (`chat::rights`): the export pages through everything, erasure and retention
    // remove conversations with all they hold.

    /// Visitors, newest first (descending id), paged like the other lists.
    async fn list_visitors(&self, page: &Page) -> StoreResult<Vec<Visitor>>;
    /// Every attachment record of the conversation (uploaded or only announced), oldest first.
    async fn attachments_of(&self, conversation_id: &str) -> StoreResult<Vec<Attachment>>;
    /// Removes the conversation and all it holds: messages and notes (from search too), labels,
    /// read state, attachment records, a transcript request, its webhook deliveries and the
    /// outbox mails about it (`NewMail::conversation_id`), pending (never sent afterwards) or
    /// settled; `None` when there is no such conversation. Safe to
    /// repeat: an erasure cut short leaves the conversation findable, so running it again
    /// finishes the job.
    async fn erase_conversation(&self, id: &str) -> StoreResult<Option<Erased>>;
    /// Removes the visitor record; `false` when there was none.
    async fn delete_visitor(&self, id: &str) -> StoreResult<bool>;
    /// Keeps object keys to delete again at `due_at` (a key kept already keeps the later
    /// time): an erasure's objects that an upload URL handed out before it could still put
    /// back until the URL runs out.
    async fn schedule_blob_sweeps(&self, keys: &[String], due_at: DateTime<Utc>)
    -> StoreResult<()>;
    /// Kept keys due at `now`, earliest first, at most `limit`.
    async fn due_blob_sweeps(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<String>>;
    /// Forgets a kept key once its object is deleted; one not kept is no error.
    async fn blob_swept(&self, key: &str) -> StoreResult<()>;
    /// Resolved conversations last updated before `before`, least recently updated first, at
    /// most `limit`: what retention erases.
    async fn resolved_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;

    /// `Conflict` when the hash is taken. Expired tokens may be purged.
    async fn create_reset_token(&self, token: ResetToken) -> StoreResult<()>;
    /// Removes and returns the token with this hash if it expires after `now`: a token is taken
    /// at most once, also by concurrent callers on several replicas.
    async fn take_reset_token(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ResetToken>>;

    /// `Conflict` when the id is taken.
    async fn create_webhook(&self, endpoint: WebhookEndpoint) -> StoreResult<WebhookEndpoint>;
    async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookEndpoint>>;
    /// Newest first.
    async fn list_webhooks(&self, page: &Page) -> StoreResult<Vec<WebhookEndpoint>>;
    /// Removes the endpoint and its pending deliveries (its attempt log may stay); `NotFound`
    /// if absent.
    async fn delete_webhook(&self, id: &str) -> StoreResult<()>;
    /// Stores the event as one pending delivery, due at `created_at`, for every endpoint whose
    /// `events` include its type, and returns how many. An endpoint that already has this
    /// `event_id` gets nothing new (re-enqueueing is idempotent). Deliveries stored later sort
    /// after those stored earlier (the claim order below).
    async fn enqueue_webhook_event(&self, event: NewWebhookEvent) -> StoreResult<u32>;
    /// Claims up to `limit` pending deliveries due at `now` that are the earliest pending one of
    /// their (endpoint, conversation), for `claimer` until `lease_until` (their `due_at` becomes
    /// `lease_until`), and returns them. Each is claimed atomically: of replicas claiming at
    /// once one gets it, and nobody else can before the lease runs out; a later delivery of the
    /// same conversation and endpoint is not claimable while an earlier one is pending.
    async fn claim_webhook_deliveries(
        &self,
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// Records `attempt` in the endpoint's log and moves a pending delivery that `claimer`
    /// holds on to `next` (one more attempt counted); `false`, recording nothing, when it is
    /// not pending or someone else claimed it since.
    async fn finish_webhook_delivery(
        &self,
        id: &str,
        claimer: &str,
        attempt: WebhookAttempt,
        next: DeliveryNext,
    ) -> StoreResult<bool>;
    async fn webhook_delivery(&self, id: &str) -> StoreResult<Option<WebhookDelivery>>;
    /// The endpoint's attempts, newest first, paged by attempt id.
    async fn webhook_attempts(
        &self,
        webhook_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<WebhookAttempt>>;
    /// Removes the attempts logged, and the settled (delivered or failed) deliveries stored,
    /// before `before`, and returns how many went; pending deliveries stay whatever their age.
    async fn purge_webhook_history(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Removes every reset token of `agent_id` (a password set another way makes its pending
    /// links moot) and returns how many there were.
    async fn drop_reset_tokens(&self, agent_id: &str) -> StoreResult<u64>;
}
