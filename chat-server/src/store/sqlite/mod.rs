//! The embedded store: one SQLite file (`chat.sqlite3`) in the configured directory, for running
//! a single chat-server with nothing else installed.
//!
//! Why it is built this way:
//! - **Durability.** WAL journal with `synchronous=FULL` fsyncs the log at every commit, so a
//!   message `append_message` returned survives a power cut, which the store contract requires.
//!   (`NORMAL`, WAL's usual partner, may lose the last commits on power loss.)
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

mod rows;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};

use self::rows::{
    AGENT_COLUMNS, ATTACHMENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, VISITOR_COLUMNS,
    is_unique_violation, millis, signed, store_error, text,
};
use super::{
    Appended, AssigneeFilter, ConversationFilter, ConversationPatch, Store, StoreError, StoreResult,
};
use crate::model::{
    Agent, AgentRecord, Attachment, Conversation, Message, NewMessage, Visitor, new_id, now,
};

/// The database file inside the configured directory.
pub const FILE_NAME: &str = "chat.sqlite3";

const READERS: usize = 4;
/// How long a writer waits for another process's write lock before giving up with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Creates the directory if needed, opens (or creates) the database and migrates its schema.
    pub async fn open(dir: &Path) -> StoreResult<Self> {
        let dir = dir.to_path_buf();
        let inner = tokio::task::spawn_blocking(move || Inner::open(&dir))
            .await
            .map_err(|e| StoreError::Other(format!("opening the embedded store failed: {e}")))??;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The database file, for messages and backups.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            // A panic mid-call leaves no open transaction (rusqlite rolls back on drop), so a
            // poisoned lock still guards a usable connection.
            let mut conn = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn, &inner.path)
        })
        .await
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f(&conn).map_err(|e| store_error(&inner.path, e))
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Other(format!("embedded store task failed: {e}")))?
}

