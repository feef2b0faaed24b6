//! The transcript by mail (`POST /api/v1/conversations/{id}/transcript/email`, visitor): the
//! visitor's own conversation, without notes, as text and HTML (the renderer of
//! [`super::transcript`], so the mail is the document a download gives), sent to the visitor's
//! email when the conversation is resolved, or at once when it already is.
//!
//! The request is stored (`Store::request_transcript`) and taken once (`take_transcript_request`)
//! by whichever comes second: the resolution, or the request re-reading a conversation already
//! resolved. Of a request and a resolution racing on two replicas, exactly one takes it, so the
//! mail is queued once; from the outbox on, delivery is retried like any mail.

use serde::Serialize;

use super::Chat;
use super::transcript::{to_html, to_text};
use crate::auth::Principal;
use crate::error::Error;
use crate::mail::Outgoing;
use crate::model::{ConversationStatus, now};
use crate::store::TranscriptRequest;

/// When the asked-for transcript goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptSends {
    /// The conversation is resolved: it is queued now.
    Now,
    /// When an agent resolves the conversation.
    WhenResolved,
}

impl Chat {
    /// Asks for the transcript of the visitor's own conversation by mail; where and when it goes.
    pub async fn email_transcript(
        &self,
        by: &Principal,
        conversation_id: &str,
    ) -> Result<(String, TranscriptSends), Error> {
        let Principal::Visitor { id: visitor_id, .. } = by else {
            return Err(Error::forbidden(
                "only the conversation's visitor asks for its transcript by mail; agents download it",
            ));
        };
        self.authorize(by, conversation_id).await?;
        if self.reset_mail.is_none() {
            return Err(Error::unavailable(
                "mail_not_configured",
                "this server sends no mail (no CHAT_SMTP_URL); download the transcript instead",
            ));
        }
        let email = self
            .store
            .visitor(visitor_id)
            .await?
            .and_then(|v| v.email)
            .ok_or_else(|| {
                Error::conflict(
                    "visitor_email_missing",
                    "give an email first (PATCH /api/v1/visitors/me {\"email\"}); the transcript \
                     is mailed there",
                )
            })?;
        let request = TranscriptRequest {
            conversation_id: conversation_id.to_string(),
            email: email.clone(),
            requested_at: now(),
        };
        self.store.request_transcript(&request).await?;
        // Read after storing: a resolution that came meanwhile may have missed the request.
        let resolved = self
            .store
            .conversation(conversation_id)
            .await?
            .is_some_and(|c| c.status == ConversationStatus::Resolved);
        if !resolved {
            return Ok((email, TranscriptSends::WhenResolved));
        }
        self.send_requested_transcript(conversation_id).await?;
        Ok((email, TranscriptSends::Now))
    }

    /// After a resolution: the transcript asked for, if any. Never fails the resolution.
    pub(super) async fn after_resolved(&self, conversation_id: &str) {
        if let Err(e) = self.send_requested_transcript(conversation_id).await {
            tracing::warn!(conversation = %conversation_id, error = %e, "a transcript asked for by mail could not be queued");
        }
    }

    /// Takes the conversation's request, if any, and queues the mail.
    async fn send_requested_transcript(&self, conversation_id: &str) -> Result<(), Error> {
        let Some(mail) = &self.reset_mail else {
            return Ok(());
        };
        let Some(request) = self.store.take_transcript_request(conversation_id).await? else {
            return Ok(());
        };
        let transcript = self.visitor_transcript(conversation_id).await?;
        let intro = format!(
            "Here is your conversation with {product}, as you asked.\r\n\r\n",
            product = mail.product_name
        );
        let text = format!("{intro}{}", to_text(&transcript).replace('\n', "\r\n"));
        let id = mail
            .mailer
            .queue(Outgoing {
                to: request.email,
                subject: format!("Your conversation with {}", mail.product_name),
                text,
                html: Some(to_html(&transcript)),
                reply_to: None,
                conversation_id: Some(conversation_id.to_string()),
            })
            .await?;
        tracing::info!(conversation = %conversation_id, mail = %id, "transcript queued for the visitor");
        Ok(())
    }
}
