//! One conformance suite for every `Store` implementation: the cases (in `store_conformance/`)
//! run unchanged against the embedded SQLite store, MongoDB (SecantusDB) without auth, and
//! MongoDB with `--auth` as a tenant user that has `readWrite` on its own database only, which is
//! how the operator deploys it. Tests specific to one implementation follow the suite.

#[path = "store_conformance/api_tokens.rs"]
mod api_tokens;
#[path = "store_conformance/conversations.rs"]
mod conversations;
#[path = "store_conformance/desk.rs"]
mod desk;
#[path = "store_conformance/directory.rs"]
mod directory;
#[path = "store_conformance/fixtures.rs"]
mod fixtures;
#[path = "store_conformance/lifecycle.rs"]
mod lifecycle;
#[path = "store_conformance/messages.rs"]
mod messages;
#[path = "store_conformance/notes.rs"]
mod notes;
#[path = "store_conformance/offline.rs"]
mod offline;
#[path = "store_conformance/old_schema.rs"]
mod old_schema;
#[path = "store_conformance/outbox.rs"]
mod outbox;
#[path = "store_conformance/reads.rs"]
mod reads;
#[path = "store_conformance/reports.rs"]
mod reports;
#[path = "store_conformance/rights.rs"]
mod rights;
#[path = "store_conformance/routing.rs"]
mod routing;
#[path = "store_conformance/search.rs"]
mod search;
#[path = "store_conformance/send.rs"]
mod send;
#[path = "store_conformance/webhooks.rs"]
mod webhooks;

/// Every case, for the macro below.
mod cases {
    pub use super::api_tokens::*;
    pub use super::conversations::*;
    pub use super::desk::*;
    pub use super::directory::*;
    pub use super::lifecycle::*;
    pub use super::messages::*;
    pub use super::notes::*;
    pub use super::offline::*;
    pub use super::outbox::*;
    pub use super::reads::*;
    pub use super::reports::*;
    pub use super::rights::*;
    pub use super::routing::*;
    pub use super::search::*;
    pub use super::send::*;
    pub use super::webhooks::*;
}

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chat_server::config::StoreLocation;
use chat_server::store::{self, Store, StoreError};

/// A fresh, empty store location, and whatever must live as long as it (a temp dir, a server).
pub struct Harness {
    location: StoreLocation,
    _keep: Box<dyn Send + Sync>,
}

impl Harness {
    /// Opens another store on this location; two calls stand for two replicas.
    pub async fn open(&self) -> Arc<dyn Store> {
        store::open(&self.location)
            .await
            .unwrap_or_else(|e| panic!("opening {:?}: {e}", self.location))
    }
}

/// A directory below the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(testkit::unique("atendo-store-"));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sqlite() -> Harness {
    let dir = TempDir::new();
    Harness {
        location: StoreLocation::Embedded(dir.0.join("data")),
        _keep: Box::new(dir),
    }
}

/// A fresh database on a SecantusDB without auth.
async fn mongodb() -> Harness {
    mongo_harness(testkit::mongo::mongo()).await
}

/// A fresh database on a SecantusDB with `--auth`, used as a tenant user whose only role is
/// `readWrite` on that database.
async fn mongodb_with_auth() -> Harness {
    mongo_harness(testkit::mongo::mongo_auth()).await
}

async fn mongo_harness(server: testkit::mongo::Mongo) -> Harness {
    let uri = server.database_uri(&testkit::unique("store")).await;
    Harness {
        location: uri.parse().unwrap(),
        _keep: Box::new(server),
    }
}

macro_rules! conformance {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(super::$backend().await).await
                }
            )*
        }
    };
}

