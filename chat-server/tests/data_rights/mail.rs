//! The mail outbox after an erasure: mails about the visitor's conversations (offline messages to
//! the admins, with its name and Reply-To address; transcripts to its address) leave the outbox,
//! sent or not, and one still pending is never sent. The mail server is a real one (aiosmtpd)
//! that the test makes refuse everything for a while, so mails wait in the outbox.

use std::time::Duration;

use serde_json::json;
use testkit::smtp::Smtp;

use super::support::Deployment;

/// SMTP through `smtp`, retried 1 s apart with short leases (a test does not wait minutes).
pub fn mail_env(smtp: &Smtp) -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_SMTP_URL", smtp.url.clone()),
        (
            "CHAT_MAIL_FROM",
            "ACME Suporte <suporte@acme.test>".to_string(),
        ),
        ("CHAT_PUBLIC_URL", "https://acme.chat.test".to_string()),
        ("CHAT_MAIL_RETRY_BASE_SECS", "1".to_string()),
        ("CHAT_MAIL_LEASE_SECS", "3".to_string()),
    ]
}

/// Outbox rows addressed to `address` or with replies going to it, read from the store's own
/// database (sent rows included, which no API lists).
async fn outbox_rows_naming(d: &Deployment, address: &str) -> u64 {
    match &d.mongo_uri {
        Some(uri) => {
            use mongodb::bson::doc;
            let client = mongodb::Client::with_uri_str(uri).await.unwrap();
            let db = client
                .default_database()
                .expect("the URI names the database");
            db.collection::<mongodb::bson::Document>("outbox")
                .count_documents(doc! { "$or": [{ "to": address }, { "reply_to": address }] })
                .await
                .unwrap()
        }
        None => {
            let file = d
                .dir
                .as_ref()
                .unwrap()
                .path()
                .join("store")
                .join(chat_server::store::sqlite::FILE_NAME);
            let conn = rusqlite::Connection::open(file).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            conn.query_row(
                "SELECT count(*) FROM outbox WHERE recipient = ?1 OR reply_to = ?1",
                [address],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as u64
        }
    }
}

pub async fn mails_about_an_erased_visitor_leave_the_outbox_and_a_pending_one_is_never_sent(
    d: Deployment,
    smtp: Smtp,
) {
    let (vera_id, vera) = d.visitor("Vera", Some("vera@example.com")).await;
    let (_, otto) = d.visitor("Otto", Some("otto@example.com")).await;
    let (_, agent) = d.agent("Ana").await;

    // Nobody at the desk: the first message of a conversation is mailed to the admin.
    let sent_about = d.conversation(&vera).await;
    d.send(&vera, &sent_about, "first question", false, &[])
        .await;
    smtp.wait_for_mails(1, Duration::from_secs(15)).unwrap();

    // The mail server refuses everything: the next mails wait in the outbox.
    smtp.fail(true);
    let pending_about = d.conversation(&vera).await;
    d.send(&vera, &pending_about, "second question", false, &[])
        .await;
    let (s, asked) = d
        .post(
            &format!("/api/v1/conversations/{pending_about}/transcript/email"),
            Some(&vera),
            json!({}),
        )
        .await;
    assert_eq!(s, 202, "{asked}");
    let (s, resolved) = d
        .post(
            &format!("/api/v1/conversations/{pending_about}/status"),
            Some(&agent),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "{resolved}");
    let otto_conversation = d.conversation(&otto).await;
    d.send(&otto, &otto_conversation, "otto's question", false, &[])
        .await;
    d.eventually(
        Duration::from_secs(10),
        "the transcript and both offline mails in the outbox",
        || async { outbox_rows_naming(&d, "vera@example.com").await == 3 },
    )
    .await;
    assert_eq!(outbox_rows_naming(&d, "otto@example.com").await, 1);

    let (s, erased) = d
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/visitors/{vera_id}"),
            Some(&d.admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(
        outbox_rows_naming(&d, "vera@example.com").await,
        0,
        "the sent offline mail, the pending one and the pending transcript are gone"
    );
    assert_eq!(outbox_rows_naming(&d, "otto@example.com").await, 1);

    // A send already under way when the erasure came may still get through (its row is gone,
    // so it is not sent twice); the server keeps refusing until any such attempt is over.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The mail server is back: Otto's mail goes out; nothing about Vera ever does.
    smtp.fail(false);
    let mails = smtp.wait_for_mails(2, Duration::from_secs(30)).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mails_now = smtp.mails();
    assert_eq!(mails_now.len(), 2, "{mails_now:#?}");
    let late = mails[1].replace("=\r\n", "").replace("=\n", "");
    assert!(
        late.contains("otto's question") || late.contains("otto@example.com"),
        "{late}"
    );
    assert!(
        !late.contains("vera@example.com") && !late.contains("second question"),
        "{late}"
    );
}
