//! Stored read state and unread counts: `read` frames persist, lists carry each agent's own
//! unread count, an agent's own messages never count, and agents hear about new messages in
//! conversations they have not opened.

mod common;

use std::time::Duration;

use common::{TestServer, Ws};
use serde_json::{Value, json};

/// `token`'s holder (a visitor or an agent) sends `body` into `c`.
async fn says(s: &TestServer, token: &str, c: &str, body: &str) {
    let (st, m) = s
        .post(
            &format!("/api/v1/conversations/{c}/messages"),
            Some(token),
            json!({"body": body, "client_msg_id": body}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
}

/// The agent's view of `c` in its own list.
async fn listed(s: &TestServer, agent: &str, c: &str) -> Value {
    let (st, list) = s.get("/api/v1/conversations", Some(agent)).await;
    assert_eq!(st, 200, "{list}");
    list["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .find(|x| x["id"] == c)
        .cloned()
        .unwrap_or_else(|| panic!("{c} not listed: {list}"))
}

/// Frames until a `conversation` frame for `c` whose `pred` holds.
async fn conversation_frame(ws: &mut Ws, c: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let f = ws.expect("conversation").await;
        if f["conversation"]["id"] == c && pred(&f["conversation"]) {
            return f["conversation"].clone();
        }
    }
}

#[tokio::test]
async fn read_frames_are_stored_and_each_agent_has_its_own_unread_count() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (a_id, a) = s.admin().await;
    let (_, b) = s.agent("Bea").await;
    for body in ["one", "two", "three"] {
        says(&s, &visitor, &c, body).await;
    }
    assert_eq!(listed(&s, &a, &c).await["unread"], 3);

    let mut a_ws = s.ws(&a).await;
    a_ws.subscribe(&c, 0).await;
    a_ws.send(json!({"type": "read", "conversation_id": c, "seq": 2}))
        .await;
    let receipt = a_ws.expect("read").await;
    assert_eq!(
        (receipt["seq"].clone(), receipt["author"]["id"].clone()),
        (json!(2), json!(a_id))
    );

    // Stored, not only broadcast: a fresh GET (as after a reload) shows it.
    let (_, got) = s.get(&format!("/api/v1/conversations/{c}"), Some(&a)).await;
    assert_eq!(got["read"]["agents"][&a_id], 2, "{got}");
    assert_eq!(got["unread"], 1, "{got}");
    assert_eq!(listed(&s, &a, &c).await["unread"], 1);
    assert_eq!(listed(&s, &b, &c).await["unread"], 3, "B has read nothing");

    // A read never moves back, and an old seq tells no one.
    a_ws.send(json!({"type": "read", "conversation_id": c, "seq": 1}))
        .await;
    assert_eq!(listed(&s, &a, &c).await["unread"], 1);

    // The agent's own reply does not count as unread for it; it does for B.
    a_ws.send(json!({"type": "read", "conversation_id": c, "seq": 3}))
        .await;
    a_ws.send(
        json!({"type": "send", "conversation_id": c, "client_msg_id": "r1", "body": "hello"}),
    )
    .await;
    a_ws.expect("ack").await;
    assert_eq!(listed(&s, &a, &c).await["unread"], 0);
    assert_eq!(listed(&s, &b, &c).await["unread"], 4);

    // The visitor's read is stored too, and a seq beyond the end is refused by name.
    let mut v_ws = s.ws(&visitor).await;
    v_ws.subscribe(&c, 0).await;
    v_ws.send(json!({"type": "read", "conversation_id": c, "seq": 4}))
        .await;
    v_ws.expect("read").await;
    let (_, got) = s.get(&format!("/api/v1/conversations/{c}"), Some(&b)).await;
    assert_eq!(got["read"]["visitor"], 4, "{got}");
    v_ws.send(json!({"type": "read", "conversation_id": c, "seq": 99}))
        .await;
    let err = v_ws.expect("error").await;
    assert_eq!(err["code"], "invalid_seq", "{err}");
}

#[tokio::test]
async fn a_read_past_a_trailing_note_shows_the_visitor_only_the_public_seq() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (_, a) = s.admin().await;
    says(&s, &visitor, &c, "hi").await;
    let mut v_ws = s.ws(&visitor).await;
    v_ws.subscribe(&c, 0).await;
    let mut a_ws = s.ws(&a).await;
    a_ws.subscribe(&c, 0).await;
    a_ws.send(
        json!({"type": "send", "conversation_id": c, "client_msg_id": "n1",
        "body": "internal", "private": true}),
    )
    .await;
    a_ws.expect("ack").await;
    // Seq 2 is the note; a second agent reads it.
    let (_, b) = s.agent("Bea").await;
    let mut b_ws = s.ws(&b).await;
    b_ws.send(json!({"type": "read", "conversation_id": c, "seq": 2}))
        .await;
    let receipt = v_ws.expect("read").await;
    assert_eq!(
        receipt["seq"], 1,
        "the visitor learnt of the note's seq: {receipt}"
    );
    let (_, seen) = s
        .get(&format!("/api/v1/conversations/{c}"), Some(&visitor))
        .await;
    assert_eq!(seen["last_seq"], 1, "{seen}");
    assert!(
        seen["read"]["agents"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.as_u64() <= Some(1)),
        "{seen}"
    );
    assert!(
        seen.get("unread").is_none(),
        "unread is the agents' own: {seen}"
    );
}