macro_rules! suite {
    ($($backend:ident),*) => {
        $(
            conformance!($backend:
                the_store_answers_pings,
                agents_are_found_by_id_and_by_email_in_any_case,
                agents_page_newest_first_with_before_id_and_limit,
                an_agent_email_taken_in_any_case_is_a_conflict,
                agents_are_found_by_their_oidc_identity_and_one_identity_has_one_agent,
                linking_an_oidc_identity_happens_once_and_never_moves_it,
                visitors_read_back_as_written,
                conversations_read_back_as_written_and_start_without_messages,
                conversation_lists_filter_by_status_assignee_and_visitor_newest_first,
                conversation_lists_page_with_before_id_and_limit,
                updating_a_conversation_changes_only_what_the_patch_names,
                updating_a_missing_conversation_is_not_found,
                appended_messages_get_seqs_from_one_and_bump_the_conversation,
                appending_to_a_missing_conversation_is_not_found_and_stores_nothing,
                duplicate_client_msg_id_returns_the_original_message,
                a_sent_message_is_stored_with_its_event_for_each_subscribed_endpoint,
                a_send_into_another_visitors_conversation_stores_nothing,
                a_send_to_a_missing_conversation_is_not_found_and_stores_nothing,
                an_authors_read_position_rises_with_its_send_and_never_falls,
                the_same_client_msg_id_in_two_conversations_is_two_messages,
                messages_after_returns_ascending_seqs_above_after_seq_up_to_limit,
                attachments_read_back_as_written_alone_and_inside_messages,
                two_replicas_appending_concurrently_leave_no_hole_and_no_duplicate,
                updating_an_agent_changes_only_what_the_patch_names,
                the_last_enabled_admin_cannot_be_disabled_demoted_or_deleted,
                two_replicas_demoting_the_last_two_admins_at_once_leave_one_enabled_admin,
                deleting_an_agent_unassigns_its_open_and_pending_conversations_and_returns_them,
                a_revocation_of_a_known_key_keeps_the_later_not_before_and_the_new_at,
                revocations_since_returns_the_unexpired_ones_written_at_or_after_it_oldest_first,
                private_notes_take_seqs_from_the_one_sequence_and_leave_last_public_seq,
                only_a_public_message_of_the_conversation_carries_an_attachment_publicly,
                read_positions_only_rise_and_say_whether_they_changed,
                two_replicas_marking_read_at_once_end_at_the_highest_seq,
                labels_replace_read_back_and_filter_conversation_lists,
                teams_have_unique_names_page_newest_first_and_change,
                conversations_route_to_teams_and_deleting_a_team_releases_its_open_ones,
                deleting_an_agent_takes_it_out_of_every_team,
                canned_responses_have_unique_shortcuts_and_can_be_changed_and_removed,
                search_finds_every_word_ignoring_case_and_accents_newest_first_notes_included,
                open_counts_by_assignee_count_only_open_assigned_conversations,
                assigning_if_unassigned_succeeds_once_even_across_replicas,
                the_unassigned_queue_is_open_conversations_oldest_first_by_team,
                a_lease_has_one_holder_until_it_is_released_or_runs_out,
                routing_turns_read_back_the_last_turn_each_agent_took,
                api_tokens_read_back_page_newest_first_and_vanish_when_deleted,
                mails_are_claimed_by_one_replica_until_the_lease_runs_out,
                failed_mails_are_retried_later_then_given_up_with_the_last_error,
                a_reset_token_is_taken_once_and_never_after_it_expires,
                webhook_endpoints_read_back_page_newest_first_and_go_with_their_deliveries,
                events_reach_subscribed_endpoints_once_and_are_claimed_in_order_per_conversation,
                a_webhook_delivery_has_one_claimer_until_its_lease_runs_out_and_attempts_are_logged,
                purging_removes_old_attempts_and_settled_deliveries_but_never_pending_ones,
                dropping_an_agents_reset_tokens_takes_all_of_its_links_and_no_one_elses,
                a_visitors_contact_details_change_only_what_the_patch_names,
                a_mail_keeps_its_html_and_reply_to_until_it_is_sent,
                a_rating_is_stored_once_and_only_on_a_resolved_conversation,
                two_replicas_rating_one_conversation_at_once_store_exactly_one,
                resolving_stamps_resolved_at_once_and_reopening_clears_it,
                appends_record_the_visitors_first_message_and_the_first_reply_after_it,
                imported_conversations_read_back_with_their_times_and_derived_facts,
                erasing_a_conversation_removes_all_it_holds_and_nothing_else,
                erasing_a_conversation_removes_its_webhook_deliveries_pending_and_settled,
                erasing_a_conversation_removes_the_mails_about_it_pending_and_sent,
                purging_removes_old_sent_and_failed_mails_but_never_pending_ones,
                visitors_page_newest_first_and_deleting_one_says_whether_it_was_there,
                retention_finds_resolved_conversations_untouched_since_least_recent_first,
                kept_object_keys_come_due_at_their_time_keep_the_later_one_and_go_when_swept,
                a_transcript_request_is_replaced_by_a_newer_one_and_taken_once,
                conversations_created_pending_wait_for_the_desk_until_their_status_changes,
            );
        )*
    };
}

