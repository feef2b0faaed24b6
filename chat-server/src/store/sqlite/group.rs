//! Group commit for `send_message` and `append_message`: appends that arrive while a commit is
//! under way wait in a queue and are then committed together, in one transaction and so one WAL
//! fsync.
//!
//! Why: with `synchronous=FULL` every commit fsyncs, and one transaction per message capped the
//! store at one message per fsync while every other append queued behind it on the writer
//! lock (each on its own blocking-pool thread). Batching keeps the fsync per commit (durability
//! is unchanged) but shares it among everything that was waiting.
//!
//! The store contract still holds:
//! - **Gap-free seqs.** The appends of a batch run one after another in a single `BEGIN
//!   IMMEDIATE` transaction, each reading the `last_seq` the previous one wrote.
//! - **Idempotency.** A `client_msg_id` repeated within a batch finds the first copy, which the
//!   same transaction already inserted.
//! - **Ack after commit.** Callers hear their result only after the commit returned; if the
//!   commit fails, every append of the batch gets the error and none of them was stored.
//! - **One bad append spoils nothing else.** Each append runs under its own savepoint, so one
//!   that fails (say, an unknown conversation) is rolled back alone.
//!
//! There is no timer and no extra thread: the first append to find the queue idle starts a
//! flusher on the blocking pool, which commits whatever is queued, then looks again, and stops
//! when the queue is empty. A lone append therefore waits for nothing but its own commit.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::append;
use super::connections::{Connections, in_transaction};
use super::rows::store_error;
use crate::store::{NewSend, Sent, StoreError, StoreResult};

/// Most appends one transaction takes, so a long queue still gets its acks in steps.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<StoreResult<Sent>>;

#[derive(Default)]
struct Queue {
    waiting: Vec<(NewSend, Reply)>,
    /// A flusher is running and will look at `waiting` again before it stops.
    flushing: bool,
}

#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
}

impl GroupCommit {
    pub async fn append(
        self: &Arc<Self>,
        conns: &Arc<Connections>,
        message: NewSend,
    ) -> StoreResult<Sent> {
        let (reply, result) = oneshot::channel();
        let start = {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.waiting.push((message, reply));
            !std::mem::replace(&mut q.flushing, true)
        };
        if start {
            let this = self.clone();
            let conns = conns.clone();
            tokio::task::spawn_blocking(move || this.flush(&conns));
        }
        result.await.map_err(|_| {
            StoreError::Other("the embedded store's writer stopped before committing".into())
        })?
    }

    /// Commits batches until the queue is empty. Runs on the blocking pool.
    fn flush(&self, conns: &Connections) {
        // If a commit panics, the next append must still find a flusher: clear the flag on the
        // way out, and hand anything still queued to the error path of the dropped replies.
        struct Stop<'a>(&'a GroupCommit);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut q = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
                    q.flushing = false;
                    q.waiting.clear();
                }
            }
        }
        let _stop = Stop(self);
        loop {
            let batch = {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if q.waiting.is_empty() {
                    q.flushing = false;
                    return;
                }
                let take = q.waiting.len().min(MAX_BATCH);
                q.waiting.drain(..take).collect::<Vec<_>>()
            };
            conns.with_writer(|conn, path| commit(conn, path, batch));
        }
    }
}

fn commit(conn: &mut Connection, path: &Path, batch: Vec<(NewSend, Reply)>) {
    let (messages, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    let outcome = in_transaction(conn, path, |tx| {
        let mut results = Vec::with_capacity(messages.len());
        for message in messages {
            tx.execute_batch("SAVEPOINT append")
                .map_err(|e| store_error(path, e))?;
            let result = append::send(tx, path, message);
            let end = match result {
                Ok(_) => "RELEASE append",
                Err(_) => "ROLLBACK TO append; RELEASE append",
            };
            tx.execute_batch(end).map_err(|e| store_error(path, e))?;
            results.push(result);
        }
        Ok(results)
    });
    match outcome {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                // The caller may have gone away (its socket closed); the message is stored.
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(same(&e)));
            }
        }
    }
}

