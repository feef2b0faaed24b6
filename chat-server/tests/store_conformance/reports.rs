//! Cases for satisfaction ratings, resolution times, the report's facts and bulk imports.

use chat_server::model::{
    Author, AuthorKind, Conversation, ConversationStatus, Message, NewMessage, Rating, new_id,
};
use chat_server::store::{ConversationFacts, ConversationPatch, Rated, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::Harness;
use super::fixtures::open_conversation;

fn rating(score: u8, comment: Option<&str>) -> Rating {
    Rating {
        score,
        comment: comment.map(str::to_string),
        created_at: chat_server::model::now(),
    }
}

fn status(s: ConversationStatus) -> ConversationPatch {
    ConversationPatch {
        status: Some(s),
        ..Default::default()
    }
}

pub async fn a_rating_is_stored_once_and_only_on_a_resolved_conversation(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    assert_eq!(c.rating, None);
    match store
        .rate_conversation(&c.id, &rating(5, None))
        .await
        .unwrap()
    {
        Rated::NotResolved(now) => assert_eq!(now.rating, None),
        other => panic!("an open conversation must not take a rating: {other:?}"),
    }
    store
        .update_conversation(&c.id, &status(ConversationStatus::Resolved))
        .await
        .unwrap();
    let first = rating(4, Some("rápido e gentil"));
    let Rated::Stored(rated) = store.rate_conversation(&c.id, &first).await.unwrap() else {
        panic!("a resolved conversation takes its first rating");
    };
    assert_eq!(rated.rating.as_ref(), Some(&first));
    match store
        .rate_conversation(&c.id, &rating(1, None))
        .await
        .unwrap()
    {
        Rated::AlreadyRated(now) => assert_eq!(now.rating.as_ref(), Some(&first)),
        other => panic!("a second rating must be refused: {other:?}"),
    }
    // Reopened and resolved again, it keeps the one rating it was given.
    store
        .update_conversation(&c.id, &status(ConversationStatus::Open))
        .await
        .unwrap();
    let stored = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(stored.rating, Some(first));
    let err = store
        .rate_conversation("no-such-conversation", &rating(3, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn two_replicas_rating_one_conversation_at_once_store_exactly_one(h: Harness) {
    let (a, b) = (h.open().await, h.open().await);
    let c = open_conversation(&a, ConversationStatus::Resolved).await;
    let mut tasks = Vec::new();
    for i in 0..10u8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (id, r) = (c.id.clone(), rating(i % 5 + 1, Some(&format!("r{i}"))));
        tasks.push(tokio::spawn(async move {
            (r.clone(), store.rate_conversation(&id, &r).await.unwrap())
        }));
    }
    let mut stored = Vec::new();
    for t in tasks {
        let (r, outcome) = t.await.unwrap();
        match outcome {
            Rated::Stored(_) => stored.push(r),
            Rated::AlreadyRated(_) => {}
            Rated::NotResolved(c) => panic!("it is resolved: {c:?}"),
        }
    }
    assert_eq!(stored.len(), 1, "exactly one rating wins: {stored:?}");
    let kept = a.conversation(&c.id).await.unwrap().unwrap().rating;
    assert_eq!(kept.as_ref(), stored.first());
}

pub async fn resolving_stamps_resolved_at_once_and_reopening_clears_it(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    assert_eq!(c.resolved_at, None);
    let resolved = store
        .update_conversation(&c.id, &status(ConversationStatus::Resolved))
        .await
        .unwrap();
    let at = resolved.resolved_at.expect("resolving stamps the time");
    assert!(at >= c.created_at, "{at} before {}", c.created_at);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // Resolving again, or another change, keeps the first time.
    let again = store
        .update_conversation(&c.id, &status(ConversationStatus::Resolved))
        .await
        .unwrap();
    assert_eq!(again.resolved_at, Some(at));
    let assigned = store
        .update_conversation(
            &c.id,
            &ConversationPatch {
                assignee: Some(Some("a1".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(assigned.resolved_at, Some(at));
    for s in [ConversationStatus::Pending, ConversationStatus::Open] {
        let reopened = store.update_conversation(&c.id, &status(s)).await.unwrap();
        assert_eq!(reopened.resolved_at, None, "{s:?}");
    }
    let stored = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(stored.resolved_at, None);
}

fn said(c: &str, kind: AuthorKind, body: &str, private: bool) -> NewMessage {
    NewMessage {
        conversation_id: c.to_string(),
        client_msg_id: None,
        author: Author {
            kind,
            id: format!("{kind:?}").to_lowercase(),
            name: None,
        },
        body: body.to_string(),
        attachments: Vec::new(),
        private,
    }
}

pub async fn appends_record_the_visitors_first_message_and_the_first_reply_after_it(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let mut times = Vec::new();
    for (kind, private) in [
        (AuthorKind::Agent, false), // a greeting before the visitor speaks: not a reply
        (AuthorKind::Visitor, false),
        (AuthorKind::Agent, true),    // a note: not a reply
        (AuthorKind::System, false),  // not a reply
        (AuthorKind::Agent, false),   // the first response
        (AuthorKind::Visitor, false), // later messages change nothing
        (AuthorKind::Agent, false),
    ] {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let m = store
            .append_message(said(&c.id, kind, "x", private))
            .await
            .unwrap();
        times.push(m.message().created_at);
    }
    let facts = store
        .report_facts(c.created_at, c.created_at + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(
        facts,
        vec![ConversationFacts {
            created_at: c.created_at,
            assignee: None,
            resolved: false,
            resolved_at: None,
            first_visitor_at: Some(times[1]),
            first_response_at: Some(times[4]),
            score: None,
        }]
    );
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn imported(
    created: &str,
    status: ConversationStatus,
    resolved: Option<&str>,
    score: Option<u8>,
    messages: &[(AuthorKind, bool, &str)],
) -> (Conversation, Vec<Message>) {
    let mut c = chat_server::model::Conversation {
        status,
        created_at: t(created),
        updated_at: t(created),
        assignee: Some("agent-1".into()),
        resolved_at: resolved.map(t),
        rating: score.map(|score| Rating {
            score,
            comment: Some("ok".into()),
            created_at: t(created) + Duration::hours(2),
        }),
        ..blank()
    };
    c.id = new_id();
    let messages = (1..)
        .zip(messages)
        .map(|(seq, (kind, private, at))| Message {
            id: new_id(),
            conversation_id: c.id.clone(),
            seq,
            client_msg_id: None,
            author: Author {
                kind: *kind,
                id: "someone".into(),
                name: None,
            },
            body: format!("message {seq}"),
            attachments: Vec::new(),
            private: *private,
            created_at: t(at),
        })
        .collect();
    (c, messages)
}

fn blank() -> Conversation {
    Conversation {
        id: String::new(),
        status: ConversationStatus::Open,
        visitor: chat_server::model::VisitorRef {
            id: "v1".into(),
            name: Some("Vera".into()),
        },
        assignee: None,
        created_at: t("2026-01-01T00:00:00Z"),
        updated_at: t("2026-01-01T00:00:00Z"),
        last_seq: 0,
        last_public_seq: 0,
        read: Default::default(),
        labels: vec!["billing".into()],
        team_id: None,
        resolved_at: None,
        rating: None,
        unread: None,
    }
}

pub async fn imported_conversations_read_back_with_their_times_and_derived_facts(h: Harness) {
    use AuthorKind::{Agent, Visitor};
    let store = h.open().await;
    let resolved = imported(
        "2026-11-02T09:00:00Z",
        ConversationStatus::Resolved,
        Some("2026-11-02T09:10:00Z"),
        Some(5),
        &[
            (Visitor, false, "2026-11-02T09:00:10Z"),
            (Agent, true, "2026-11-02T09:00:20Z"),
            (Agent, false, "2026-11-02T09:00:40Z"),
        ],
    );
    // An open conversation never has a resolution time, whatever it was given.
    let open = imported(
        "2026-11-02T23:59:59.999Z",
        ConversationStatus::Open,
        Some("2026-11-03T01:00:00Z"),
        None,
        &[(Agent, false, "2026-11-03T00:00:01Z")],
    );
    let outside = imported(
        "2026-11-03T00:00:00Z",
        ConversationStatus::Open,
        None,
        None,
        &[],
    );
    store
        .import_conversations(vec![resolved.clone(), open.clone(), outside.clone()])
        .await
        .unwrap();

    let back = store.conversation(&resolved.0.id).await.unwrap().unwrap();
    assert_eq!(
        back,
        Conversation {
            last_seq: 3,
            last_public_seq: 3,
            ..resolved.0.clone()
        }
    );
    assert_eq!(
        store.messages_after(&resolved.0.id, 0, 10).await.unwrap(),
        resolved.1
    );
    let open_back = store.conversation(&open.0.id).await.unwrap().unwrap();
    assert_eq!((open_back.resolved_at, open_back.last_seq), (None, 1));

    let mut facts = store
        .report_facts(t("2026-11-02T00:00:00Z"), t("2026-11-03T00:00:00Z"))
        .await
        .unwrap();
    facts.sort_by_key(|f| f.created_at);
    assert_eq!(
        facts,
        vec![
            ConversationFacts {
                created_at: t("2026-11-02T09:00:00Z"),
                assignee: Some("agent-1".into()),
                resolved: true,
                resolved_at: Some(t("2026-11-02T09:10:00Z")),
                first_visitor_at: Some(t("2026-11-02T09:00:10Z")),
                first_response_at: Some(t("2026-11-02T09:00:40Z")),
                score: Some(5),
            },
            ConversationFacts {
                created_at: t("2026-11-02T23:59:59.999Z"),
                assignee: Some("agent-1".into()),
                resolved: false,
                resolved_at: None,
                first_visitor_at: None,
                first_response_at: None,
                score: None,
            },
        ],
        "the range is [from, to): the conversation created at `to` is outside"
    );
    // An imported conversation takes live messages after its own.
    let next = store
        .append_message(said(&open.0.id, AuthorKind::Visitor, "hello", false))
        .await
        .unwrap();
    assert_eq!(next.message().seq, 2);
}
