//! CHAT_ALLOWED_ORIGINS: which web pages may use the server from a browser (issue 12, item 7).
//! Browsers enforce CORS on the API; the websocket upgrade, which CORS does not cover, is refused
//! by the server itself. Clients without an Origin (servers, the load tool) are never affected.

mod common;

use common::TestServer;
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SHOP: &str = "https://shop.example";
const OTHER: &str = "https://evil.example";

async fn server() -> TestServer {
    TestServer::start_with(&[
        "--public-url=https://acme.chat.example",
        "--allowed-origins=https://shop.example, https://*.acme-shops.example",
    ])
    .await
}

async fn cors_answer(s: &TestServer, origin: &str) -> Option<String> {
    let r = s
        .http
        .get(s.url("/api/v1/me"))
        .header(ORIGIN, origin)
        .send()
        .await
        .unwrap();
    r.headers()
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn the_api_answers_cors_for_listed_origins_and_the_console_only() {
    let s = server().await;
    for allowed in [
        SHOP,
        "https://eu.acme-shops.example",
        "https://acme.chat.example",
    ] {
        assert_eq!(
            cors_answer(&s, allowed).await.as_deref(),
            Some(allowed),
            "{allowed}"
        );
    }
    for refused in [OTHER, "https://acme-shops.example", "http://shop.example"] {
        assert_eq!(cors_answer(&s, refused).await, None, "{refused}");
    }
}

#[tokio::test]
async fn without_the_setting_any_page_may_call_the_api() {
    let s = TestServer::start().await;
    assert_eq!(cors_answer(&s, OTHER).await.as_deref(), Some("*"));
}

async fn upgrade(s: &TestServer, token: &str, origin: Option<&str>) -> Result<(), u16> {
    let mut req = format!("{}/api/v1/ws?token={token}", s.ws_base)
        .into_client_request()
        .unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert(ORIGIN, o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("websocket upgrade failed otherwise: {e}"),
    }
}

#[tokio::test]
async fn a_websocket_from_a_page_outside_the_list_is_refused_with_403() {
    let s = server().await;
    let (_, token) = s.visitor().await;
    assert_eq!(upgrade(&s, &token, Some(OTHER)).await, Err(403));
    assert_eq!(upgrade(&s, &token, Some(SHOP)).await, Ok(()));
    // Not a browser: no Origin, nothing to enforce; the token alone decides.
    assert_eq!(upgrade(&s, &token, None).await, Ok(()));
}

#[tokio::test]
async fn a_malformed_allowed_origins_value_names_the_setting_and_the_entry() {
    use chat_server::config::Config;
    use clap::Parser;
    let err =
        Config::try_parse_from(["chat-server", "--allowed-origins=https://shop.example/path"])
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("CHAT_ALLOWED_ORIGINS") && err.contains("https://shop.example/path"),
        "{err}"
    );
}
