//! Conversations started while nobody is there (chat-api-v1, "When no one is there").
//!
//! - A visitor's conversation started while the desk is not open ([`super::availability`]) is
//!   created `pending`. Its first message, the offline message, is mailed to every enabled admin
//!   through the durable outbox (`crate::mail`), with the visitor's email as Reply-To when it gave
//!   one: queued in the request, then retried by the sender until delivered, across restarts.
//!   Without mail configured nothing is mailed and the conversation still waits, pending.
//! - When the desk opens again (an agent comes online inside the hours, or the hours begin with
//!   one online), the conversations that were waiting for it become `open`, and automatic
//!   assignment routes them as it routes any waiting conversation. "Waiting for the desk" is told
//!   from a conversation an agent set to pending ("waiting for the visitor") by the store, which
//!   records it at creation and forgets it at any status change
//!   ([`crate::store::Store::waiting_for_desk`]); one an agent is assigned to or answered (while
//!   the desk was closed) is not opened either. Every replica watches; two flipping one
//!   conversation at once set the same status.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Chat;
use crate::error::Error;
use crate::mail::Outgoing;
use crate::model::{AuthorKind, Conversation, ConversationStatus, Message, Role};
use crate::store::ConversationPatch;

/// How often each replica looks whether the desk opened (an in-memory check).
const WATCH: Duration = Duration::from_secs(1);
/// While open, waiting conversations are looked for this often anyway: one created by a replica
/// that had not yet heard an agent come online would otherwise wait for the next opening.
const SWEEP: Duration = Duration::from_secs(30);
/// Waiting conversations read per store query.
const BATCH: u32 = 100;
/// Messages of a waiting conversation read to see whether an agent wrote in it.
const HISTORY: u32 = 200;

impl Chat {
    /// Opens the conversations that waited for the desk whenever it opens, until `shutdown`.
    pub async fn open_waiting_in_background(self: Arc<Self>, shutdown: CancellationToken) {
        let mut was_open = false;
        let mut swept = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(WATCH);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let open = self.availability().open;
            let due = open && (!was_open || swept.elapsed() >= SWEEP);
            was_open = open;
            if !due {
                continue;
            }
            swept = tokio::time::Instant::now();
            match self.open_waiting().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    conversations = n,
                    "the desk opened: conversations that waited for it are open"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "opening the conversations that waited for the desk failed; retrying");
                    was_open = false;
                }
            }
        }
    }

    /// Opens the conversations that waited for the desk and no agent answered; how many.
    async fn open_waiting(&self) -> Result<usize, Error> {
        let mut opened = 0;
        let mut after: Option<String> = None;
        loop {
            let waiting = self.store.waiting_for_desk(after.as_deref(), BATCH).await?;
            let Some(last) = waiting.last() else { break };
            after = Some(last.id.clone());
            for conversation in waiting {
                let history = self
                    .store
                    .messages_after(&conversation.id, 0, HISTORY)
                    .await?;
                // An agent answered it while the desk was closed: it waits for the visitor
                // now. A private note is no answer to the visitor, who is still waiting.
                if history
                    .iter()
                    .any(|m| m.author.kind == AuthorKind::Agent && !m.private)
                {
                    continue;
                }
                let patch = ConversationPatch {
                    status: Some(ConversationStatus::Open),
                    ..ConversationPatch::default()
                };
                self.change(&conversation.id, patch).await?;
                opened += 1;
            }
        }
        if opened > 0 {
            self.slot_may_have_opened();
        }
        Ok(opened)
    }

    /// After a visitor's message, also a replayed one: the first one of a conversation waiting
    /// for the desk is the offline message, mailed to the admins. Never fails the send: the
    /// message is stored.
    pub(super) async fn after_visitor_message(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) {
        if conversation.status != ConversationStatus::Pending || message.seq != 1 {
            return;
        }
        if let Err(e) = self.mail_offline_message(conversation, message).await {
            tracing::warn!(conversation = %conversation.id, error = %e, "the offline message could not be queued for the admins");
        }
    }

    async fn mail_offline_message(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) -> Result<(), Error> {
        let Some(mail) = &self.reset_mail else {
            tracing::info!(conversation = %conversation.id, "offline message: mail is not configured, so it waits in the pending conversation only");
            return Ok(());
        };
        let visitor = self.store.visitor(&conversation.visitor.id).await?;
        let name = visitor
            .as_ref()
            .and_then(|v| v.name.clone())
            .or_else(|| conversation.visitor.name.clone())
            .unwrap_or_else(|| "A visitor".to_string());
        let email = visitor.and_then(|v| v.email);
        let contact = match &email {
            Some(e) => format!("{name} <{e}>"),
            None => format!("{name} (no email given)"),
        };
        let subject = format!("[{}] Offline message from {name}", mail.product_name);
        let body = format!(
            "{contact} wrote while nobody was at the desk ({at}):\r\n\r\n{text}\r\n\r\n\
             The conversation waits as pending in the console: {url}/\r\n{reply}",
            at = message.created_at.format("%Y-%m-%d %H:%M UTC"),
            text = message.body.replace('\n', "\r\n"),
            url = mail.public_url,
            reply = match email {
                Some(_) => "Reply to this mail to answer the visitor.\r\n",
                None => "",
            },
        );
        let admins = self.all_agents().await?;
        for admin in admins
            .iter()
            .filter(|a| a.role == Role::Admin && !a.disabled)
        {
            // One id per message and admin: the visitor's retry of a send that died before
            // this point queues what is missing, and nothing twice.
            let id = format!("{}-{}", message.id, admin.id);
            let outgoing = Outgoing {
                to: admin.email.clone(),
                subject: subject.clone(),
                text: body.clone(),
                html: None,
                reply_to: email.clone(),
                conversation_id: Some(conversation.id.clone()),
            };
            if mail.mailer.queue_once(id.clone(), outgoing).await? {
                tracing::info!(conversation = %conversation.id, mail = %id, "offline message queued for an admin");
            }
        }
        Ok(())
    }
}
