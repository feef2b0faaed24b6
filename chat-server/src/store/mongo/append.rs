//! `append_message`: seq allocation by optimistic insert (the algorithm and why are in the
//! module comment of [`super`]).

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use mongodb::bson::doc;

use super::MongoStore;
use super::conversations::read_field;
use super::docs::{ConversationDoc, MessageDoc, bson_time};
use super::errors::{is_duplicate_key, store_error};
use crate::model::{AuthorKind, Conversation, Message, NewMessage, Reader, new_id, now};
use crate::store::{Appended, NewSend, Sent, StoreError, StoreResult, send};

/// How long one append may keep losing races before it gives up as `Unavailable`.
const APPEND_BUDGET: Duration = Duration::from_secs(10);

/// Conversations share `APPEND_STRIPES` in-process locks; two that share one only take turns.
pub(super) const APPEND_STRIPES: usize = 64;

fn stripe(hasher: &RandomState, conversation_id: &str) -> usize {
    (hasher.hash_one(conversation_id) % APPEND_STRIPES as u64) as usize
}

/// What an append needs to know of its conversation: `(last_seq, last_public_seq, whether the
/// visitor's first message is recorded)`.
type Seqs = (u64, u64, bool);

fn seqs(doc: &ConversationDoc) -> Seqs {
    (
        doc.last_seq,
        // Absent before private notes existed, when all messages were public.
        doc.last_public_seq.unwrap_or(doc.last_seq),
        doc.first_visitor_at.is_some(),
    )
}

impl MongoStore {
    pub(super) async fn append(&self, new: NewMessage) -> StoreResult<Appended> {
        let _turn = self.turn(&new.conversation_id).await;
        let doc = self.conversation_doc(&new.conversation_id).await?;
        self.append_after(new, seqs(&doc), None).await
    }

    /// `Store::send_message` with one read fewer than the calls in turn: the conversation read
    /// for the owner check is also where the seqs come from.
    pub(super) async fn send(&self, send: NewSend) -> StoreResult<Sent> {
        let turn = self.turn(&send.message.conversation_id).await;
        let doc = self.conversation_doc(&send.message.conversation_id).await?;
        let seqs = seqs(&doc);
        let before = Conversation::from(doc);
        if !send::owns(&send.owner, &before) {
            return Ok(Sent::NotOwner);
        }
        let appended = self
            .append_after(send.message, seqs, send.read_by.as_ref())
            .await?;
        drop(turn);
        let events = match send.event {
            Some(event) => {
                self.insert_webhook_event(event(appended.message())?)
                    .await?
            }
            None => 0,
        };
        Ok(Sent::Stored {
            appended,
            before,
            events,
        })
    }

