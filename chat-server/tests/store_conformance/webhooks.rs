//! Cases for webhook endpoints and their outbox: events fan out to the endpoints subscribed to
//! their type, once per event id; deliveries are claimed by one replica at a time, only the
//! oldest pending one per endpoint and conversation (order), retried, settled and logged.

use chat_server::model::{new_id, now};
use chat_server::store::{
    DeliveryNext, DeliveryState, NewWebhookEvent, Page, StoreError, WebhookAttempt,
};
use chrono::TimeDelta;

use super::Harness;
use super::fixtures::webhook_endpoint as endpoint;

fn event(event_type: &str, conversation_id: &str) -> NewWebhookEvent {
    let id = new_id();
    NewWebhookEvent {
        event_id: format!("msg_{id}"),
        event_type: event_type.into(),
        conversation_id: conversation_id.into(),
        body: format!(r#"{{"type":"{event_type}","n":"{id}"}}"#),
        created_at: now(),
    }
}

fn attempt(webhook_id: &str, event_id: &str, n: u32, status: &str) -> WebhookAttempt {
    WebhookAttempt {
        id: new_id(),
        webhook_id: webhook_id.into(),
        event_id: event_id.into(),
        event_type: "message.created".into(),
        attempt: n,
        status: status.into(),
        response_status: Some(500),
        error: Some("HTTP 500".into()),
        at: now(),
    }
}

const ALL: Page = Page {
    before_id: None,
    limit: 50,
};

pub async fn webhook_endpoints_read_back_page_newest_first_and_go_with_their_deliveries(
    h: Harness,
) {
    let store = h.open().await;
    let first = endpoint(&["message.created"]);
    let second = endpoint(&["conversation.created", "message.created"]);
    store.create_webhook(first.clone()).await.unwrap();
    store.create_webhook(second.clone()).await.unwrap();
    assert!(matches!(
        store.create_webhook(first.clone()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.webhook(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.list_webhooks(&ALL).await.unwrap(),
        vec![second.clone(), first.clone()]
    );
    let after_second = Page {
        before_id: Some(second.id.clone()),
        limit: 1,
    };
    assert_eq!(
        store.list_webhooks(&after_second).await.unwrap(),
        vec![first.clone()]
    );

    let e = event("message.created", "c1");
    assert_eq!(store.enqueue_webhook_event(e).await.unwrap(), 2);
    store.delete_webhook(&first.id).await.unwrap();
    assert_eq!(store.webhook(&first.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_webhook(&first.id).await,
        Err(StoreError::NotFound(_))
    ));
    let at = now();
    let claimed = store
        .claim_webhook_deliveries("a", at, at + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|d| d.webhook_id.as_str())
            .collect::<Vec<_>>(),
        vec![second.id.as_str()],
        "a deleted endpoint's deliveries went with it"
    );
}

pub async fn events_reach_subscribed_endpoints_once_and_are_claimed_in_order_per_conversation(
    h: Harness,
) {
    let store = h.open().await;
    let hook = endpoint(&["message.created", "conversation.updated"]);
    store.create_webhook(hook.clone()).await.unwrap();
    assert_eq!(
        store
            .enqueue_webhook_event(event("rating.created", "a"))
            .await
            .unwrap(),
        0,
        "no endpoint takes rating.created"
    );
    let (a1, a2, b1) = (
        event("message.created", "a"),
        event("conversation.updated", "a"),
        event("message.created", "b"),
    );
    for e in [&a1, &a2, &b1] {
        assert_eq!(store.enqueue_webhook_event(e.clone()).await.unwrap(), 1);
    }
    assert_eq!(
        store.enqueue_webhook_event(a1.clone()).await.unwrap(),
        0,
        "the same event id again stores nothing"
    );

    let at = now();
    let lease = TimeDelta::seconds(30);
    let heads = store
        .claim_webhook_deliveries("r", at, at + lease, 10)
        .await
        .unwrap();
    let ids = |v: &[chat_server::store::WebhookDelivery]| {
        v.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&heads), vec![a1.event_id.clone(), b1.event_id.clone()]);
    let d_a1 = heads[0].clone();
    assert_eq!((d_a1.body.as_str(), d_a1.attempts), (a1.body.as_str(), 0));
    assert_eq!(d_a1.state, DeliveryState::Pending);

    // a1 fails and is due again at once: a2 still waits behind it, even after the lease.
    assert!(
        store
            .finish_webhook_delivery(
                &d_a1.id,
                "r",
                attempt(&hook.id, &a1.event_id, 1, "retrying"),
                DeliveryNext::RetryAt(at),
            )
            .await
            .unwrap()
    );
    let later = at + lease + TimeDelta::seconds(1);
    let again = store
        .claim_webhook_deliveries("r", later, later + lease, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&again),
        vec![a1.event_id.clone(), b1.event_id.clone()],
        "b1 is claimable again after its lease; a2 never before a1 is settled"
    );
    assert_eq!(again[0].attempts, 1);
    assert!(
        store
            .finish_webhook_delivery(
                &d_a1.id,
                "r",
                attempt(&hook.id, &a1.event_id, 2, "delivered"),
                DeliveryNext::Delivered,
            )
            .await
            .unwrap()
    );
    let settled = store.webhook_delivery(&d_a1.id).await.unwrap().unwrap();
    assert_eq!(
        (settled.state, settled.attempts),
        (DeliveryState::Delivered, 2)
    );
    let next = store
        .claim_webhook_deliveries("r", later, later + lease, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&next),
        vec![a2.event_id.clone()],
        "a2 is the head of a now"
    );
}

