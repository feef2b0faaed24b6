//! The embedded store's schema, as an ordered list of migrations numbered by `PRAGMA user_version`.
//!
//! Hand-written rather than a migration crate: the whole mechanism is one loop, and it must run
//! inside a `BEGIN IMMEDIATE` transaction so that two processes opening the same file at once
//! cannot both apply the same step. A migration, once released, is never edited: add a new one.

use rusqlite::{Connection, TransactionBehavior};

/// Index `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15, V16, V17, V18, V19,
];

/// Tables are STRICT so a wrong type is an error instead of a silently coerced value.
/// Times are milliseconds since the Unix epoch (the model keeps millisecond precision).
/// The agents' `email_key` is the lowercased email: SQLite's NOCASE folds ASCII only, and the
/// MongoDB store compares the same key, so both stores agree on what "the same email" is.
/// Only messages reference conversations: that is the one relation the trait defines
/// (`NotFound` on append); the others are checked, or not, the same way in both stores.
const V1: &str = "
CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE visitors (
    id         TEXT PRIMARY KEY,
    name       TEXT,
    email      TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    status       TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
    visitor_id   TEXT NOT NULL,
    visitor_name TEXT,
    assignee     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL CHECK (last_seq >= 0)
) STRICT;
CREATE INDEX conversations_by_status   ON conversations (status, id);
CREATE INDEX conversations_by_assignee ON conversations (assignee, id);
CREATE INDEX conversations_by_visitor  ON conversations (visitor_id, id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    client_msg_id   TEXT,
    author_kind     TEXT NOT NULL CHECK (author_kind IN ('visitor', 'agent', 'system')),
    author_id       TEXT NOT NULL,
    author_name     TEXT,
    body            TEXT NOT NULL,
    attachments     TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_msg_id)
) STRICT;

CREATE TABLE attachments (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL,
    filename          TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    size              INTEGER NOT NULL CHECK (size >= 0),
    key               TEXT NOT NULL,
    uploaded_by_kind  TEXT NOT NULL CHECK (uploaded_by_kind IN ('visitor', 'agent', 'system')),
    uploaded_by_id    TEXT NOT NULL,
    uploaded_by_name  TEXT,
    created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
";

/// Agents linked to an OIDC identity (issuer, subject); at most one agent per identity. SQLite's
/// UNIQUE treats NULLs as distinct, so every unlinked agent can keep NULL in both.
const V2: &str = "
ALTER TABLE agents ADD COLUMN oidc_issuer TEXT;
ALTER TABLE agents ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX agents_by_oidc ON agents (oidc_issuer, oidc_subject);
";

/// Agents can be disabled (0/1, existing agents stay enabled); revocations are polled by `at`
/// every second by every replica and purged by `expires_at`, hence both indexes.
const V3: &str = "
ALTER TABLE agents ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
CREATE TABLE revocations (
    key        TEXT PRIMARY KEY,
    not_before INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    keep_session TEXT
) STRICT;
CREATE INDEX revocations_by_at ON revocations (at);
CREATE INDEX revocations_by_expiry ON revocations (expires_at);
";

/// Private notes. Every message stored before them is public, so a conversation's
/// `last_public_seq` starts at its `last_seq`.
const V4: &str = "
ALTER TABLE messages ADD COLUMN private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1));
ALTER TABLE conversations ADD COLUMN last_public_seq INTEGER NOT NULL DEFAULT 0
    CHECK (last_public_seq >= 0);
UPDATE conversations SET last_public_seq = last_seq;
";

/// Stored read positions, as the JSON of `ReadState` (`{}` reads as nobody has read anything):
/// they are only ever read and written with their conversation.
const V5: &str = "
ALTER TABLE conversations ADD COLUMN read TEXT NOT NULL DEFAULT '{}';
";

