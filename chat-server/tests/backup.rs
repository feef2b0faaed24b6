//! `chat-server backup` and `chat-server restore`, run as the binary: the embedded store
//! through a directory into a fresh one, and a MongoDB store (SecantusDB) through an S3 prefix
//! (moto) into a fresh MongoDB-wire server, each with every conversation, message, note and seq
//! intact and appends continuing where they stopped; a restore refuses a store that is not
//! empty unless forced, a backup that was altered, and a backup of the other kind of store.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use chat_server::model::{
    Author, AuthorKind, Conversation, ConversationStatus, Message, NewMessage, VisitorRef, new_id,
    now,
};
use chat_server::store::{ConversationFilter, Store};

const CONVERSATIONS: usize = 30;
const MESSAGES: u64 = 25;

/// Runs the binary with `args` and `env` (nothing else from this process's environment).
fn chat_server(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHAT_LOG", "warn")
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run chat-server")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The location `chat-server backup` printed.
fn written_to(stdout: &str) -> String {
    let rest = stdout
        .split(" written to ")
        .nth(1)
        .unwrap_or_else(|| panic!("no location in {stdout:?}"));
    rest.split(" (").next().unwrap().trim().to_string()
}

/// Conversations with agent replies and notes, so seqs and `last_public_seq` differ.
async fn fill(store: &Arc<dyn Store>) {
    for c in 0..CONVERSATIONS {
        let at = now();
        let conversation = store
            .create_conversation(Conversation {
                id: new_id(),
                status: if c % 3 == 0 {
                    ConversationStatus::Pending
                } else {
                    ConversationStatus::Open
                },
                visitor: VisitorRef {
                    id: format!("visitor-{c}"),
                    name: Some(format!("Visitor {c}")),
                },
                assignee: None,
                created_at: at,
                updated_at: at,
                last_seq: 0,
                last_public_seq: 0,
                read: Default::default(),
                labels: vec!["vip".into()],
                team_id: None,
                resolved_at: None,
                rating: None,
                unread: None,
            })
            .await
            .unwrap();
        for m in 1..=MESSAGES {
            let agent = m % 2 == 0;
            store
                .append_message(NewMessage {
                    conversation_id: conversation.id.clone(),
                    client_msg_id: Some(format!("c{c}m{m}")),
                    author: Author {
                        kind: if agent {
                            AuthorKind::Agent
                        } else {
                            AuthorKind::Visitor
                        },
                        id: if agent {
                            "agent-1".into()
                        } else {
                            format!("visitor-{c}")
                        },
                        name: None,
                    },
                    body: format!("message {m} of conversation {c}: olá café"),
                    attachments: Vec::new(),
                    private: m % 5 == 0,
                })
                .await
                .unwrap();
        }
    }
}

/// Every conversation (oldest first) with all its messages.
async fn contents(store: &Arc<dyn Store>) -> Vec<(Conversation, Vec<Message>)> {
    let filter = ConversationFilter {
        limit: 1_000,
        ..ConversationFilter::default()
    };
    let mut all = Vec::new();
    for c in store.list_conversations(&filter).await.unwrap() {
        let messages = store.messages_after(&c.id, 0, 1_000).await.unwrap();
        all.push((c, messages));
    }
    all.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    all
}

/// The restored store holds exactly what the source did, and appends continue the seqs.
async fn assert_same(source: &Arc<dyn Store>, restored: &Arc<dyn Store>) {
    let before = contents(source).await;
    let after = contents(restored).await;
    assert_eq!(before.len(), CONVERSATIONS);
    assert_eq!(
        after.iter().map(|(_, m)| m.len()).sum::<usize>(),
        CONVERSATIONS * MESSAGES as usize
    );
    assert_eq!(after, before);
    let (conversation, _) = &after[0];
    let next = restored
        .append_message(NewMessage {
            conversation_id: conversation.id.clone(),
            client_msg_id: Some("after-restore".into()),
            author: Author {
                kind: AuthorKind::Visitor,
                id: conversation.visitor.id.clone(),
                name: None,
            },
            body: "still here".into(),
            attachments: Vec::new(),
            private: false,
        })
        .await
        .unwrap();
    assert_eq!(next.message().seq, MESSAGES + 1);
    // A replayed send from before the backup is still recognised.
    let replay = restored
        .append_message(NewMessage {
            conversation_id: conversation.id.clone(),
            client_msg_id: Some("c0m1".into()),
            author: Author {
                kind: AuthorKind::Visitor,
                id: conversation.visitor.id.clone(),
                name: None,
            },
            body: "message 1 again".into(),
            attachments: Vec::new(),
            private: false,
        })
        .await
        .unwrap();
    assert_eq!(replay.message().seq, 1);
    let hits = restored
        .search_messages(
            "ola cafe",
            &chat_server::store::Page {
                before_id: None,
                limit: 5,
            },
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 5, "search works on the restored store");
}

fn embedded(dir: &Path) -> Vec<(&'static str, String)> {
    vec![("CHAT_STORE", dir.display().to_string())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_round_trips_through_a_directory_with_every_message_and_seq() {
    let root = tempfile::tempdir().unwrap();
    let (source_dir, restored_dir, backups) = (
        root.path().join("source"),
        root.path().join("restored"),
        root.path().join("backups"),
    );
    let source = chat_server::store::open(&source_dir.display().to_string().parse().unwrap())
        .await
        .unwrap();
    fill(&source).await;

    let printed = ok(&chat_server(
        &["backup", "--to", &backups.display().to_string()],
        &embedded(&source_dir),
    ));
    let at = written_to(&printed);
    assert!(Path::new(&at).starts_with(&backups), "{at}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(&at).join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["store"], "embedded", "{manifest}");
    assert_eq!(
        manifest["schema"],
        chat_server::store::sqlite::schema_version()
    );

    ok(&chat_server(
        &["restore", "--from", &at],
        &embedded(&restored_dir),
    ));
    let restored = chat_server::store::open(&restored_dir.display().to_string().parse().unwrap())
        .await
        .unwrap();
    assert_same(&source, &restored).await;

    // Not into a store that holds something, unless forced.
    let e = refused(&chat_server(
        &["restore", "--from", &at],
        &embedded(&restored_dir),
    ));
    assert!(
        e.contains("not empty") && e.contains("--force") && e.contains("conversations"),
        "{e}"
    );
    drop(restored);
    ok(&chat_server(
        &["restore", "--from", &at, "--force"],
        &embedded(&restored_dir),
    ));
    let restored = chat_server::store::open(&restored_dir.display().to_string().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(contents(&restored).await, contents(&source).await);

    // An altered backup is refused before anything is written.
    let data = Path::new(&at).join("store.sqlite.gz");
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
    let fresh = root.path().join("fresh");
    let e = refused(&chat_server(&["restore", "--from", &at], &embedded(&fresh)));
    assert!(
        e.contains("store.sqlite.gz") && e.contains("altered"),
        "{e}"
    );
    assert!(!fresh.join(chat_server::store::sqlite::FILE_NAME).exists());

    // A folder that is no backup names what it wants.
    let e = refused(&chat_server(
        &["restore", "--from", &backups.display().to_string()],
        &embedded(&fresh),
    ));
    assert!(e.contains("manifest.json"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_store_round_trips_through_s3_into_a_fresh_server_with_every_message_and_seq() {
    let s3 = testkit::s3::s3();
    let bucket = testkit::unique("atendo-backups-");
    let client = common::s3::client(&s3.endpoint).await;
    client.create_bucket().bucket(&bucket).send().await.unwrap();

    let origin = testkit::mongo::mongo();
    let database = testkit::unique("backup");
    let source_uri = origin.database_uri(&database).await;
    let source = chat_server::store::open(&source_uri.parse().unwrap())
        .await
        .unwrap();
    fill(&source).await;
    let with_store = |uri: &str| {
        vec![
            ("CHAT_STORE", uri.to_string()),
            ("CHAT_S3_REGION", "us-east-1".to_string()),
            ("CHAT_S3_ENDPOINT", s3.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ]
    };

    let printed = ok(&chat_server(
        &["backup", "--to", &format!("s3://{bucket}/backups")],
        &with_store(&source_uri),
    ));
    let at = written_to(&printed);
    assert!(at.starts_with(&format!("s3://{bucket}/backups/")), "{at}");
    assert!(printed.contains(" documents"), "{printed}");

    // A new server, as after losing the old one.
    let fresh = testkit::mongo::spawn_mongo(false).unwrap();
    let target_uri = fresh.database_uri(&database).await;
    ok(&chat_server(
        &["restore", "--from", &at],
        &with_store(&target_uri),
    ));
    let restored = chat_server::store::open(&target_uri.parse().unwrap())
        .await
        .unwrap();
    assert_same(&source, &restored).await;

    let e = refused(&chat_server(
        &["restore", "--from", &at],
        &with_store(&target_uri),
    ));
    assert!(e.contains("not empty") && e.contains("--force"), "{e}");

    // Not into the other kind of store.
    let dir = tempfile::tempdir().unwrap();
    let e = refused(&chat_server(
        &["restore", "--from", &at],
        &with_store(&dir.path().display().to_string()),
    ));
    assert!(e.contains("mongodb store"), "{e}");
}
