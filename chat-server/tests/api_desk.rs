//! Black-box REST tests of the support desk's working tools: canned responses, labels, teams
//! and search (chat-api-v1, "v1.1 additions", *Working a conversation*), against a server on
//! 127.0.0.1:0 with the embedded store. The store conformance suite covers both stores; these
//! show the rules the core adds and the contract's shapes and codes.

mod common;

use common::{TestServer, str_of};
use reqwest::Method;
use serde_json::{Value, json};

/// Any method, with an optional JSON body.
async fn call(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s.http.request(method, s.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|x| str_of(x, "id"))
        .collect()
}

#[tokio::test]
async fn canned_responses_are_read_by_agents_written_by_admins_and_refused_to_visitors() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let (_, ana) = s.agent("Ana").await;
    let (visitor, _) = s.conversation().await;
    let hello = json!({"shortcut": "hello", "body": "Hello! How can I help?"});

    let (status, body) = s.get("/api/v1/canned-responses", Some(&visitor)).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (status, body) = s
        .post("/api/v1/canned-responses", Some(&ana), hello.clone())
        .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));

    let (status, created) = s
        .post("/api/v1/canned-responses", Some(&admin), hello.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["shortcut"], "hello");
    assert_eq!(created["body"], "Hello! How can I help?");
    let id = str_of(&created, "id");

    let (status, list) = s.get("/api/v1/canned-responses", Some(&ana)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids(&list["canned_responses"]), vec![id.clone()]);
    assert!(list["next"].is_null(), "{list}");

    let path = format!("/api/v1/canned-responses/{id}");
    let changed = json!({"shortcut": "hi", "body": "Hi there"});
    let (status, _) = call(&s, Method::PUT, &path, &ana, Some(changed.clone())).await;
    assert_eq!(status, 403);
    let (status, body) = call(&s, Method::DELETE, &path, &ana, None).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (status, replaced) = call(&s, Method::PUT, &path, &admin, Some(changed)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        (replaced["id"].as_str(), replaced["shortcut"].as_str()),
        (Some(id.as_str()), Some("hi"))
    );
    assert_eq!(replaced["body"], "Hi there");

    assert_eq!(call(&s, Method::DELETE, &path, &admin, None).await.0, 204);
    let (status, body) = call(&s, Method::DELETE, &path, &admin, None).await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (_, list) = s.get("/api/v1/canned-responses", Some(&ana)).await;
    assert!(ids(&list["canned_responses"]).is_empty(), "{list}");
}