#[tokio::test]
async fn agents_hear_new_messages_in_conversations_they_have_not_opened() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (a_id, a) = s.admin().await;
    // Two tabs of agent A, neither subscribed to the conversation.
    let mut tab1 = s.ws(&a).await;
    let mut tab2 = s.ws(&a).await;
    says(&s, &visitor, &c, "anyone there?").await;
    let heard = tokio::time::timeout(
        Duration::from_secs(2),
        conversation_frame(&mut tab1, &c, |x| x["last_seq"] == 1),
    )
    .await
    .expect("no conversation frame for a new message within 2 s");
    assert_eq!(heard["read"]["agents"].get(&a_id), None, "{heard}");

    // Reading in one tab reaches the other, so its badge clears too.
    tab1.send(json!({"type": "read", "conversation_id": c, "seq": 1}))
        .await;
    let cleared = conversation_frame(&mut tab2, &c, |x| x["read"]["agents"][&a_id] == 1).await;
    assert_eq!(cleared["last_seq"], 1);

    // The visitor's socket is not an agent's: it hears no conversation frames.
    let mut v_ws = s.ws(&visitor).await;
    v_ws.subscribe(&c, 0).await;
    says(&s, &visitor, &c, "hello?").await;
    conversation_frame(&mut tab2, &c, |x| x["last_seq"] == 2).await;
    while let Ok(Some(f)) = v_ws.next_within(Duration::from_millis(300)).await {
        assert_ne!(f["type"], "conversation", "{f}");
    }
}

/// The `conversation` frame a sent message makes already counts it as read by its author, so the
/// author's other tabs show no unread badge for what it just wrote.
#[tokio::test]
async fn an_agents_own_message_reaches_its_other_tabs_as_read() {
    let s = TestServer::start().await;
    let (visitor, c) = s.conversation().await;
    let (a_id, a) = s.admin().await;
    says(&s, &visitor, &c, "hi").await;
    let mut other_tab = s.ws(&a).await;
    says(&s, &a, &c, "hello, how can I help?").await;
    let heard = tokio::time::timeout(
        Duration::from_secs(2),
        conversation_frame(&mut other_tab, &c, |x| x["last_seq"] == 2),
    )
    .await
    .expect("no conversation frame for the agent's message within 2 s");
    assert_eq!(heard["read"]["agents"][&a_id], 2, "{heard}");
    assert_eq!(listed(&s, &a, &c).await["unread"], 0);
}
