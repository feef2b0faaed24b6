//! Cases for `send_message`: the owner check, the append and the webhook event as one call,
//! whether a store makes them one write (SQLite) or takes them in turn (MongoDB).

use chat_server::model::{ConversationStatus, Message, Reader, new_id, now};
use chat_server::store::{
    Appended, NewSend, NewWebhookEvent, Sent, Store, StoreError, StoreResult,
};
use chrono::TimeDelta;

use super::Harness;
use super::fixtures::{open_conversation, stored_messages, text, webhook_endpoint};

/// What `crate::webhooks::message_created_event` makes, reduced to what the store keeps.
fn event(m: &Message) -> StoreResult<NewWebhookEvent> {
    Ok(NewWebhookEvent {
        event_id: format!("msg_{}", m.id),
        event_type: "message.created".into(),
        conversation_id: m.conversation_id.clone(),
        body: format!(r#"{{"seq":{}}}"#, m.seq),
        created_at: now(),
    })
}

fn send(conversation_id: &str, owner: Option<&str>, client_msg_id: Option<&str>) -> NewSend {
    NewSend {
        message: text(conversation_id, client_msg_id, "olá"),
        owner: owner.map(str::to_string),
        event: Some(event),
        read_by: None,
    }
}

/// Every delivery pending now, claimed (and so read) once.
async fn deliveries(store: &dyn Store) -> Vec<(String, String, String)> {
    let at = now() + TimeDelta::seconds(1);
    let mut got: Vec<_> = store
        .claim_webhook_deliveries("test", at, at + TimeDelta::seconds(30), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.webhook_id, d.event_id, d.body))
        .collect();
    got.sort();
    got
}

pub async fn a_sent_message_is_stored_with_its_event_for_each_subscribed_endpoint(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let hooks = [
        webhook_endpoint(&["message.created"]),
        webhook_endpoint(&["conversation.created", "message.created"]),
        webhook_endpoint(&["conversation.created"]),
    ];
    for hook in &hooks {
        store.create_webhook(hook.clone()).await.unwrap();
    }
    let sent = store
        .send_message(send(&c.id, Some(&c.visitor.id), Some("c1")))
        .await
        .unwrap();
    let Sent::Stored {
        appended: Appended::Created(m),
        before,
        events,
    } = sent
    else {
        panic!("expected a new message: {sent:?}");
    };
    assert_eq!((m.seq, events), (1, 2));
    assert_eq!(
        before, c,
        "`before` is the conversation as the append found it"
    );
    assert_eq!(
        store.messages_after(&c.id, 0, 10).await.unwrap(),
        vec![m.clone()]
    );
    let mut expected: Vec<_> = hooks[..2]
        .iter()
        .map(|w| {
            (
                w.id.clone(),
                format!("msg_{}", m.id),
                r#"{"seq":1}"#.to_string(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(deliveries(&*store).await, expected);

    // The same client_msg_id again: the original back, and no second event.
    let again = store
        .send_message(send(&c.id, Some(&c.visitor.id), Some("c1")))
        .await
        .unwrap();
    match again {
        Sent::Stored {
            appended: Appended::Existing(original),
            events: 0,
            before,
        } => {
            assert_eq!(original, m);
            assert_eq!(before.last_seq, 1);
        }
        other => panic!("the replay should find the original and store nothing: {other:?}"),
    }
    assert_eq!(stored_messages(&store, &c.id).await.len(), 1);
}

pub async fn a_send_into_another_visitors_conversation_stores_nothing(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    store
        .create_webhook(webhook_endpoint(&["message.created"]))
        .await
        .unwrap();
    let sent = store
        .send_message(send(&c.id, Some("someone-else"), Some("c1")))
        .await
        .unwrap();
    assert_eq!(sent, Sent::NotOwner);
    assert!(stored_messages(&store, &c.id).await.is_empty());
    assert_eq!(
        store.conversation(&c.id).await.unwrap().unwrap().last_seq,
        0
    );
    assert!(deliveries(&*store).await.is_empty());
    // An agent (no owner) writes to any conversation.
    let by_agent = store.send_message(send(&c.id, None, None)).await.unwrap();
    assert!(
        matches!(&by_agent, Sent::Stored { appended: Appended::Created(m), events: 1, .. } if m.seq == 1),
        "{by_agent:?}"
    );
}

pub async fn a_send_to_a_missing_conversation_is_not_found_and_stores_nothing(h: Harness) {
    let store = h.open().await;
    store
        .create_webhook(webhook_endpoint(&["message.created"]))
        .await
        .unwrap();
    let missing = new_id();
    let err = store
        .send_message(send(&missing, None, Some("c1")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert!(stored_messages(&store, &missing).await.is_empty());
    assert!(deliveries(&*store).await.is_empty());
}

pub async fn an_authors_read_position_rises_with_its_send_and_never_falls(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    let agent = Reader::Agent(new_id());
    let by_agent = |client_msg_id: &str| NewSend {
        read_by: Some(agent.clone()),
        ..send(&c.id, None, Some(client_msg_id))
    };
    let read = || {
        let (store, id, agent) = (store.clone(), c.id.clone(), agent.clone());
        async move {
            let conversation = store.conversation(&id).await.unwrap().unwrap();
            let Reader::Agent(agent) = agent else {
                unreachable!()
            };
            (
                conversation.read.agents.get(&agent).copied(),
                conversation.read.visitor,
            )
        }
    };

    // A replay moves no position: only a message the send created is read by its author.
    store
        .send_message(send(&c.id, None, Some("a0")))
        .await
        .unwrap();
    let replay = store.send_message(by_agent("a0")).await.unwrap();
    assert!(matches!(
        &replay,
        Sent::Stored {
            appended: Appended::Existing(_),
            ..
        }
    ));
    assert_eq!(read().await, (None, 0));

    let sent = store.send_message(by_agent("a2")).await.unwrap();
    assert!(matches!(&sent, Sent::Stored { appended: Appended::Created(m), .. } if m.seq == 2));
    assert_eq!(read().await, (Some(2), 0), "read with its own message");
    // Another author's message is not read by the agent, and a visitor's moves no position.
    store
        .send_message(send(&c.id, Some(&c.visitor.id), None))
        .await
        .unwrap();
    assert_eq!(read().await, (Some(2), 0));
    // A read ahead of the append (another replica's `read` frame landing first): the send's
    // own seq is lower, and the position stays where it is.
    store.mark_read(&c.id, &agent, 9).await.unwrap();
    let sent = store.send_message(by_agent("a4")).await.unwrap();
    assert!(matches!(&sent, Sent::Stored { appended: Appended::Created(m), .. } if m.seq == 4));
    assert_eq!(read().await, (Some(9), 0));
}