#[tokio::test]
async fn a_shortcut_taken_in_any_case_is_a_409_duplicate_shortcut_on_create_and_on_replace() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let (status, _) = s
        .post(
            "/api/v1/canned-responses",
            Some(&admin),
            json!({"shortcut": "refund", "body": "Refunds take 5 days."}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = s
        .post(
            "/api/v1/canned-responses",
            Some(&admin),
            json!({"shortcut": "REFUND", "body": "Another text"}),
        )
        .await;
    assert_eq!((status, code(&body)), (409, "duplicate_shortcut"), "{body}");
    assert!(message(&body).contains("REFUND"), "{body}");

    let (_, other) = s
        .post(
            "/api/v1/canned-responses",
            Some(&admin),
            json!({"shortcut": "bye", "body": "Bye!"}),
        )
        .await;
    let path = format!("/api/v1/canned-responses/{}", str_of(&other, "id"));
    let (status, body) = call(
        &s,
        Method::PUT,
        &path,
        &admin,
        Some(json!({"shortcut": "Refund", "body": "Bye!"})),
    )
    .await;
    assert_eq!((status, code(&body)), (409, "duplicate_shortcut"), "{body}");
    // Keeping its own shortcut is no conflict.
    let (status, body) = call(
        &s,
        Method::PUT,
        &path,
        &admin,
        Some(json!({"shortcut": "bye", "body": "Goodbye!"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_shortcuts_and_bodies_are_refused_with_errors_naming_the_field() {
    let s = TestServer::start_with(&["--max-message-bytes=100"]).await;
    let (_, admin) = s.admin().await;
    let cases = [
        (
            json!({"shortcut": "", "body": "x"}),
            400,
            "invalid_shortcut",
            "shortcut",
        ),
        (
            json!({"shortcut": "two words", "body": "x"}),
            400,
            "invalid_shortcut",
            "shortcut",
        ),
        (
            json!({"shortcut": "x".repeat(33), "body": "x"}),
            400,
            "invalid_shortcut",
            "shortcut",
        ),
        (
            json!({"shortcut": "ok", "body": "  "}),
            400,
            "empty_body",
            "body",
        ),
        (
            json!({"shortcut": "ok", "body": "y".repeat(101)}),
            413,
            "body_too_large",
            "body",
        ),
    ];
    for (input, status, expected, field) in cases {
        let (got, body) = s
            .post("/api/v1/canned-responses", Some(&admin), input.clone())
            .await;
        assert_eq!((got, code(&body)), (status, expected), "{input} -> {body}");
        assert!(message(&body).starts_with(field), "{input} -> {body}");
    }
    let (status, body) = s
        .post(
            "/api/v1/canned-responses",
            Some(&admin),
            json!({"shortcut": "ok", "body": "y".repeat(100)}),
        )
        .await;
    assert_eq!(status, 201, "a body of exactly the limit fits: {body}");
}

#[tokio::test]
async fn lists_page_newest_first_with_next_until_the_last_page_and_bad_limits_name_limit() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let mut made = Vec::new();
    for i in 0..5 {
        let (status, c) = s
            .post(
                "/api/v1/canned-responses",
                Some(&admin),
                json!({"shortcut": format!("c{i}"), "body": format!("body {i}")}),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        made.push(str_of(&c, "id"));
    }
    made.reverse();

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/api/v1/canned-responses?limit=2".to_string();
    loop {
        let (status, page) = s.get(&path, Some(&admin)).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let items = ids(&page["canned_responses"]);
        assert!(!items.is_empty() && items.len() <= 2, "{page}");
        seen.extend(items);
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/canned-responses?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(
        (seen, pages),
        (made.clone(), 3),
        "5 items in pages of 2, newest first"
    );

    let (_, all) = s
        .get("/api/v1/canned-responses?limit=5", Some(&admin))
        .await;
    assert_eq!(ids(&all["canned_responses"]), made);
    assert!(all["next"].is_null(), "no cursor to an empty page: {all}");

    for bad in ["0", "201", "ten", "-3"] {
        for list in ["canned-responses", "teams", "agents", "search?q=x&"] {
            let sep = if list.ends_with('&') { "" } else { "?" };
            let (status, body) = s
                .get(&format!("/api/v1/{list}{sep}limit={bad}"), Some(&admin))
                .await;
            assert_eq!(
                (status, code(&body)),
                (400, "invalid_limit"),
                "{list} {bad}"
            );
            assert!(message(&body).starts_with("limit"), "{body}");
        }
    }
    let (status, body) = s
        .get("/api/v1/teams?before=not%20a%20cursor", Some(&admin))
        .await;
    assert_eq!((status, code(&body)), (400, "invalid_cursor"), "{body}");
}

#[tokio::test]
async fn the_agents_list_pages_newest_first_and_a_bad_cursor_is_refused_naming_before() {
    let s = TestServer::start().await;
    let (admin_id, admin) = s.admin().await;
    let (ana, _) = s.agent("Ana").await;
    let (bia, bia_token) = s.agent("Bia").await;

    let (status, first) = s.get("/api/v1/agents?limit=2", Some(&bia_token)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first["agents"]), vec![bia.clone(), ana.clone()]);
    let next = first["next"].as_str().expect("a cursor to the second page");
    let (status, second) = s
        .get(
            &format!("/api/v1/agents?limit=2&before={next}"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(ids(&second["agents"]), vec![admin_id.clone()]);
    assert!(second["next"].is_null(), "the last page: {second}");
    // The listed agent keeps its teams and presence on every page.
    let listed = &second["agents"][0];
    assert!(
        listed["teams"].is_array() && listed["presence"].is_string(),
        "{listed}"
    );

    let (_, all) = s.get("/api/v1/agents", Some(&admin)).await;
    assert_eq!(ids(&all["agents"]), vec![bia, ana, admin_id]);
    assert!(all["next"].is_null(), "{all}");

    let (status, body) = s
        .get("/api/v1/agents?before=not%20a%20cursor", Some(&admin))
        .await;
    assert_eq!((status, code(&body)), (400, "invalid_cursor"), "{body}");
    assert!(message(&body).starts_with("before"), "{body}");
}

#[tokio::test]
async fn labels_are_normalised_stored_announced_to_agents_and_filter_the_list() {
    let s = TestServer::start().await;
    let (_, ana) = s.agent("Ana").await;
    let (visitor, billing) = s.conversation().await;
    let (_, other) = s.conversation().await;
    let mut inbox = s.ws(&ana).await;
    // Once it answers, it is subscribed to the agents' topic.
    inbox.send(json!({"type": "ping"})).await;
    inbox.expect("pong").await;

    let path = format!("/api/v1/conversations/{billing}/labels");
    let (status, c) = call(
        &s,
        Method::PUT,
        &path,
        &ana,
        Some(json!({"labels": [" Billing ", "VIP", "billing"]})),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["labels"], json!(["billing", "vip"]));
    let frame = inbox.expect("conversation").await;
    assert_eq!(frame["conversation"]["id"], billing.as_str());
    assert_eq!(frame["conversation"]["labels"], json!(["billing", "vip"]));
    let (_, read_back) = s
        .get(&format!("/api/v1/conversations/{billing}"), Some(&ana))
        .await;
    assert_eq!(read_back["labels"], json!(["billing", "vip"]));

    let (_, filtered) = s
        .get("/api/v1/conversations?label=BILLING", Some(&ana))
        .await;
    assert_eq!(ids(&filtered["conversations"]), vec![billing.clone()]);
    let (_, all) = s.get("/api/v1/conversations", Some(&ana)).await;
    assert_eq!(ids(&all["conversations"]), vec![other, billing.clone()]);

    let (status, body) = call(
        &s,
        Method::PUT,
        &path,
        &visitor,
        Some(json!({"labels": []})),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (status, c) = call(&s, Method::PUT, &path, &ana, Some(json!({"labels": []}))).await;
    assert_eq!((status, c["labels"].clone()), (200, json!([])));
    let (_, filtered) = s
        .get("/api/v1/conversations?label=billing", Some(&ana))
        .await;
    assert!(ids(&filtered["conversations"]).is_empty(), "{filtered}");
    let (status, body) = call(
        &s,
        Method::PUT,
        "/api/v1/conversations/nope/labels",
        &ana,
        Some(json!({"labels": ["x"]})),
    )
    .await;
    assert_eq!((status, code(&body)), (404, "not_found"));
}

#[tokio::test]
async fn bad_labels_are_refused_with_errors_naming_the_label() {
    let s = TestServer::start().await;
    let (_, ana) = s.agent("Ana").await;
    let (_, c) = s.conversation().await;
    let path = format!("/api/v1/conversations/{c}/labels");
    let too_many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
    let cases = [
        (json!({"labels": ["ok", ""]}), "invalid_label", "labels[1]"),
        (
            json!({"labels": ["two words"]}),
            "invalid_label",
            "labels[0]",
        ),
        (
            json!({"labels": ["x".repeat(41)]}),
            "invalid_label",
            "labels[0]",
        ),
        (json!({"labels": ["a,b"]}), "invalid_label", "labels[0]"),
        (json!({"labels": too_many}), "too_many_labels", "labels"),
    ];
    for (input, expected, field) in cases {
        let (status, body) = call(&s, Method::PUT, &path, &ana, Some(input.clone())).await;
        assert_eq!((status, code(&body)), (400, expected), "{input} -> {body}");
        assert!(message(&body).starts_with(field), "{input} -> {body}");
    }
    let (status, body) = s.get("/api/v1/conversations?label=a%20b", Some(&ana)).await;
    assert_eq!((status, code(&body)), (400, "invalid_label"), "{body}");
    assert!(message(&body).starts_with("label"), "{body}");
    let (_, unchanged) = s
        .get(&format!("/api/v1/conversations/{c}"), Some(&ana))
        .await;
    assert_eq!(unchanged["labels"], json!([]));
}

#[tokio::test]
async fn teams_are_read_by_agents_written_by_admins_and_unknown_members_are_named() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let (ana_id, ana) = s.agent("Ana").await;
    let (bia_id, _) = s.agent("Bia").await;
    let (visitor, _) = s.conversation().await;

    let (status, body) = s.get("/api/v1/teams", Some(&visitor)).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let billing = json!({"name": "Billing", "agent_ids": [ana_id, bia_id, ana_id]});
    let (status, body) = s.post("/api/v1/teams", Some(&ana), billing.clone()).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));

    let (status, team) = s.post("/api/v1/teams", Some(&admin), billing).await;
    assert_eq!(status, 201, "{team}");
    assert_eq!(team["name"], "Billing");
    assert_eq!(
        team["agent_ids"],
        json!([ana_id, bia_id]),
        "repeats dropped"
    );
    let id = str_of(&team, "id");

    let (status, body) = s
        .post(
            "/api/v1/teams",
            Some(&admin),
            json!({"name": "Support", "agent_ids": [ana_id, "ghost-1", "ghost-2"]}),
        )
        .await;
    assert_eq!((status, code(&body)), (400, "unknown_agent"), "{body}");
    assert!(
        message(&body).contains("ghost-1") && message(&body).contains("ghost-2"),
        "{body}"
    );
    assert!(!message(&body).contains(&ana_id), "{body}");
    let (status, body) = s
        .post("/api/v1/teams", Some(&admin), json!({"name": "  "}))
        .await;
    assert_eq!((status, code(&body)), (400, "invalid_name"), "{body}");
    let (status, body) = s
        .post("/api/v1/teams", Some(&admin), json!({"name": "BILLING"}))
        .await;
    assert_eq!((status, code(&body)), (409, "duplicate_team"), "{body}");

    let (status, support) = s
        .post("/api/v1/teams", Some(&admin), json!({"name": "Support"}))
        .await;
    assert_eq!((status, support["agent_ids"].clone()), (201, json!([])));
    let (status, list) = s.get("/api/v1/teams", Some(&ana)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        ids(&list["teams"]),
        vec![str_of(&support, "id"), id.clone()]
    );
    assert!(list["next"].is_null());

    let path = format!("/api/v1/teams/{id}");
    let (status, _) = call(&s, Method::PATCH, &path, &ana, Some(json!({"name": "X"}))).await;
    assert_eq!(status, 403);
    let (status, team) = call(
        &s,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"agent_ids": [bia_id]})),
    )
    .await;
    assert_eq!(status, 200, "{team}");
    assert_eq!(
        (team["name"].clone(), team["agent_ids"].clone()),
        (json!("Billing"), json!([bia_id]))
    );
    let (status, body) = call(
        &s,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"name": "support"})),
    )
    .await;
    assert_eq!((status, code(&body)), (409, "duplicate_team"), "{body}");
    let (status, body) = call(
        &s,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"agent_ids": ["ghost"]})),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "unknown_agent"), "{body}");
    let (status, team) = call(
        &s,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({"name": "Finance"})),
    )
    .await;
    assert_eq!(
        (status, team["name"].clone(), team["agent_ids"].clone()),
        (200, json!("Finance"), json!([bia_id]))
    );

    let (status, _) = call(&s, Method::DELETE, &path, &ana, None).await;
    assert_eq!(status, 403);
    assert_eq!(call(&s, Method::DELETE, &path, &admin, None).await.0, 204);
    let (status, body) = call(&s, Method::DELETE, &path, &admin, None).await;
    assert_eq!((status, code(&body)), (404, "not_found"));
    let (_, list) = s.get("/api/v1/teams", Some(&ana)).await;
    assert_eq!(ids(&list["teams"]), vec![str_of(&support, "id")]);
}

