//! Password reset by mail: a single-use link, valid `ttl` (30 minutes), that sets a new password
//! and signs the agent out everywhere.
//!
//! - No account oracle: asking for a reset answers the same (202) for an unknown email, a
//!   disabled agent, a single-sign-on account without a password, and a real one; the work for
//!   a real one (store the token, queue the mail) runs after the answer, so the time taken says
//!   nothing either. Rate limits (per address and per email) apply to every email alike.
//! - The token is 32 random bytes; the store keeps only its SHA-256 (a copy of the database
//!   resets nothing), and taking it is one atomic delete, so of two confirmations at most one
//!   succeeds, also across replicas.
//! - A successful reset revokes every token of the agent, like an admin disabling it: whoever
//!   held a session (perhaps the reason for the reset) loses it at once. It also cancels the
//!   agent's other pending links, as a password change does.
//! - Without mail configured, asking answers 503 `mail_not_configured` for every email alike,
//!   rather than pretending a mail went out.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use super::{Chat, validate};
use crate::auth::revocation::agent_key;
use crate::auth::secrets::{self, sha256_hex};
use crate::error::Error;
use crate::mail::Mailer;
use crate::model::now;
use crate::store::{AgentPatch, ResetToken};

/// What resets need when mail is configured.
pub struct ResetMail {
    pub mailer: Arc<Mailer>,
    /// CHAT_PUBLIC_URL, without a trailing slash: the link points at its console.
    pub public_url: String,
    pub ttl: Duration,
    pub product_name: String,
}

fn invalid_token() -> Error {
    Error::invalid(
        "invalid_reset_token",
        "this reset link is unknown, used or expired; ask for a new one",
    )
}

impl Chat {
    /// Queues a reset mail when `email` belongs to an enabled agent with a password; answers the
    /// same either way (see the module comment).
    pub async fn request_password_reset(self: &Arc<Self>, email: &str) -> Result<(), Error> {
        if self.reset_mail.is_none() {
            return Err(Error::unavailable(
                "mail_not_configured",
                "password reset needs mail, and this server has no CHAT_SMTP_URL; ask an admin",
            ));
        }
        let chat = self.clone();
        let email = email.trim().to_string();
        tokio::spawn(async move {
            if let Err(e) = chat.send_reset(&email).await {
                tracing::warn!(error = %e, "a password reset could not be queued");
            }
        });
        Ok(())
    }

    async fn send_reset(&self, email: &str) -> Result<(), Error> {
        let Some(mail) = &self.reset_mail else {
            return Ok(());
        };
        let Some(record) = self.store.agent_by_email(email).await? else {
            tracing::debug!("password reset for an unknown email: nothing sent");
            return Ok(());
        };
        if record.agent.disabled || record.password_hash.is_none() {
            tracing::debug!(agent = %record.agent.id, "password reset for a disabled or password-less agent: nothing sent");
            return Ok(());
        }
        let token = secrets::random();
        let created_at = now();
        let ttl = TimeDelta::from_std(mail.ttl).unwrap_or(TimeDelta::minutes(30));
        self.store
            .create_reset_token(ResetToken {
                token_sha256: sha256_hex(&token),
                agent_id: record.agent.id.clone(),
                created_at,
                expires_at: created_at + ttl,
            })
            .await?;
        // The console is served at `/`; its router reads the fragment.
        let link = format!("{}/#/reset?token={token}", mail.public_url);
        let minutes = mail.ttl.as_secs().div_ceil(60);
        let body = format!(
            "Hello {name},\r\n\r\nSomeone (hopefully you) asked to reset the password of your \
             {product} account. Open this link within {minutes} minutes to choose a new one:\r\n\r\n\
             {link}\r\n\r\nThe link works once. If you did not ask, ignore this mail: your \
             password stays as it is.\r\n",
            name = record.agent.name,
            product = mail.product_name,
        );
        let subject = format!("Reset your {} password", mail.product_name);
        let id = mail
            .mailer
            .enqueue(&record.agent.email, &subject, body)
            .await?;
        tracing::info!(agent = %record.agent.id, mail = %id, "password reset mail queued");
        Ok(())
    }

    /// Sets the password of the agent `token` was made for, once, and revokes all its tokens.
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        // Before taking the token: a weak password must not use up the link.
        validate::password(new_password)?;
        if token.is_empty() || token.len() > 128 {
            return Err(invalid_token());
        }
        let taken = self
            .store
            .take_reset_token(&sha256_hex(token), now())
            .await?
            .ok_or_else(invalid_token)?;
        let agent_id = taken.agent_id;
        match self.store.agent_by_id(&agent_id).await? {
            Some(record) if !record.agent.disabled => {}
            _ => return Err(invalid_token()),
        }
        let hash = self
            .auth
            .passwords
            .hash(new_password.to_string())
            .await
            .map_err(|e| self.password_error(e))?;
        self.store
            .update_agent(
                &agent_id,
                &AgentPatch {
                    password_hash: Some(hash),
                    ..AgentPatch::default()
                },
            )
            .await?;
        // The other links of this agent are moot now, and one of them could undo this reset.
        self.store.drop_reset_tokens(&agent_id).await?;
        self.revoke(agent_key(&agent_id), None).await?;
        tracing::info!(agent = %agent_id, "password reset; every session of the agent revoked");
        Ok(())
    }
}
