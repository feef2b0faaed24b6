//! Cases for conversations: create, read, list with filters and paging, update.

use chat_server::model::{Conversation, ConversationStatus, new_id};
use chat_server::store::{AssigneeFilter, ConversationFilter, ConversationPatch, StoreError};

use super::Harness;
use super::fixtures::open_conversation;

pub async fn conversations_read_back_as_written_and_start_without_messages(h: Harness) {
    let store = h.open().await;
    let conversation = open_conversation(&store, ConversationStatus::Open).await;
    assert_eq!(conversation.last_seq, 0);
    assert_eq!(
        store.conversation(&conversation.id).await.unwrap(),
        Some(conversation.clone())
    );
    assert_eq!(store.conversation(&new_id()).await.unwrap(), None);
    let err = store.create_conversation(conversation).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub async fn conversation_lists_filter_by_status_assignee_and_visitor_newest_first(h: Harness) {
    let store = h.open().await;
    let open = open_conversation(&store, ConversationStatus::Open).await;
    let pending = open_conversation(&store, ConversationStatus::Pending).await;
    let resolved = open_conversation(&store, ConversationStatus::Resolved).await;
    let mine = store
        .update_conversation(
            &pending.id,
            &ConversationPatch {
                assignee: Some(Some("agent-a".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let theirs = store
        .update_conversation(
            &resolved.id,
            &ConversationPatch {
                assignee: Some(Some("agent-b".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids = |cs: Vec<Conversation>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let newest_first = |mut v: Vec<&str>| {
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let list = |filter: ConversationFilter| {
        let store = store.clone();
        async move { store.list_conversations(&filter).await.unwrap() }
    };

    let all = list(ConversationFilter::default()).await;
    assert_eq!(
        ids(all.clone()),
        newest_first(vec![&open.id, &pending.id, &resolved.id])
    );
    assert!(all.contains(&mine) && all.contains(&theirs) && all.contains(&open));
    let by_status = list(ConversationFilter {
        status: Some(ConversationStatus::Pending),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(by_status), vec![pending.id.clone()]);
    let unassigned = list(ConversationFilter {
        assignee: AssigneeFilter::Unassigned,
        ..Default::default()
    })
    .await;
    assert_eq!(ids(unassigned), vec![open.id.clone()]);
    let agent_a = list(ConversationFilter {
        assignee: AssigneeFilter::Agent("agent-a".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(agent_a), vec![pending.id.clone()]);
    let combined = list(ConversationFilter {
        status: Some(ConversationStatus::Resolved),
        assignee: AssigneeFilter::Agent("agent-a".into()),
        ..Default::default()
    })
    .await;
    assert!(combined.is_empty(), "{combined:?}");
    let visitor = list(ConversationFilter {
        visitor_id: Some(resolved.visitor.id.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(visitor), vec![resolved.id.clone()]);
}

pub async fn conversation_lists_page_with_before_id_and_limit(h: Harness) {
    let store = h.open().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(open_conversation(&store, ConversationStatus::Open).await.id);
    }
    created.sort_unstable_by(|a, b| b.cmp(a));
    let page = |before_id: Option<String>, limit| {
        let store = store.clone();
        async move {
            let filter = ConversationFilter {
                before_id,
                limit,
                ..Default::default()
            };
            let page = store.list_conversations(&filter).await.unwrap();
            page.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    let first = page(None, 2).await;
    assert_eq!(first, created[..2]);
    let second = page(first.last().cloned(), 2).await;
    assert_eq!(second, created[2..4]);
    let rest = page(second.last().cloned(), 10).await;
    assert_eq!(rest, created[4..]);
    assert!(page(rest.last().cloned(), 10).await.is_empty());
}

pub async fn updating_a_conversation_changes_only_what_the_patch_names(h: Harness) {
    let store = h.open().await;
    let c = open_conversation(&store, ConversationStatus::Open).await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;

    let assigned = store
        .update_conversation(
            &c.id,
            &ConversationPatch {
                assignee: Some(Some("agent-a".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(assigned.assignee.as_deref(), Some("agent-a"));
    assert_eq!(assigned.status, ConversationStatus::Open);
    assert!(assigned.updated_at > c.updated_at, "{assigned:?}");
    assert_eq!(
        (assigned.created_at, assigned.visitor.clone()),
        (c.created_at, c.visitor.clone())
    );

    let resolved = store
        .update_conversation(
            &c.id,
            &ConversationPatch {
                status: Some(ConversationStatus::Resolved),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    assert_eq!(resolved.assignee.as_deref(), Some("agent-a"));
    assert!(resolved.updated_at >= assigned.updated_at);

    let unassigned = store
        .update_conversation(
            &c.id,
            &ConversationPatch {
                assignee: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(unassigned.assignee, None);
    assert_eq!(unassigned.status, ConversationStatus::Resolved);
    assert_eq!(store.conversation(&c.id).await.unwrap(), Some(unassigned));
}

pub async fn updating_a_missing_conversation_is_not_found(h: Harness) {
    let store = h.open().await;
    let patch = ConversationPatch {
        status: Some(ConversationStatus::Pending),
        ..Default::default()
    };
    let err = store
        .update_conversation(&new_id(), &patch)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}