#[tokio::test]
async fn a_conversation_assigned_to_a_team_carries_it_filters_by_it_and_leaves_it_when_deleted() {
    let s = TestServer::start().await;
    let (_, admin) = s.admin().await;
    let (ana_id, ana) = s.agent("Ana").await;
    let (_, routed) = s.conversation().await;
    let (_, other) = s.conversation().await;
    let (_, team) = s
        .post(
            "/api/v1/teams",
            Some(&admin),
            json!({"name": "Billing", "agent_ids": [ana_id]}),
        )
        .await;
    let team_id = str_of(&team, "id");
    let mut inbox = s.ws(&ana).await;
    // Once it answers, it is subscribed to the agents' topic.
    inbox.send(json!({"type": "ping"})).await;
    inbox.expect("pong").await;

    let assign = format!("/api/v1/conversations/{routed}/assign");
    let (status, c) = s
        .post(&assign, Some(&ana), json!({"team_id": team_id}))
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["team_id"].as_str(), c["assignee"].as_str()),
        (Some(team_id.as_str()), None)
    );
    let frame = inbox.expect("conversation").await;
    assert_eq!(frame["conversation"]["team_id"], team_id.as_str());

    let (status, c) = s
        .post(&assign, Some(&ana), json!({"agent_id": ana_id}))
        .await;
    assert_eq!(
        (status, c["assignee"].as_str(), c["team_id"].as_str()),
        (200, Some(ana_id.as_str()), Some(team_id.as_str())),
        "assigning an agent keeps the team"
    );

    let (_, by_team) = s
        .get(&format!("/api/v1/conversations?team={team_id}"), Some(&ana))
        .await;
    assert_eq!(ids(&by_team["conversations"]), vec![routed.clone()]);

    let (status, body) = s
        .post(&assign, Some(&ana), json!({"team_id": "ghost"}))
        .await;
    assert_eq!((status, code(&body)), (400, "unknown_team"), "{body}");
    let (status, body) = s.post(&assign, Some(&ana), json!({})).await;
    assert_eq!((status, code(&body)), (400, "invalid_assignment"), "{body}");
    assert!(
        message(&body).contains("agent_id") && message(&body).contains("team_id"),
        "{body}"
    );

    assert_eq!(
        call(
            &s,
            Method::DELETE,
            &format!("/api/v1/teams/{team_id}"),
            &admin,
            None
        )
        .await
        .0,
        204
    );
    let left = loop {
        let frame = inbox.expect("conversation").await;
        if frame["conversation"]["id"] == routed.as_str()
            && frame["conversation"]["team_id"].is_null()
        {
            break frame;
        }
    };
    assert_eq!(left["conversation"]["assignee"], ana_id.as_str());
    let (_, c) = s
        .get(&format!("/api/v1/conversations/{routed}"), Some(&ana))
        .await;
    assert!(c["team_id"].is_null(), "{c}");

    let unassign = format!("/api/v1/conversations/{other}/assign");
    let (status, c) = s
        .post(
            &unassign,
            Some(&ana),
            json!({"agent_id": null, "team_id": null}),
        )
        .await;
    assert_eq!(
        (status, c["assignee"].clone(), c["team_id"].clone()),
        (200, Value::Null, Value::Null)
    );
}

