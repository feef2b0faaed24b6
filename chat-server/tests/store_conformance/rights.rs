//! Cases for data rights: the export's visitor pages, erasing a conversation with all it holds,
//! deleting a visitor, and what retention finds.

use chat_server::model::{
    Attachment, Author, AuthorKind, Conversation, ConversationStatus, NewMessage, Reader,
    VisitorRef, new_id, now,
};
use chat_server::store::{ConversationFilter, Erased, Page, Store};

use super::Harness;
use super::fixtures::{created, open_conversation, text, visitor};

fn attachment(conversation_id: &str, name: &str) -> Attachment {
    let id = new_id();
    Attachment {
        key: format!("conversations/{conversation_id}/{id}/{name}"),
        id,
        conversation_id: conversation_id.to_string(),
        filename: name.to_string(),
        content_type: "application/pdf".into(),
        size: 10,
        uploaded_by: Author {
            kind: AuthorKind::Visitor,
            id: "visitor-1".into(),
            name: None,
        },
        created_at: now(),
    }
}

/// A conversation with two messages, a note, a label, a read position and two attachments
/// (one sent in a message, one only announced).
async fn full_conversation(store: &std::sync::Arc<dyn Store>, word: &str) -> Conversation {
    let c = open_conversation(store, ConversationStatus::Open).await;
    let sent = attachment(&c.id, "sent.pdf");
    store.create_attachment(sent.clone()).await.unwrap();
    store
        .create_attachment(attachment(&c.id, "announced.pdf"))
        .await
        .unwrap();
    let with_file = NewMessage {
        attachments: vec![sent.as_ref()],
        ..text(&c.id, Some("a"), &format!("{word} first"))
    };
    created(store.append_message(with_file).await.unwrap());
    let note = NewMessage {
        private: true,
        ..text(&c.id, Some("b"), &format!("{word} note"))
    };
    created(store.append_message(note).await.unwrap());
    created(
        store
            .append_message(text(&c.id, Some("c"), &format!("{word} third")))
            .await
            .unwrap(),
    );
    store
        .mark_read(&c.id, &Reader::Agent("agent-1".into()), 2)
        .await
        .unwrap();
    store
        .set_labels(&c.id, &[format!("{word}-label")])
        .await
        .unwrap()
}

