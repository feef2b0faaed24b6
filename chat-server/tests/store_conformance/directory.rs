//! Cases for agents and visitors (and the health ping).

use chat_server::model::{Role, new_id};
use chat_server::store::StoreError;

use super::Harness;
use super::fixtures::{agent_record, visitor};

pub async fn the_store_answers_pings(h: Harness) {
    h.open().await.ping().await.unwrap();
}

pub async fn agents_are_found_by_id_and_by_email_in_any_case(h: Harness) {
    let store = h.open().await;
    let admin = agent_record("Boss@Example.com", Role::Admin, Some("$argon2id$v=19$hash"));
    let oidc = agent_record("oidc@example.com", Role::Agent, None);
    assert_eq!(
        store.create_agent(admin.clone()).await.unwrap(),
        admin.agent
    );
    store.create_agent(oidc.clone()).await.unwrap();

    assert_eq!(
        store.agent_by_email("boss@EXAMPLE.com").await.unwrap(),
        Some(admin.clone())
    );
    assert_eq!(
        store.agent_by_id(&oidc.agent.id).await.unwrap(),
        Some(oidc.clone())
    );
    assert_eq!(
        store.agent_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.agent_by_id(&new_id()).await.unwrap(), None);
    let mut listed = store.list_agents().await.unwrap();
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![admin.agent, oidc.agent];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(listed, expected);
}

pub async fn an_agent_email_taken_in_any_case_is_a_conflict(h: Harness) {
    let store = h.open().await;
    store
        .create_agent(agent_record("ana@example.com", Role::Agent, None))
        .await
        .unwrap();
    let err = store
        .create_agent(agent_record("ANA@Example.COM", Role::Admin, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_agents().await.unwrap().len(), 1);
}

pub async fn visitors_read_back_as_written(h: Harness) {
    let store = h.open().await;
    let named = visitor(Some("Bia"));
    let anonymous = visitor(None);
    store.create_visitor(named.clone()).await.unwrap();
    store.create_visitor(anonymous.clone()).await.unwrap();
    assert_eq!(store.visitor(&named.id).await.unwrap(), Some(named.clone()));
    assert_eq!(store.visitor(&anonymous.id).await.unwrap(), Some(anonymous));
    assert_eq!(store.visitor(&new_id()).await.unwrap(), None);
    let err = store.create_visitor(named).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}