/// Sends `body` into `conversation` as `token` over REST.
async fn say(s: &TestServer, token: &str, conversation: &str, body: &str) -> String {
    let (status, m) = s
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            Some(token),
            json!({"body": body}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    str_of(&m, "id")
}

fn hits(page: &Value) -> Vec<(String, String)> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {page}"))
        .iter()
        .map(|r| (str_of(r, "conversation_id"), str_of(&r["message"], "id")))
        .collect()
}

#[tokio::test]
async fn search_finds_every_word_ignoring_case_and_accents_newest_first_for_agents_only() {
    let s = TestServer::start().await;
    let (_, ana) = s.agent("Ana").await;
    let (vera, first) = s.conversation().await;
    let (_, second) = s.conversation().await;
    let cafe = say(&s, &vera, &first, "Um Café com leite, por favor").await;
    let _tea = say(&s, &vera, &first, "E um chá").await;
    let gelado = say(&s, &ana, &second, "CAFE gelado acabou").await;

    let (status, page) = s.get("/api/v1/search?q=cafe", Some(&ana)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        hits(&page),
        vec![
            (second.clone(), gelado.clone()),
            (first.clone(), cafe.clone())
        ]
    );
    assert!(page["next"].is_null());
    assert_eq!(
        page["results"][1]["message"]["body"],
        "Um Café com leite, por favor"
    );

    let (_, both) = s
        .get("/api/v1/search?q=LEITE%20caf%C3%A9", Some(&ana))
        .await;
    assert_eq!(
        hits(&both),
        vec![(first.clone(), cafe.clone())],
        "every word must match"
    );
    let (_, none) = s.get("/api/v1/search?q=cafe%20cha", Some(&ana)).await;
    assert!(hits(&none).is_empty(), "{none}");

    let (_, p1) = s.get("/api/v1/search?q=cafe&limit=1", Some(&ana)).await;
    assert_eq!(hits(&p1), vec![(second.clone(), gelado)]);
    let next = str_of(&p1, "next");
    let (_, p2) = s
        .get(
            &format!("/api/v1/search?q=cafe&limit=1&before={next}"),
            Some(&ana),
        )
        .await;
    assert_eq!(hits(&p2), vec![(first, cafe)]);
    assert!(p2["next"].is_null(), "{p2}");

    for q in ["", "%20%20", "!%3F"] {
        let (status, body) = s.get(&format!("/api/v1/search?q={q}"), Some(&ana)).await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_query"),
            "{q:?}: {body}"
        );
        assert!(message(&body).starts_with("q "), "{body}");
    }
    let (status, body) = s.get("/api/v1/search", Some(&ana)).await;
    assert_eq!((status, code(&body)), (400, "invalid_query"), "{body}");
    let (status, body) = s.get("/api/v1/search?q=cafe", Some(&vera)).await;
    assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");
}

