//! The conformance cases: each takes a fresh, empty store location and checks one part of the
//! `Store` contract. Every implementation must pass every case unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chat_server::model::{
    Agent, AgentRecord, Attachment, AttachmentRef, Author, AuthorKind, Conversation,
    ConversationStatus, NewMessage, Role, Visitor, VisitorRef, new_id, now,
};
use chat_server::store::{
    Appended, AssigneeFilter, ConversationFilter, ConversationPatch, Store, StoreError,
};

use super::Harness;

pub fn agent_record(email: &str, role: Role, password_hash: Option<&str>) -> AgentRecord {
    AgentRecord {
        agent: Agent {
            id: new_id(),
            email: email.to_string(),
            name: format!("Agent {email}"),
            role,
            created_at: now(),
        },
        password_hash: password_hash.map(str::to_string),
    }
}

pub fn visitor(name: Option<&str>) -> Visitor {
    Visitor {
        id: new_id(),
        name: name.map(str::to_string),
        email: name.map(|n| format!("{n}@example.com")),
        created_at: now(),
    }
}

pub async fn open_conversation(store: &Arc<dyn Store>, status: ConversationStatus) -> Conversation {
    let v = visitor(Some("Ana"));
    store.create_visitor(v.clone()).await.unwrap();
    let at = now();
    store
        .create_conversation(Conversation {
            id: new_id(),
            status,
            visitor: VisitorRef {
                id: v.id,
                name: v.name,
            },
            assignee: None,
            created_at: at,
            updated_at: at,
            last_seq: 0,
        })
        .await
        .unwrap()
}

pub fn text(conversation_id: &str, client_msg_id: Option<&str>, body: &str) -> NewMessage {
    NewMessage {
        conversation_id: conversation_id.to_string(),
        client_msg_id: client_msg_id.map(str::to_string),
        author: Author {
            kind: AuthorKind::Visitor,
            id: "visitor-1".into(),
            name: Some("Ana".into()),
        },
        body: body.to_string(),
        attachments: Vec::new(),
    }
}

fn created(appended: Appended) -> chat_server::model::Message {
    match appended {
        Appended::Created(m) => m,
        Appended::Existing(m) => panic!("expected a new message, got the existing {m:?}"),
    }
}

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
    assert!(
        store
            .messages_after(&missing, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
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
