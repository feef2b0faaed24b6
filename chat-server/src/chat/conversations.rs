//! Conversations: a visitor starts one, agents list, assign and resolve them, and every change
//! is announced to the agents.

use super::paging::{self, Paged};
use super::reads::as_seen_by;
use super::{Chat, require_agent};
use crate::auth::Principal;
use crate::delivery::publish::{AGENTS_TOPIC, conversation_topic};
use crate::error::Error;
use crate::model::{Conversation, ConversationStatus, VisitorRef, new_id, now};
use crate::protocol::ServerFrame;
use crate::store::{ConversationFilter, ConversationPatch, Page};

impl Chat {
    pub async fn create_conversation(&self, by: &Principal) -> Result<Conversation, Error> {
        let Principal::Visitor { id, name } = by else {
            return Err(Error::forbidden("only visitors start conversations"));
        };
        self.check_open_conversations(id).await?;
        // Started while nobody is there (outside the hours, or no agent online): it waits for
        // the desk as `pending`, whatever the client believes.
        let status = match self.availability().open {
            true => ConversationStatus::Open,
            false => ConversationStatus::Pending,
        };
        // The name the visitor gave last (`PATCH /visitors/me`), which its token may predate.
        let name = match self.store.visitor(id).await? {
            Some(stored) if stored.name.is_some() => stored.name,
            _ => name.clone(),
        };
        let at = now();
        let conversation = self
            .store
            .create_conversation(Conversation {
                id: new_id(),
                status,
                visitor: VisitorRef {
                    id: id.clone(),
                    name,
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
            .await?;
        self.conversation_created_event(&conversation).await?;
        self.announce(&conversation).await;
        Ok(self.route_new(conversation).await.as_visitor_sees_it())
    }

    /// One visitor cannot fill the agents' inbox: a few unresolved conversations at a time. Two
    /// racing creations may both pass; the cap is for floods, not an exact count.
    async fn check_open_conversations(&self, visitor_id: &str) -> Result<(), Error> {
        let cap = self.limits.max_open_conversations;
        let mut open = 0;
        for status in [ConversationStatus::Open, ConversationStatus::Pending] {
            let filter = ConversationFilter {
                status: Some(status),
                visitor_id: Some(visitor_id.to_string()),
                limit: cap,
                ..ConversationFilter::default()
            };
            open += self.store.list_conversations(&filter).await?.len();
        }
        if open >= cap as usize {
            return Err(Error::conflict(
                "too_many_open_conversations",
                format!(
                    "this visitor already has {open} unresolved conversations, the most it may; \
                     continue one of them"
                ),
            ));
        }
        Ok(())
    }

    /// The conversation if `by` may see it: agents see all, visitors their own.
    pub async fn authorize(&self, by: &Principal, id: &str) -> Result<Conversation, Error> {
        let conversation = self
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("conversation {id}")))?;
        match by {
            Principal::Visitor { id: v, .. } if *v != conversation.visitor.id => Err(not_owner(id)),
            _ => Ok(conversation),
        }
    }

    /// One page of conversations, newest first; `filter`'s own cursor and limit are replaced by
    /// `page`'s.
    pub async fn list_conversations(
        &self,
        by: &Principal,
        mut filter: ConversationFilter,
        page: &Page,
    ) -> Result<Paged<Conversation>, Error> {
        if let Principal::Visitor { id, .. } = by {
            filter.visitor_id = Some(id.clone());
        }
        let probe = paging::probe(page);
        filter.before_id = probe.before_id;
        filter.limit = probe.limit;
        filter.label = filter.label.map(|l| label(&l, "label")).transpose()?;
        let list = self.store.list_conversations(&filter).await?;
        let seen = list.into_iter().map(|c| as_seen_by(by, c)).collect();
        Ok(paging::paged(seen, page, |c: &Conversation| &c.id))
    }

    /// The conversation as `by` may see it (a visitor's view counts no private note).
    pub async fn conversation(&self, by: &Principal, id: &str) -> Result<Conversation, Error> {
        Ok(as_seen_by(by, self.authorize(by, id).await?))
    }

    /// Routes the conversation to an agent and/or a team; each field given changes (`None`
    /// inside clears it), one left out stays.
    pub async fn assign(
        &self,
        by: &Principal,
        conversation_id: &str,
        to: Assignment,
    ) -> Result<Conversation, Error> {
        require_agent(by)?;
        self.authorize(by, conversation_id).await?;
        if to.agent_id.is_none() && to.team_id.is_none() {
            return Err(Error::invalid(
                "invalid_assignment",
                "give agent_id (an agent, or null to unassign) or team_id (a team, or null)",
            ));
        }
        if let Some(Some(agent_id)) = &to.agent_id
            && self.store.agent_by_id(agent_id).await?.is_none()
        {
            return Err(Error::invalid(
                "unknown_agent",
                format!("agent {agent_id} does not exist"),
            ));
        }
        if let Some(Some(team_id)) = &to.team_id
            && self.store.team(team_id).await?.is_none()
        {
            return Err(Error::invalid(
                "unknown_team",
                format!("team {team_id} does not exist"),
            ));
        }
        let changed = self
            .change(
                conversation_id,
                ConversationPatch {
                    status: None,
                    assignee: to.agent_id,
                    team: to.team_id,
                },
            )
            .await?;
        // The previous assignee has a slot more, or the conversation waits (for its team).
        self.slot_may_have_opened();
        Ok(changed)
    }

    /// Replaces the conversation's labels (normalised by [`labels`]) and tells the agents.
    pub async fn set_labels(
        &self,
        by: &Principal,
        conversation_id: &str,
        labels: &[String],
    ) -> Result<Conversation, Error> {
        require_agent(by)?;
        let labels = self::labels(labels)?;
        self.authorize(by, conversation_id).await?;
        let conversation = self.store.set_labels(conversation_id, &labels).await?;
        self.conversation_updated_event(&conversation).await?;
        self.announce(&conversation).await;
        Ok(conversation)
    }

    pub async fn set_status(
        &self,
        by: &Principal,
        conversation_id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation, Error> {
        require_agent(by)?;
        self.authorize(by, conversation_id).await?;
        let changed = self
            .change(
                conversation_id,
                ConversationPatch {
                    status: Some(status),
                    assignee: None,
                    team: None,
                },
            )
            .await?;
        // Resolved or pending: its agent has a slot more; reopened: it may be waiting.
        self.slot_may_have_opened();
        if status == ConversationStatus::Resolved {
            self.after_resolved(conversation_id).await;
        }
        // Its subscribers hear it too: the visitor's widget asks for a rating once resolved.
        let frame = ServerFrame::Status {
            conversation_id: changed.id.clone(),
            status: changed.status,
        };
        self.publisher
            .publish(conversation_topic(&changed.id), &frame)
            .await;
        Ok(changed)
    }

    pub(super) async fn change(
        &self,
        id: &str,
        patch: ConversationPatch,
    ) -> Result<Conversation, Error> {
        let conversation = self.store.update_conversation(id, &patch).await?;
        self.conversation_updated_event(&conversation).await?;
        self.announce(&conversation).await;
        Ok(conversation)
    }

    /// Tells agents that a conversation was created or changed.
    pub(super) async fn announce(&self, conversation: &Conversation) {
        let frame = ServerFrame::Conversation {
            conversation: conversation.clone(),
        };
        self.publisher
            .publish(AGENTS_TOPIC.to_string(), &frame)
            .await;
    }
}

/// A visitor asked for a conversation of another visitor's.
pub(super) fn not_owner(id: &str) -> Error {
    Error::forbidden(format!("conversation {id} belongs to another visitor"))
}

/// Where `POST …/assign` sends a conversation; `None` leaves that side as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// `Some(None)` unassigns.
    pub agent_id: Option<Option<String>>,
    /// `Some(None)` takes the conversation out of its team.
    pub team_id: Option<Option<String>>,
}

/// Enough to sort an inbox by; more is a tagging scheme gone wrong.
const MAX_LABELS: usize = 20;
const MAX_LABEL_CHARS: usize = 40;

/// A label as stored and filtered by: trimmed, lowercase, one word of letters, digits, `-`,
/// `_`, `.`, `:` or `/`, so "Billing" and "billing " are the same label. `field` names it in
/// the refusal.
pub fn label(raw: &str, field: &str) -> Result<String, Error> {
    let label = raw.trim().to_lowercase();
    let valid = !label.is_empty()
        && label.chars().count() <= MAX_LABEL_CHARS
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'));
    if valid {
        Ok(label)
    } else {
        Err(Error::invalid(
            "invalid_label",
            format!(
                "{field} {raw:?} must be 1-{MAX_LABEL_CHARS} letters, digits, '-', '_', '.', ':' \
                 or '/', without spaces"
            ),
        ))
    }
}

/// Every label normalised, repeats dropped, order kept.
fn labels(raw: &[String]) -> Result<Vec<String>, Error> {
    if raw.len() > MAX_LABELS {
        return Err(Error::invalid(
            "too_many_labels",
            format!(
                "labels has {} entries; a conversation may carry {MAX_LABELS}",
                raw.len()
            ),
        ));
    }
    let mut labels: Vec<String> = Vec::with_capacity(raw.len());
    for (i, l) in raw.iter().enumerate() {
        let l = label(l, &format!("labels[{i}]"))?;
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_lowercased_trimmed_and_kept_once_in_order() {
        let raw = [" Billing ", "VIP", "billing", "região:sul"].map(String::from);
        assert_eq!(labels(&raw).unwrap(), ["billing", "vip", "região:sul"]);
    }

    #[test]
    fn bad_labels_are_named_by_position() {
        let e = labels(&["ok", "a b"].map(String::from)).unwrap_err();
        assert_eq!(e.code, "invalid_label");
        assert!(e.message.starts_with("labels[1]"), "{}", e.message);
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}")).collect();
        assert_eq!(labels(&many).unwrap_err().code, "too_many_labels");
    }
}