#[tokio::test]
async fn the_agent_list_names_each_agents_teams_and_an_admin_patch_sets_them() {
    let s = TestServer::start().await;
    let (admin_id, admin) = s.admin().await;
    let (ana, _) = s.agent("Ana").await;
    let (st, support) = s
        .post(
            "/api/v1/teams",
            Some(&admin),
            json!({"name": "Support", "agent_ids": [ana, admin_id]}),
        )
        .await;
    assert_eq!(st, 201, "{support}");
    let (_, billing) = s
        .post(
            "/api/v1/teams",
            Some(&admin),
            json!({"name": "Billing", "agent_ids": [ana]}),
        )
        .await;
    let (support, billing) = (str_of(&support, "id"), str_of(&billing, "id"));
    let teams_of = |list: &serde_json::Value, id: &str| -> Vec<String> {
        let agent = list["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone();
        let mut t: Vec<String> = serde_json::from_value(agent["teams"].clone()).unwrap();
        t.sort();
        t
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let (_, list) = s.get("/api/v1/agents", Some(&admin)).await;
    assert_eq!(
        teams_of(&list, &ana),
        sorted(vec![support.clone(), billing.clone()])
    );
    assert_eq!(teams_of(&list, &admin_id), vec![support.clone()]);

    let r = s
        .http
        .patch(s.url(&format!("/api/v1/agents/{ana}")))
        .bearer_auth(&admin)
        .json(&json!({"teams": [billing]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = s.get("/api/v1/agents", Some(&admin)).await;
    assert_eq!(teams_of(&list, &ana), vec![billing.clone()]);
    assert_eq!(teams_of(&list, &admin_id), vec![support]);
}

#[tokio::test]
async fn search_finds_private_notes_for_agents_marked_private() {
    let s = TestServer::start().await;
    let (_, ana) = s.agent("Ana").await;
    let (_, c) = s.conversation().await;
    let (status, note) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&ana),
            json!({"body": "Reembolso aprovado pelo financeiro", "private": true}),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let (status, page) = s.get("/api/v1/search?q=reembolso", Some(&ana)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(hits(&page), vec![(c, str_of(&note, "id"))]);
    assert_eq!(page["results"][0]["message"]["private"], true, "{page}");
}
