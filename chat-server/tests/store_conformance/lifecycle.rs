//! Cases for the agents' lifecycle (change, disable, delete, the last-admin guard) and for the
//! revocation records every replica polls.

use std::sync::Arc;

use chat_server::model::{Agent, ConversationStatus, Revocation, Role, new_id, now};
use chat_server::store::{AgentPatch, ConversationPatch, Store, StoreError};
use chrono::TimeDelta;

use super::Harness;
use super::fixtures::{agent_record, first_page, open_conversation};

async fn agent(store: &Arc<dyn Store>, email: &str, role: Role) -> Agent {
    store
        .create_agent(agent_record(email, role, Some("$argon2id$v=19$old")))
        .await
        .unwrap()
}

fn demote() -> AgentPatch {
    AgentPatch {
        role: Some(Role::Agent),
        ..Default::default()
    }
}

fn disable() -> AgentPatch {
    AgentPatch {
        disabled: Some(true),
        ..Default::default()
    }
}

pub async fn updating_an_agent_changes_only_what_the_patch_names(h: Harness) {
    let store = h.open().await;
    let _admin = agent(&store, "boss@example.com", Role::Admin).await;
    let ana = agent(&store, "ana@example.com", Role::Agent).await;
    assert!(!ana.disabled);

    let renamed = store
        .update_agent(
            &ana.id,
            &AgentPatch {
                name: Some("Ana Lima".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        renamed,
        Agent {
            name: "Ana Lima".into(),
            ..ana.clone()
        }
    );

    let changed = store
        .update_agent(
            &ana.id,
            &AgentPatch {
                role: Some(Role::Admin),
                disabled: Some(true),
                password_hash: Some("$argon2id$v=19$new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((changed.role, changed.disabled), (Role::Admin, true));
    assert_eq!(changed.name, "Ana Lima");
    let record = store.agent_by_id(&ana.id).await.unwrap().unwrap();
    assert_eq!(record.agent, changed);
    assert_eq!(record.password_hash.as_deref(), Some("$argon2id$v=19$new"));
    let listed = store.list_agents(&first_page()).await.unwrap();
    assert!(listed.contains(&changed), "{listed:?}");

    // An empty patch changes nothing and still answers with the agent.
    let same = store
        .update_agent(&ana.id, &AgentPatch::default())
        .await
        .unwrap();
    assert_eq!(same, changed);

    let err = store
        .update_agent(&new_id(), &AgentPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn the_last_enabled_admin_cannot_be_disabled_demoted_or_deleted(h: Harness) {
    let store = h.open().await;
    let boss = agent(&store, "boss@example.com", Role::Admin).await;
    let other = agent(&store, "other@example.com", Role::Admin).await;
    store.update_agent(&other.id, &disable()).await.unwrap();
    let _plain = agent(&store, "plain@example.com", Role::Agent).await;

    // A disabled admin and a plain agent do not count.
    for (what, result) in [
        ("disable", store.update_agent(&boss.id, &disable()).await),
        ("demote", store.update_agent(&boss.id, &demote()).await),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, StoreError::LastAdmin(id) if *id == boss.id),
            "{what}: {err:?}"
        );
    }
    let err = store.delete_agent(&boss.id).await.unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin(_)), "{err:?}");
    assert_eq!(
        store.agent_by_id(&boss.id).await.unwrap().unwrap().agent,
        boss
    );

    // Changes that keep it an enabled admin are fine.
    store
        .update_agent(
            &boss.id,
            &AgentPatch {
                name: Some("Still boss".into()),
                role: Some(Role::Admin),
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // With a second enabled admin, the first may go; then the second is the last.
    store
        .update_agent(
            &other.id,
            &AgentPatch {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store.update_agent(&boss.id, &demote()).await.unwrap();
    let err = store.update_agent(&other.id, &disable()).await.unwrap_err();
    assert!(matches!(err, StoreError::LastAdmin(_)), "{err:?}");
    // A disabled or demoted admin can always be changed further.
    store.update_agent(&boss.id, &disable()).await.unwrap();
}

/// The guard across replicas: two stores on one location each demote a different one of the
/// last two admins at the same instant; exactly one may succeed.
pub async fn two_replicas_demoting_the_last_two_admins_at_once_leave_one_enabled_admin(h: Harness) {
    let (one, two) = (h.open().await, h.open().await);
    let a = agent(&one, "a@example.com", Role::Admin).await;
    let b = agent(&one, "b@example.com", Role::Admin).await;
    for round in 0..8 {
        let patch = if round % 2 == 0 { demote() } else { disable() };
        let (ra, rb) = tokio::join!(
            one.update_agent(&a.id, &patch),
            two.update_agent(&b.id, &patch)
        );
        let refused = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::LastAdmin(_))))
            .count();
        assert_eq!(
            (ra.is_ok() as u8 + rb.is_ok() as u8, refused),
            (1, 1),
            "round {round}: {ra:?} {rb:?}"
        );
        let admins = one
            .list_agents(&first_page())
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.role == Role::Admin && !x.disabled)
            .count();
        assert_eq!(admins, 1, "round {round}");
        let restore = AgentPatch {
            role: Some(Role::Admin),
            disabled: Some(false),
            ..Default::default()
        };
        one.update_agent(&a.id, &restore).await.unwrap();
        one.update_agent(&b.id, &restore).await.unwrap();
    }
}

pub async fn deleting_an_agent_unassigns_its_open_and_pending_conversations_and_returns_them(
    h: Harness,
) {
    let store = h.open().await;
    let _boss = agent(&store, "boss@example.com", Role::Admin).await;
    let leaving = agent(&store, "leaving@example.com", Role::Agent).await;
    let staying = agent(&store, "staying@example.com", Role::Agent).await;
    let mut assigned = Vec::new();
    for (status, to) in [
        (ConversationStatus::Open, &leaving),
        (ConversationStatus::Pending, &leaving),
        (ConversationStatus::Resolved, &leaving),
        (ConversationStatus::Open, &staying),
    ] {
        let c = open_conversation(&store, status).await;
        let c = store
            .update_conversation(
                &c.id,
                &ConversationPatch {
                    assignee: Some(Some(to.id.clone())),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assigned.push(c);
    }

    let mut changed = store.delete_agent(&leaving.id).await.unwrap();
    changed.sort_by(|x, y| x.id.cmp(&y.id));
    let ids: Vec<&str> = changed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![assigned[0].id.as_str(), assigned[1].id.as_str()]);
    for c in &changed {
        assert_eq!(c.assignee, None);
        assert!(c.updated_at >= assigned[0].updated_at);
        assert_eq!(store.conversation(&c.id).await.unwrap().as_ref(), Some(c));
    }
    let resolved = store.conversation(&assigned[2].id).await.unwrap().unwrap();
    assert_eq!(resolved.assignee.as_deref(), Some(leaving.id.as_str()));
    let other = store.conversation(&assigned[3].id).await.unwrap().unwrap();
    assert_eq!(other.assignee.as_deref(), Some(staying.id.as_str()));

    assert_eq!(store.agent_by_id(&leaving.id).await.unwrap(), None);
    assert_eq!(
        store.agent_by_email("leaving@example.com").await.unwrap(),
        None
    );
    let err = store.delete_agent(&leaving.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    // The email is free again.
    agent(&store, "leaving@example.com", Role::Agent).await;
}

fn revocation(key: &str, not_before_s: i64, expires_in_s: i64) -> Revocation {
    let at = now();
    Revocation {
        key: key.to_string(),
        not_before: at + TimeDelta::seconds(not_before_s),
        expires_at: at + TimeDelta::seconds(expires_in_s),
        at,
        keep_session: None,
    }
}

pub async fn a_revocation_of_a_known_key_keeps_the_later_not_before_and_the_new_at(h: Harness) {
    let store = h.open().await;
    // A password change: every token of the agent, except the session that made the change.
    let first = Revocation {
        keep_session: Some("s-kept".into()),
        ..revocation("agent:a1", 0, 3600)
    };
    store.revoke(&first).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // An older not_before (a slower replica's write) must not reopen the window.
    let older = Revocation {
        not_before: first.not_before - TimeDelta::seconds(60),
        expires_at: first.expires_at - TimeDelta::seconds(60),
        at: now(),
        keep_session: Some("s-old".into()),
        ..first.clone()
    };
    store.revoke(&older).await.unwrap();
    let all = store
        .revocations_since(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(
        all,
        vec![Revocation {
            at: older.at,
            ..first.clone()
        }]
    );

    // A later revocation (the agent disabled) spares nobody: the kept session goes too.
    let later = Revocation {
        not_before: first.not_before + TimeDelta::seconds(30),
        at: now(),
        keep_session: None,
        ..first.clone()
    };
    store.revoke(&later).await.unwrap();
    let all = store
        .revocations_since(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(all, vec![later]);
}

pub async fn revocations_since_returns_the_unexpired_ones_written_at_or_after_it_oldest_first(
    h: Harness,
) {
    let (one, two) = (h.open().await, h.open().await);
    let early = revocation("session:s1", 0, 3600);
    one.revoke(&early).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let gone = revocation("visitor:v1", 0, -1);
    one.revoke(&gone).await.unwrap();
    let late = revocation("api_token:t1", 0, 3600);
    one.revoke(&late).await.unwrap();

    // The other replica sees them; the expired one never.
    let keys = |rs: Vec<Revocation>| rs.into_iter().map(|r| r.key).collect::<Vec<_>>();
    assert_eq!(
        keys(
            two.revocations_since(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
                .await
                .unwrap()
        ),
        vec!["session:s1", "api_token:t1"]
    );
    // Inclusive: a poll from exactly `late.at` still sees it.
    assert_eq!(
        keys(two.revocations_since(late.at).await.unwrap()),
        vec!["api_token:t1"]
    );
    assert_eq!(
        two.revocations_since(late.at + TimeDelta::milliseconds(1))
            .await
            .unwrap(),
        vec![]
    );
}
