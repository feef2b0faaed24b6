//! What the durable mail outbox and password resets store (see `Store::enqueue_mail` and
//! `Store::create_reset_token`). Mail is sent by `crate::mail`, never inside a request: a request
//! only stores the mail, so an SMTP outage or a crash loses nothing.

use chrono::{DateTime, Utc};

/// A mail to store, due at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// An HTML alternative to `body` (the mail is then multipart/alternative).
    pub html: Option<String>,
    /// Where replies go (an offline message's visitor).
    pub reply_to: Option<String>,
    /// The conversation the mail is about (a transcript, an offline message): erasing the
    /// conversation removes the mail, which names its visitor.
    pub conversation_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailState {
    /// Waiting for its due time (or claimed by a replica until then).
    Pending,
    /// Accepted by the SMTP server; the body (and HTML) is forgotten (it may hold a reset link).
    Sent,
    /// Given up after a permanent refusal or too many attempts; the body is forgotten too.
    Failed,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A mail as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub reply_to: Option<String>,
    pub conversation_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub state: MailState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it may be claimed next: a claim moves it to the end of the claimer's lease, so a
    /// replica that dies mid-send delays the mail by one lease and no more.
    pub due_at: DateTime<Utc>,
    /// The replica (its random id) that claimed it last.
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
}

/// A password-reset token as stored: only its SHA-256 (hex), like API tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetToken {
    pub token_sha256: String,
    pub agent_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
