//! Cases for what automatic assignment needs: the load per agent, the unassigned queue and an
//! assignment that two replicas cannot both win.

use std::collections::BTreeMap;

use chat_server::model::{Conversation, ConversationStatus, new_id};
use chat_server::store::{ConversationPatch, StoreError};

use super::Harness;
use super::fixtures::open_conversation;

fn patch(
    status: Option<ConversationStatus>,
    assignee: Option<&str>,
    team: Option<&str>,
) -> ConversationPatch {
    ConversationPatch {
        status,
        assignee: assignee.map(|a| Some(a.to_string())),
        team: team.map(|t| Some(t.to_string())),
    }
}

pub async fn open_counts_by_assignee_count_only_open_assigned_conversations(h: Harness) {
    let store = h.open().await;
    assert!(store.open_counts_by_assignee().await.unwrap().is_empty());
    for (status, assignee) in [
        (ConversationStatus::Open, Some("a1")),
        (ConversationStatus::Open, Some("a1")),
        (ConversationStatus::Open, Some("a2")),
        (ConversationStatus::Pending, Some("a2")),
        (ConversationStatus::Resolved, Some("a3")),
        (ConversationStatus::Open, None),
    ] {
        let c = open_conversation(&store, status).await;
        store
            .update_conversation(&c.id, &patch(None, assignee, None))
            .await
            .unwrap();
    }
    assert_eq!(
        store.open_counts_by_assignee().await.unwrap(),
        BTreeMap::from([("a1".to_string(), 2), ("a2".to_string(), 1)])
    );
}

pub async fn assigning_if_unassigned_succeeds_once_even_across_replicas(h: Harness) {
    let (one, two) = (h.open().await, h.open().await);
    let c = open_conversation(&one, ConversationStatus::Open).await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let first = one
        .assign_if_unassigned(&c.id, "a1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.assignee.as_deref(), Some("a1"));
    assert!(first.updated_at > c.updated_at);
    assert_eq!(two.assign_if_unassigned(&c.id, "a2").await.unwrap(), None);
    assert_eq!(
        two.conversation(&c.id)
            .await
            .unwrap()
            .unwrap()
            .assignee
            .as_deref(),
        Some("a1")
    );
    let err = one.assign_if_unassigned(&new_id(), "a1").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    // Many conversations, each raced by both replicas for a different agent: one winner each.
    for round in 0..10 {
        let c = open_conversation(&one, ConversationStatus::Open).await;
        let (a, b) = tokio::join!(
            one.assign_if_unassigned(&c.id, "a1"),
            two.assign_if_unassigned(&c.id, "a2")
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a.is_some() as u8 + b.is_some() as u8,
            1,
            "round {round}: {a:?} {b:?}"
        );
        let winner = a.or(b).unwrap().assignee;
        let stored = one.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(stored.assignee, winner, "round {round}");
    }
}

pub async fn the_unassigned_queue_is_open_conversations_oldest_first_by_team(h: Harness) {
    let store = h.open().await;
    let mut made: Vec<Conversation> = Vec::new();
    for (status, assignee, team) in [
        (ConversationStatus::Open, None, None),
        (ConversationStatus::Open, None, Some("t1")),
        (ConversationStatus::Open, Some("a1"), None),
        (ConversationStatus::Pending, None, None),
        (ConversationStatus::Open, None, Some("t2")),
        (ConversationStatus::Open, None, None),
    ] {
        let c = open_conversation(&store, status).await;
        let c = store
            .update_conversation(&c.id, &patch(None, assignee, team))
            .await
            .unwrap();
        made.push(c);
    }
    let ids = |cs: Vec<Conversation>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let id = |i: usize| made[i].id.clone();
    assert_eq!(
        ids(store.oldest_unassigned(None, 10).await.unwrap()),
        vec![id(0), id(1), id(4), id(5)]
    );
    assert_eq!(
        ids(store.oldest_unassigned(None, 2).await.unwrap()),
        vec![id(0), id(1)]
    );
    assert_eq!(
        ids(store
            .oldest_unassigned(Some(&["t2".to_string()][..]), 10)
            .await
            .unwrap()),
        vec![id(0), id(4), id(5)]
    );
    assert_eq!(
        ids(store.oldest_unassigned(Some(&[][..]), 10).await.unwrap()),
        vec![id(0), id(5)]
    );
    store.assign_if_unassigned(&id(0), "a9").await.unwrap();
    assert_eq!(
        ids(store.oldest_unassigned(None, 1).await.unwrap()),
        vec![id(1)]
    );
}

pub async fn a_lease_has_one_holder_until_it_is_released_or_runs_out(h: Harness) {
    use std::time::Duration;
    let (one, two) = (h.open().await, h.open().await);
    let long = Duration::from_secs(30);
    assert!(one.try_lease("routing", "r1", long).await.unwrap());
    assert!(!two.try_lease("routing", "r2", long).await.unwrap());
    assert!(
        one.try_lease("routing", "r1", long).await.unwrap(),
        "the holder renews"
    );
    assert!(
        two.try_lease("other", "r2", long).await.unwrap(),
        "names are separate"
    );
    two.release_lease("routing", "r2").await.unwrap();
    assert!(
        !two.try_lease("routing", "r2", long).await.unwrap(),
        "only the holder releases"
    );
    one.release_lease("routing", "r1").await.unwrap();
    assert!(two.try_lease("routing", "r2", long).await.unwrap());
    // A holder that never releases blocks the others until its lease runs out.
    assert!(
        one.try_lease("short", "r1", Duration::from_millis(200))
            .await
            .unwrap()
    );
    assert!(!two.try_lease("short", "r2", long).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(two.try_lease("short", "r2", long).await.unwrap());
    assert!(!one.try_lease("short", "r1", long).await.unwrap());

    // Many replicas racing for a free lease: exactly one wins each round.
    for round in 0..10 {
        let name = format!("race{round}");
        let (a, b) = tokio::join!(
            one.try_lease(&name, "r1", long),
            two.try_lease(&name, "r2", long)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a as u8 + b as u8, 1, "round {round}: {a} {b}");
    }
}

pub async fn routing_turns_read_back_the_last_turn_each_agent_took(h: Harness) {
    let (one, two) = (h.open().await, h.open().await);
    assert!(one.routing_turns().await.unwrap().is_empty());
    one.record_routing_turn("a1", 1).await.unwrap();
    two.record_routing_turn("a2", 2).await.unwrap();
    one.record_routing_turn("a1", 3).await.unwrap();
    let expected = BTreeMap::from([("a1".to_string(), 3), ("a2".to_string(), 2)]);
    assert_eq!(two.routing_turns().await.unwrap(), expected);
}
