//! Cases for the mail outbox (claimed with a lease by one replica at a time, sent, retried,
//! failed) and password-reset tokens (taken once, never after expiry).

use std::time::Duration;

use chat_server::model::{new_id, now};
use chat_server::store::{MailState, NewMail, ResetToken, StoreError};
use chrono::TimeDelta;

use super::Harness;

fn mail(to: &str) -> NewMail {
    NewMail {
        id: new_id(),
        to: to.to_string(),
        subject: "Reset your password".into(),
        body: "secret link".into(),
        html: None,
        reply_to: None,
        conversation_id: None,
        created_at: now(),
    }
}

pub async fn mails_are_claimed_by_one_replica_until_the_lease_runs_out(h: Harness) {
    let a = h.open().await;
    let b = h.open().await;
    let first = mail("one@acme.test");
    a.enqueue_mail(first.clone()).await.unwrap();
    assert!(matches!(
        a.enqueue_mail(first.clone()).await,
        Err(StoreError::Conflict(_))
    ));
    let second = mail("two@acme.test");
    b.enqueue_mail(second.clone()).await.unwrap();

    // Two replicas claim at the same instant: each mail goes to exactly one of them.
    let at = now();
    let lease = at + TimeDelta::seconds(60);
    let (ca, cb) = tokio::join!(
        a.claim_mails("replica-a", at, lease, 10),
        b.claim_mails("replica-b", at, lease, 10)
    );
    let (ca, cb) = (ca.unwrap(), cb.unwrap());
    let mut ids: Vec<_> = ca.iter().chain(&cb).map(|m| m.id.clone()).collect();
    ids.sort();
    let mut expected = vec![first.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(ids, expected, "each mail claimed once: {ca:?} / {cb:?}");
    let claimed = ca.iter().chain(&cb).find(|m| m.id == first.id).unwrap();
    assert_eq!(claimed.body, "secret link");
    assert_eq!(claimed.state, MailState::Pending);
    assert_eq!(claimed.due_at, lease);

    // Within the lease nobody claims them again; after it, someone may.
    assert!(
        a.claim_mails("replica-a", at + TimeDelta::seconds(59), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = at + TimeDelta::seconds(61);
    let again = b
        .claim_mails("replica-b", later, later + TimeDelta::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    assert!(
        again
            .iter()
            .all(|m| m.claimed_by.as_deref() == Some("replica-b"))
    );

    // The old holder's outcome no longer counts; the new holder's does, and forgets the body.
    assert!(!a.mail_sent(&first.id, "replica-a").await.unwrap());
    assert!(b.mail_sent(&first.id, "replica-b").await.unwrap());
    let sent = a.outbox_mail(&first.id).await.unwrap().unwrap();
    assert_eq!((sent.state, sent.body.as_str()), (MailState::Sent, ""));
    assert!(
        !b.mail_sent(&first.id, "replica-b").await.unwrap(),
        "sent once"
    );
    let far = later + TimeDelta::hours(1);
    let left = a.claim_mails("replica-a", far, far, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|m| &m.id).collect::<Vec<_>>(),
        vec![&second.id]
    );
}

pub async fn failed_mails_are_retried_later_then_given_up_with_the_last_error(h: Harness) {
    let store = h.open().await;
    let m = mail("x@acme.test");
    store.enqueue_mail(m.clone()).await.unwrap();
    let at = now();
    let lease = at + TimeDelta::seconds(30);
    assert_eq!(store.claim_mails("r", at, lease, 1).await.unwrap().len(), 1);
    let retry = at + TimeDelta::seconds(5);
    assert!(
        store
            .mail_failed(&m.id, "r", "451 try later", Some(retry))
            .await
            .unwrap()
    );
    let stored = store.outbox_mail(&m.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.state,
            stored.attempts,
            stored.due_at,
            stored.last_error.as_deref()
        ),
        (MailState::Pending, 1, retry, Some("451 try later"))
    );
    assert!(
        store
            .claim_mails("r", at + TimeDelta::seconds(4), lease, 1)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_mails("r", retry, retry + TimeDelta::seconds(30), 1)
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    assert!(
        store
            .mail_failed(&m.id, "r", "550 no such user", None)
            .await
            .unwrap()
    );
    let failed = store.outbox_mail(&m.id).await.unwrap().unwrap();
    assert_eq!(
        (
            failed.state,
            failed.attempts,
            failed.body.as_str(),
            failed.last_error.as_deref()
        ),
        (MailState::Failed, 2, "", Some("550 no such user"))
    );
    let far = now() + TimeDelta::days(1);
    assert!(
        store
            .claim_mails("r", far, far, 10)
            .await
            .unwrap()
            .is_empty(),
        "failed stays failed"
    );
}

pub async fn a_reset_token_is_taken_once_and_never_after_it_expires(h: Harness) {
    let a = h.open().await;
    let b = h.open().await;
    let created_at = now();
    let token = ResetToken {
        token_sha256: format!("{:064x}", 7),
        agent_id: "01agent".into(),
        created_at,
        expires_at: created_at + TimeDelta::minutes(30),
    };
    a.create_reset_token(token.clone()).await.unwrap();
    assert!(matches!(
        a.create_reset_token(token.clone()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        b.take_reset_token(&format!("{:064x}", 8), now())
            .await
            .unwrap(),
        None
    );
    // Two replicas take it at once: one gets it.
    let (ta, tb) = tokio::join!(
        a.take_reset_token(&token.token_sha256, now()),
        b.take_reset_token(&token.token_sha256, now())
    );
    let got: Vec<_> = [ta.unwrap(), tb.unwrap()].into_iter().flatten().collect();
    assert_eq!(got, vec![token.clone()]);

    let short = ResetToken {
        token_sha256: format!("{:064x}", 9),
        expires_at: created_at + TimeDelta::milliseconds(50),
        ..token
    };
    a.create_reset_token(short.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        b.take_reset_token(&short.token_sha256, now())
            .await
            .unwrap(),
        None
    );
}

pub async fn dropping_an_agents_reset_tokens_takes_all_of_its_links_and_no_one_elses(h: Harness) {
    let a = h.open().await;
    let b = h.open().await;
    let created_at = now();
    let link = |n: u32, agent: &str| ResetToken {
        token_sha256: format!("{n:064x}"),
        agent_id: agent.into(),
        created_at,
        expires_at: created_at + TimeDelta::minutes(30),
    };
    for t in [link(1, "01ana"), link(2, "01ana"), link(3, "01bia")] {
        a.create_reset_token(t).await.unwrap();
    }
    assert_eq!(b.drop_reset_tokens("01ana").await.unwrap(), 2);
    assert_eq!(a.drop_reset_tokens("01ana").await.unwrap(), 0);
    for n in [1, 2] {
        assert_eq!(
            b.take_reset_token(&format!("{n:064x}"), now())
                .await
                .unwrap(),
            None,
            "link {n} of the dropped agent"
        );
    }
    assert_eq!(
        a.take_reset_token(&format!("{:064x}", 3), now())
            .await
            .unwrap(),
        Some(link(3, "01bia")),
        "another agent's link stays"
    );
}

pub async fn erasing_a_conversation_removes_the_mails_about_it_pending_and_sent(h: Harness) {
    use super::fixtures::open_conversation;
    use chat_server::model::ConversationStatus;
    let store = h.open().await;
    let gone = open_conversation(&store, ConversationStatus::Pending).await;
    let kept = open_conversation(&store, ConversationStatus::Pending).await;
    let about = |c: &str| NewMail {
        subject: "[ACME] Offline message from Vera".into(),
        reply_to: Some("vera@example.com".into()),
        conversation_id: Some(c.to_string()),
        ..mail("admin@acme.test")
    };
    let sent = about(&gone.id);
    store.enqueue_mail(sent.clone()).await.unwrap();
    let at = now();
    let claimed = store
        .claim_mails("r", at, at + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store.mail_sent(&sent.id, "r").await.unwrap());
    let pending = about(&gone.id);
    let other = about(&kept.id);
    let unrelated = mail("ana@acme.test");
    for m in [&pending, &other, &unrelated] {
        store.enqueue_mail(m.clone()).await.unwrap();
    }

    store.erase_conversation(&gone.id).await.unwrap().unwrap();

    for m in [&sent, &pending] {
        assert_eq!(
            store.outbox_mail(&m.id).await.unwrap(),
            None,
            "a mail about the erased conversation is gone, sent or not"
        );
    }
    let later = now();
    let mut left: Vec<String> = store
        .claim_mails("r", later, later + TimeDelta::seconds(30), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    left.sort();
    let mut want = vec![other.id.clone(), unrelated.id.clone()];
    want.sort();
    assert_eq!(left, want, "only mails about other things are still sent");
}

pub async fn purging_removes_old_sent_and_failed_mails_but_never_pending_ones(h: Harness) {
    let store = h.open().await;
    let (sent, failed, pending) = (
        mail("a@acme.test"),
        mail("b@acme.test"),
        mail("c@acme.test"),
    );
    for m in [&sent, &failed, &pending] {
        store.enqueue_mail(m.clone()).await.unwrap();
    }
    let at = now();
    let claimed = store
        .claim_mails("r", at, at + TimeDelta::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(store.mail_sent(&sent.id, "r").await.unwrap());
    assert!(
        store
            .mail_failed(&failed.id, "r", "550 no such user", None)
            .await
            .unwrap()
    );
    assert!(
        store
            .mail_failed(&pending.id, "r", "451 try later", Some(at))
            .await
            .unwrap()
    );

    assert_eq!(
        store.purge_mails(at - TimeDelta::minutes(1)).await.unwrap(),
        0
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cut = now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer = mail("d@acme.test");
    store.enqueue_mail(newer.clone()).await.unwrap();
    let claimed = store
        .claim_mails("r", now(), now() + TimeDelta::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "the retried one and the newer one");
    assert!(store.mail_sent(&newer.id, "r").await.unwrap());

    assert_eq!(
        store.purge_mails(cut).await.unwrap(),
        2,
        "the old sent and failed mails"
    );
    assert!(store.outbox_mail(&sent.id).await.unwrap().is_none());
    assert!(store.outbox_mail(&failed.id).await.unwrap().is_none());
    let kept = store.outbox_mail(&pending.id).await.unwrap().unwrap();
    assert_eq!(
        kept.state,
        MailState::Pending,
        "a pending mail stays however old"
    );
    let recent = store.outbox_mail(&newer.id).await.unwrap().unwrap();
    assert_eq!(
        recent.state,
        MailState::Sent,
        "a mail sent after the cut stays"
    );
}