pub async fn a_webhook_delivery_has_one_claimer_until_its_lease_runs_out_and_attempts_are_logged(
    h: Harness,
) {
    let a = h.open().await;
    let b = h.open().await;
    let hook = endpoint(&["message.created"]);
    a.create_webhook(hook.clone()).await.unwrap();
    let e = event("message.created", "c");
    a.enqueue_webhook_event(e.clone()).await.unwrap();

    let at = now();
    let lease = at + TimeDelta::seconds(30);
    let (ca, cb) = tokio::join!(
        a.claim_webhook_deliveries("replica-a", at, lease, 10),
        b.claim_webhook_deliveries("replica-b", at, lease, 10)
    );
    let (ca, cb) = (ca.unwrap(), cb.unwrap());
    assert_eq!(ca.len() + cb.len(), 1, "claimed once: {ca:?} / {cb:?}");
    let (winner, loser, d) = match ca.first() {
        Some(d) => ("replica-a", "replica-b", d.clone()),
        None => ("replica-b", "replica-a", cb[0].clone()),
    };
    assert_eq!((d.due_at, d.claimed_by.as_deref()), (lease, Some(winner)));
    assert!(
        a.claim_webhook_deliveries(loser, at + TimeDelta::seconds(29), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "nobody claims it within the lease"
    );
    assert!(
        !a.finish_webhook_delivery(
            &d.id,
            loser,
            attempt(&hook.id, &e.event_id, 1, "delivered"),
            DeliveryNext::Delivered
        )
        .await
        .unwrap(),
        "only the claimer settles it"
    );
    let expired = at + TimeDelta::seconds(31);
    let retaken = b
        .claim_webhook_deliveries(loser, expired, expired + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1, "after the lease anyone may claim it");
    assert!(
        !a.finish_webhook_delivery(
            &d.id,
            winner,
            attempt(&hook.id, &e.event_id, 1, "delivered"),
            DeliveryNext::Delivered
        )
        .await
        .unwrap(),
        "the first claimer lost it with its lease"
    );
    let first = attempt(&hook.id, &e.event_id, 1, "retrying");
    assert!(
        b.finish_webhook_delivery(&d.id, loser, first.clone(), DeliveryNext::RetryAt(expired))
            .await
            .unwrap()
    );
    let again = a
        .claim_webhook_deliveries(winner, expired, expired + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    let last = attempt(&hook.id, &e.event_id, 2, "failed");
    assert!(
        a.finish_webhook_delivery(&again[0].id, winner, last.clone(), DeliveryNext::Failed)
            .await
            .unwrap()
    );
    let gone = a.webhook_delivery(&d.id).await.unwrap().unwrap();
    assert_eq!(
        (gone.state, gone.attempts, gone.body.as_str()),
        (DeliveryState::Failed, 2, "")
    );
    assert!(
        a.claim_webhook_deliveries(
            winner,
            expired + TimeDelta::days(2),
            expired + TimeDelta::days(3),
            10
        )
        .await
        .unwrap()
        .is_empty(),
        "a failed delivery is never claimed again"
    );
    assert_eq!(
        a.webhook_attempts(&hook.id, &ALL).await.unwrap(),
        vec![last.clone(), first.clone()]
    );
    let older = Page {
        before_id: Some(last.id.clone()),
        limit: 10,
    };
    assert_eq!(
        b.webhook_attempts(&hook.id, &older).await.unwrap(),
        vec![first]
    );
    assert!(a.webhook_attempts("other", &ALL).await.unwrap().is_empty());
}

pub async fn purging_removes_old_attempts_and_settled_deliveries_but_never_pending_ones(
    h: Harness,
) {
    let store = h.open().await;
    let hook = endpoint(&["message.created"]);
    store.create_webhook(hook.clone()).await.unwrap();
    let (settled, pending) = (
        event("message.created", "c1"),
        event("message.created", "c2"),
    );
    store.enqueue_webhook_event(settled.clone()).await.unwrap();
    store.enqueue_webhook_event(pending.clone()).await.unwrap();
    let at = now();
    let claimed = store
        .claim_webhook_deliveries("r", at, at + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let id_of = |e: &NewWebhookEvent| {
        claimed
            .iter()
            .find(|d| d.event_id == e.event_id)
            .unwrap()
            .id
            .clone()
    };
    let (settled_id, pending_id) = (id_of(&settled), id_of(&pending));
    let done = attempt(&hook.id, &settled.event_id, 1, "delivered");
    let retry = attempt(&hook.id, &pending.event_id, 1, "retrying");
    store
        .finish_webhook_delivery(&settled_id, "r", done, DeliveryNext::Delivered)
        .await
        .unwrap();
    store
        .finish_webhook_delivery(&pending_id, "r", retry, DeliveryNext::RetryAt(at))
        .await
        .unwrap();

    let before_all = at - TimeDelta::minutes(1);
    assert_eq!(store.purge_webhook_history(before_all).await.unwrap(), 0);
    assert_eq!(
        store.webhook_attempts(&hook.id, &ALL).await.unwrap().len(),
        2
    );

    // Everything so far is older than this; a later attempt is not.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let cut = now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let later = attempt(&hook.id, &pending.event_id, 2, "retrying");
    let again = store
        .claim_webhook_deliveries("r", now(), now() + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    store
        .finish_webhook_delivery(
            &pending_id,
            "r",
            later.clone(),
            DeliveryNext::RetryAt(now()),
        )
        .await
        .unwrap();

    assert_eq!(
        store.purge_webhook_history(cut).await.unwrap(),
        3,
        "two old attempts and the delivered delivery"
    );
    assert_eq!(
        store.webhook_attempts(&hook.id, &ALL).await.unwrap(),
        vec![later],
        "the newer attempt stays"
    );
    assert!(store.webhook_delivery(&settled_id).await.unwrap().is_none());
    let still = store.webhook_delivery(&pending_id).await.unwrap().unwrap();
    assert_eq!(
        (still.state, still.attempts),
        (DeliveryState::Pending, 2),
        "a pending delivery stays however old"
    );
    assert_eq!(store.purge_webhook_history(cut).await.unwrap(), 0);
}

pub async fn erasing_a_conversation_removes_its_webhook_deliveries_pending_and_settled(h: Harness) {
    use super::fixtures::open_conversation;
    use chat_server::model::ConversationStatus;
    let store = h.open().await;
    let gone = open_conversation(&store, ConversationStatus::Open).await;
    let kept = open_conversation(&store, ConversationStatus::Open).await;
    let hook = endpoint(&["message.created"]);
    store.create_webhook(hook.clone()).await.unwrap();
    let (settled, pending, other) = (
        event("message.created", &gone.id),
        event("message.created", &gone.id),
        event("message.created", &kept.id),
    );
    for e in [&settled, &pending, &other] {
        assert_eq!(store.enqueue_webhook_event(e.clone()).await.unwrap(), 1);
    }
    let at = now();
    let lease = TimeDelta::seconds(30);
    let heads = store
        .claim_webhook_deliveries("r", at, at + lease, 10)
        .await
        .unwrap();
    let d_settled = heads
        .iter()
        .find(|d| d.event_id == settled.event_id)
        .unwrap()
        .clone();
    assert!(
        store
            .finish_webhook_delivery(
                &d_settled.id,
                "r",
                attempt(&hook.id, &settled.event_id, 1, "delivered"),
                DeliveryNext::Delivered,
            )
            .await
            .unwrap()
    );

    store.erase_conversation(&gone.id).await.unwrap().unwrap();

    assert_eq!(
        store.webhook_delivery(&d_settled.id).await.unwrap(),
        None,
        "the settled delivery went with its conversation"
    );
    let later = at + lease + TimeDelta::seconds(1);
    let left = store
        .claim_webhook_deliveries("r", later, later + lease, 10)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(),
        vec![other.event_id.as_str()],
        "the erased conversation's pending delivery is never sent; the other one is kept"
    );
}