    /// The conversation as stored, read in this process's turn for it; `NotFound` if absent.
    async fn conversation_doc(&self, id: &str) -> StoreResult<ConversationDoc> {
        self.conversations
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| store_error(&format!("reading conversation {id}"), e))?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
    }

    /// One append per conversation at a time in this process (see the module comment), so
    /// only other replicas compete for a seq.
    async fn turn(&self, conversation_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.append_locks[stripe(&self.lock_hasher, conversation_id)]
            .lock()
            .await
    }

    /// The append, in this process's turn for the conversation, from the `seqs` read in it.
    /// The conversation's last_seq is where the next seq starts: it never goes back (`$max`),
    /// so seqs are not reused even if old messages were ever deleted. `read_by` has read up to
    /// a created message (`NewSend::read_by`), in the same conversation update.
    async fn append_after(
        &self,
        new: NewMessage,
        seqs: Seqs,
        read_by: Option<&Reader>,
    ) -> StoreResult<Appended> {
        let (last_seq, last_public_seq, visitor_spoke) = seqs;
        let read_field = read_by.map(read_field).transpose()?;
        let conversation_id = new.conversation_id.clone();
        let what = || format!("appending to conversation {conversation_id}");
        let started = Instant::now();
        for (attempt, seq) in (1u64..).zip(last_seq + 1..) {
            let message = Message {
                id: new_id(),
                conversation_id: conversation_id.clone(),
                seq,
                client_msg_id: new.client_msg_id.clone(),
                author: new.author.clone(),
                body: new.body.clone(),
                attachments: new.attachments.clone(),
                private: new.private,
                created_at: now(),
            };
            let inserted = self
                .messages
                .insert_one(MessageDoc::from(message.clone()))
                .await;
            match inserted {
                Ok(_) => {
                    self.bump_conversation(
                        &message,
                        last_public_seq,
                        visitor_spoke,
                        read_field.as_deref(),
                    )
                    .await?;
                    return Ok(Appended::Created(message));
                }
                Err(e) if is_duplicate_key(&e) => {
                    // A clash on the seq index alone needs no look-up: retrying at once keeps the
                    // race fair against a replica appending back to back.
                    let seq_clash = e.to_string().contains("seq_unique");
                    if !seq_clash && let Some(original) = self.by_client_msg_id(&new).await? {
                        return Ok(Appended::Existing(original));
                    }
                }
                Err(e) => return Err(store_error(&what(), e)),
            }
            // Another writer took `seq`: its message is stored, so `seq + 1` keeps the no-hole
            // rule. Stepping up without a query makes each retry one round trip, cheaper than
            // the other writer's whole append, so a loser catches up instead of starving (a
            // query for the highest seq per retry lost 57 times in a row against a busy replica).
            if started.elapsed() > APPEND_BUDGET {
                return Err(StoreError::Unavailable(format!(
                    "{}: lost the race for a seq {attempt} times in {APPEND_BUDGET:?}",
                    what()
                )));
            }
            // A growing pause starved this writer when the other replica had a queue of appends
            // (seen: 32 losses in 10 s); only spread out after many losses, and only a little.
            if attempt > 8 {
                tokio::time::sleep(Duration::from_micros(rand::random_range(0..=2_000))).await;
            }
        }
        unreachable!("the retry loop only ends by returning")
    }

    async fn by_client_msg_id(&self, new: &NewMessage) -> StoreResult<Option<Message>> {
        let Some(client_msg_id) = &new.client_msg_id else {
            return Ok(None);
        };
        let found = self
            .messages
            .find_one(
                doc! { "conversation_id": &new.conversation_id, "client_msg_id": client_msg_id },
            )
            .await
            .map_err(|e| store_error(&format!("reading message {client_msg_id}"), e))?;
        Ok(found.map(Message::from))
    }

    /// `$max`, not `$set`: appends finish out of order, and no field may move back (a read
    /// position either, `read_field` being the author's when it has read its own message). A note
    /// leaves `last_public_seq` where it was read, which also writes it into a conversation
    /// that predates notes (absent, it would read as `last_seq`, the note's seq).
    ///
    /// The report's message times go down with `$min` (absent fields are set): the visitor's
    /// first message, and the first public agent message once the visitor's first was recorded
    /// before this append began (so it is a reply to it).
    async fn bump_conversation(
        &self,
        message: &Message,
        last_public_seq: u64,
        visitor_spoke: bool,
        read_field: Option<&str>,
    ) -> StoreResult<()> {
        let public = match message.private {
            true => last_public_seq,
            false => message.seq,
        };
        let mut raised = doc! {
            "last_seq": message.seq as i64,
            "last_public_seq": public as i64,
            "updated_at": bson_time(message.created_at),
        };
        if let Some(field) = read_field {
            raised.insert(field, message.seq as i64);
        }
        let mut update = doc! { "$max": raised };
        let at = bson_time(message.created_at);
        match message.author.kind {
            AuthorKind::Visitor => {
                update.insert("$min", doc! { "first_visitor_at": at });
            }
            AuthorKind::Agent if visitor_spoke && !message.private => {
                update.insert("$min", doc! { "first_response_at": at });
            }
            _ => {}
        }
        self.conversations
            .update_one(doc! { "_id": &message.conversation_id }, update)
            .await
            .map_err(|e| {
                store_error(
                    &format!(
                        "updating conversation {} after seq {}",
                        message.conversation_id, message.seq
                    ),
                    e,
                )
            })?;
        Ok(())
    }
}
