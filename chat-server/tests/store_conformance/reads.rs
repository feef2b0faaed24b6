//! Cases for stored read positions.

use chat_server::model::{ConversationStatus, ReadState, Reader};
use chat_server::store::StoreError;

use super::Harness;
use super::fixtures::{open_conversation, text};

pub async fn read_positions_only_rise_and_say_whether_they_changed(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    assert_eq!(c.read, ReadState::default());
    for i in 0..5 {
        store
            .append_message(text(&c.id, None, &format!("m{i}")))
            .await
            .unwrap();
    }
    let before = store.conversation(&c.id).await.unwrap().unwrap();
    let agent = |id: &str| Reader::Agent(id.to_string());

    let raised = store.mark_read(&c.id, &Reader::Visitor, 2).await.unwrap();
    assert_eq!(raised.map(|c| c.read.visitor), Some(2));
    for (reader, seq) in [
        (Reader::Visitor, 2),
        (Reader::Visitor, 1),
        (Reader::Visitor, 0),
        (agent("a1"), 0),
    ] {
        assert_eq!(
            store.mark_read(&c.id, &reader, seq).await.unwrap(),
            None,
            "{reader:?} to {seq} changes nothing"
        );
    }
    let by_a = store.mark_read(&c.id, &agent("a1"), 4).await.unwrap();
    let by_b = store
        .mark_read(&c.id, &agent("b2"), 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_a.unwrap().read.agents.get("a1"), Some(&4));
    assert_eq!(store.mark_read(&c.id, &agent("a1"), 3).await.unwrap(), None);

    let stored = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(stored, by_b);
    assert_eq!(
        serde_json::to_value(&stored).unwrap()["read"],
        serde_json::json!({ "visitor": 2, "agents": { "a1": 4, "b2": 3 } })
    );
    // Reading is not a change of the conversation itself.
    assert_eq!(stored.updated_at, before.updated_at);

    let err = store
        .mark_read("no-such-conversation", &Reader::Visitor, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

/// Two replicas marking one reader's position out of order end at the highest seq, and every
/// call that reported a change reported a higher seq than the stored one before it.
pub async fn two_replicas_marking_read_at_once_end_at_the_highest_seq(h: Harness) {
    let (one, two) = (h.open().await, h.open().await);
    let c = open_conversation(&one, ConversationStatus::Open).await;
    let reader = Reader::Agent("agent-1".into());
    let mut calls = Vec::new();
    for seq in [7u64, 3, 20, 11, 19, 1, 15, 2, 18, 9] {
        let (a, b, id, r) = (one.clone(), two.clone(), c.id.clone(), reader.clone());
        calls.push(tokio::spawn(async move {
            let store = if seq % 2 == 0 { a } else { b };
            let changed = store.mark_read(&id, &r, seq).await.unwrap();
            (seq, changed)
        }));
    }
    let mut changed = 0;
    for call in calls {
        let (seq, result) = call.await.unwrap();
        if let Some(conversation) = result {
            changed += 1;
            assert!(conversation.read.agents["agent-1"] >= seq);
        }
    }
    assert!(changed >= 1);
    let stored = one.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(stored.read.agents["agent-1"], 20);
    assert_eq!(stored.read.visitor, 0);
}
