//! The password policy seen from outside: agent creation refuses short and common passwords with
//! 400 `weak_password` (without echoing them), and a weak bootstrap admin password stops the
//! server at start instead of creating a guessable admin.

mod common;

use chat_server::config::Config;
use clap::Parser;
use common::TestServer;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn agents_with_short_or_common_passwords_are_refused_without_the_password_in_the_error() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    for (i, weak) in [
        "Tr0ub4dor&3",    // 11 characters
        "password1234",   // a listed password with digits
        "qwerty123456",   // listed as it is
        "sunshine!!2025", // a listed password decorated
        "123456789012",   // a run of digits
        "abcabcabcabc",   // a short unit repeated
    ]
    .into_iter()
    .enumerate()
    {
        let new = json!({"email": format!("weak{i}@acme.test"), "password": weak, "name": "W", "role": "agent"});
        let (status, body) = s.post("/api/v1/agents", Some(&admin), new).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("weak_password")),
            "{weak}: {body}"
        );
        assert!(!body.to_string().contains(weak), "{weak} echoed: {body}");
    }
    let strong = json!({"email": "ok@acme.test", "password": "violet-harbour-cactus", "name": "Ok", "role": "agent"});
    let (status, body) = s.post("/api/v1/agents", Some(&admin), strong).await;
    assert_eq!(status, 201, "{body}");
    s.login("ok@acme.test", "violet-harbour-cactus").await;
}

#[tokio::test]
async fn a_weak_bootstrap_admin_password_stops_the_server_at_start_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::try_parse_from([
        "chat-server".to_string(),
        format!("--store={}", dir.path().join("store").display()),
        format!("--upload-dir={}", dir.path().join("uploads").display()),
        "--admin-email=admin@acme.test".into(),
        "--admin-password=Password2024".into(),
        "--bus=local".into(),
    ])
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = chat_server::server::serve(config, listener, CancellationToken::new())
        .await
        .expect_err("a guessable admin password is refused");
    let text = err.to_string();
    assert!(text.contains("too easy to guess"), "{text}");
    assert!(!text.contains("Password2024"), "{text}");
}
