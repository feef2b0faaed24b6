//! Private notes: agents only, never any part of them to a visitor, and the visitor's stream
//! never waits for a note's seq.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, str_of};
use serde_json::{Value, json};

/// A reply must reach the visitor's socket this fast; waiting for a note's seq would cost the
/// hole grace (3 s) instead.
const PROMPT: Duration = Duration::from_millis(1000);

#[tokio::test]
async fn a_visitor_receives_every_reply_promptly_and_never_a_note() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, agent) = s.admin().await;
    let mut v_ws = s.ws(&visitor).await;
    v_ws.subscribe(&c, 0).await;
    let mut a_ws = s.ws(&agent).await;
    a_ws.subscribe(&c, 0).await;

    let mut slowest = Duration::ZERO;
    for i in 0..10 {
        // Two notes (one over the socket, one over REST), then a reply.
        a_ws.send(
            json!({"type": "send", "conversation_id": c, "client_msg_id": format!("n{i}"),
            "body": format!("note {i}: secret"), "private": true}),
        )
        .await;
        let ack = a_ws.expect("ack").await;
        assert_eq!(ack["message"]["private"], true, "{ack}");
        let (st, note) = s
            .post(
                &format!("/api/v1/conversations/{c}/messages"),
                Some(&agent),
                json!({"body": format!("rest note {i}: secret"), "client_msg_id": format!("r{i}"), "private": true}),
            )
            .await;
        assert_eq!((st, note["private"].clone()), (201, json!(true)), "{note}");
        let sent = Instant::now();
        a_ws.send(
            json!({"type": "send", "conversation_id": c, "client_msg_id": format!("m{i}"),
            "body": format!("reply {i}")}),
        )
        .await;
        loop {
            let f = tokio::time::timeout(PROMPT, v_ws.next())
                .await
                .unwrap_or_else(|_| panic!("reply {i} did not reach the visitor within {PROMPT:?}"))
                .expect("visitor socket open");
            assert!(
                !f.to_string().contains("secret"),
                "a note reached the visitor: {f}"
            );
            if f["type"] == "message" {
                assert_eq!(f["message"]["body"], format!("reply {i}"));
                break;
            }
        }
        slowest = slowest.max(sent.elapsed());
        assert_eq!(a_ws.expect("ack").await["client_msg_id"], format!("m{i}"));
    }
    eprintln!("10 replies after 20 notes: the slowest reached the visitor in {slowest:?}");

    // REST and the conversation object say nothing of the notes either.
    let (_, page) = s
        .get(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
        )
        .await;
    let bodies: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 10, "{bodies:?}");
    assert!(bodies.iter().all(|b| b.starts_with("reply")), "{bodies:?}");
    let (_, conv) = s
        .get(&format!("/api/v1/conversations/{c}"), Some(&visitor))
        .await;
    let last_reply = page["messages"][9]["seq"].clone();
    assert_eq!(conv["last_seq"], last_reply, "{conv}");
    let (_, conv) = s
        .get(&format!("/api/v1/conversations/{c}"), Some(&agent))
        .await;
    assert_eq!(conv["last_seq"], 30, "agents count every note: {conv}");
    let (_, page) = s
        .get(
            &format!("/api/v1/conversations/{c}/messages?limit=100"),
            Some(&agent),
        )
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 30);

    // A visitor resuming from 0 replays the replies only.
    let mut again = s.ws(&visitor).await;
    let replayed = again.subscribe(&c, 0).await;
    assert_eq!(replayed.len(), 10);
    assert!(replayed.iter().all(|m| m["private"] != json!(true)));
}

#[tokio::test]
async fn a_visitor_cannot_write_a_note_nor_take_one_by_its_client_msg_id() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, agent) = s.admin().await;
    let (st, v) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
            json!({"body": "hi", "client_msg_id": "v1", "private": true}),
        )
        .await;
    assert_eq!((st, v["error"]["code"].clone()), (403, json!("forbidden")));
    let mut ws = s.ws(&visitor).await;
    ws.send(json!({"type": "send", "conversation_id": c, "client_msg_id": "v2", "body": "hi", "private": true}))
        .await;
    let e = ws.expect("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("forbidden"), Some("v2"))
    );

    // An agent's note, and the visitor "retrying" its client_msg_id: refused, nothing leaks.
    let (st, _) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&agent),
            json!({"body": "secret", "client_msg_id": "guess", "private": true}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, v) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(&visitor),
            json!({"body": "hello", "client_msg_id": "guess"}),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(str_of(&v["error"], "code"), "duplicate_client_msg_id");
    assert!(!v.to_string().contains("secret"), "{v}");
    let _: Value = v;
}

