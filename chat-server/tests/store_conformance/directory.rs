//! Cases for agents and visitors (and the health ping).

use chat_server::model::{Role, new_id};
use chat_server::store::{Page, StoreError};

use super::Harness;
use super::fixtures::{agent_record, first_page, oidc, visitor};

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
    let mut listed = store.list_agents(&first_page()).await.unwrap();
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![admin.agent, oidc.agent];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(listed, expected);
}

pub async fn agents_page_newest_first_with_before_id_and_limit(h: Harness) {
    let store = h.open().await;
    let mut made = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let record = agent_record(email, Role::Agent, None);
        store.create_agent(record.clone()).await.unwrap();
        made.push(record.agent);
    }
    let [a, b, c] = <[_; 3]>::try_from(made).unwrap();
    let page = |before_id: Option<&str>, limit| Page {
        before_id: before_id.map(str::to_string),
        limit,
    };
    assert_eq!(
        store.list_agents(&page(None, 50)).await.unwrap(),
        vec![c.clone(), b.clone(), a.clone()]
    );
    assert_eq!(
        store.list_agents(&page(None, 2)).await.unwrap(),
        vec![c.clone(), b.clone()]
    );
    assert_eq!(
        store.list_agents(&page(Some(&b.id), 2)).await.unwrap(),
        vec![a.clone()]
    );
    assert!(
        store
            .list_agents(&page(Some(&a.id), 50))
            .await
            .unwrap()
            .is_empty()
    );
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
    assert_eq!(store.list_agents(&first_page()).await.unwrap().len(), 1);
}

pub async fn agents_are_found_by_their_oidc_identity_and_one_identity_has_one_agent(h: Harness) {
    let store = h.open().await;
    let mut sso = agent_record("sso@example.com", Role::Agent, None);
    sso.oidc = Some(oidc("https://idp.example/pool", "sub-1"));
    store.create_agent(sso.clone()).await.unwrap();
    store
        .create_agent(agent_record("plain@example.com", Role::Agent, None))
        .await
        .unwrap();

    let identity = oidc("https://idp.example/pool", "sub-1");
    let found = store.agent_by_oidc(&identity).await.unwrap();
    assert_eq!(found, Some(sso.clone()));
    for (why, other) in [
        ("another subject", oidc("https://idp.example/pool", "sub-2")),
        (
            "another issuer",
            oidc("https://other.example/pool", "sub-1"),
        ),
        (
            "subject in another case",
            oidc("https://idp.example/pool", "SUB-1"),
        ),
    ] {
        assert_eq!(store.agent_by_oidc(&other).await.unwrap(), None, "{why}");
    }

    let mut twin = agent_record("twin@example.com", Role::Admin, None);
    twin.oidc = sso.oidc.clone();
    let err = store.create_agent(twin).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_agents(&first_page()).await.unwrap().len(), 2);
}

pub async fn linking_an_oidc_identity_happens_once_and_never_moves_it(h: Harness) {
    let store = h.open().await;
    let a = agent_record("a@example.com", Role::Agent, None);
    let b = agent_record("b@example.com", Role::Agent, Some("$argon2id$v=19$hash"));
    store.create_agent(a.clone()).await.unwrap();
    store.create_agent(b.clone()).await.unwrap();
    let first = oidc("https://idp.example/pool", "sub-a");

    store.link_oidc(&a.agent.id, &first).await.unwrap();
    store.link_oidc(&a.agent.id, &first).await.unwrap();
    let linked = store.agent_by_oidc(&first).await.unwrap().unwrap();
    assert_eq!(linked.agent, a.agent);
    assert_eq!(linked.oidc.as_ref(), Some(&first));
    assert_eq!(
        store.agent_by_id(&a.agent.id).await.unwrap().unwrap().oidc,
        Some(first.clone())
    );

    let err = store.link_oidc(&b.agent.id, &first).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "same identity, other agent: {err:?}"
    );
    let second = oidc("https://idp.example/pool", "sub-other");
    let err = store.link_oidc(&a.agent.id, &second).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "agent already linked: {err:?}"
    );
    let err = store.link_oidc(&new_id(), &second).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "no such agent: {err:?}"
    );

    assert_eq!(
        store.agent_by_oidc(&first).await.unwrap().unwrap().agent,
        a.agent
    );
    assert_eq!(store.agent_by_oidc(&second).await.unwrap(), None);
    let b_now = store.agent_by_id(&b.agent.id).await.unwrap().unwrap();
    assert_eq!(b_now, b, "the refused links changed nothing");
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
