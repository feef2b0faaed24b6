//! What reaches a session from outside it: the hub's items, in order, and the alarm that ends it.
//!
//! Every open socket holds one inbox for life, so its idle size is the point. A tokio bounded
//! channel allocates its cache-padded state and a first block of 32 slots up front, about
//! 1.1 KiB per socket whether anything is ever queued (`chat-bench idle`); this queue is a
//! `VecDeque` that allocates on the first item and gives a burst's room back once drained.
//! The hub never waits on it: a full inbox raises the alarm (`Why::Slow`) instead.
//!
//! Only the session takes from its inbox (one waker); any number of hub threads put into it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

use super::alarm::{Alarm, Why};
use super::hub::HubItem;

/// Capacity a drained queue may keep; a burst's larger buffer is freed.
const KEEP: usize = 16;

#[derive(Debug)]
pub struct Inbox {
    alarm: Alarm,
    items: Mutex<VecDeque<HubItem>>,
    waker: AtomicWaker,
    capacity: usize,
}

impl Inbox {
    /// An inbox holding at most `capacity` items; one more raises the alarm.
    pub fn new(capacity: usize) -> Self {
        Self {
            alarm: Alarm::default(),
            items: Mutex::new(VecDeque::new()),
            waker: AtomicWaker::new(),
            capacity,
        }
    }

    pub fn alarm(&self) -> &Alarm {
        &self.alarm
    }

    /// Queues `item`, or raises the alarm (`Why::Slow`) if the session has fallen `capacity`
    /// items behind.
    pub fn put(&self, item: HubItem) {
        {
            let mut items = self.items.lock().expect("inbox lock");
            if items.len() >= self.capacity {
                drop(items);
                self.alarm.raise(Why::Slow);
                return;
            }
            items.push_back(item);
        }
        self.waker.wake();
    }

    /// The next item if one is queued.
    pub fn try_take(&self) -> Option<HubItem> {
        let mut items = self.items.lock().expect("inbox lock");
        let item = items.pop_front();
        if items.is_empty() && items.capacity() > KEEP {
            *items = VecDeque::new();
        }
        item
    }

    pub fn poll_take(&self, cx: &mut Context<'_>) -> Poll<HubItem> {
        if let Some(item) = self.try_take() {
            return Poll::Ready(item);
        }
        self.waker.register(cx.waker());
        // Put between the first look and the registration: that wake went to the old waker.
        match self.try_take() {
            Some(item) => Poll::Ready(item),
            None => Poll::Pending,
        }
    }

    /// Completes with the next item.
    pub async fn take(&self) -> HubItem {
        std::future::poll_fn(|cx| self.poll_take(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn items_come_out_in_order_and_one_too_many_raises_the_alarm() {
        let inbox = Inbox::new(2);
        inbox.put(HubItem::Resync);
        inbox.put(HubItem::Resync);
        assert_eq!(inbox.alarm().raised(), None, "two fit");
        inbox.put(HubItem::Resync);
        assert_eq!(inbox.alarm().raised(), Some(Why::Slow));
        assert!(inbox.try_take().is_some());
        assert!(inbox.try_take().is_some());
        assert!(
            inbox.try_take().is_none(),
            "the third was refused, not queued"
        );
    }

    #[test]
    fn a_drained_burst_gives_its_room_back() {
        let inbox = Inbox::new(256);
        for _ in 0..200 {
            inbox.put(HubItem::Resync);
        }
        while inbox.try_take().is_some() {}
        assert_eq!(inbox.items.lock().unwrap().capacity(), 0);
    }

    #[tokio::test]
    async fn a_waiting_session_wakes_when_the_hub_puts_from_another_task() {
        let inbox = Arc::new(Inbox::new(8));
        let waiter = tokio::spawn({
            let inbox = inbox.clone();
            async move { inbox.take().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "nothing put yet");
        inbox.put(HubItem::Resync);
        let item = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert!(matches!(item, HubItem::Resync));
    }
}
