//! Black-box REST tests against a server on 127.0.0.1:0 (embedded store, local bus).

mod common;

use chat_server::auth::Principal;
use chat_server::auth::tokens::TokenIssuer;
use chat_server::model::Role;
use common::{TestServer, str_of};
use serde_json::json;

#[tokio::test]
async fn health_and_metrics_answer() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/health/live", None).await.0, 200);
    let (status, body) = s.get("/health/ready", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let text = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "chat_connections_active",
        "chat_messages_total",
        "chat_message_delivery_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
}

#[tokio::test]
async fn with_a_metrics_address_the_public_port_no_longer_answers_metrics() {
    // A free port for the metrics listener: bound, read, released.
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = TestServer::start_with(&[&format!("--metrics-listen={metrics_addr}")]).await;
    let public = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let private = s
        .http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("chat_messages_total")
    );
    // The metrics port serves nothing else.
    let other = s
        .http
        .get(format!("http://{metrics_addr}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(s.get("/health/ready", None).await.0, 200);
}

#[tokio::test]
async fn visitors_start_anonymously_and_bad_emails_are_named() {
    let s = TestServer::start().await;
    let r = s.http.post(s.url("/api/v1/visitors")).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let (status, body) = s
        .post("/api/v1/visitors", None, json!({"email": "nope"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_email");
    let (status, body) = s
        .http
        .post(s.url("/api/v1/visitors"))
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 400);
    let body: serde_json::Value = body.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_body");
}

/// A query parameter of the wrong type gets the contract's JSON error naming it, not axum's
/// plain-text rejection that clients cannot parse.
#[tokio::test]
async fn a_malformed_query_parameter_is_a_json_error_naming_it() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let (_, conversation) = s.conversation().await;
    for (path, param) in [
        (
            format!("/api/v1/conversations/{conversation}/messages?after_seq=ten"),
            "after_seq",
        ),
        ("/api/v1/conversations?limit=-1".to_string(), "limit"),
        ("/api/v1/search?q=hello&limit=many".to_string(), "limit"),
        ("/api/v1/teams?limit=x".to_string(), "limit"),
        // Text parameters fail only when repeated.
        ("/api/v1/webhooks?limit=1&limit=2".to_string(), "limit"),
        (
            "/api/v1/reports/summary?from=2026-01-01&from=2026-02-01".to_string(),
            "from",
        ),
        (
            format!("/api/v1/conversations/{conversation}/transcript?format=text&format=html"),
            "format",
        ),
    ] {
        let (status, body) = s.get(&path, Some(&admin)).await;
        assert_eq!(status, 400, "{path}: {body}");
        // after_seq is typed in the query; limits are read as text and checked by the paging
        // rules, which give their own code.
        let code = body["error"]["code"].as_str().unwrap_or_default();
        assert!(
            ["invalid_query", "invalid_limit"].contains(&code),
            "{path}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(param), "{path}: {message}");
    }
}

#[tokio::test]
async fn visitor_creation_is_rate_limited_per_address() {
    let s = TestServer::start_with(&["--visitor-rate=3"]).await;
    for _ in 0..3 {
        assert_eq!(s.post("/api/v1/visitors", None, json!({})).await.0, 201);
    }
    let (status, body) = s.post("/api/v1/visitors", None, json!({})).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn agents_log_in_and_wrong_credentials_get_401() {
    let s = TestServer::start().await;
    let (status, body) = s
        .post(
            "/api/v1/agents/login",
            None,
            json!({"email": common::ADMIN_EMAIL, "password": common::ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["role"], "admin");
    assert!(body["token"].is_string() && body["agent_id"].is_string());
    for (email, password) in [
        (common::ADMIN_EMAIL, "wrong-password"),
        ("nobody@acme.test", "whatever-pw"),
    ] {
        let (status, body) = s
            .post(
                "/api/v1/agents/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn only_admins_create_agents_and_emails_are_unique() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let new = json!({"email": "bia@acme.test", "password": "bia-password", "name": "Bia", "role": "agent"});
    let (status, agent) = s.post("/api/v1/agents", Some(&admin), new.clone()).await;
    assert_eq!(status, 201, "{agent}");
    assert_eq!(agent["role"], "agent");
    assert!(agent.get("password_hash").is_none());
    let (status, body) = s.post("/api/v1/agents", Some(&admin), new.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let (_, bia) = s.login("bia@acme.test", "bia-password").await;
    let other = json!({"email": "cai@acme.test", "password": "cai-password", "name": "Cai", "role": "admin"});
    assert_eq!(
        s.post("/api/v1/agents", Some(&bia), other.clone()).await.0,
        403
    );
    let (_, visitor) = s.visitor().await;
    assert_eq!(s.post("/api/v1/agents", Some(&visitor), other).await.0, 403);
    let weak =
        json!({"email": "dan@acme.test", "password": "short", "name": "Dan", "role": "agent"});
    let (status, body) = s.post("/api/v1/agents", Some(&admin), weak).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("weak_password"))
    );
}

#[tokio::test]
async fn missing_invalid_and_foreign_tokens_get_401() {
    let s = TestServer::start().await;
    let (status, body) = s.get("/api/v1/conversations", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(s.get("/api/v1/conversations", Some("garbage")).await.0, 401);
    let foreign =
        TokenIssuer::new(b"another-deployment-key-0123456789abcdef", 1).issue(&Principal::Agent {
            id: "x".into(),
            name: "Mallory".into(),
            role: Role::Admin,
        });
    let (status, body) = s.get("/api/v1/conversations", Some(&foreign)).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid for this deployment")
    );
}

#[tokio::test]
async fn visitors_see_only_their_own_conversations() {
    let s = TestServer::start().await;
    let (owner, conversation) = s.conversation().await;
    let (_, stranger) = s.visitor().await;
    assert_eq!(
        s.get(
            &format!("/api/v1/conversations/{conversation}"),
            Some(&owner)
        )
        .await
        .0,
        200
    );
    let (status, body) = s
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            Some(&stranger),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = s
        .get(
            &format!("/api/v1/conversations/{conversation}/messages"),
            Some(&stranger),
        )
        .await;
    assert_eq!(status, 403);
    let (_, listed) = s.get("/api/v1/conversations", Some(&stranger)).await;
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 0);
    assert_eq!(
        s.get("/api/v1/conversations/nope", Some(&owner)).await.0,
        404
    );
}

#[tokio::test]
async fn agents_filter_assign_and_change_status() {
    let s = TestServer::start().await;
    let (ana_id, ana) = s.agent("Ana").await;
    let (_, first) = s.conversation().await;
    let (_, second) = s.conversation().await;
    let (_, all) = s.get("/api/v1/conversations", Some(&ana)).await;
    let ids: Vec<String> = all["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| str_of(c, "id"))
        .collect();
    assert_eq!(ids, vec![second.clone(), first.clone()], "newest first");

    let (status, c) = s
        .post(
            &format!("/api/v1/conversations/{first}/assign"),
            Some(&ana),
            json!({"agent_id": ana_id}),
        )
        .await;
    assert_eq!(
        (status, c["assignee"].as_str()),
        (200, Some(ana_id.as_str()))
    );
    let (_, mine) = s.get("/api/v1/conversations?assignee=me", Some(&ana)).await;
    assert_eq!(mine["conversations"].as_array().unwrap().len(), 1);
    let (_, none) = s
        .get("/api/v1/conversations?assignee=none", Some(&ana))
        .await;
    assert_eq!(str_of(&none["conversations"][0], "id"), second);

    let (status, c) = s
        .post(
            &format!("/api/v1/conversations/{first}/status"),
            Some(&ana),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!((status, c["status"].as_str()), (200, Some("resolved")));
    let (_, resolved) = s
        .get("/api/v1/conversations?status=resolved", Some(&ana))
        .await;
    assert_eq!(resolved["conversations"].as_array().unwrap().len(), 1);

    let (status, body) = s
        .get("/api/v1/conversations?status=closed", Some(&ana))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_status"))
    );
    let (status, body) = s
        .post(
            &format!("/api/v1/conversations/{first}/assign"),
            Some(&ana),
            json!({"agent_id": "ghost"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_agent"))
    );
    let (visitor, _) = s.conversation().await;
    assert_eq!(
        s.post(
            &format!("/api/v1/conversations/{first}/status"),
            Some(&visitor),
            json!({"status": "open"})
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn messages_are_idempotent_by_client_msg_id_and_paged_by_seq() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let path = format!("/api/v1/conversations/{c}/messages");
    let (status, first) = s
        .post(
            &path,
            Some(&visitor),
            json!({"body": "olá", "client_msg_id": "m1"}),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["seq"], 1);
    assert_eq!(first["author"]["kind"], "visitor");
    let r = s
        .http
        .post(s.url(&path))
        .bearer_auth(&visitor)
        .json(&json!({"body": "olá", "client_msg_id": "m1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = r.json().await.unwrap();
    assert_eq!(again, first);
    for i in 2..=5 {
        s.post(
            &path,
            Some(&visitor),
            json!({"body": format!("m{i}"), "client_msg_id": format!("m{i}")}),
        )
        .await;
    }
    let (_, page) = s
        .get(&format!("{path}?after_seq=2&limit=2"), Some(&visitor))
        .await;
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4]);
    let (_, conv) = s
        .get(&format!("/api/v1/conversations/{c}"), Some(&visitor))
        .await;
    assert_eq!(conv["last_seq"], 5);
}

#[tokio::test]
async fn an_oversize_or_empty_body_is_rejected_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let path = format!("/api/v1/conversations/{c}/messages");
    let (status, body) = s
        .post(
            &path,
            Some(&visitor),
            json!({"body": "x".repeat(4097), "client_msg_id": "big"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    let (status, body) = s
        .post(
            &path,
            Some(&visitor),
            json!({"body": "  ", "client_msg_id": "e"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("empty_body"))
    );
    let (_, page) = s.get(&path, Some(&visitor)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_visitor_writing_to_a_resolved_conversation_reopens_it() {
    let s = TestServer::start().await;
    let (_, ana) = s.agent("Ana").await;
    let (visitor, c) = s.conversation().await;
    s.post(
        &format!("/api/v1/conversations/{c}/status"),
        Some(&ana),
        json!({"status": "resolved"}),
    )
    .await;
    s.post(
        &format!("/api/v1/conversations/{c}/messages"),
        Some(&visitor),
        json!({"body": "still there?", "client_msg_id": "x"}),
    )
    .await;
    let (_, conv) = s
        .get(&format!("/api/v1/conversations/{c}"), Some(&ana))
        .await;
    assert_eq!(conv["status"], "open");
}

#[tokio::test]
async fn an_attachment_round_trips_through_the_embedded_upload_store() {
    let s = TestServer::start_with(&["--max-upload-mb=1"]).await;
    let (visitor, c) = s.conversation().await;
    let bytes = b"%PDF-1.4 pretend".to_vec();
    // The filename's path is stripped: the message below carries "invoice.pdf".
    let attachment = s
        .upload(
            &visitor,
            &c,
            "../invoice.pdf",
            "application/pdf",
            bytes.clone(),
        )
        .await;
    let (status, m) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
            json!({"body": "", "client_msg_id": "file", "attachments": [attachment]}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["attachments"][0]["filename"], "invoice.pdf");

    let r = s
        .http
        .get(s.url(&format!("/api/v1/attachments/{attachment}")))
        .bearer_auth(&visitor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let location = if location.starts_with('/') {
        s.url(&location)
    } else {
        location
    };
    let got = s.http.get(&location).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);

    let (_, stranger) = s.visitor().await;
    let r = s
        .http
        .get(s.url(&format!("/api/v1/attachments/{attachment}")))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (status, body) = s
        .post("/api/v1/uploads", Some(&visitor), json!({"conversation_id": c, "filename": "big.bin", "content_type": "application/octet-stream", "size": 2 * 1024 * 1024}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("upload_too_large"))
    );
    let (status, body) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
            json!({"body": "x", "client_msg_id": "f2", "attachments": ["nope"]}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_attachment"))
    );
}

#[tokio::test]
async fn an_attachment_can_be_sent_only_after_its_bytes_arrived_and_names_are_cleaned() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    // A leading dot used to reach the store as a hidden path and come back as 503 with an ERROR
    // line; bidi controls used to pass into the name shown to agents.
    let (status, up) = s
        .post("/api/v1/uploads", Some(&visitor), json!({"conversation_id": c, "filename": ".invoice\u{202E}fdp.exe", "content_type": "application/octet-stream", "size": 3}))
        .await;
    assert_eq!(status, 201, "{up}");
    let attachment = str_of(&up, "attachment_id");
    let path = format!("/api/v1/conversations/{c}/messages");
    let send = |id: String, n: u32| {
        s.post(
            &path,
            Some(&visitor),
            json!({"body": "", "client_msg_id": format!("m{n}"), "attachments": [id]}),
        )
    };
    let (status, body) = send(attachment.clone(), 1).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("attachment_not_uploaded")),
        "{body}"
    );
    let put = s
        .http
        .put(s.url(&str_of(&up, "upload_url")))
        .header("content-type", "application/octet-stream")
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let (status, m) = send(attachment, 2).await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["attachments"][0]["filename"], "invoicefdp.exe");

    let (status, body) = s
        .post("/api/v1/uploads", Some(&visitor), json!({"conversation_id": c, "filename": "..", "content_type": "text/plain", "size": 1}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_filename"))
    );
}

#[tokio::test]
async fn a_foreign_site_may_call_the_api_with_a_bearer_token() {
    let s = TestServer::start().await;
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/api/v1/conversations"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
}
