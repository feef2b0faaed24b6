//! Messages: sending (stored, then published), reading history back, typing.
//! Read receipts and unread counts are in [`super::reads`].

use super::conversations::not_owner;
use super::{Chat, validate};
use crate::auth::Principal;
use crate::delivery::publish::conversation_topic;
use crate::error::Error;
use crate::model::{ConversationStatus, Message, NewMessage, Reader};
use crate::protocol::ServerFrame;
use crate::store::{Appended, ConversationPatch, NewSend, Sent};

impl Chat {
    pub async fn messages(
        &self,
        by: &Principal,
        conversation_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Message>, Error> {
        self.authorize(by, conversation_id).await?;
        let mut messages = self
            .store
            .messages_after(conversation_id, after_seq, limit.clamp(1, 1000))
            .await?;
        // A page may come back shorter for a visitor: `after_seq` of its last message still
        // pages on, since notes only ever sit between the seqs it gets.
        if !by.is_agent() {
            messages.retain(|m| !m.private);
        }
        Ok(messages)
    }

    /// Stores a message (idempotently by `client_msg_id`), then publishes it.
    pub async fn send(
        &self,
        by: &Principal,
        conversation_id: &str,
        client_msg_id: Option<String>,
        body: String,
        attachment_ids: &[String],
    ) -> Result<Appended, Error> {
        self.send_as(
            by,
            conversation_id,
            client_msg_id,
            body,
            attachment_ids,
            false,
        )
        .await
    }

    /// [`Chat::send`], or with `private` a note only agents ever see.
    pub async fn send_as(
        &self,
        by: &Principal,
        conversation_id: &str,
        client_msg_id: Option<String>,
        body: String,
        attachment_ids: &[String],
        private: bool,
    ) -> Result<Appended, Error> {
        if private && !by.is_agent() {
            return Err(Error::forbidden("only agents write private notes"));
        }
        let client_msg_id = client_msg_id
            .map(|c| validate::client_msg_id(&c))
            .transpose()?;
        validate::body(
            &body,
            !attachment_ids.is_empty(),
            self.limits.max_message_bytes,
        )?;
        if !attachment_ids.is_empty() {
            // Whose conversation it is, before anything is said about its attachments.
            self.authorize(by, conversation_id).await?;
        }
        let attachments = self
            .attachments_for(by, conversation_id, attachment_ids)
            .await?;
        // One store call checks the owner, appends, and stores the `message.created` event,
        // also for a replayed send: the event id is the message's, so that stores nothing new,
        // or heals a first attempt (through a store without one write for all three) that died
        // before storing the event.
        let sent = self
            .store
            .send_message(NewSend {
                message: NewMessage {
                    conversation_id: conversation_id.to_string(),
                    client_msg_id,
                    author: by.author(),
                    body,
                    attachments,
                    private,
                },
                owner: (!by.is_agent()).then(|| by.id().to_string()),
                event: Some(crate::webhooks::message_created_event),
                // Its own message never counts as unread for the agent who wrote it.
                read_by: by.is_agent().then(|| Reader::Agent(by.id().to_string())),
            })
            .await?;
        let (appended, conversation, events) = match sent {
            Sent::Stored {
                appended,
                before,
                events,
            } => (appended, before, events),
            Sent::NotOwner => return Err(not_owner(conversation_id)),
        };
        self.webhooks.stored(events);
        if let Appended::Created(_) = appended {
            self.metrics.messages.inc();
        }
        // The replay of someone else's message would hand it over (a note, to a visitor who
        // guessed its client_msg_id): only the author's own retry gets the original back.
        if let Appended::Existing(m) = &appended
            && m.author.id != by.id()
        {
            return Err(Error::conflict(
                "duplicate_client_msg_id",
                "client_msg_id was already used in this conversation by someone else; use a new one",
            ));
        }
        // Publishing a replayed send again is harmless (receivers drop seqs they have) and
        // heals the case where the first attempt stored but died before publishing.
        let message = appended.message().clone();
        self.tell_subscribers(conversation_id, &ServerFrame::Message { message })
            .await;
        if !by.is_agent() {
            // For a replayed send too, as the event above: it heals a first attempt that died
            // between storing the message and queuing the offline mail.
            self.after_visitor_message(&conversation, appended.message())
                .await;
        }
        let reopens = !by.is_agent() && conversation.status == ConversationStatus::Resolved;
        if let Appended::Created(m) = &appended
            && !reopens
        {
            self.after_sent(by, conversation, m).await;
        }
        if reopens {
            // A visitor writing again reopens the conversation for the agents.
            self.change(
                conversation_id,
                ConversationPatch {
                    status: Some(ConversationStatus::Open),
                    assignee: None,
                    team: None,
                },
            )
            .await?;
        }
        Ok(appended)
    }

    pub async fn typing(
        &self,
        by: &Principal,
        conversation_id: &str,
        state: bool,
    ) -> Result<(), Error> {
        self.authorize(by, conversation_id).await?;
        let frame = ServerFrame::Typing {
            conversation_id: conversation_id.to_string(),
            author: by.author(),
            state,
        };
        self.tell_subscribers(conversation_id, &frame).await;
        Ok(())
    }

    /// Publishes `frame` to every socket subscribed to the conversation, on every replica.
    pub(super) async fn tell_subscribers(&self, conversation_id: &str, frame: &ServerFrame) {
        self.publisher
            .publish(conversation_topic(conversation_id), frame)
            .await;
    }
}
