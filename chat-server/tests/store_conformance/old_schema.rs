//! Embedded databases as released servers left them, to prove that a newer server opens them.
//! The statements are copies of released migrations, which are never edited: copying them here
//! is what pins what "an old database" is, independently of the current `schema.rs`.

use std::path::Path;

/// Version 1 as released.
const V1: &str = "
CREATE TABLE agents (id TEXT PRIMARY KEY, email TEXT NOT NULL, email_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('agent', 'admin')), password_hash TEXT,
    created_at INTEGER NOT NULL) STRICT;
CREATE TABLE visitors (id TEXT PRIMARY KEY, name TEXT, email TEXT, created_at INTEGER NOT NULL)
    STRICT;
CREATE TABLE conversations (id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
    visitor_id TEXT NOT NULL, visitor_name TEXT, assignee TEXT, created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, last_seq INTEGER NOT NULL CHECK (last_seq >= 0)) STRICT;
CREATE INDEX conversations_by_status   ON conversations (status, id);
CREATE INDEX conversations_by_assignee ON conversations (assignee, id);
CREATE INDEX conversations_by_visitor  ON conversations (visitor_id, id);
CREATE TABLE messages (id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq INTEGER NOT NULL CHECK (seq > 0), client_msg_id TEXT,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('visitor', 'agent', 'system')),
    author_id TEXT NOT NULL, author_name TEXT, body TEXT NOT NULL, attachments TEXT NOT NULL,
    created_at INTEGER NOT NULL, UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_msg_id)) STRICT;
CREATE TABLE attachments (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
    filename TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL CHECK (size >= 0),
    key TEXT NOT NULL,
    uploaded_by_kind TEXT NOT NULL CHECK (uploaded_by_kind IN ('visitor', 'agent', 'system')),
    uploaded_by_id TEXT NOT NULL, uploaded_by_name TEXT, created_at INTEGER NOT NULL) STRICT;
CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
";

/// Version 2 as released.
const V2: &str = "
ALTER TABLE agents ADD COLUMN oidc_issuer TEXT;
ALTER TABLE agents ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX agents_by_oidc ON agents (oidc_issuer, oidc_subject);
";

/// A version-`version` database (1 or 2) in `dir` holding admin `01old` (Old@Acme.test), visitor
/// `01vis` and conversation `01conv`, open and assigned to `01old`, with messages 1 "Olá, café?"
/// and 2 "Tudo certo", the second at `1700000002000` ms.
pub fn create(dir: &Path, version: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let conn = rusqlite::Connection::open(dir.join(chat_server::store::sqlite::FILE_NAME)).unwrap();
    conn.execute_batch(V1).unwrap();
    if version >= 2 {
        conn.execute_batch(V2).unwrap();
    }
    conn.execute_batch(
        "INSERT INTO agents (id, email, email_key, name, role, password_hash, created_at) VALUES
             ('01old', 'Old@Acme.test', 'old@acme.test', 'Old', 'admin', '$argon2id$v=19$x',
              1700000000000);
         INSERT INTO visitors VALUES ('01vis', 'Ana', NULL, 1700000000000);
         INSERT INTO conversations VALUES ('01conv', 'open', '01vis', 'Ana', '01old',
             1700000000000, 1700000002000, 2);
         INSERT INTO messages VALUES ('01m1', '01conv', 1, 'c1', 'visitor', '01vis', 'Ana',
             'Olá, café?', '[]', 1700000001000);
         INSERT INTO messages VALUES ('01m2', '01conv', 2, NULL, 'agent', '01old', 'Old',
             'Tudo certo', '[]', 1700000002000);",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", version).unwrap();
}
