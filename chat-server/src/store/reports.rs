//! What the stores keep for satisfaction ratings and reports, shared by both implementations:
//! the outcome of a rating, the per-conversation facts a report summarises, and the message
//! times a bulk import derives (the same rule `append_message` applies one message at a time).

use chrono::{DateTime, Utc};

use crate::model::{AuthorKind, Conversation, Message};

/// What [`super::Store::rate_conversation`] did, with the conversation as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rated {
    /// The rating is stored.
    Stored(Conversation),
    /// It already had one (kept as it was).
    AlreadyRated(Conversation),
    /// It is not resolved: nothing stored.
    NotResolved(Conversation),
}

/// One conversation as a report sees it: no bodies, no labels, nothing a summary does not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationFacts {
    pub created_at: DateTime<Utc>,
    pub assignee: Option<String>,
    /// Its status is `resolved` now.
    pub resolved: bool,
    /// When it was resolved; `None` when it is not (or was resolved before this was stored, on
    /// a store that could not work it out).
    pub resolved_at: Option<DateTime<Utc>>,
    /// The visitor's first message.
    pub first_visitor_at: Option<DateTime<Utc>>,
    /// The first agent message after the visitor's first, private notes and system messages
    /// not counted.
    pub first_response_at: Option<DateTime<Utc>>,
    pub score: Option<u8>,
}

/// `(first_visitor_at, first_response_at)` of a conversation whose messages are `messages`
/// (any order): the rule `append_message` keeps incrementally, for bulk imports.
pub fn message_times(messages: &[Message]) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let first_visitor = messages
        .iter()
        .filter(|m| m.author.kind == AuthorKind::Visitor)
        .min_by_key(|m| m.seq);
    let Some(first_visitor) = first_visitor else {
        return (None, None);
    };
    let response = messages
        .iter()
        .filter(|m| m.author.kind == AuthorKind::Agent && !m.private && m.seq > first_visitor.seq)
        .min_by_key(|m| m.seq);
    (
        Some(first_visitor.created_at),
        response.map(|m| m.created_at),
    )
}

/// A conversation with its messages, stored as they are by
/// [`super::Store::import_conversations`].
pub type Imported = (Conversation, Vec<Message>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Author;

    fn msg(seq: u64, kind: AuthorKind, private: bool, minute: i64) -> Message {
        Message {
            id: format!("m{seq}"),
            conversation_id: "c".into(),
            seq,
            client_msg_id: None,
            author: Author {
                kind,
                id: "x".into(),
                name: None,
            },
            body: String::new(),
            attachments: Vec::new(),
            private,
            created_at: DateTime::from_timestamp(minute * 60, 0).unwrap(),
        }
    }

    #[test]
    fn the_first_response_is_the_first_public_agent_message_after_the_visitors_first() {
        let at = |m: i64| DateTime::from_timestamp(m * 60, 0);
        let messages = [
            msg(1, AuthorKind::Agent, false, 0), // a greeting before the visitor: not a reply
            msg(2, AuthorKind::System, false, 1), // a system line: not a reply
            msg(3, AuthorKind::Visitor, false, 2),
            msg(4, AuthorKind::Agent, true, 3), // a note: not a reply
            msg(5, AuthorKind::System, false, 4),
            msg(6, AuthorKind::Agent, false, 7),
            msg(7, AuthorKind::Agent, false, 8),
        ];
        assert_eq!(message_times(&messages), (at(2), at(7)));
        let mut reversed = messages.to_vec();
        reversed.reverse();
        assert_eq!(message_times(&reversed), (at(2), at(7)));
        assert_eq!(message_times(&messages[..5]), (at(2), None));
        assert_eq!(message_times(&messages[..2]), (None, None));
    }
}
