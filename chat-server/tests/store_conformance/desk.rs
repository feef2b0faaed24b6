//! Cases for labels, teams and canned responses.

use std::sync::Arc;

use chat_server::model::{CannedResponse, ConversationStatus, Role, Team, new_id, now};
use chat_server::store::{
    CannedPatch, ConversationFilter, ConversationPatch, Page, Store, StoreError, TeamPatch,
};

use super::Harness;
use super::fixtures::{agent_record, open_conversation};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn ids_with(store: &Arc<dyn Store>, filter: ConversationFilter) -> Vec<String> {
    let list = store.list_conversations(&filter).await.unwrap();
    list.into_iter().map(|c| c.id).collect()
}

pub async fn labels_replace_read_back_and_filter_conversation_lists(h: Harness) {
    let store = h.open().await;
    let first = open_conversation(&store, ConversationStatus::Open).await;
    let second = open_conversation(&store, ConversationStatus::Resolved).await;
    assert!(first.labels.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;

    let labelled = store
        .set_labels(&first.id, &strings(&["billing", "vip", "billing"]))
        .await
        .unwrap();
    assert_eq!(labelled.labels, strings(&["billing", "vip"]));
    assert!(labelled.updated_at > first.updated_at);
    assert_eq!(
        store.conversation(&first.id).await.unwrap().as_ref(),
        Some(&labelled)
    );
    store
        .set_labels(&second.id, &strings(&["vip"]))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&labelled).unwrap()["labels"],
        serde_json::json!(["billing", "vip"])
    );

    let label = |l: &str| ConversationFilter {
        label: Some(l.to_string()),
        ..Default::default()
    };
    assert_eq!(
        ids_with(&store, label("billing")).await,
        vec![first.id.clone()]
    );
    assert_eq!(
        ids_with(&store, label("vip")).await,
        vec![second.id.clone(), first.id.clone()]
    );
    assert_eq!(ids_with(&store, label("VIP")).await, Vec::<String>::new());
    let open_vip = ConversationFilter {
        status: Some(ConversationStatus::Open),
        ..label("vip")
    };
    assert_eq!(ids_with(&store, open_vip).await, vec![first.id.clone()]);
    let paged = ConversationFilter {
        before_id: Some(second.id.clone()),
        ..label("vip")
    };
    assert_eq!(ids_with(&store, paged).await, vec![first.id.clone()]);

    // Replacing drops what is not named again.
    let relabelled = store
        .set_labels(&first.id, &strings(&["vip"]))
        .await
        .unwrap();
    assert_eq!(relabelled.labels, strings(&["vip"]));
    assert!(ids_with(&store, label("billing")).await.is_empty());
    store.set_labels(&second.id, &[]).await.unwrap();
    assert_eq!(ids_with(&store, label("vip")).await, vec![first.id.clone()]);

    let err = store.set_labels(&new_id(), &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

fn team(name: &str, agents: &[&str]) -> Team {
    Team {
        id: new_id(),
        name: name.to_string(),
        agent_ids: strings(agents),
        created_at: now(),
    }
}

pub async fn teams_have_unique_names_page_newest_first_and_change(h: Harness) {
    let store = h.open().await;
    let support = store
        .create_team(team("Support", &["a1", "a2", "a1"]))
        .await
        .unwrap();
    assert_eq!(support.agent_ids, strings(&["a1", "a2"]));
    let err = store.create_team(team("support", &[])).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let sales = store.create_team(team("Sales", &["a2"])).await.unwrap();
    assert_eq!(
        store.team(&support.id).await.unwrap(),
        Some(support.clone())
    );
    assert_eq!(store.team(&new_id()).await.unwrap(), None);

    let page = |before_id: Option<&str>, limit| Page {
        before_id: before_id.map(str::to_string),
        limit,
    };
    assert_eq!(
        store.list_teams(&page(None, 50)).await.unwrap(),
        vec![sales.clone(), support.clone()]
    );
    assert_eq!(
        store.list_teams(&page(None, 1)).await.unwrap(),
        vec![sales.clone()]
    );
    assert_eq!(
        store.list_teams(&page(Some(&sales.id), 50)).await.unwrap(),
        vec![support.clone()]
    );

    assert_eq!(
        store.teams_of("a2").await.unwrap(),
        vec![support.id.clone(), sales.id.clone()]
    );
    assert!(store.teams_of("nobody").await.unwrap().is_empty());

    let err = store
        .update_team(
            &sales.id,
            &TeamPatch {
                name: Some("SUPPORT".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let changed = store
        .update_team(
            &sales.id,
            &TeamPatch {
                name: Some("Sales EU".into()),
                agent_ids: Some(strings(&["a3", "a3", "a1"])),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.agent_ids.clone()),
        ("Sales EU", strings(&["a3", "a1"]))
    );
    assert_eq!(
        store.teams_of("a2").await.unwrap(),
        vec![support.id.clone()]
    );
    // The old name is free again.
    store.create_team(team("sales", &[])).await.unwrap();
    let err = store
        .update_team(&new_id(), &TeamPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn conversations_route_to_teams_and_deleting_a_team_releases_its_open_ones(h: Harness) {
    let store = h.open().await;
    let support = store.create_team(team("Support", &[])).await.unwrap();
    let route = |team: Option<&str>| ConversationPatch {
        team: Some(team.map(str::to_string)),
        ..Default::default()
    };
    let mut routed = Vec::new();
    for status in [ConversationStatus::Open, ConversationStatus::Resolved] {
        let c = open_conversation(&store, status).await;
        assert_eq!(c.team_id, None);
        let c = store
            .update_conversation(&c.id, &route(Some(&support.id)))
            .await
            .unwrap();
        assert_eq!(c.team_id.as_deref(), Some(support.id.as_str()));
        routed.push(c);
    }
    let elsewhere = open_conversation(&store, ConversationStatus::Open).await;
    let by_team = ConversationFilter {
        team: Some(support.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        ids_with(&store, by_team.clone()).await,
        vec![routed[1].id.clone(), routed[0].id.clone()]
    );
    // A patch without `team` leaves it.
    let still = store
        .update_conversation(
            &routed[0].id,
            &ConversationPatch {
                status: Some(ConversationStatus::Pending),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(still.team_id, routed[0].team_id);

    let released = store.delete_team(&support.id).await.unwrap();
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(
        (released[0].id.as_str(), released[0].team_id.as_ref()),
        (routed[0].id.as_str(), None)
    );
    assert_eq!(ids_with(&store, by_team).await, vec![routed[1].id.clone()]);
    assert_eq!(store.team(&support.id).await.unwrap(), None);
    assert_eq!(
        store
            .conversation(&elsewhere.id)
            .await
            .unwrap()
            .unwrap()
            .team_id,
        None
    );
    let err = store.delete_team(&support.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn deleting_an_agent_takes_it_out_of_every_team(h: Harness) {
    let store = h.open().await;
    store
        .create_agent(agent_record("boss@example.com", Role::Admin, None))
        .await
        .unwrap();
    let leaving = store
        .create_agent(agent_record("leaving@example.com", Role::Agent, None))
        .await
        .unwrap();
    let one = store
        .create_team(team("One", &["x", leaving.id.as_str(), "y"]))
        .await
        .unwrap();
    let two = store
        .create_team(team("Two", &[leaving.id.as_str()]))
        .await
        .unwrap();
    assert_eq!(store.teams_of(&leaving.id).await.unwrap().len(), 2);
    store.delete_agent(&leaving.id).await.unwrap();
    assert!(store.teams_of(&leaving.id).await.unwrap().is_empty());
    assert_eq!(
        store.team(&one.id).await.unwrap().unwrap().agent_ids,
        strings(&["x", "y"])
    );
    assert!(
        store
            .team(&two.id)
            .await
            .unwrap()
            .unwrap()
            .agent_ids
            .is_empty()
    );
}

fn canned(shortcut: &str, body: &str) -> CannedResponse {
    let at = now();
    CannedResponse {
        id: new_id(),
        shortcut: shortcut.to_string(),
        body: body.to_string(),
        created_at: at,
        updated_at: at,
    }
}

pub async fn canned_responses_have_unique_shortcuts_and_can_be_changed_and_removed(h: Harness) {
    let store = h.open().await;
    let hello = store
        .create_canned_response(canned("hello", "Olá! Como posso ajudar?"))
        .await
        .unwrap();
    let err = store
        .create_canned_response(canned("HELLO", "Hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let refund = store
        .create_canned_response(canned("refund", "Your refund is on its way."))
        .await
        .unwrap();
    assert_eq!(
        store.canned_response(&hello.id).await.unwrap(),
        Some(hello.clone())
    );
    let all = Page {
        before_id: None,
        limit: 50,
    };
    assert_eq!(
        store.list_canned_responses(&all).await.unwrap(),
        vec![refund.clone(), hello.clone()]
    );
    assert_eq!(
        store
            .list_canned_responses(&Page {
                before_id: Some(refund.id.clone()),
                limit: 50
            })
            .await
            .unwrap(),
        vec![hello.clone()]
    );

    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let err = store
        .update_canned_response(
            &refund.id,
            &CannedPatch {
                shortcut: Some("Hello".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let changed = store
        .update_canned_response(
            &refund.id,
            &CannedPatch {
                body: Some("Refunded today.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.shortcut.as_str(), changed.body.as_str()),
        ("refund", "Refunded today.")
    );
    assert!(changed.updated_at > refund.updated_at);
    assert_eq!(changed.created_at, refund.created_at);

    store.delete_canned_response(&hello.id).await.unwrap();
    assert_eq!(store.canned_response(&hello.id).await.unwrap(), None);
    let err = store.delete_canned_response(&hello.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    // The shortcut is free again.
    store
        .create_canned_response(canned("hello", "Oi"))
        .await
        .unwrap();
    let err = store
        .update_canned_response(&new_id(), &CannedPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}