pub async fn erasing_a_conversation_removes_all_it_holds_and_nothing_else(h: Harness) {
    let store = h.open().await;
    let gone = full_conversation(&store, "zebra").await;
    let kept = full_conversation(&store, "yak").await;
    let gone_files = store.attachments_of(&gone.id).await.unwrap();
    assert_eq!(gone_files.len(), 2);
    assert_eq!(
        gone_files.iter().map(|a| &a.filename).collect::<Vec<_>>(),
        ["sent.pdf", "announced.pdf"],
        "oldest first"
    );

    let erased = store.erase_conversation(&gone.id).await.unwrap();
    assert_eq!(
        erased,
        Some(Erased {
            messages: 3,
            attachments: 2
        })
    );
    assert_eq!(store.conversation(&gone.id).await.unwrap(), None);
    assert!(
        store
            .messages_after(&gone.id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.attachments_of(&gone.id).await.unwrap().is_empty());
    for a in &gone_files {
        assert_eq!(store.attachment(&a.id).await.unwrap(), None);
    }
    let page = Page {
        before_id: None,
        limit: 50,
    };
    assert!(
        store
            .search_messages("zebra", &page)
            .await
            .unwrap()
            .is_empty()
    );
    let labelled = |label: &str| ConversationFilter {
        label: Some(label.to_string()),
        ..ConversationFilter::default()
    };
    assert!(
        store
            .list_conversations(&labelled("zebra-label"))
            .await
            .unwrap()
            .is_empty()
    );

    // The other conversation is untouched.
    assert_eq!(
        store.messages_after(&kept.id, 0, 10).await.unwrap().len(),
        3
    );
    assert_eq!(store.attachments_of(&kept.id).await.unwrap().len(), 2);
    assert_eq!(store.search_messages("yak", &page).await.unwrap().len(), 3);
    assert_eq!(
        store
            .list_conversations(&labelled("yak-label"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.conversation(&kept.id).await.unwrap(), Some(kept));

    // Again: nothing left to erase.
    assert_eq!(store.erase_conversation(&gone.id).await.unwrap(), None);
}

pub async fn visitors_page_newest_first_and_deleting_one_says_whether_it_was_there(h: Harness) {
    let store = h.open().await;
    let mut made = Vec::new();
    for name in ["Ana", "Bia", "Caio"] {
        let v = visitor(Some(name));
        store.create_visitor(v.clone()).await.unwrap();
        made.push(v);
    }
    made.reverse();
    let first = store
        .list_visitors(&Page {
            before_id: None,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(first, made[..2]);
    let rest = store
        .list_visitors(&Page {
            before_id: Some(first[1].id.clone()),
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(rest, made[2..]);

    assert!(store.delete_visitor(&made[0].id).await.unwrap());
    assert_eq!(store.visitor(&made[0].id).await.unwrap(), None);
    assert!(!store.delete_visitor(&made[0].id).await.unwrap());
    assert_eq!(
        store.visitor(&made[1].id).await.unwrap(),
        Some(made[1].clone())
    );
}

pub async fn retention_finds_resolved_conversations_untouched_since_least_recent_first(h: Harness) {
    let store = h.open().await;
    let days_ago = |d: i64| now() - chrono::Duration::days(d);
    let make = |status: ConversationStatus, updated: i64| {
        let store = store.clone();
        async move {
            let v = visitor(Some("Ana"));
            store.create_visitor(v.clone()).await.unwrap();
            store
                .create_conversation(Conversation {
                    id: new_id(),
                    status,
                    visitor: VisitorRef {
                        id: v.id,
                        name: v.name,
                    },
                    assignee: None,
                    created_at: days_ago(updated + 1),
                    updated_at: days_ago(updated),
                    last_seq: 0,
                    last_public_seq: 0,
                    read: Default::default(),
                    labels: Vec::new(),
                    team_id: None,
                    resolved_at: None,
                    rating: None,
                    unread: None,
                })
                .await
                .unwrap()
        }
    };
    let old = make(ConversationStatus::Resolved, 40).await;
    let older = make(ConversationStatus::Resolved, 50).await;
    let _recent = make(ConversationStatus::Resolved, 10).await;
    let _old_but_open = make(ConversationStatus::Open, 60).await;
    let _old_but_pending = make(ConversationStatus::Pending, 60).await;

    let due = store.resolved_before(days_ago(30), 10).await.unwrap();
    assert_eq!(due, [older.clone(), old.clone()]);
    assert_eq!(
        store.resolved_before(days_ago(30), 1).await.unwrap(),
        [older]
    );
    assert!(
        store
            .resolved_before(days_ago(55), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A message is a touch: the conversation is no longer due.
    created(
        store
            .append_message(text(&old.id, None, "still here?"))
            .await
            .unwrap(),
    );
    assert_eq!(
        store.resolved_before(days_ago(30), 10).await.unwrap().len(),
        1
    );
}

pub async fn kept_object_keys_come_due_at_their_time_keep_the_later_one_and_go_when_swept(
    h: Harness,
) {
    let store = h.open().await;
    let other_replica = h.open().await;
    let at = now();
    let secs = chrono::Duration::seconds;
    let (a, b, c) = (
        "conversations/1/a/x.pdf",
        "conversations/1/b/y.pdf",
        "conversations/2/c/z.pdf",
    );
    store
        .schedule_blob_sweeps(&[a.to_string(), b.to_string()], at + secs(10))
        .await
        .unwrap();
    store
        .schedule_blob_sweeps(&[c.to_string()], at + secs(5))
        .await
        .unwrap();
    assert!(store.due_blob_sweeps(at, 10).await.unwrap().is_empty());
    assert_eq!(store.due_blob_sweeps(at + secs(5), 10).await.unwrap(), [c]);
    // Earliest first, then by key; the limit holds.
    assert_eq!(
        other_replica
            .due_blob_sweeps(at + secs(10), 10)
            .await
            .unwrap(),
        [c, a, b]
    );
    assert_eq!(
        store.due_blob_sweeps(at + secs(60), 2).await.unwrap(),
        [c, a]
    );

    // Kept again: the later time wins, whichever comes second.
    store
        .schedule_blob_sweeps(&[a.to_string()], at + secs(30))
        .await
        .unwrap();
    store
        .schedule_blob_sweeps(&[c.to_string()], at + secs(1))
        .await
        .unwrap();
    assert_eq!(
        store.due_blob_sweeps(at + secs(10), 10).await.unwrap(),
        [c, b]
    );

    store.blob_swept(c).await.unwrap();
    other_replica.blob_swept(c).await.unwrap();
    store.blob_swept("never-kept").await.unwrap();
    assert_eq!(
        store.due_blob_sweeps(at + secs(60), 10).await.unwrap(),
        [b, a]
    );
}
