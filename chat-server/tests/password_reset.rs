//! Password reset by mail, end to end: real `chat-server` processes on the embedded store, a real
//! SMTP server (aiosmtpd, `testkit::smtp`) with AUTH, plain and implicit TLS with a test CA.
//!
//! What each test shows: the link arrives and works once, signing every old session out; an
//! expired link is refused (the TTL shortened through a hidden setting); a mail refused while
//! the chat-server is killed with SIGKILL arrives exactly once after a restart (the outbox is
//! durable); smtps:// delivers only with the CA trusted; bad settings stop the server naming
//! the variable; without mail, asking says so.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::binary::{self, Replica};
use common::http::call;
use common::mail::{self, decoded};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY, TestServer};
use serde_json::{Value, json};
use testkit::smtp::{Smtp, spawn_smtp, spawn_smtps};

const NEW_PASSWORD: &str = "violet-harbour-lantern-42";

fn env_for(store: &std::path::Path, smtp: &Smtp) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CHAT_STORE", store.display().to_string()),
        (
            "CHAT_UPLOAD_DIR",
            store.join("uploads").display().to_string(),
        ),
        ("CHAT_SIGNING_KEY", SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
    ];
    env.extend(mail::env(smtp));
    env
}

async fn login(base: &str, password: &str) -> Result<String, (u16, Value)> {
    let (status, body) = call(
        base,
        "POST",
        "/agents/login",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": password})),
    )
    .await;
    match status {
        200 => Ok(body["token"].as_str().unwrap().to_string()),
        _ => Err((status, body)),
    }
}

async fn ask_reset(base: &str, email: &str) -> u16 {
    call(
        base,
        "POST",
        "/agents/password-reset",
        None,
        Some(json!({"email": email})),
    )
    .await
    .0
}

async fn confirm(base: &str, token: &str, password: &str) -> (u16, Value) {
    call(
        base,
        "POST",
        "/agents/password-reset/confirm",
        None,
        Some(json!({"token": token, "new_password": password})),
    )
    .await
}

/// The token of the reset link in `mail`, after checking the link's shape.
fn reset_token(mail: &str) -> String {
    let body = decoded(mail);
    let prefix = "https://acme.chat.test/#/reset?token=";
    let at = body
        .find(prefix)
        .unwrap_or_else(|| panic!("no reset link in:\n{body}"));
    body[at + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_arrives_by_mail_works_once_and_signs_every_old_session_out() {
    let smtp = spawn_smtp().expect("SMTP server");
    let dir = tempfile::tempdir().unwrap();
    let server = binary::start(&env_for(dir.path(), &smtp));
    let base = server.base.as_str();
    let old_a = login(base, ADMIN_PASSWORD).await.unwrap();
    let old_b = login(base, ADMIN_PASSWORD).await.unwrap();

    let asked = Instant::now();
    assert_eq!(ask_reset(base, ADMIN_EMAIL).await, 202);
    assert_eq!(
        ask_reset(base, "nobody@acme.test").await,
        202,
        "no account oracle"
    );
    let mails = smtp.wait_for_mails(1, Duration::from_secs(15)).unwrap();
    eprintln!("request to mail: {:?}", asked.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        smtp.mails().len(),
        1,
        "nothing is sent for an unknown email"
    );
    let mail = &mails[0];
    assert!(mail.contains("To: admin@acme.test"), "{mail}");
    assert!(mail.contains("suporte@acme.test"), "{mail}");
    let token = reset_token(mail);
    assert_eq!(token.len(), 43, "{token}");

    // A weak password is refused without using the link up.
    let (status, body) = confirm(base, &token, "password1234").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("weak_password"))
    );
    let (status, body) = confirm(base, &token, NEW_PASSWORD).await;
    assert_eq!(status, 204, "{body}");

    for old in [&old_a, &old_b] {
        let (status, body) = call(base, "GET", "/me", Some(old), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("token_revoked")),
            "{body}"
        );
    }
    assert_eq!(
        login(base, ADMIN_PASSWORD).await.unwrap_err().0,
        401,
        "the old password is gone"
    );
    let fresh = login(base, NEW_PASSWORD)
        .await
        .expect("the new password signs in");
    assert_eq!(call(base, "GET", "/me", Some(&fresh), None).await.0, 200);

    let (status, body) = confirm(base, &token, "another-fine-passphrase-7").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_reset_token")),
        "used once"
    );
    let (status, body) = confirm(base, "made-up-token", NEW_PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_reset_token"))
    );

    // Per email: a burst of 3 (one spent above), then 429 whether or not the account exists.
    for _ in 0..2 {
        assert_eq!(ask_reset(base, ADMIN_EMAIL).await, 202);
    }
    assert_eq!(ask_reset(base, ADMIN_EMAIL).await, 429);
    for _ in 0..2 {
        assert_eq!(ask_reset(base, "nobody@acme.test").await, 202);
    }
    assert_eq!(ask_reset(base, "Nobody@ACME.test").await, 429);
}