/// Labels, teams and canned responses. A conversation's labels are read with it (the JSON
/// column) and filtered through `conversation_labels`, written in the same transaction. Teams
/// keep their members as a JSON list: there are few teams, and members are read with the team.
/// Names and shortcuts are unique ignoring case (`*_key`, lowercased), as emails are.
const V6: &str = "
ALTER TABLE conversations ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN team_id TEXT;
CREATE INDEX conversations_by_team ON conversations (team_id, id);
CREATE TABLE conversation_labels (
    label           TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    PRIMARY KEY (label, conversation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX conversation_labels_by_conversation ON conversation_labels (conversation_id);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    agent_ids  TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE canned_responses (
    id           TEXT PRIMARY KEY,
    shortcut     TEXT NOT NULL,
    shortcut_key TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
";

/// Message search: an FTS5 index of each message's folded words (`store::search`), keyed by the
/// message's rowid. Contentless (the text is in `messages`), with deletes allowed for erasure.
/// The messages already stored are indexed by [`backfill_search`] right after this step.
const V7: &str = "
CREATE VIRTUAL TABLE message_search USING fts5(words, content = '', contentless_delete = 1);
";

/// Routing: open conversations by assignee (the load count; the unassigned queue, oldest first).
const V8: &str = "
CREATE INDEX conversations_by_status_assignee ON conversations (status, assignee, id);
";

/// API tokens for integrations: the secret only as its SHA-256.
const V9: &str = "
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
";

/// Automatic assignment across processes: named leases (one holder at a time until `until`, ms)
/// and the turn each agent last took, for "ties in turn".
const V10: &str = "
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) STRICT;
CREATE TABLE routing_turns (
    agent_id TEXT PRIMARY KEY,
    turn     INTEGER NOT NULL CHECK (turn >= 0)
) STRICT;
";

/// The mail outbox, polled by every replica for due pending mails (hence the index), and
/// password-reset tokens by the SHA-256 of the secret.
const V11: &str = "
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    due_at     INTEGER NOT NULL,
    claimed_by TEXT,
    last_error TEXT
) STRICT;
CREATE INDEX outbox_by_due ON outbox (state, due_at);

CREATE TABLE password_resets (
    token_sha256 TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
";

/// Mail with an HTML alternative (transcripts) and a Reply-To (offline messages).
const V12: &str = "
ALTER TABLE outbox ADD COLUMN html TEXT;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
";

/// Retention: resolved conversations by last update, oldest first.
const V13: &str = "
CREATE INDEX conversations_by_status_updated ON conversations (status, updated_at);
";

/// Transcripts a visitor asked to get by mail when its conversation is resolved.
const V14: &str = "
CREATE TABLE transcript_requests (
    conversation_id TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    requested_at    INTEGER NOT NULL
) STRICT;
";

/// Webhook endpoints (events as a JSON array; the secret readable, it signs every request), the
/// deliveries outbox (one row per event and endpoint; `(webhook_id, event_id)` unique so a
/// re-enqueue stores nothing; ordered per endpoint and conversation by id) and the attempt log.
const V15: &str = "
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    due_at          INTEGER NOT NULL,
    claimed_by      TEXT,
    UNIQUE (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_by_due ON webhook_deliveries (state, due_at);
CREATE INDEX webhook_deliveries_in_order
    ON webhook_deliveries (webhook_id, conversation_id, state, id);

CREATE TABLE webhook_attempts (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    attempt         INTEGER NOT NULL CHECK (attempt > 0),
    status          TEXT NOT NULL,
    response_status INTEGER,
    error           TEXT,
    at              INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id);
";

/// Satisfaction and reports. `resolved_at` and the visitor's rating live on the conversation:
/// the rating is set by one conditional UPDATE (`rating_score IS NULL`), so of two replicas
/// racing only one stores it. `first_visitor_at` (the visitor's first message) and
/// `first_response_at` (the first agent reply after it, notes and system messages not counted)
/// are kept by `append_message`, so a report reads one index range instead of every message.
/// `conversations_report` covers the report's columns: the summary scans the index alone.
/// Rows stored before this step: resolved ones take `updated_at` as their resolution time (the
/// best record there is), and the message times are computed from the stored messages.
const V16: &str = "
ALTER TABLE conversations ADD COLUMN resolved_at INTEGER;
ALTER TABLE conversations ADD COLUMN first_visitor_at INTEGER;
ALTER TABLE conversations ADD COLUMN first_response_at INTEGER;
ALTER TABLE conversations ADD COLUMN rating_score INTEGER CHECK (rating_score BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN rating_comment TEXT;
ALTER TABLE conversations ADD COLUMN rated_at INTEGER;
UPDATE conversations SET resolved_at = updated_at WHERE status = 'resolved';
UPDATE conversations SET first_visitor_at = (
    SELECT min(created_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.author_kind = 'visitor');
UPDATE conversations SET first_response_at = (
    SELECT min(m.created_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.author_kind = 'agent' AND m.private = 0
      AND m.seq > (SELECT min(v.seq) FROM messages v
                   WHERE v.conversation_id = conversations.id AND v.author_kind = 'visitor'));
CREATE INDEX conversations_report ON conversations (created_at, status, assignee, resolved_at,
    first_visitor_at, first_response_at, rating_score);
";

/// Erasing a conversation removes its webhook deliveries and the mails about it (those stored
/// before this step name no conversation).
const V17: &str = "
CREATE INDEX webhook_deliveries_by_conversation ON webhook_deliveries (conversation_id);
ALTER TABLE outbox ADD COLUMN conversation_id TEXT;
CREATE INDEX outbox_by_conversation ON outbox (conversation_id);
";

/// Object keys an erasure deleted that a still-valid upload URL could refill, deleted again once
/// every such URL has run out.
const V18: &str = "
CREATE TABLE blob_sweeps (
    key    TEXT PRIMARY KEY,
    due_at INTEGER NOT NULL
) STRICT;
CREATE INDEX blob_sweeps_due ON blob_sweeps (due_at, key);
";

/// A conversation created pending waits for the desk until its status changes; one an agent
/// set pending does not. Before this step every pending one counted as waiting, so those do.
const V19: &str = "
ALTER TABLE conversations ADD COLUMN awaiting_desk INTEGER NOT NULL DEFAULT 0
    CHECK (awaiting_desk IN (0, 1));
UPDATE conversations SET awaiting_desk = 1 WHERE status = 'pending';
CREATE INDEX conversations_awaiting_desk ON conversations (id) WHERE awaiting_desk = 1;
";

/// The schema version whose step [`backfill_search`] completes.
const SEARCH_VERSION: i64 = 7;

/// Indexes the messages stored before search existed (the folding is Rust, not SQL).
fn backfill_search(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let mut read = tx.prepare("SELECT rowid, body FROM messages")?;
    let mut write = tx.prepare("INSERT INTO message_search (rowid, words) VALUES (?, ?)")?;
    let rows = read.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (rowid, body) = row?;
        write.execute(rusqlite::params![
            rowid,
            crate::store::search::words(&body).join(" ")
        ])?;
    }
    Ok(())
}

/// The version [`migrate`] brings a database to.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database is at schema version {found}, newer than this server's {known}; run a newer chat-server"
    )]
    TooNew { found: i64, known: i64 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings the schema up to the newest version; a no-op when it already is.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(MigrationError::TooNew { found, known });
    }
    for (version, step) in (found + 1..).zip(&MIGRATIONS[found as usize..]) {
        tx.execute_batch(step)?;
        if version == SEARCH_VERSION {
            backfill_search(&tx)?;
        }
    }
    // user_version lives in the database header, so it commits (or rolls back) with the steps.
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}
