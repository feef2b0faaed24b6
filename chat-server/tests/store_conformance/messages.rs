//! Cases for messages (seq, idempotency, reading back, concurrency) and attachments.

use std::collections::{BTreeMap, BTreeSet};

use chat_server::model::{
    Attachment, AttachmentRef, Author, AuthorKind, ConversationStatus, NewMessage, new_id, now,
};
use chat_server::store::{Appended, StoreError};

use super::Harness;
use super::fixtures::{created, open_conversation, stored_messages, text};

pub async fn appended_messages_get_seqs_from_one_and_bump_the_conversation(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let before = now();
    let first = created(
        store
            .append_message(text(&c.id, Some("c1"), "olá"))
            .await
            .unwrap(),
    );
    let second = created(
        store
            .append_message(text(&c.id, None, "tudo bem?"))
            .await
            .unwrap(),
    );
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(first.conversation_id, c.id);
    assert_eq!(first.client_msg_id.as_deref(), Some("c1"));
    assert_eq!(second.client_msg_id, None);
    assert!(first.created_at >= before && second.created_at >= first.created_at);
    assert_ne!(first.id, second.id);

    let after = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(after.last_seq, 2);
    assert!(
        after.updated_at >= second.created_at && after.updated_at > c.updated_at,
        "{after:?}"
    );
    assert_eq!(
        store.messages_after(&c.id, 0, 10).await.unwrap(),
        vec![first, second]
    );
}