#[tokio::test]
async fn a_visitor_subscribing_after_a_trailing_note_is_told_the_last_reply_seq() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, agent) = s.admin().await;
    for (body, private) in [("hello", false), ("internal: vip", true)] {
        let (st, m) = s
            .post(
                &format!("/api/v1/conversations/{c}/messages"),
                Some(&agent),
                json!({"body": body, "private": private}),
            )
            .await;
        assert_eq!(st, 201, "{m}");
    }
    for after in [0, 1] {
        let mut ws = s.ws(&visitor).await;
        ws.send(json!({"type": "subscribe", "conversation_id": c, "after_seq": after}))
            .await;
        let subscribed = ws.expect("subscribed").await;
        assert_eq!(
            subscribed["last_seq"], 1,
            "after_seq {after}: the visitor learnt of the note's seq: {subscribed}"
        );
    }
    let mut ws = s.ws(&agent).await;
    ws.send(json!({"type": "subscribe", "conversation_id": c, "after_seq": 0}))
        .await;
    assert_eq!(
        ws.expect("subscribed").await["last_seq"],
        2,
        "agents count notes"
    );
}

/// An uploaded file (bytes sent) in conversation `c` by `token`; its attachment id.
async fn uploaded(s: &TestServer, token: &str, c: &str, filename: &str) -> String {
    s.upload(
        token,
        c,
        filename,
        "application/pdf",
        b"%PDF-1.4 internal".to_vec(),
    )
    .await
}

/// `GET /api/v1/attachments/{id}` as JSON: status and body.
async fn download(s: &TestServer, token: &str, id: &str) -> (u16, Value) {
    let r = s
        .http
        .get(s.url(&format!("/api/v1/attachments/{id}")))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_notes_file_is_unknown_to_the_visitor_who_can_neither_fetch_nor_attach_it() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, agent) = s.admin().await;
    let messages = format!("/api/v1/conversations/{c}/messages");
    let secret = uploaded(&s, &agent, &c, "payroll.pdf").await;
    let (st, note) = s
        .post(
            &messages,
            Some(&agent),
            json!({"body": "see the file", "client_msg_id": "n1", "private": true, "attachments": [secret]}),
        )
        .await;
    assert_eq!(st, 201, "{note}");
    let shared = uploaded(&s, &agent, &c, "invoice.pdf").await;
    let (st, reply) = s
        .post(
            &messages,
            Some(&agent),
            json!({"body": "your invoice", "client_msg_id": "r1", "attachments": [shared]}),
        )
        .await;
    assert_eq!(st, 201, "{reply}");
    let unknown = "01jzzzzzzzzzzzzzzzzzzzzzzz";
    // The same answer as for a file that does not exist, but for the id it names.
    let same =
        |(status, body): (u16, Value), id: &str| (status, body.to_string().replace(id, "ID"));

    let refused = download(&s, &visitor, &secret).await;
    assert_eq!(refused.0, 404, "{}", refused.1);
    assert_eq!(
        same(refused, &secret),
        same(download(&s, &visitor, unknown).await, unknown)
    );
    // Agents fetch it, and the visitor fetches what was sent to it.
    assert_eq!(download(&s, &agent, &secret).await.0, 200);
    assert_eq!(download(&s, &visitor, &shared).await.0, 200);

    let attach = |id: &str, n: &str| {
        s.post(
            &messages,
            Some(&visitor),
            json!({"body": "mine now", "client_msg_id": n, "attachments": [id]}),
        )
    };
    let refused = attach(&secret, "v1").await;
    assert_eq!(refused.0, 400, "{}", refused.1);
    assert_eq!(
        same(refused, &secret),
        same(attach(unknown, "v2").await, unknown)
    );
    let mut ws = s.ws(&visitor).await;
    let seen = ws.subscribe(&c, 0).await;
    assert!(
        seen.iter().all(|m| !m.to_string().contains(&secret)),
        "{seen:?}"
    );
}