/// The batch's one error, for each of its callers.
fn same(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound(m) => StoreError::NotFound(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::LastAdmin(m) => StoreError::LastAdmin(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Other(m) => StoreError::Other(m.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Author, AuthorKind, Conversation, ConversationStatus, NewMessage, Visitor, VisitorRef,
        new_id, now,
    };
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Appended, Store};

    /// A message from `owner`, sent into a conversation only that visitor may write to.
    fn send(
        conversation_id: &str,
        owner: &str,
        client_msg_id: Option<&str>,
        body: &str,
    ) -> NewSend {
        NewSend {
            message: NewMessage {
                conversation_id: conversation_id.into(),
                client_msg_id: client_msg_id.map(str::to_string),
                author: Author {
                    kind: AuthorKind::Visitor,
                    id: owner.into(),
                    name: None,
                },
                body: body.into(),
                attachments: Vec::new(),
                private: false,
            },
            owner: Some(owner.into()),
            event: None,
            read_by: None,
        }
    }

    /// A new visitor's new conversation: (visitor id, conversation id).
    async fn conversation(store: &SqliteStore) -> (String, String) {
        let visitor = Visitor {
            id: new_id(),
            name: None,
            email: None,
            created_at: now(),
        };
        store.create_visitor(visitor.clone()).await.unwrap();
        let created = store
            .create_conversation(Conversation {
                id: new_id(),
                status: ConversationStatus::Open,
                visitor: VisitorRef {
                    id: visitor.id.clone(),
                    name: None,
                },
                assignee: None,
                created_at: now(),
                updated_at: now(),
                last_seq: 0,
                last_public_seq: 0,
                read: Default::default(),
                labels: Vec::new(),
                team_id: None,
                resolved_at: None,
                rating: None,
                unread: None,
            })
            .await
            .unwrap();
        (visitor.id, created.id)
    }

    fn appended(r: &StoreResult<Sent>) -> &Appended {
        match r {
            Ok(Sent::Stored { appended, .. }) => appended,
            other => panic!("expected a stored message: {other:?}"),
        }
    }

    /// One batch, committed by hand so that its make-up is certain: a repeated client_msg_id,
    /// an unknown conversation and another visitor's conversation in the middle, and two
    /// conversations interleaved.
    #[tokio::test]
    async fn one_batch_keeps_seqs_gap_free_repeats_idempotent_and_a_failure_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let ((va, a), (vb, b)) = (conversation(&store).await, conversation(&store).await);
        let (a, b) = (a.as_str(), b.as_str());
        let sends = [
            send(a, &va, Some("x"), "first"),
            send(b, &vb, None, "b1"),
            send("no-such-conversation", &va, Some("y"), "lost"),
            send(a, &va, Some("x"), "retry of first"),
            send(b, &va, None, "into someone else's conversation"),
            send(a, &va, None, "second"),
            send(b, &vb, Some("z"), "b2"),
        ];
        let mut batch = Vec::new();
        let mut results = Vec::new();
        for m in sends {
            let (tx, rx) = oneshot::channel();
            batch.push((m, tx));
            results.push(rx);
        }
        store
            .conns
            .with_writer(|conn, path| commit(conn, path, batch));
        let mut got = Vec::new();
        for rx in results {
            got.push(rx.await.unwrap());
        }
        let seq = |r: &StoreResult<Sent>| appended(r).message().seq;
        assert!(matches!(appended(&got[0]), Appended::Created(_)));
        assert_eq!(seq(&got[0]), 1);
        assert_eq!(seq(&got[1]), 1);
        assert!(
            matches!(got[2], Err(StoreError::NotFound(_))),
            "{:?}",
            got[2]
        );
        match appended(&got[3]) {
            Appended::Existing(m) => assert_eq!(m.body, "first"),
            other => panic!("the retry should find the original: {other:?}"),
        }
        assert!(matches!(got[4], Ok(Sent::NotOwner)), "{:?}", got[4]);
        assert_eq!(seq(&got[5]), 2);
        match &got[5] {
            Ok(Sent::Stored { before, .. }) => assert_eq!(before.last_seq, 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(seq(&got[6]), 2);
        let stored: Vec<(u64, String)> = store
            .messages_after(a, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.body))
            .collect();
        assert_eq!(stored, vec![(1, "first".into()), (2, "second".into())]);
        assert_eq!(store.conversation(b).await.unwrap().unwrap().last_seq, 2);
    }

    #[tokio::test]
    async fn many_concurrent_appends_each_get_their_own_seq() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let (visitor, id) = conversation(&store).await;
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..300 {
            let (store, id, visitor) = (store.clone(), id.clone(), visitor.clone());
            let cmid = format!("m{}", i % 250);
            sends.spawn(async move {
                let new = send(&id, &visitor, Some(&cmid), "hi");
                if i % 2 == 0 {
                    store.append_message(new.message).await
                } else {
                    match store.send_message(new).await? {
                        Sent::Stored { appended, .. } => Ok(appended),
                        Sent::NotOwner => panic!("the owner was refused"),
                    }
                }
            });
        }
        let mut seqs = Vec::new();
        while let Some(r) = sends.join_next().await {
            if let Appended::Created(m) = r.unwrap().unwrap() {
                seqs.push(m.seq);
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=250).collect::<Vec<u64>>());
    }
}