suite!(sqlite, mongodb, mongodb_with_auth);

mod sqlite_only {
    use super::*;
    use crate::fixtures::{open_conversation, text};
    use chat_server::model::ConversationStatus;
    use chat_server::store::sqlite::{FILE_NAME, SqliteStore};

    const CURRENT_SCHEMA: i64 = 19;

    /// The last released schema (2) with data in it: everything reads back, the new fields
    /// take their defaults, and the new features work on the old rows.
    #[tokio::test]
    async fn a_version_2_database_opens_with_its_data_intact_and_takes_the_new_features() {
        let dir = TempDir::new();
        crate::old_schema::create(&dir.0, 2);
        let sqlite = SqliteStore::open(&dir.0).await.unwrap();
        let path = sqlite.path().to_path_buf();
        let store: Arc<dyn Store> = Arc::new(sqlite);

        let admin = store.agent_by_id("01old").await.unwrap().unwrap().agent;
        assert_eq!(
            (admin.email.as_str(), admin.disabled),
            ("Old@Acme.test", false)
        );
        let conversation = store.conversation("01conv").await.unwrap().unwrap();
        assert_eq!(
            (conversation.last_seq, conversation.last_public_seq),
            (2, 2)
        );
        assert_eq!(conversation.assignee.as_deref(), Some("01old"));
        assert_eq!(conversation.read, chat_server::model::ReadState::default());
        assert_eq!((conversation.labels.len(), conversation.team_id), (0, None));
        let labelled = store
            .set_labels("01conv", &["legacy".to_string()])
            .await
            .unwrap();
        assert_eq!(labelled.labels, vec!["legacy".to_string()]);
        // Messages stored before search existed are found.
        let all = chat_server::store::Page {
            before_id: None,
            limit: 10,
        };
        let hits = store.search_messages("ola CAFE", &all).await.unwrap();
        assert_eq!(
            hits.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            vec!["01m1"]
        );
        let messages = store.messages_after("01conv", 0, 10).await.unwrap();
        assert_eq!(
            messages
                .iter()
                .map(|m| (m.seq, m.body.as_str(), m.private))
                .collect::<Vec<_>>(),
            vec![(1, "Olá, café?", false), (2, "Tudo certo", false)]
        );

        let note = store
            .append_message(chat_server::model::NewMessage {
                private: true,
                ..text("01conv", Some("n1"), "old customer")
            })
            .await
            .unwrap();
        assert_eq!((note.message().seq, note.message().private), (3, true));
        let conversation = store.conversation("01conv").await.unwrap().unwrap();
        assert_eq!(
            (conversation.last_seq, conversation.last_public_seq),
            (3, 2)
        );
        let err = store
            .update_agent(
                "01old",
                &chat_server::store::AgentPatch {
                    role: Some(chat_server::model::Role::Agent),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::LastAdmin(_)), "{err:?}");
        assert_eq!(schema_version_and_journal(&path).0, CURRENT_SCHEMA);
    }

    fn schema_version_and_journal(file: &Path) -> (i64, String) {
        let conn = rusqlite::Connection::open(file).unwrap();
        let version = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        let journal = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        (version, journal)
    }

