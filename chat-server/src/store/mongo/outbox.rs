//! The mail outbox (`outbox`) and password-reset tokens (`password_resets`), as plain documents.
//!
//! A claim is `find_one_and_update` on `{state: pending, due_at <= now}` that moves `due_at` to the
//! end of the lease: one document write, atomic on any MongoDB (and SecantusDB), so two replicas
//! never claim one mail at once. Taking a reset token is `find_one_and_delete`, atomic the same way.

use chrono::{DateTime, Utc};
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;

use super::docs::bson_time;
use super::errors::store_error;
use super::{MongoStore, inserted};
use crate::store::{MailState, NewMail, OutboxMail, ResetToken, StoreError, StoreResult};

fn time(d: &Document, key: &str) -> StoreResult<DateTime<Utc>> {
    let t = d
        .get_datetime(key)
        .map_err(|e| StoreError::Other(format!("outbox field {key}: {e}")))?;
    Ok(DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default())
}

fn text(d: &Document, key: &str) -> String {
    d.get_str(key).unwrap_or_default().to_string()
}

fn mail(d: &Document) -> StoreResult<OutboxMail> {
    Ok(OutboxMail {
        id: text(d, "_id"),
        to: text(d, "to"),
        subject: text(d, "subject"),
        body: text(d, "body"),
        created_at: time(d, "created_at")?,
        state: MailState::parse(d.get_str("state").unwrap_or_default())
            .unwrap_or(MailState::Failed),
        attempts: d.get_i32("attempts").unwrap_or_default().max(0) as u32,
        due_at: time(d, "due_at")?,
        claimed_by: d.get_str("claimed_by").ok().map(str::to_string),
        last_error: d.get_str("last_error").ok().map(str::to_string),
        html: d.get_str("html").ok().map(str::to_string),
        reply_to: d.get_str("reply_to").ok().map(str::to_string),
        conversation_id: d.get_str("conversation_id").ok().map(str::to_string),
    })
}

impl MongoStore {
    pub(super) async fn insert_mail(&self, m: NewMail) -> StoreResult<()> {
        let mut mail = doc! {
            "_id": &m.id,
            "to": &m.to,
            "subject": &m.subject,
            "body": &m.body,
            "created_at": bson_time(m.created_at),
            "state": MailState::Pending.as_str(),
            "attempts": 0,
            "due_at": bson_time(m.created_at),
        };
        if let Some(html) = &m.html {
            mail.insert("html", html);
        }
        if let Some(reply_to) = &m.reply_to {
            mail.insert("reply_to", reply_to);
        }
        if let Some(conversation_id) = &m.conversation_id {
            mail.insert("conversation_id", conversation_id);
        }
        let result = self.outbox.insert_one(mail).await;
        inserted(|| format!("mail {}", m.id), result)
    }

    pub(super) async fn claim_due_mails(
        &self,
        claimer: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMail>> {
        let mut claimed: Vec<OutboxMail> = Vec::new();
        while claimed.len() < limit as usize {
            // Not those just claimed: with a lease ending at `now` they would still be due.
            let taken: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
            let found = self
                .outbox
                .find_one_and_update(
                    doc! {
                        "state": "pending",
                        "due_at": { "$lte": bson_time(now) },
                        "_id": { "$nin": taken },
                    },
                    doc! { "$set": { "claimed_by": claimer, "due_at": bson_time(lease_until) } },
                )
                .sort(doc! { "due_at": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| store_error("claiming mails", e))?;
            match found {
                Some(d) => claimed.push(mail(&d)?),
                None => break,
            }
        }
        Ok(claimed)
    }

    pub(super) async fn finish_mail(
        &self,
        id: &str,
        claimer: &str,
        update: Document,
    ) -> StoreResult<bool> {
        let done = self
            .outbox
            .update_one(
                doc! { "_id": id, "claimed_by": claimer, "state": "pending" },
                update,
            )
            .await
            .map_err(|e| store_error(&format!("updating mail {id}"), e))?;
        Ok(done.matched_count == 1)
    }

    /// By `_id` range (mail ids begin with a ULID), so the `_id` index finds what goes.
    pub(super) async fn delete_old_mails(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let bound = crate::store::webhooks::first_id_at(before);
        let deleted = self
            .outbox
            .delete_many(doc! { "_id": { "$lt": bound }, "state": { "$ne": "pending" } })
            .await
            .map_err(|e| store_error("purging old mails", e))?;
        Ok(deleted.deleted_count)
    }

    pub(super) async fn find_mail(&self, id: &str) -> StoreResult<Option<OutboxMail>> {
        let found = self
            .outbox
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading mail {id}"), e))?;
        found.as_ref().map(mail).transpose()
    }

    pub(super) async fn insert_reset_token(&self, t: ResetToken) -> StoreResult<()> {
        let result = self
            .password_resets
            .insert_one(doc! {
                "_id": &t.token_sha256,
                "agent_id": &t.agent_id,
                "created_at": bson_time(t.created_at),
                "expires_at": bson_time(t.expires_at),
            })
            .await;
        inserted(|| "reset token".to_string(), result)
    }

    pub(super) async fn delete_reset_token(
        &self,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ResetToken>> {
        let found = self
            .password_resets
            .find_one_and_delete(doc! { "_id": sha256, "expires_at": { "$gt": bson_time(now) } })
            .await
            .map_err(|e| store_error("taking a reset token", e))?;
        found
            .map(|d| {
                Ok(ResetToken {
                    token_sha256: text(&d, "_id"),
                    agent_id: text(&d, "agent_id"),
                    created_at: time(&d, "created_at")?,
                    expires_at: time(&d, "expires_at")?,
                })
            })
            .transpose()
    }

    /// Unindexed on `agent_id` on purpose: the collection holds only live links (expired ones
    /// go by TTL), a handful of documents.
    pub(super) async fn delete_reset_tokens_of(&self, agent_id: &str) -> StoreResult<u64> {
        let done = self
            .password_resets
            .delete_many(doc! { "agent_id": agent_id })
            .await
            .map_err(|e| store_error("dropping reset tokens", e))?;
        Ok(done.deleted_count)
    }
}
