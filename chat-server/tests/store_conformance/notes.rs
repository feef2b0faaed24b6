//! Cases for private notes: one seq space with the public messages, and the public high mark a
//! visitor is shown.

use chat_server::model::{AttachmentRef, ConversationStatus, NewMessage};
use chat_server::store::Appended;

use super::Harness;
use super::fixtures::{created, open_conversation, text};

fn note(conversation_id: &str, client_msg_id: &str, body: &str) -> NewMessage {
    NewMessage {
        private: true,
        ..text(conversation_id, Some(client_msg_id), body)
    }
}

pub async fn private_notes_take_seqs_from_the_one_sequence_and_leave_last_public_seq(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    assert_eq!((c.last_seq, c.last_public_seq), (0, 0));
    let sends = [
        (note(&c.id, "n0", "VIP customer"), (1, 0)),
        (text(&c.id, Some("p1"), "hello"), (2, 2)),
        (note(&c.id, "n1", "refund?"), (3, 2)),
        (note(&c.id, "n2", "yes, approved"), (4, 2)),
        (text(&c.id, Some("p2"), "refunded"), (5, 5)),
        (note(&c.id, "n3", "done"), (6, 5)),
    ];
    let mut stored = Vec::new();
    for (i, (message, (last_seq, last_public_seq))) in sends.into_iter().enumerate() {
        let private = message.private;
        let m = created(store.append_message(message).await.unwrap());
        assert_eq!((m.seq, m.private), (i as u64 + 1, private));
        let now = store.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(
            (now.last_seq, now.last_public_seq),
            (last_seq, last_public_seq),
            "after seq {}",
            m.seq
        );
        stored.push(m);
    }
    // Every message comes back, notes flagged; the visitor's view counts no note.
    assert_eq!(store.messages_after(&c.id, 0, 10).await.unwrap(), stored);
    let seen = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(seen.clone().as_visitor_sees_it().last_seq, 5);

    // A retransmitted note is the original note.
    match store
        .append_message(note(&c.id, "n1", "again"))
        .await
        .unwrap()
    {
        Appended::Existing(m) => assert_eq!(m, stored[2]),
        other => panic!("expected the original note, got {other:?}"),
    }
    // The wire form says "private" only for notes.
    let wire = |m: &chat_server::model::Message| serde_json::to_value(m).unwrap();
    assert_eq!(wire(&stored[0])["private"], serde_json::json!(true));
    assert!(
        wire(&stored[1]).get("private").is_none(),
        "{}",
        wire(&stored[1])
    );
}

pub async fn only_a_public_message_of_the_conversation_carries_an_attachment_publicly(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let other = open_conversation(&store, ConversationStatus::Open).await;
    let file = |id: &str| AttachmentRef {
        id: id.to_string(),
        filename: format!("{id}.pdf"),
        content_type: "application/pdf".into(),
        size: 10,
    };
    let with = |message: NewMessage, ids: &[&str]| NewMessage {
        attachments: ids.iter().map(|id| file(id)).collect(),
        ..message
    };
    for message in [
        with(note(&c.id, "n1", "internal"), &["secret", "both"]),
        with(text(&c.id, Some("p1"), "for you"), &["shared", "both"]),
        with(text(&other.id, Some("p2"), "elsewhere"), &["foreign"]),
        text(&c.id, Some("p3"), "no file"),
    ] {
        created(store.append_message(message).await.unwrap());
    }
    for (id, public) in [
        ("secret", false),
        ("shared", true),
        ("both", true),
        ("foreign", false),
        ("never-sent", false),
    ] {
        assert_eq!(
            store.carried_publicly(&c.id, id).await.unwrap(),
            public,
            "{id}"
        );
    }
    assert!(store.carried_publicly(&other.id, "foreign").await.unwrap());
}
