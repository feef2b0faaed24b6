//! Store reads for replay and gap fills, shared between sessions that ask for the same page at
//! the same time.
//!
//! After a bus resync, or when the clients of a killed replica reconnect here, every session of a
//! conversation reads "the messages after seq n" at once, and almost all of them ask for the same
//! n. Without sharing, a room of 100 subscribers costs 100 identical store reads and 100 JSON
//! encodings of each message. Here the first caller's read is shared with every caller that asks
//! for the same (conversation, after, limit) while it is in flight; the frames are encoded once.
//! Nothing is cached past the read: a caller that comes later reads again, so it never misses
//! what was committed meanwhile. A page says when its read was issued, which may be before the
//! caller asked: what arrived on the bus after that instant is not judged by it
//! (`subscription::Subscription::confirm`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use prometheus_client::metrics::counter::Counter;

use super::subscription::Outgoing;
use crate::metrics::Metrics;
use crate::model::Message;
use crate::protocol::ServerFrame;
use crate::store::{Store, StoreError};

/// One page of frames ready to write, in seq order, and when the read was issued.
#[derive(Clone, Debug)]
pub struct Page {
    pub started: Instant,
    pub frames: Arc<[Outgoing]>,
}

/// What one store read returns.
pub type Read = Result<Arc<[Outgoing]>, StoreError>;

type Key = (String, u64, u32);
type SharedRead = Shared<BoxFuture<'static, Result<Page, StoreError>>>;

/// Reads a page from the store: `(conversation_id, after_seq, limit)`.
pub type ReadPage = Arc<dyn Fn(String, u64, u32) -> BoxFuture<'static, Read> + Send + Sync>;

pub struct CatchUp {
    read: ReadPage,
    asks: Option<Counter>,
    in_flight: Arc<Mutex<HashMap<Key, SharedRead>>>,
}

impl CatchUp {
    /// Pages of `store`'s messages, each encoded once as the frame every session writes.
    pub fn from_store(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        let asks = metrics.store_page_asks.clone();
        let mut catch_up = CatchUp::new(Arc::new(move |conversation: String, after, limit| {
            let store = store.clone();
            metrics.store_page_reads.inc();
            async move {
                let messages = store.messages_after(&conversation, after, limit).await?;
                Ok(messages.iter().map(frame).collect())
            }
            .boxed()
        }));
        catch_up.asks = Some(asks);
        catch_up
    }

    pub fn new(read: ReadPage) -> Self {
        CatchUp {
            read,
            asks: None,
            in_flight: Arc::default(),
        }
    }

    /// The frames of the messages after `after` (at most `limit`), joining a read of the same
    /// page already under way.
    pub async fn page(
        &self,
        conversation_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Page, StoreError> {
        if let Some(asks) = &self.asks {
            asks.inc();
        }
        let key = (conversation_id.to_string(), after, limit);
        let shared = {
            let mut in_flight = self.in_flight.lock().expect("catch-up map poisoned");
            match in_flight.get(&key) {
                Some(read) => read.clone(),
                None => {
                    // Taken before the read is issued, so never later than the store sees it.
                    let started = Instant::now();
                    let read = (self.read)(key.0.clone(), after, limit);
                    let map = self.in_flight.clone();
                    let done_key = key.clone();
                    // A task of its own, so the read finishes and leaves the map even when every
                    // session waiting for it has gone (the lock held here orders its removal
                    // after this insert).
                    let task = tokio::spawn(async move {
                        let page = read.await;
                        map.lock().expect("catch-up map poisoned").remove(&done_key);
                        page
                    });
                    let read = async move {
                        let frames = task.await.unwrap_or_else(|e| {
                            Err(StoreError::Other(format!("reading the store failed: {e}")))
                        })?;
                        Ok(Page { started, frames })
                    }
                    .boxed()
                    .shared();
                    in_flight.insert(key, read.clone());
                    read
                }
            }
        };
        shared.await
    }

    /// Reads under way, for tests.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().expect("catch-up map poisoned").len()
    }
}