    #[tokio::test]
    async fn data_survives_closing_and_reopening_the_store() {
        let dir = TempDir::new();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.0).await.unwrap());
        let c = open_conversation(&store, ConversationStatus::Open).await;
        let m = store
            .append_message(text(&c.id, Some("c1"), "kept"))
            .await
            .unwrap();
        drop(store);

        let reopened = SqliteStore::open(&dir.0).await.unwrap();
        assert_eq!(
            reopened
                .conversation(&c.id)
                .await
                .unwrap()
                .unwrap()
                .last_seq,
            1
        );
        assert_eq!(
            reopened.messages_after(&c.id, 0, 10).await.unwrap(),
            vec![m.into_message()]
        );
        let next = reopened
            .append_message(text(&c.id, Some("c2"), "next"))
            .await
            .unwrap();
        assert_eq!(next.message().seq, 2);
    }

    #[tokio::test]
    async fn a_new_database_is_in_wal_mode_at_the_current_schema_version() {
        let dir = TempDir::new();
        let store = SqliteStore::open(&dir.0.join("nested/data")).await.unwrap();
        assert_eq!(store.path(), dir.0.join("nested/data").join(FILE_NAME));
        assert_eq!(
            schema_version_and_journal(store.path()),
            (CURRENT_SCHEMA, "wal".to_string())
        );
    }

    #[tokio::test]
    async fn agents_stored_before_oidc_links_existed_read_back_unlinked_and_can_be_linked() {
        let dir = TempDir::new();
        crate::old_schema::create(&dir.0, 1);
        let store = SqliteStore::open(&dir.0).await.unwrap();
        let old = store
            .agent_by_email("old@acme.test")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((old.agent.id.as_str(), old.oidc), ("01old", None));
        let identity = crate::fixtures::oidc("https://idp.example", "s-1");
        store.link_oidc("01old", &identity).await.unwrap();
        assert_eq!(
            store
                .agent_by_oidc(&identity)
                .await
                .unwrap()
                .unwrap()
                .agent
                .id,
            "01old"
        );
        assert_eq!(schema_version_and_journal(store.path()).0, CURRENT_SCHEMA);
        assert!(!old.agent.disabled);
    }

    #[tokio::test]
    async fn a_database_from_a_newer_server_is_refused() {
        let dir = TempDir::new();
        let path = SqliteStore::open(&dir.0)
            .await
            .unwrap()
            .path()
            .to_path_buf();
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&dir.0)
            .await
            .err()
            .expect("opening must fail");
        let message = err.to_string();
        assert!(
            message.contains("schema version 99") && message.contains(&path.display().to_string()),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_directory_that_cannot_be_created_is_an_error_naming_it() {
        let dir = TempDir::new();
        let file = dir.0.join("not-a-directory");
        std::fs::write(&file, b"").unwrap();
        let wanted = file.join("data");
        let err = SqliteStore::open(&wanted)
            .await
            .err()
            .expect("opening must fail");
        assert!(matches!(err, StoreError::Other(_)), "{err:?}");
        assert!(
            err.to_string().contains(&wanted.display().to_string()),
            "{err}"
        );
    }
}

mod mongodb_only {
    use super::*;
    use ::mongodb::bson::{Document, doc};
    use chat_server::model::{Visitor, new_id, now};

    /// The operator gives each tenant a user with readWrite on its own database; that user must
    /// not reach any other tenant's data.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tenant_user_cannot_read_or_write_another_tenants_database() {
        let server = testkit::mongo::mongo_auth();
        let (db_a, db_b) = (testkit::unique("tenanta"), testkit::unique("tenantb"));
        let uri_a = server.database_uri(&db_a).await;
        let uri_b = server.database_uri(&db_b).await;
        let store_b = store::open(&uri_b.parse().unwrap()).await.unwrap();
        let secret = Visitor {
            id: new_id(),
            name: Some("B's customer".into()),
            email: None,
            created_at: now(),
        };
        store_b.create_visitor(secret).await.unwrap();

        let as_a = ::mongodb::Client::with_uri_str(&uri_a).await.unwrap();
        let own = as_a.database(&db_a).collection::<Document>("visitors");
        own.insert_one(doc! { "_id": "mine" })
            .await
            .expect("a tenant may write its own database");
        assert!(own.find_one(doc! {}).await.unwrap().is_some());

