//! Builders shared by the cases.

use std::sync::Arc;

use chat_server::model::{
    Agent, AgentRecord, Author, AuthorKind, Conversation, ConversationStatus, Message, NewMessage,
    OidcSubject, Role, Visitor, VisitorRef, new_id, now,
};
use chat_server::store::{Appended, Page, Store, WebhookEndpoint};

pub fn agent_record(email: &str, role: Role, password_hash: Option<&str>) -> AgentRecord {
    AgentRecord {
        agent: Agent {
            id: new_id(),
            email: email.to_string(),
            name: format!("Agent {email}"),
            role,
            disabled: false,
            created_at: now(),
        },
        password_hash: password_hash.map(str::to_string),
        oidc: None,
    }
}

/// The first page of a list, as large as the API allows: everything the cases create.
pub fn first_page() -> Page {
    Page {
        before_id: None,
        limit: 200,
    }
}

pub fn oidc(issuer: &str, subject: &str) -> OidcSubject {
    OidcSubject {
        issuer: issuer.to_string(),
        subject: subject.to_string(),
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
            last_public_seq: 0,
            read: Default::default(),
            labels: Vec::new(),
            team_id: None,
            resolved_at: None,
            rating: None,
            unread: None,
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
        private: false,
    }
}

pub fn created(appended: Appended) -> Message {
    match appended {
        Appended::Created(m) => m,
        Appended::Existing(m) => panic!("expected a new message, got the existing {m:?}"),
    }
}

/// An endpoint subscribed to `events`.
pub fn webhook_endpoint(events: &[&str]) -> WebhookEndpoint {
    WebhookEndpoint {
        id: new_id(),
        url: "https://hooks.example.com/atendo".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        created_by: "admin".into(),
        created_at: now(),
    }
}

/// Every message of the conversation (fixtures hold far fewer than a page).
pub async fn stored_messages(store: &Arc<dyn Store>, conversation_id: &str) -> Vec<Message> {
    store
        .messages_after(conversation_id, 0, 1000)
        .await
        .unwrap()
}