/// A stored message as the frame a session writes.
pub fn frame(m: &Message) -> Outgoing {
    Outgoing {
        seq: m.seq,
        committed_ms: m.created_at.timestamp_millis(),
        text: ServerFrame::Message { message: m.clone() }.to_text().into(),
        private: m.private,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn frame(seq: u64) -> Outgoing {
        Outgoing {
            seq,
            committed_ms: 0,
            text: format!("m{seq}").into(),
            private: false,
        }
    }

    /// A store whose reads take `delay` and are counted; "broken" fails.
    fn counting(delay: Duration) -> (CatchUp, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = reads.clone();
        let read: ReadPage = Arc::new(move |conversation: String, after: u64, limit: u32| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(delay).await;
                if conversation == "broken" {
                    return Err(StoreError::Unavailable("down".into()));
                }
                Ok((after + 1..=after + u64::from(limit)).map(frame).collect())
            }
            .boxed()
        });
        (CatchUp::new(read), reads)
    }

    #[tokio::test]
    async fn concurrent_asks_for_the_same_page_share_one_read() {
        let (catch_up, reads) = counting(Duration::from_millis(50));
        let catch_up = Arc::new(catch_up);
        let mut asks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let c = catch_up.clone();
            asks.spawn(async move { c.page("room", 7, 3).await });
        }
        while let Some(page) = asks.join_next().await {
            let seqs: Vec<u64> = page
                .unwrap()
                .unwrap()
                .frames
                .iter()
                .map(|o| o.seq)
                .collect();
            assert_eq!(seqs, [8, 9, 10]);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(catch_up.in_flight(), 0, "a finished read is forgotten");
    }

    #[tokio::test]
    async fn a_page_joined_late_reports_when_its_read_was_issued_not_when_it_was_asked_for() {
        let (catch_up, reads) = counting(Duration::from_millis(50));
        let catch_up = Arc::new(catch_up);
        let before_first = Instant::now();
        let first = {
            let c = catch_up.clone();
            tokio::spawn(async move { c.page("room", 0, 2).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let asked = Instant::now();
        let joined = catch_up.page("room", 0, 2).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 1, "the second ask joined");
        assert!(
            joined.started >= before_first && joined.started < asked,
            "a frame that arrived between the read and the ask must not be judged by it"
        );
        assert_eq!(first.await.unwrap().unwrap().started, joined.started);
    }

    #[tokio::test]
    async fn other_pages_and_later_asks_read_again() {
        let (catch_up, reads) = counting(Duration::from_millis(1));
        let (a, b) = tokio::join!(catch_up.page("room", 7, 3), catch_up.page("room", 8, 3));
        assert_eq!((a.unwrap().frames[0].seq, b.unwrap().frames[0].seq), (8, 9));
        catch_up.page("other", 7, 3).await.unwrap();
        catch_up.page("room", 7, 3).await.unwrap();
        assert_eq!(
            reads.load(Ordering::SeqCst),
            4,
            "nothing is served from a finished read: it could miss what was committed since"
        );
    }

    #[tokio::test]
    async fn a_failed_read_fails_every_waiter_and_the_next_ask_retries() {
        let (catch_up, reads) = counting(Duration::from_millis(20));
        let (a, b) = tokio::join!(catch_up.page("broken", 0, 5), catch_up.page("broken", 0, 5));
        assert!(matches!(a, Err(StoreError::Unavailable(_))), "{a:?}");
        assert!(matches!(b, Err(StoreError::Unavailable(_))), "{b:?}");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert!(catch_up.page("broken", 0, 5).await.is_err());
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_cancel_the_others() {
        let (catch_up, reads) = counting(Duration::from_millis(50));
        let catch_up = Arc::new(catch_up);
        let first = {
            let c = catch_up.clone();
            tokio::spawn(async move { c.page("room", 0, 2).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        first.abort();
        let page = catch_up.page("room", 0, 2).await.unwrap();
        assert_eq!(page.frames.len(), 2);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "the second ask joined the first read"
        );
        assert_eq!(catch_up.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_read_nobody_waits_for_any_more_still_finishes_and_is_forgotten() {
        let (catch_up, _) = counting(Duration::from_millis(20));
        let ask = tokio::time::timeout(Duration::from_millis(2), catch_up.page("room", 0, 2));
        assert!(ask.await.is_err(), "gave up before the read finished");
        assert_eq!(catch_up.in_flight(), 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(catch_up.in_flight(), 0, "no entry is left behind");
    }
}