pub async fn appending_to_a_missing_conversation_is_not_found_and_stores_nothing(h: Harness) {
    let store = h.open().await;
    let missing = new_id();
    let err = store
        .append_message(text(&missing, Some("c1"), "hello?"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert!(stored_messages(&store, &missing).await.is_empty());
}

pub async fn duplicate_client_msg_id_returns_the_original_message(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let original = created(
        store
            .append_message(text(&c.id, Some("c1"), "first"))
            .await
            .unwrap(),
    );
    let last = store.conversation(&c.id).await.unwrap().unwrap();

    let again = store
        .append_message(text(&c.id, Some("c1"), "resent, maybe edited"))
        .await
        .unwrap();
    assert_eq!(again, Appended::Existing(original.clone()));
    assert_eq!(
        store.messages_after(&c.id, 0, 10).await.unwrap(),
        vec![original]
    );
    assert_eq!(store.conversation(&c.id).await.unwrap().unwrap(), last);
    let next = created(
        store
            .append_message(text(&c.id, Some("c2"), "second"))
            .await
            .unwrap(),
    );
    assert_eq!(next.seq, 2);
}

pub async fn the_same_client_msg_id_in_two_conversations_is_two_messages(h: Harness) {
    let store = h.open().await;
    let a = open_conversation(&store, ConversationStatus::Open).await;
    let b = open_conversation(&store, ConversationStatus::Open).await;
    let in_a = created(
        store
            .append_message(text(&a.id, Some("same"), "to a"))
            .await
            .unwrap(),
    );
    let in_b = created(
        store
            .append_message(text(&b.id, Some("same"), "to b"))
            .await
            .unwrap(),
    );
    assert_eq!((in_a.seq, in_b.seq), (1, 1));
    assert_eq!(
        store.messages_after(&a.id, 0, 10).await.unwrap(),
        vec![in_a]
    );
    assert_eq!(
        store.messages_after(&b.id, 0, 10).await.unwrap(),
        vec![in_b]
    );
}

pub async fn messages_after_returns_ascending_seqs_above_after_seq_up_to_limit(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let other = open_conversation(&store, ConversationStatus::Open).await;
    store
        .append_message(text(&other.id, None, "elsewhere"))
        .await
        .unwrap();
    for i in 1..=7 {
        store
            .append_message(text(&c.id, Some(&format!("c{i}")), &format!("m{i}")))
            .await
            .unwrap();
    }
    let seqs = |after, limit| {
        let store = store.clone();
        let id = c.id.clone();
        async move {
            let page = store.messages_after(&id, after, limit).await.unwrap();
            assert!(
                page.iter()
                    .all(|m| m.conversation_id == id && m.body == format!("m{}", m.seq))
            );
            page.into_iter().map(|m| m.seq).collect::<Vec<_>>()
        }
    };
    assert_eq!(seqs(0, 100).await, (1..=7).collect::<Vec<_>>());
    assert_eq!(seqs(2, 3).await, vec![3, 4, 5]);
    assert_eq!(seqs(5, 100).await, vec![6, 7]);
    assert!(seqs(7, 100).await.is_empty());
    assert!(seqs(0, 0).await.is_empty());
}

pub async fn attachments_read_back_as_written_alone_and_inside_messages(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let attachment = Attachment {
        id: new_id(),
        conversation_id: c.id.clone(),
        filename: "nota fiscal.pdf".into(),
        content_type: "application/pdf".into(),
        size: 3 * 1024 * 1024,
        key: format!("uploads/{}/nota.pdf", c.id),
        uploaded_by: Author {
            kind: AuthorKind::Agent,
            id: "agent-a".into(),
            name: None,
        },
        created_at: now(),
    };
    store.create_attachment(attachment.clone()).await.unwrap();
    assert_eq!(
        store.attachment(&attachment.id).await.unwrap(),
        Some(attachment.clone())
    );
    assert_eq!(store.attachment(&new_id()).await.unwrap(), None);
    let err = store
        .create_attachment(attachment.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    let with_file = NewMessage {
        attachments: vec![
            attachment.as_ref(),
            AttachmentRef {
                size: 0,
                ..attachment.as_ref()
            },
        ],
        ..text(&c.id, Some("file"), "segue o arquivo")
    };
    let message = created(store.append_message(with_file.clone()).await.unwrap());
    assert_eq!(message.attachments, with_file.attachments);
    assert_eq!(
        store.messages_after(&c.id, 0, 1).await.unwrap(),
        vec![message]
    );
}

/// Two store instances on one database stand for two replicas. Some client_msg_ids are sent by
/// both at once, as a client retrying through another replica would.
pub async fn two_replicas_appending_concurrently_leave_no_hole_and_no_duplicate(h: Harness) {
    const MESSAGES: usize = 200;
    let replicas = [h.open().await, h.open().await];
    let c = open_conversation(&replicas[0], ConversationStatus::Open).await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..MESSAGES {
        // Every 10th message has no client_msg_id; every 4th is sent by both replicas at once.
        let client_msg_id = (i % 10 != 0).then(|| format!("c{i}"));
        let senders: &[usize] = if i % 4 == 1 { &[0, 1] } else { &[i % 2] };
        for &r in senders {
            let store = replicas[r].clone();
            let message = text(&c.id, client_msg_id.as_deref(), &format!("m{i}"));
            sends.spawn(async move { store.append_message(message).await });
        }
    }
    let mut created_by_cmid = BTreeMap::new();
    let mut existing = Vec::new();
    let mut created_count = 0;
    while let Some(result) = sends.join_next().await {
        match result.unwrap().unwrap() {
            Appended::Created(m) => {
                created_count += 1;
                if let Some(cmid) = m.client_msg_id.clone() {
                    assert!(
                        created_by_cmid.insert(cmid, m).is_none(),
                        "a client_msg_id was stored twice"
                    );
                }
            }
            Appended::Existing(m) => existing.push(m),
        }
    }
    assert_eq!(created_count, MESSAGES);
    for m in &existing {
        assert_eq!(
            created_by_cmid.get(m.client_msg_id.as_ref().unwrap()),
            Some(m)
        );
    }

    let stored = replicas[1].messages_after(&c.id, 0, 10_000).await.unwrap();
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=MESSAGES as u64).collect::<Vec<_>>());
    let bodies: BTreeSet<&str> = stored.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies.len(),
        MESSAGES,
        "some message was stored twice or lost"
    );
    let conversation = replicas[0].conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(conversation.last_seq, MESSAGES as u64);
}