impl Inner {
    fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Other(format!(
                "cannot create the embedded store directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(FILE_NAME);
        let unusable = |e: &dyn std::fmt::Display| {
            StoreError::Other(format!(
                "cannot open the embedded store {} (is the directory writable?): {e}",
                path.display()
            ))
        };
        let mut writer = connect(&path).map_err(|e| unusable(&e))?;
        // SQLite silently falls back to read-only on a write-protected file; say so now rather
        // than at the first message.
        if writer
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| unusable(&e))?
        {
            return Err(unusable(&"the file is read-only"));
        }
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| unusable(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unusable(&format!(
                "the file system does not support WAL (journal mode stayed {mode})"
            )));
        }
        schema::migrate(&mut writer).map_err(|e| unusable(&e))?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = connect(&path)?;
                conn.pragma_update(None, "query_only", true)?;
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| unusable(&e))?;
        Ok(Self {
            path,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// Runs `f` in a write transaction that holds the lock from its first statement (see the module
/// comment); commits only if `f` succeeds.
fn in_transaction<T>(
    conn: &mut Connection,
    path: &Path,
    f: impl FnOnce(&rusqlite::Transaction) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| store_error(path, e))?;
    let out = f(&tx)?;
    tx.commit().map_err(|e| store_error(path, e))?;
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }

    async fn create_agent(&self, record: AgentRecord) -> StoreResult<Agent> {
        self.write(move |conn, path| {
            let a = &record.agent;
            conn.execute(
                &format!(
                    "INSERT INTO agents ({AGENT_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                params![
                    a.id,
                    a.email,
                    a.name,
                    text(a.role),
                    record.password_hash,
                    millis(a.created_at),
                    a.email.to_lowercase()
                ],
            )
            .map_err(|e| match is_unique_violation(&e) {
                true => {
                    StoreError::Conflict(format!("an agent with email {} or id {}", a.email, a.id))
                }
                false => store_error(path, e),
            })?;
            Ok(record.agent)
        })
        .await
    }

    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>> {
        let key = email.to_lowercase();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email_key = ?"),
                [key],
                rows::agent_record,
            )
            .optional()
        })
        .await
    }

    async fn agent_by_id(&self, id: &str) -> StoreResult<Option<AgentRecord>> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?"),
                [id],
                rows::agent_record,
            )
            .optional()
        })
        .await
    }

    async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id"))?;
            let records = stmt.query_map([], rows::agent_record)?;
            records.map(|r| r.map(|r| r.agent)).collect()
        })
        .await
    }

    async fn create_visitor(&self, visitor: Visitor) -> StoreResult<()> {
        self.write(move |conn, path| {
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
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {VISITOR_COLUMNS} FROM visitors WHERE id = ?"),
                [id],
                rows::visitor,
            )
            .optional()
        })
        .await
    }

    async fn create_conversation(&self, conversation: Conversation) -> StoreResult<Conversation> {
        // `last_seq` belongs to the store: a new conversation has no messages yet.
        let conversation = Conversation {
            last_seq: 0,
            ..conversation
        };
        self.write(move |conn, path| {
            let c = &conversation;
            conn.execute(
                &format!("INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                params![c.id, c.status.as_str(), c.visitor.id, c.visitor.name, c.assignee,
                    millis(c.created_at), millis(c.updated_at), 0],
            )
            .map_err(|e| match is_unique_violation(&e) {
                true => StoreError::Conflict(format!("conversation {}", c.id)),
                false => store_error(path, e),
            })?;
            Ok(conversation)
        })
        .await
    }

    async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>> {
        let id = id.to_string();
        self.read(move |conn| {
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
        if let Some(before) = &filter.before_id {
            sql.push_str(" AND id < ?");
            args.push(Value::Text(before.clone()));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Value::Integer(filter.limit.into()));
        self.read(move |conn| {
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
        self.write(move |conn, path| {
            let (set_assignee, assignee) = match patch.assignee {
                Some(a) => (true, a),
                None => (false, None),
            };
            // max(): an append in the same millisecond may already have moved updated_at.
            conn.query_row(
                &format!(
                    "UPDATE conversations SET status = coalesce(?1, status),
                         assignee = CASE WHEN ?2 THEN ?3 ELSE assignee END,
                         updated_at = max(updated_at, ?4)
                     WHERE id = ?5 RETURNING {CONVERSATION_COLUMNS}"
                ),
                params![
                    patch.status.map(|s| s.as_str()),
                    set_assignee,
                    assignee,
                    millis(now()),
                    id
                ],
                rows::conversation,
            )
            .optional()
            .map_err(|e| store_error(path, e))?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
        })
        .await
    }

    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended> {
        self.write(move |conn, path| in_transaction(conn, path, |tx| append(tx, path, message)))
            .await
    }

    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let conversation_id = conversation_id.to_string();
        self.read(move |conn| {
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

    async fn create_attachment(&self, attachment: Attachment) -> StoreResult<()> {
        self.write(move |conn, path| {
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
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = ?"),
                [id],
                rows::attachment,
            )
            .optional()
        })
        .await
    }
}

/// The append itself, inside the write transaction (see the module comment for why this is
/// enough to keep seqs gap-free and client_msg_ids unique).
fn append(tx: &rusqlite::Transaction, path: &Path, new: NewMessage) -> StoreResult<Appended> {
    let err = |e| store_error(path, e);
    if let Some(client_msg_id) = &new.client_msg_id {
        let existing = tx
            .query_row(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND client_msg_id = ?"
                ),
                params![new.conversation_id, client_msg_id],
                rows::message,
            )
            .optional()
            .map_err(err)?;
        if let Some(original) = existing {
            return Ok(Appended::Existing(original));
        }
    }
    let last_seq: i64 = tx
        .query_row(
            "SELECT last_seq FROM conversations WHERE id = ?",
            [&new.conversation_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(err)?
        .ok_or_else(|| StoreError::NotFound(format!("conversation {}", new.conversation_id)))?;
    let message = Message {
        id: new_id(),
        conversation_id: new.conversation_id,
        seq: last_seq as u64 + 1,
        client_msg_id: new.client_msg_id,
        author: new.author,
        body: new.body,
        attachments: new.attachments,
        created_at: now(),
    };
    let attachments = serde_json::to_string(&message.attachments)
        .map_err(|e| StoreError::Other(format!("encoding attachments: {e}")))?;
    tx.execute(
        &format!("INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        params![
            message.id,
            message.conversation_id,
            signed(message.seq),
            message.client_msg_id,
            message.author.kind.as_str(),
            message.author.id,
            message.author.name,
            message.body,
            attachments,
            millis(message.created_at)
        ],
    )
    .map_err(err)?;
    tx.execute(
        "UPDATE conversations SET last_seq = ?, updated_at = max(updated_at, ?) WHERE id = ?",
        params![
            signed(message.seq),
            millis(message.created_at),
            message.conversation_id
        ],
    )
    .map_err(err)?;
    Ok(Appended::Created(message))
}
