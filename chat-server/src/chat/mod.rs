//! The use cases of the chat, shared by REST handlers and websocket sessions: who may do what,
//! what is stored, and what is published afterwards. One file per capability, each an
//! `impl Chat` block:
//!
//! - [`identity`]: the bootstrap admin, visitors, agents and sign-in;
//! - [`conversations`]: starting, listing, assigning and resolving conversations;
//! - [`messages`]: sending, reading back and typing;
//! - [`reads`]: stored read state, receipts and unread counts;
//! - [`presence`]: which agents are online;
//! - [`routing`]: automatic assignment of new and waiting conversations (round robin);
//! - [`attachments`]: upload and download URLs for files in a conversation;
//! - [`api_tokens`]: integrations' credentials, shown once, stored hashed;
//! - [`password_reset`]: single-use reset links by mail;
//! - [`availability`], [`offline`], [`visitors`]: whether anyone is there (business hours, agents
//!   online), what happens to conversations started while nobody is, and a visitor's contact
//!   details; [`transcript_mail`]: a visitor's transcript by mail once resolved;
//! - [`transcript`]: one conversation as a JSON, text or HTML document (download and mail);
//! - [`export`], [`erasure`], [`retention`]: data rights: the tenant as NDJSON, erasing a visitor
//!   with all it said and uploaded, and erasing old resolved conversations; [`late_uploads`]:
//!   files an upload URL handed out before an erasure puts back afterwards;
//! - [`canned`], [`teams`], [`search`]: the desk's saved replies, agent teams and message search
//!   (labels live with [`conversations`]), listed in pages ([`paging`]);
//! - [`webhooks`]: integrations' endpoints, and the events the changes above put in their outbox.
//!
//! Errors are the core's own ([`crate::error::Error`]); the edges map them to HTTP or frames.

mod api_tokens;
mod attachments;
pub mod availability;
mod canned;
mod conversations;
mod erasure;
mod export;
mod identity;
mod late_uploads;
mod messages;
mod offline;
pub mod paging;
mod password_reset;
mod presence;
mod ratings;
mod reads;
pub mod reports;
mod retention;
mod routing;
mod search;
mod sessions;
mod teams;
pub mod transcript;
mod transcript_mail;
pub(crate) mod validate;
mod visitors;
mod webhooks;

use std::sync::Arc;

use chat_settings::business_hours::BusinessHours;

use crate::auth::{Authenticated, Authenticator, Principal};
use crate::delivery::presence::PresenceBoard;
use crate::delivery::publish::Publisher;
use crate::delivery::signed_in::SignedIn;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::uploads::BlobStore;

pub use api_tokens::NewApiToken;
pub use attachments::Upload;
pub use conversations::Assignment;
pub use erasure::ErasedVisitor;
pub use identity::Listed;
pub use password_reset::ResetMail;
pub use retention::{RetentionSettings, Swept};
pub use routing::Routing;
pub use search::SearchHit;
pub use sessions::AgentChange;
pub use transcript_mail::TranscriptSends;
pub use validate::Limits;
pub use webhooks::{DeliveryAttempt, NewWebhook, Webhook};

pub struct Chat {
    store: Arc<dyn Store>,
    publisher: Publisher,
    auth: Authenticator,
    blobs: Arc<dyn BlobStore>,
    limits: Limits,
    metrics: Arc<Metrics>,
    /// Open sockets by token, closed here at once when this replica revokes.
    signed_in: Arc<SignedIn>,
    /// Agents' sockets on every replica.
    presence: Arc<PresenceBoard>,
    routing: Routing,
    /// `None` without CHAT_SMTP_URL.
    reset_mail: Option<ResetMail>,
    webhooks: Arc<crate::webhooks::Webhooks>,
    /// CHAT_BUSINESS_HOURS; `None` = always.
    hours: Option<BusinessHours>,
}

/// What the core needs from the outside world.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub publisher: Publisher,
    pub auth: Authenticator,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub signed_in: Arc<SignedIn>,
    pub presence: Arc<PresenceBoard>,
    pub routing: Routing,
    pub reset_mail: Option<ResetMail>,
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    pub hours: Option<BusinessHours>,
}

impl Chat {
    pub fn new(parts: Parts) -> Self {
        let Parts {
            store,
            publisher,
            auth,
            blobs,
            limits,
            metrics,
            signed_in,
            presence,
            routing,
            reset_mail,
            webhooks,
            hours,
        } = parts;
        Self {
            store,
            publisher,
            auth,
            blobs,
            limits,
            metrics,
            signed_in,
            presence,
            routing,
            reset_mail,
            webhooks,
            hours,
        }
    }

    /// Where the ratings feature (and any other) stores its webhook events.
    pub fn webhooks(&self) -> &Arc<crate::webhooks::Webhooks> {
        &self.webhooks
    }

    /// Who holds `token` (a visitor or an agent), and which sign-in it belongs to; revoked
    /// tokens are refused with `token_revoked`.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, Error> {
        self.auth.authenticate(token).await
    }
}

fn require_agent(by: &Principal) -> Result<(), Error> {
    if by.is_agent() {
        Ok(())
    } else {
        Err(Error::forbidden("this needs an agent token"))
    }
}

/// `what` names the refused action: "only admins may {what}".
fn require_admin(by: &Principal, what: &str) -> Result<(), Error> {
    if by.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(format!("only admins may {what}")))
    }
}