        let foreign = as_a.database(&db_b).collection::<Document>("visitors");
        for denied in [
            foreign.find_one(doc! {}).await.map(|_| ()),
            foreign
                .insert_one(doc! { "_id": "planted" })
                .await
                .map(|_| ()),
            as_a.list_database_names().await.map(|_| ()),
        ] {
            let err = denied.expect_err("another tenant's database must be out of reach");
            assert!(err.to_string().contains("not authorized"), "{err}");
        }
    }

    /// Documents written before a field existed read as its default.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_older_servers_wrote_read_back_with_the_new_fields_defaulted() {
        let server = testkit::mongo::mongo();
        let name = testkit::unique("old");
        let uri = server.database_uri(&name).await;
        let raw = ::mongodb::Client::with_uri_str(&uri)
            .await
            .unwrap()
            .database(&name);
        let at = ::mongodb::bson::DateTime::now();
        raw.collection::<Document>("agents")
            .insert_one(doc! {
                "_id": "01old", "email": "Old@Acme.test", "email_key": "old@acme.test",
                "name": "Old", "role": "admin", "password_hash": "$argon2id$v=19$x",
                "created_at": at,
            })
            .await
            .unwrap();
        raw.collection::<Document>("conversations")
            .insert_one(doc! {
                "_id": "01conv", "status": "open", "visitor": { "id": "01vis" },
                "assignee": "01old", "created_at": at, "updated_at": at, "last_seq": 2_i64,
            })
            .await
            .unwrap();
        raw.collection::<Document>("messages")
            .insert_many([
                doc! { "_id": "01m1", "conversation_id": "01conv", "seq": 1_i64,
                "author": { "kind": "visitor", "id": "01vis" }, "body": "Olá, café?",
                "attachments": [], "created_at": at },
                doc! { "_id": "01m2", "conversation_id": "01conv", "seq": 2_i64,
                "author": { "kind": "agent", "id": "01old" }, "body": "Tudo certo",
                "attachments": [], "created_at": at },
            ])
            .await
            .unwrap();
        // A resolved one: the visitor wrote at `at`, an agent answered 5 minutes later, and it
        // was last changed (resolved) an hour later.
        let later = |mins: i64| {
            ::mongodb::bson::DateTime::from_millis(at.timestamp_millis() + mins * 60_000)
        };
        raw.collection::<Document>("conversations")
            .insert_one(doc! {
                "_id": "01done", "status": "resolved", "visitor": { "id": "01vis" },
                "assignee": "01old", "created_at": at, "updated_at": later(60), "last_seq": 2_i64,
            })
            .await
            .unwrap();
        raw.collection::<Document>("messages")
            .insert_many([
                doc! { "_id": "01d1", "conversation_id": "01done", "seq": 1_i64,
                "author": { "kind": "visitor", "id": "01vis" }, "body": "Oi",
                "attachments": [], "created_at": at },
                doc! { "_id": "01d2", "conversation_id": "01done", "seq": 2_i64,
                "author": { "kind": "agent", "id": "01old" }, "body": "Olá!",
                "attachments": [], "created_at": later(5) },
            ])
            .await
            .unwrap();
        let store = store::open(&uri.parse().unwrap()).await.unwrap();

        // Reports see the older conversations' times as the embedded store's migration does.
        let ms = |t: ::mongodb::bson::DateTime| {
            chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
        };
        let mut facts = store
            .report_facts(ms(later(-1)), ms(later(1)))
            .await
            .unwrap();
        facts.sort_by_key(|f| f.resolved);
        let times: Vec<_> = facts
            .iter()
            .map(|f| {
                (
                    f.resolved,
                    f.resolved_at,
                    f.first_visitor_at,
                    f.first_response_at,
                )
            })
            .collect();
        assert_eq!(
            times,
            vec![
                (false, None, Some(ms(at)), Some(ms(at))),
                (true, Some(ms(later(60))), Some(ms(at)), Some(ms(later(5)))),
            ]
        );
        let conversation = store.conversation("01conv").await.unwrap().unwrap();
        assert_eq!(
            (conversation.last_seq, conversation.last_public_seq),
            (2, 2)
        );
        let messages = store.messages_after("01conv", 0, 10).await.unwrap();
        assert!(messages.iter().all(|m| !m.private), "{messages:?}");
        let note = store
            .append_message(chat_server::model::NewMessage {
                private: true,
                ..crate::fixtures::text("01conv", Some("n1"), "old customer")
            })
            .await
            .unwrap();
        assert_eq!(note.message().seq, 3);
        let conversation = store.conversation("01conv").await.unwrap().unwrap();
        assert_eq!(
            (conversation.last_seq, conversation.last_public_seq),
            (3, 2)
        );

        // Messages stored before search existed are found.
        let all = chat_server::store::Page {
            before_id: None,
            limit: 10,
        };
        let hits = store.search_messages("ola CAFE", &all).await.unwrap();
        assert_eq!(
            hits.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            vec!["01m1"]
        );

        // Every pending, unassigned conversation waited for the desk before the flag existed;
        // one written then still does.
        raw.collection::<Document>("conversations")
            .insert_one(doc! {
                "_id": "01wait", "status": "pending", "visitor": { "id": "01vis" },
                "assignee": null, "created_at": at, "updated_at": at, "last_seq": 0_i64,
            })
            .await
            .unwrap();
        let waiting = store.waiting_for_desk(None, 10).await.unwrap();
        assert_eq!(
            waiting.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["01wait"]
        );

        let old = store.agent_by_id("01old").await.unwrap().unwrap().agent;
        assert_eq!((old.email.as_str(), old.disabled), ("Old@Acme.test", false));
        // The last-admin guard counts it as the enabled admin it is.
        let err = store
            .update_agent(
                "01old",
                &chat_server::store::AgentPatch {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::LastAdmin(_)), "{err:?}");
    }

    /// The schema version is recorded; a database from before versioning counts the steps its
    /// markers say were run and runs only the rest; a newer one opens and keeps its version.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn schema_steps_run_once_each_from_the_version_a_database_is_at() {
        use chat_server::store::mongo::{MongoStore, schema};
        let server = testkit::mongo::mongo();
        let name = testkit::unique("schema");
        let uri = server.database_uri(&name).await;
        let raw = ::mongodb::Client::with_uri_str(&uri)
            .await
            .unwrap()
            .database(&name);
        let at = ::mongodb::bson::DateTime::now();
        // Step 1 (search words) was run by an older server, which marked it; step 2 was not.
        raw.collection::<Document>("meta")
            .insert_one(doc! { "_id": "search_words_backfilled" })
            .await
            .unwrap();
        raw.collection::<Document>("conversations")
            .insert_one(doc! {
                "_id": "01conv", "status": "open", "visitor": { "id": "01vis" },
                "created_at": at, "updated_at": at, "last_seq": 1_i64,
            })
            .await
            .unwrap();
        raw.collection::<Document>("messages")
            .insert_one(
                doc! { "_id": "01m1", "conversation_id": "01conv", "seq": 1_i64,
                "author": { "kind": "visitor", "id": "01vis" }, "body": "Olá",
                "attachments": [], "created_at": at },
            )
            .await
            .unwrap();

        let store = MongoStore::open(&uri, &name).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), schema::VERSION);
        let message = raw
            .collection::<Document>("messages")
            .find_one(doc! { "_id": "01m1" })
            .await
            .unwrap()
            .unwrap();
        assert!(
            !message.contains_key("words"),
            "step 1 is not run again: {message}"
        );
        let conversation = raw
            .collection::<Document>("conversations")
            .find_one(doc! { "_id": "01conv" })
            .await
            .unwrap()
            .unwrap();
        assert!(
            conversation.contains_key("first_visitor_at"),
            "step 2 ran: {conversation}"
        );

        // A database a newer server moved on opens, and keeps its version.
        raw.collection::<Document>("meta")
            .update_one(
                doc! { "_id": "schema" },
                doc! { "$set": { "version": 99_i64 } },
            )
            .await
            .unwrap();
        let newer = MongoStore::open(&uri, &name).await.unwrap();
        assert_eq!(newer.schema_version().await.unwrap(), 99);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        let port = testkit::free_port();
        let location = format!("mongodb://127.0.0.1:{port}/nobody?serverSelectionTimeoutMS=300")
            .parse()
            .unwrap();
        let err = store::open(&location)
            .await
            .err()
            .expect("nothing listens there");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }

    /// The driver alone would wait 30 s; the store's default is 5 s.
    #[tokio::test]
    async fn without_a_uri_timeout_an_unreachable_server_is_reported_well_before_30_s() {
        let port = testkit::free_port();
        let location = format!("mongodb://127.0.0.1:{port}/nobody")
            .parse()
            .unwrap();
        let started = std::time::Instant::now();
        let err = store::open(&location)
            .await
            .err()
            .expect("nothing listens there");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
    }
}