/// A link mailed before the password changed another way (or before another link was used)
/// would give the account back to whoever reads the mailbox: it must stop working.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_or_another_reset_cancels_the_links_still_pending() {
    let smtp = spawn_smtp().expect("SMTP server");
    let dir = tempfile::tempdir().unwrap();
    let server = binary::start(&env_for(dir.path(), &smtp));
    let base = server.base.as_str();
    let refused = |(status, body): (u16, Value), what: &str| {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_reset_token")),
            "{what}: {body}"
        );
    };

    // Of two links, using one cancels the other.
    assert_eq!(ask_reset(base, ADMIN_EMAIL).await, 202);
    assert_eq!(ask_reset(base, ADMIN_EMAIL).await, 202);
    let mails = smtp.wait_for_mails(2, Duration::from_secs(15)).unwrap();
    let (first, second) = (reset_token(&mails[0]), reset_token(&mails[1]));
    assert_ne!(first, second);
    let (status, body) = confirm(base, &second, NEW_PASSWORD).await;
    assert_eq!(status, 204, "{body}");
    refused(
        confirm(base, &first, "attacker-chosen-passphrase-9").await,
        "the other link of a used pair",
    );
    login(base, NEW_PASSWORD).await.expect("the reset password");

    // A link, then the owner changes the password while signed in: the link dies.
    assert_eq!(ask_reset(base, ADMIN_EMAIL).await, 202);
    let mails = smtp.wait_for_mails(3, Duration::from_secs(15)).unwrap();
    let third = reset_token(&mails[2]);
    let token = login(base, NEW_PASSWORD).await.unwrap();
    let changed = "violet-harbour-lantern-43";
    let (status, body) = call(
        base,
        "POST",
        "/agents/me/password",
        Some(&token),
        Some(json!({"current_password": NEW_PASSWORD, "new_password": changed})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    refused(
        confirm(base, &third, "attacker-chosen-passphrase-9").await,
        "a link from before the change",
    );
    login(base, changed)
        .await
        .expect("the changed password stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_reset_link_is_refused_and_the_password_stays() {
    let smtp = spawn_smtp().expect("SMTP server");
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_for(dir.path(), &smtp);
    env.push(("CHAT_PASSWORD_RESET_TTL_SECS", "1".to_string()));
    let server = binary::start(&env);
    assert_eq!(ask_reset(&server.base, ADMIN_EMAIL).await, 202);
    let mails = smtp.wait_for_mails(1, Duration::from_secs(15)).unwrap();
    let token = reset_token(&mails[0]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = confirm(&server.base, &token, NEW_PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_reset_token")),
        "{body}"
    );
    login(&server.base, ADMIN_PASSWORD)
        .await
        .expect("the password did not change");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_refused_while_the_server_is_killed_arrives_exactly_once_after_a_restart() {
    let smtp = spawn_smtp().expect("SMTP server");
    let dir = tempfile::tempdir().unwrap();
    let env = env_for(dir.path(), &smtp);
    smtp.fail(true);
    let mut first: Replica = binary::start(&env);
    assert_eq!(ask_reset(&first.base, ADMIN_EMAIL).await, 202);
    // Retries 1 s, 2 s apart: a few refusals happen before the kill.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(smtp.mails().is_empty(), "the server refuses every mail");
    first.guard.signal("KILL");
    first
        .guard
        .wait_timeout(Duration::from_secs(5))
        .expect("killed");
    smtp.fail(false);

    let restarted = Instant::now();
    let second = binary::start(&env);
    let mails = smtp.wait_for_mails(1, Duration::from_secs(30)).unwrap();
    eprintln!("restart to mail: {:?}", restarted.elapsed());
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mails_now = smtp.mails();
    assert_eq!(mails_now.len(), 1, "exactly once: {mails_now:#?}");
    let token = reset_token(&mails[0]);
    assert_eq!(
        confirm(&second.base, &token, NEW_PASSWORD).await.0,
        204,
        "the link still works"
    );

    let id = mail::message_id(&mails[0]);
    let store = chat_server::store::sqlite::SqliteStore::open(dir.path())
        .await
        .unwrap();
    let stored = chat_server::store::Store::outbox_mail(&store, &id)
        .await
        .unwrap()
        .expect("the mail is in the outbox");
    eprintln!(
        "failed attempts before delivery: {} (last error: {:?})",
        stored.attempts, stored.last_error
    );
    assert_eq!(stored.state, chat_server::store::MailState::Sent);
    assert!(stored.attempts >= 2, "refusals were recorded: {stored:?}");
    assert!(
        stored.last_error.as_deref().unwrap_or("").contains("451"),
        "{stored:?}"
    );
    assert_eq!(stored.body, "", "a sent mail's body (the link) is not kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtps_delivers_with_the_test_ca_trusted_and_not_without_it() {
    let smtp = spawn_smtps().expect("SMTPS server");
    let ca = smtp.ca.as_ref().unwrap().ca_file.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    // Without the CA the certificate is not trusted: nothing is delivered.
    let untrusted = binary::start(&env_for(dir.path(), &smtp));
    assert_eq!(ask_reset(&untrusted.base, ADMIN_EMAIL).await, 202);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        smtp.mails().is_empty(),
        "an untrusted certificate got a mail"
    );
    drop(untrusted);

    let dir = tempfile::tempdir().unwrap();
    let mut env = env_for(dir.path(), &smtp);
    env.push(("CHAT_SMTP_CA_FILE", ca));
    let trusted = binary::start(&env);
    let asked = Instant::now();
    assert_eq!(ask_reset(&trusted.base, ADMIN_EMAIL).await, 202);
    let mails = smtp.wait_for_mails(1, Duration::from_secs(15)).unwrap();
    eprintln!("request to mail over smtps: {:?}", asked.elapsed());
    assert_eq!(reset_token(&mails[0]).len(), 43);
}

/// Runs the binary with `env` until it exits; returns its stderr.
fn failed_start(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .env_clear()
        .env("CHAT_LISTEN", "127.0.0.1:0")
        .env(
            "CHAT_STORE",
            std::env::temp_dir().join(testkit::unique("mailcfg")),
        )
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run chat-server");
    assert!(!out.status.success(), "started with {env:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_mail_settings_stop_the_server_naming_the_variable() {
    let url = ("CHAT_SMTP_URL", "smtps://u:hunter2-secret@mail.acme.test");
    let from = ("CHAT_MAIL_FROM", "ACME <s@acme.test>");
    let public = ("CHAT_PUBLIC_URL", "https://acme.chat.test");
    for (env, names) in [
        (
            vec![
                ("CHAT_SMTP_URL", "smtp//u:hunter2-secret@host"),
                from,
                public,
            ],
            "CHAT_SMTP_URL",
        ),
        (
            vec![
                ("CHAT_SMTP_URL", "http://u:hunter2-secret@host"),
                from,
                public,
            ],
            "CHAT_SMTP_URL",
        ),
        (vec![url, public], "CHAT_MAIL_FROM"),
        (
            vec![url, ("CHAT_MAIL_FROM", "not an address"), public],
            "CHAT_MAIL_FROM",
        ),
        (vec![url, from], "CHAT_PUBLIC_URL"),
        (
            vec![
                url,
                from,
                public,
                ("CHAT_SMTP_CA_FILE", "/nonexistent/ca.pem"),
            ],
            "CHAT_SMTP_CA_FILE",
        ),
    ] {
        let stderr = failed_start(&env);
        assert!(stderr.contains(names), "{env:?}: {stderr}");
        assert!(
            !stderr.contains("hunter2-secret"),
            "the password was printed: {stderr}"
        );
    }
}

#[tokio::test]
async fn without_mail_a_reset_request_says_mail_is_off_for_every_email() {
    let server = TestServer::start().await;
    for email in [ADMIN_EMAIL, "nobody@acme.test"] {
        let (status, body) = server
            .post(
                "/api/v1/agents/password-reset",
                None,
                json!({"email": email}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("mail_not_configured")),
            "{body}"
        );
    }
}
