//! API tokens for integrations: admins make them (the secret shown once, never listed), they act
//! as an agent on REST and never on the websocket, and deleting one stops it at once.

mod common;

use common::{TestServer, str_of};
use serde_json::json;

#[tokio::test]
async fn an_api_token_is_shown_once_acts_as_an_agent_on_rest_and_dies_when_deleted() {
    let s = TestServer::start().await;
    let (admin_id, admin) = s.admin().await;
    let (st, made) = s
        .post(
            "/api/v1/api-tokens",
            Some(&admin),
            json!({"name": "  CRM sync "}),
        )
        .await;
    assert_eq!(st, 201, "{made}");
    let token = str_of(&made, "token");
    let id = str_of(&made, "id");
    assert_eq!(
        (made["name"].clone(), made["created_by"].clone()),
        (json!("CRM sync"), json!(admin_id))
    );
    assert!(token.starts_with("atendo_at_"), "{token}");

    // Listed without the secret, in any form.
    let (st, list) = s.get("/api/v1/api-tokens", Some(&admin)).await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["api_tokens"][0]["id"], id);
    assert_eq!(list["next"], json!(null));
    let secret = token.rsplit('_').next().unwrap();
    assert!(!list.to_string().contains(secret), "{list}");
    assert!(list["api_tokens"][0].get("token").is_none(), "{list}");

    // An agent on REST: lists conversations and replies, named after the token.
    let (visitor, c) = s.conversation().await;
    let (st, _) = s.get("/api/v1/conversations", Some(&token)).await;
    assert_eq!(st, 200);
    let (st, m) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&token),
            json!({"body": "Your order shipped", "client_msg_id": "crm-1"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(
        (m["author"]["kind"].clone(), m["author"]["name"].clone()),
        (json!("agent"), json!("CRM sync"))
    );
    let (_, seen) = s
        .get(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
        )
        .await;
    assert_eq!(seen["messages"][0]["body"], "Your order shipped");

    // Not an admin: it cannot make tokens or agents.
    let (st, e) = s
        .post(
            "/api/v1/api-tokens",
            Some(&token),
            json!({"name": "escalate"}),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].clone()),
        (403, json!("forbidden")),
        "{e}"
    );

    // Never on the websocket, in the subprotocol or the URL.
    let refused =
        tokio_tungstenite::connect_async(format!("{}/api/v1/ws?token={token}", s.ws_base))
            .await
            .expect_err("an API token opened a websocket");
    assert!(refused.to_string().contains("403"), "{refused}");

    // A wrong secret for a real id is refused; so is a made-up token.
    let forged = format!("{}{}", &token[..token.len() - 43], "A".repeat(43));
    assert_eq!(s.get("/api/v1/me", Some(&forged)).await.0, 401);

    let (st, _) = s
        .delete(&format!("/api/v1/api-tokens/{id}"), Some(&admin))
        .await;
    assert_eq!(st, 204);
    let (st, e) = s.get("/api/v1/me", Some(&token)).await;
    assert_eq!(
        (st, e["error"]["code"].clone()),
        (401, json!("token_revoked")),
        "{e}"
    );
    let (st, _) = s
        .delete(&format!("/api/v1/api-tokens/{id}"), Some(&admin))
        .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn only_admins_manage_api_tokens_and_a_name_is_required() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let (_, agent) = s.agent("Ana").await;
    for (st, e) in [
        s.post("/api/v1/api-tokens", Some(&agent), json!({"name": "x"}))
            .await,
        s.get("/api/v1/api-tokens", Some(&agent)).await,
    ] {
        assert_eq!(st, 403, "{e}");
    }
    for name in ["", "   ", &"n".repeat(101)] {
        let (st, e) = s
            .post("/api/v1/api-tokens", Some(&admin), json!({"name": name}))
            .await;
        assert_eq!(
            (st, e["error"]["code"].clone()),
            (400, json!("invalid_name")),
            "{e}"
        );
        assert!(
            e["error"]["message"].as_str().unwrap().contains("name"),
            "{e}"
        );
    }
    let (_, list) = s.get("/api/v1/api-tokens", Some(&admin)).await;
    assert_eq!(list["api_tokens"], json!([]), "nothing refused was stored");
}
