//! Data rights over real `chat-server` processes: transcripts, the tenant export, erasing a
//! visitor (GDPR/LGPD) and retention. The cases run on the embedded SQLite store and on MongoDB
//! (SecantusDB) with a Redis bus, attachments on the local upload store; the bucket's side of
//! erasure runs against moto.

mod common;

#[path = "data_rights/erase.rs"]
mod erase;
#[path = "data_rights/export.rs"]
mod export;
#[path = "data_rights/mail.rs"]
mod mail;
#[path = "data_rights/retention.rs"]
mod retention;
#[path = "data_rights/support.rs"]
mod support;
#[path = "data_rights/transcript.rs"]
mod transcript;

use support::Deployment;

/// Every case, for the macro below.
mod cases {
    pub use super::erase::*;
    pub use super::export::*;
    pub use super::mail::*;
    pub use super::retention::*;
    pub use super::transcript::*;
}

async fn sqlite() -> Deployment {
    Deployment::sqlite(&[]).await
}

async fn mongodb() -> Deployment {
    Deployment::mongo(1, &[]).await
}

/// Retention of 30 days, swept every second.
fn retention_env() -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_RETENTION_DAYS", "30".to_string()),
        ("CHAT_RETENTION_SWEEP_SECS", "1".to_string()),
    ]
}

macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(super::sqlite().await).await
                }
            )*
        }
        mod mongodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::cases::$case(super::mongodb().await).await
                }
            )*
        }
    };
}

on_both_stores!(
    an_agent_gets_every_message_with_notes_marked_in_every_format,
    a_visitor_gets_its_own_transcript_without_any_trace_of_a_note,
    markup_in_a_message_is_escaped_in_the_html_transcript,
    an_unknown_format_or_conversation_is_refused_by_name,
    the_export_holds_every_object_of_the_tenant_one_per_line,
    a_large_tenant_exports_completely_across_store_pages,
    erasing_a_visitor_removes_everything_it_started_and_nothing_else,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_visitors_socket_closes_with_4001_and_its_token_is_refused_on_both_replicas() {
    cases::an_erased_visitors_socket_closes_with_4001_and_its_token_is_refused_everywhere(
        Deployment::mongo(2, &[]).await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_old_resolved_conversations_on_sqlite() {
    cases::resolved_conversations_untouched_past_retention_are_erased_with_their_files(
        Deployment::sqlite(&retention_env()).await,
    )
    .await
}

/// Two replicas sweeping on one database: one at a time under the store lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_old_resolved_conversations_on_mongodb_with_two_replicas() {
    cases::resolved_conversations_untouched_past_retention_are_erased_with_their_files(
        Deployment::mongo(2, &retention_env()).await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_takes_the_visitors_mails_out_of_the_outbox_on_sqlite() {
    let smtp = testkit::smtp::spawn_smtp().expect("SMTP server");
    let d = Deployment::sqlite(&cases::mail_env(&smtp)).await;
    cases::mails_about_an_erased_visitor_leave_the_outbox_and_a_pending_one_is_never_sent(d, smtp)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_takes_the_visitors_mails_out_of_the_outbox_on_mongodb() {
    let smtp = testkit::smtp::spawn_smtp().expect("SMTP server");
    let d = Deployment::mongo(1, &cases::mail_env(&smtp)).await;
    cases::mails_about_an_erased_visitor_leave_the_outbox_and_a_pending_one_is_never_sent(d, smtp)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_a_visitor_with_its_last_conversation_on_sqlite() {
    let mut env = retention_env();
    env.push(("CHAT_TOKEN_TTL_HOURS", "1000".to_string()));
    cases::a_visitor_goes_with_its_last_conversation_when_retention_erases_it_and_it_was_not_seen_since(
        Deployment::sqlite(&env).await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_a_visitor_with_its_last_conversation_on_mongodb() {
    let mut env = retention_env();
    env.push(("CHAT_TOKEN_TTL_HOURS", "1000".to_string()));
    cases::a_visitor_goes_with_its_last_conversation_when_retention_erases_it_and_it_was_not_seen_since(
        Deployment::mongo(1, &env).await,
    )
    .await
}
