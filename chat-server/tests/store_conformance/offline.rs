//! Cases for "when no one is there": a visitor's contact details (`PATCH /visitors/me`) and mail
//! with an HTML alternative and a Reply-To (offline messages, transcripts), transcript requests.

use chat_server::model::{new_id, now};
use chat_server::store::{MailState, NewMail, StoreError, TranscriptRequest, VisitorPatch};
use chrono::TimeDelta;

use super::Harness;
use super::fixtures::{open_conversation, visitor};
use chat_server::model::ConversationStatus;

pub async fn a_visitors_contact_details_change_only_what_the_patch_names(h: Harness) {
    let a = h.open().await;
    let b = h.open().await;
    let anonymous = visitor(None);
    a.create_visitor(anonymous.clone()).await.unwrap();

    let email_only = VisitorPatch {
        name: None,
        email: Some("vera@example.com".into()),
    };
    let changed = a.update_visitor(&anonymous.id, &email_only).await.unwrap();
    assert_eq!(
        (changed.name.as_deref(), changed.email.as_deref()),
        (None, Some("vera@example.com"))
    );
    let name_only = VisitorPatch {
        name: Some("Vera".into()),
        email: None,
    };
    let changed = b.update_visitor(&anonymous.id, &name_only).await.unwrap();
    assert_eq!(
        (changed.name.as_deref(), changed.email.as_deref()),
        (Some("Vera"), Some("vera@example.com")),
        "the email stays"
    );
    assert_eq!(changed.created_at, anonymous.created_at);
    assert_eq!(
        a.visitor(&anonymous.id).await.unwrap(),
        Some(changed.clone())
    );
    let nothing = b
        .update_visitor(&anonymous.id, &VisitorPatch::default())
        .await
        .unwrap();
    assert_eq!(nothing, changed, "an empty patch changes nothing");
    let err = a.update_visitor(&new_id(), &email_only).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn a_mail_keeps_its_html_and_reply_to_until_it_is_sent(h: Harness) {
    let store = h.open().await;
    let rich = NewMail {
        id: new_id(),
        to: "admin@acme.test".into(),
        subject: "Your conversation".into(),
        body: "Vera: Olá".into(),
        html: Some("<p><b>Vera</b>: Olá</p>".into()),
        reply_to: Some("Vera <vera@example.com>".into()),
        conversation_id: Some(new_id()),
        created_at: now(),
    };
    store.enqueue_mail(rich.clone()).await.unwrap();
    let at = now();
    let claimed = store
        .claim_mails("r", at, at + TimeDelta::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].html.as_deref(), claimed[0].reply_to.as_deref()),
        (rich.html.as_deref(), rich.reply_to.as_deref())
    );
    assert!(store.mail_sent(&rich.id, "r").await.unwrap());
    let sent = store.outbox_mail(&rich.id).await.unwrap().unwrap();
    assert_eq!(
        (sent.state, sent.body.as_str(), sent.html),
        (MailState::Sent, "", None),
        "a sent mail's contents are forgotten"
    );
    assert_eq!(sent.reply_to, rich.reply_to);
    assert_eq!(sent.conversation_id, rich.conversation_id);
}

pub async fn a_transcript_request_is_replaced_by_a_newer_one_and_taken_once(h: Harness) {
    let a = h.open().await;
    let b = h.open().await;
    let conversation_id = new_id();
    let first = TranscriptRequest {
        conversation_id: conversation_id.clone(),
        email: "vera@example.com".into(),
        requested_at: now(),
    };
    a.request_transcript(&first).await.unwrap();
    let newer = TranscriptRequest {
        email: "vera@work.example".into(),
        requested_at: now() + TimeDelta::seconds(1),
        ..first.clone()
    };
    b.request_transcript(&newer).await.unwrap();
    assert_eq!(a.take_transcript_request(&new_id()).await.unwrap(), None);
    // A resolution and a request racing on two replicas: one takes it.
    let (ta, tb) = tokio::join!(
        a.take_transcript_request(&conversation_id),
        b.take_transcript_request(&conversation_id)
    );
    let taken: Vec<_> = [ta.unwrap(), tb.unwrap()].into_iter().flatten().collect();
    assert_eq!(taken, vec![newer], "the newer request, once");
    assert_eq!(
        a.take_transcript_request(&conversation_id).await.unwrap(),
        None
    );

    // Erasing a conversation takes its request (the visitor's email) with it.
    let erased = open_conversation(&a, ConversationStatus::Open).await;
    let for_erased = TranscriptRequest {
        conversation_id: erased.id.clone(),
        ..first
    };
    a.request_transcript(&for_erased).await.unwrap();
    a.erase_conversation(&erased.id).await.unwrap();
    assert_eq!(b.take_transcript_request(&erased.id).await.unwrap(), None);
}

pub async fn conversations_created_pending_wait_for_the_desk_until_their_status_changes(
    h: Harness,
) {
    use chat_server::store::ConversationPatch;
    let a = h.open().await;
    let b = h.open().await;
    let first = open_conversation(&a, ConversationStatus::Pending).await;
    let parked = open_conversation(&a, ConversationStatus::Open).await;
    let second = open_conversation(&b, ConversationStatus::Pending).await;
    let third = open_conversation(&a, ConversationStatus::Pending).await;
    let ids = |cs: Vec<chat_server::model::Conversation>| {
        cs.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    let status = |s| ConversationPatch {
        status: Some(s),
        ..ConversationPatch::default()
    };
    let assignee = |a: Option<&str>| ConversationPatch {
        assignee: Some(a.map(str::to_string)),
        ..ConversationPatch::default()
    };

    // Oldest first, paged by id.
    assert_eq!(
        ids(b.waiting_for_desk(None, 10).await.unwrap()),
        [first.id.as_str(), second.id.as_str(), third.id.as_str()]
    );
    assert_eq!(
        ids(a.waiting_for_desk(Some(&first.id), 1).await.unwrap()),
        [second.id.as_str()]
    );
    // An agent sets an open conversation pending: it waits for the visitor, not the desk.
    a.update_conversation(&parked.id, &status(ConversationStatus::Pending))
        .await
        .unwrap();
    // Set pending again by an agent: no longer the desk's either.
    b.update_conversation(&second.id, &status(ConversationStatus::Pending))
        .await
        .unwrap();
    // Assigned, it is the assignee's; unassigned, it waits for the desk again.
    a.update_conversation(&third.id, &assignee(Some("agent-1")))
        .await
        .unwrap();
    assert_eq!(
        ids(a.waiting_for_desk(None, 10).await.unwrap()),
        [first.id.as_str()]
    );
    a.update_conversation(&third.id, &assignee(None))
        .await
        .unwrap();
    assert_eq!(
        ids(b.waiting_for_desk(None, 10).await.unwrap()),
        [first.id.as_str(), third.id.as_str()]
    );
    // Opened (by the desk or an agent), it is done waiting, also if set pending later.
    a.update_conversation(&first.id, &status(ConversationStatus::Open))
        .await
        .unwrap();
    a.update_conversation(&first.id, &status(ConversationStatus::Pending))
        .await
        .unwrap();
    assert_eq!(
        ids(a.waiting_for_desk(None, 10).await.unwrap()),
        [third.id.as_str()]
    );
}
