//! One websocket connection, generic over `Sink`/`Stream` so tests can drive it with channels.
//!
//! A session is a single task: it reads client frames, handles hub items from its bounded
//! queue, and writes to the socket. A client that does not read makes the write wait, the
//! queue fills, the hub raises the session's alarm and it closes with `SLOW_CONSUMER`; a write
//! that stalls past `WRITE_TIMEOUT` ends the session the same way. Memory per socket is bounded.
//!
//! A task's future is as large as its largest await point, for the socket's whole life: the
//! rare paths (client frames, timers, gap fills, blocked writes, the close) and the handling of
//! each batch of hub items are boxed, so an idle socket's task holds little more than the
//! loop's own state.
//!
//! Writes are batched: frames are fed to the transport as they are made, and flushed once at
//! the end of a turn of the loop, after the session has taken every hub item already queued
//! (up to `BATCH`). A quiet socket still gets each frame at once, in its own write; a busy one
//! gets many frames per system call, which is where a loaded replica's CPU went (one `send` per
//! frame was half of it in a profile of the fan-out).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes};
use futures::{Sink, SinkExt, Stream, StreamExt};

use super::Delivery;
use super::alarm::{Alarm, Why};
use super::commands::{Commands, Outcome};
use super::followed::Followed;
use super::hub::{EventKind, HubItem, SessionId, SessionPort};
use super::inbox::Inbox;
use super::publish::{AGENTS_TOPIC, conversation_topic};
use super::subscription::{Outgoing, StoreRead, Subscription};
use crate::auth::Authenticated;
use crate::auth::Principal;
use crate::error::{Error, Kind};
use crate::limits::Limiters;
use crate::protocol::{ClientFrame, ServerFrame, close_code};

const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After sending a close frame, how long the socket is kept open for the client's reply. Closing
/// TCP at once makes the kernel answer a client still sending with a reset, which discards the
/// close frame unread: the client would never learn the code (1012, 4008, 4029) it must act on.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// How long the close frame itself may wait for room. A session kicked for being slow is ending
/// because its writes block: waiting the full `WRITE_TIMEOUT` again would hold the socket (and
/// the slot in every hub topic's bookkeeping) for a client that is not reading. A transport that
/// buffered the frame still flushes it in the final `close`.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// A frame that came across a gap waits for the store's copy; a short wait lets the frames of
/// one burst (publishes from two replicas overtaking each other) share one read.
const FILL_DELAY: Duration = Duration::from_millis(10);
/// Between reads while the store shows a hole, and after a failed read.
const FILL_RETRY: Duration = Duration::from_millis(500);
const REPLAY_PAGE: u32 = 200;
/// Most hub items one turn takes before flushing and looking at the client's frames again.
const BATCH: usize = 64;

#[derive(Clone, Debug)]
pub struct SessionLimits {
    pub outbound_queue: usize,
    pub max_strikes: u32,
    /// Every frame a client sends, control frames included, is charged to its principal's
    /// budget, shared by all its sockets and its REST writes (CHAT_WS_RATE / CHAT_WS_BURST).
    pub limiters: Arc<Limiters>,
    pub max_subscriptions_visitor: usize,
    pub max_subscriptions_agent: usize,
    /// A socket silent this long is closed (`close_code::IDLE`).
    pub idle_timeout: Duration,
    /// How long a seq hole may block delivery before it is taken to be permanent.
    pub hole_grace: Duration,
}

struct SubState {
    sub: Subscription,
    last_fill: Option<Instant>,
    failed_at: Option<Instant>,
}

impl SubState {
    /// When this subscription next wants the store (or a hole skipped), if it does.
    fn wake(&self, grace: Duration) -> Option<Instant> {
        let unconfirmed = self.sub.unconfirmed_since().map(|t| t + FILL_DELAY);
        let hole = self.sub.hole_since().map(|since| {
            let last = self.last_fill.map_or(since, |f| f.max(since));
            (last + FILL_RETRY).min(since + grace)
        });
        let at = match (unconfirmed, hole) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(match self.failed_at {
            Some(failed) => at.max(failed + FILL_RETRY),
            None => at,
        })
    }
}

/// An error for the client, with the `ref` its error frame echoes.
type Refusal = (Error, Option<String>);

/// Why the session ended, and what close frame (if any) the client gets.
enum End {
    /// The socket is gone or unusable; the label says why, for metrics.
    Gone(&'static str),
    Close(u16, &'static str, &'static str),
}

/// The session's future. Set up here, outside it: an `async fn` keeps its arguments' storage
/// for the future's whole life beside the locals they were moved into (about 400 bytes per
/// idle socket in `-Zprint-type-sizes`); the future captures only what it uses.
pub fn run<S, E>(
    delivery: Arc<Delivery>,
    commands: Arc<dyn Commands>,
    who: Authenticated,
    limits: Arc<SessionLimits>,
    socket: S,
) -> impl std::future::Future<Output = ()> + use<S, E>
where
    S: Sink<WsMessage> + Stream<Item = Result<WsMessage, E>> + Unpin,
    <S as Sink<WsMessage>>::Error: std::fmt::Display,
    E: std::fmt::Display,
{
    let id = delivery.hub.new_session_id();
    let inbox = Arc::new(Inbox::new(limits.outbound_queue));
    let mut session = Session {
        delivery,
        commands,
        principal: who.principal,
        id,
        inbox,
        socket,
        subs: Followed::default(),
        strikes: 0,
        unflushed: false,
        limits,
    };
    let issued = who.issued;
    async move {
        // Registered on the first poll, so that a future dropped unpolled leaves nothing behind.
        let delivery = &session.delivery;
        delivery
            .signed_in
            .register(session.id, issued, session.inbox.clone());
        delivery.metrics.connections_active.inc();
        let end = session.run().await;
        session.delivery.signed_in.forget(session.id);
        Box::pin(session.finish(end)).await;
        session.delivery.metrics.connections_active.dec();
    }
}

struct Session<S> {
    delivery: Arc<Delivery>,
    commands: Arc<dyn Commands>,
    principal: Principal,
    id: SessionId,
    /// The hub's items and the alarm (raised by the hub, a revocation or the shutdown).
    inbox: Arc<Inbox>,
    /// Read and written by this task alone, so one object rather than two halves behind a lock.
    socket: S,
    subs: Followed<SubState>,
    strikes: u32,
    /// Frames were fed to the sink since the last flush.
    unflushed: bool,
    limits: Arc<SessionLimits>,
}

/// The session cannot go on writing.
enum Broken {
    /// The socket is gone or stalled; the label says why.
    Socket(&'static str),
    /// The alarm went off while a write waited.
    Alarmed(Why),
}

impl<S, E> Session<S>
where
    S: Sink<WsMessage> + Stream<Item = Result<WsMessage, E>> + Unpin,
    <S as Sink<WsMessage>>::Error: std::fmt::Display,
    E: std::fmt::Display,
{
    async fn run(&mut self) -> End {
        if self.principal.is_agent()
            && let Err(e) = Box::pin(self.delivery.hub.subscribe(
                AGENTS_TOPIC,
                self.id,
                SessionPort(self.inbox.clone()),
            ))
            .await
        {
            tracing::warn!(error = %e, "agent socket could not join the agents topic");
            return End::Close(
                close_code::SERVICE_RESTART,
                "bus unavailable; retry",
                "bus_unavailable",
            );
        }
        self.commands.opened(&self.principal).await;
        // One timer serves the idle limit and the subscriptions' store reads (a socket's task
        // holds one timer, not two). The idle deadline is lazy: moved only when it passes while
        // the client was heard since, never on every frame (a timer-wheel update per frame);
        // the timer itself is moved only when the earlier of the two deadlines changes.
        let mut last_heard = Instant::now();
        let mut idle_due = last_heard + self.limits.idle_timeout;
        let timer = tokio::time::sleep_until(idle_due.into());
        tokio::pin!(timer);
        let mut timer_at = Some(idle_due);
        loop {
            let wake = self.next_wake();
            let due = wake.map_or(idle_due, |w| w.min(idle_due));
            if timer_at != Some(due) {
                timer.as_mut().reset(due.into());
                timer_at = Some(due);
            }
            let step = tokio::select! {
                biased;
                why = self.inbox.alarm().wait() => return self.alarmed(why),
                // Boxed too, though it is the hot path: inline, the nested futures of a batch
                // (items, frames, a write that waits) would sit in every idle socket's task for
                // its whole life; one allocation per batch costs far less than a delivery.
                item = self.inbox.take() => Box::pin(self.on_hub_batch(item)).await,
                _ = &mut timer => {
                    // Spent: the next turn sets it again.
                    timer_at = None;
                    let now = Instant::now();
                    if now >= idle_due {
                        idle_due = last_heard + self.limits.idle_timeout;
                        if now >= idle_due {
                            return End::Close(close_code::IDLE, "idle for too long; reconnect and resume", "idle");
                        }
                    }
                    if wake.is_some_and(|w| w <= now) {
                        Box::pin(self.on_timer()).await
                    } else {
                        Ok(None)
                    }
                }
                frame = self.socket.next() => match frame {
                    None | Some(Ok(WsMessage::Close(_))) => return End::Gone("client"),
                    Some(Err(e)) => {
                        let e = e.to_string();
                        // tungstenite reports an over-limit frame as a capacity error and sends
                        // no close of its own; the client should hear why.
                        if e.contains("Space limit exceeded") {
                            return End::Close(close_code::MESSAGE_TOO_BIG, "frame over the size limit", "frame_too_big");
                        }
                        tracing::debug!(error = %e, "websocket read failed");
                        return End::Gone("read_error");
                    }
                    Some(Ok(frame)) => {
                        last_heard = Instant::now();
                        Box::pin(self.on_frame(frame)).await
                    }
                },
            };
            let step = match step {
                Ok(None) if self.unflushed => self.flush().await.map(|()| None),
                step => step,
            };
            match step {
                Ok(None) => {}
                Ok(Some(end)) => return end,
                // Alarmed while a write was blocked: a slow client is still there and must hear
                // the documented close code, or it cannot tell why it was cut off.
                Err(Broken::Alarmed(why)) => return self.alarmed(why),
                Err(Broken::Socket(why)) => return End::Gone(why),
            }
        }
    }

    fn alarmed(&self, why: Why) -> End {
        match why {
            Why::Slow => End::Close(
                close_code::SLOW_CONSUMER,
                "too slow; reconnect and resume with after_seq",
                "slow_consumer",
            ),
            Why::SignedOut => {
                self.delivery.metrics.revoked_sessions_closed.inc();
                End::Close(
                    close_code::SIGNED_OUT,
                    "signed out: the token was revoked",
                    "signed_out",
                )
            }
            Why::Shutdown => End::Close(
                close_code::SERVICE_RESTART,
                "server restarting; reconnect and resume",
                "shutdown",
            ),
        }
    }

    async fn finish(&mut self, end: End) {
        for conversation_id in self.subs.keys() {
            self.delivery
                .hub
                .unsubscribe(&conversation_topic(conversation_id), self.id);
        }
        if self.principal.is_agent() {
            self.delivery.hub.unsubscribe(AGENTS_TOPIC, self.id);
        }
        self.commands.closed(&self.principal).await;
        match end {
            End::Gone(why) => self.delivery.metrics.closed(why),
            End::Close(code, reason, label) => {
                self.delivery.metrics.closed(label);
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let sent = tokio::time::timeout(
                    CLOSE_WRITE_TIMEOUT,
                    self.socket.send(WsMessage::Close(Some(frame))),
                )
                .await;
                if matches!(sent, Ok(Ok(()))) {
                    // Whatever the client still sends is discarded; its close (or EOF) ends it.
                    let _ = tokio::time::timeout(CLOSE_LINGER, async {
                        while let Some(Ok(m)) = self.socket.next().await {
                            if matches!(m, WsMessage::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                }
            }
        }
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.socket.close()).await;
    }

    /// Hands one frame to the transport, which buffers it until the turn's flush (or until
    /// its buffer is full, when this writes and may block).
    async fn write(&mut self, text: Utf8Bytes) -> Result<(), Broken> {
        self.unflushed = true;
        guarded(self.inbox.alarm(), self.socket.feed(WsMessage::Text(text))).await
    }

    /// Writes what was fed. A client that stops reading blocks this; the alarm (the hub
    /// raises it when the queue overflows meanwhile) or `WRITE_TIMEOUT` ends it.
    async fn flush(&mut self) -> Result<(), Broken> {
        self.unflushed = false;
        guarded(self.inbox.alarm(), self.socket.flush()).await
    }

    async fn frame(&mut self, frame: &ServerFrame) -> Result<(), Broken> {
        self.write(frame.to_text().into()).await
    }

    /// Writes what the subscription released. A note is consumed like any message (the
    /// visitor's stream never waits for its seq) but reaches only agents' sockets.
    async fn emit(&mut self, ready: Vec<Outgoing>, live: bool) -> Result<(), Broken> {
        if ready.is_empty() {
            return Ok(());
        }
        // The wall clock in ms, without chrono's calendar arithmetic (a profile showed it on
        // every delivery).
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for o in ready {
            if o.private && !self.principal.is_agent() {
                continue;
            }
            if live {
                let ms = now_ms - o.committed_ms;
                self.delivery
                    .metrics
                    .delivery_seconds
                    .observe(ms.max(0) as f64 / 1000.0);
            }
            self.write(o.text).await?;
        }
        Ok(())
    }

    /// An error frame; misbehaving past `max_strikes` in a row closes the connection.
    async fn reject(&mut self, e: Error, reference: Option<String>) -> Result<Option<End>, Broken> {
        self.delivery.metrics.ws_error_frames.inc();
        self.frame(&ServerFrame::error(e.code, e.message, reference))
            .await?;
        if e.kind.is_callers_fault() {
            self.strikes += 1;
            if self.strikes > self.limits.max_strikes {
                return Ok(Some(End::Close(
                    close_code::MISBEHAVING,
                    "too many bad or rate-limited frames",
                    "misbehaving",
                )));
            }
        }
        Ok(None)
    }

    /// Every frame is charged first: control frames cost a read and (pings) a reply too, so
    /// they may not bypass the budget.
    async fn on_frame(&mut self, frame: WsMessage) -> Result<Option<End>, Broken> {
        let charged = self
            .limits
            .limiters
            .check_principal(self.principal.id(), "ws_frame", || {
                "too many frames; slow down".into()
            });
        if let Err(e) = charged {
            return self.reject(e, None).await;
        }
        match frame {
            WsMessage::Text(text) => self.on_text(text).await,
            WsMessage::Binary(_) => {
                self.reject(
                    Error::invalid(
                        "malformed_frame",
                        "binary frames are not part of the protocol; send JSON text",
                    ),
                    None,
                )
                .await
            }
            // The transport answers pings itself; close is handled by the caller.
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) => Ok(None),
        }
    }

    async fn on_text(&mut self, text: Utf8Bytes) -> Result<Option<End>, Broken> {
        let frame = match parse(text.as_str()) {
            Ok(parsed) => parsed,
            Err((e, reference)) => return self.reject(e, reference).await,
        };
        match self.handle(frame).await {
            Ok(Ok(())) => {
                self.strikes = 0;
                Ok(None)
            }
            Ok(Err((e, reference))) => self.reject(e, reference).await,
            Err(b) => Err(b),
        }
    }

    /// Asks the chat what the frame means, then does it; `Err` inside is a refusal for the
    /// client, `Err` outside a broken socket.
    async fn handle(&mut self, frame: ClientFrame) -> Result<Result<(), Refusal>, Broken> {
        let outcome = self.commands.handle(&self.principal, frame).await;
        match outcome {
            Outcome::Done => Ok(Ok(())),
            Outcome::Reply(frame) => self.frame(&frame).await.map(Ok),
            Outcome::Subscribe {
                conversation_id,
                after_seq,
            } => Ok(self
                .subscribe(&conversation_id, after_seq)
                .await?
                .map_err(|e| (e, None))),
            Outcome::Unsubscribe { conversation_id } => {
                if self.subs.remove(&conversation_id).is_some() {
                    self.delivery
                        .hub
                        .unsubscribe(&conversation_topic(&conversation_id), self.id);
                }
                Ok(Ok(()))
            }
            Outcome::Refused(e, reference) => Ok(Err((e, reference))),
        }
    }

    /// Steps 1 and 2 of the algorithm in `subscription`: bus first, then the store.
    async fn subscribe(
        &mut self,
        conversation_id: &str,
        after_seq: u64,
    ) -> Result<Result<(), Error>, Broken> {
        let cap = if self.principal.is_agent() {
            self.limits.max_subscriptions_agent
        } else {
            self.limits.max_subscriptions_visitor
        };
        if self.subs.len() >= cap && !self.subs.contains_key(conversation_id) {
            return Ok(Err(Error::new(
                Kind::Conflict,
                "too_many_subscriptions",
                format!(
                    "this socket already follows {cap} conversations, the most it may; \
                     unsubscribe from one first"
                ),
            )));
        }
        let topic = conversation_topic(conversation_id);
        if let Err(e) = self
            .delivery
            .hub
            .subscribe(&topic, self.id, SessionPort(self.inbox.clone()))
            .await
        {
            return Ok(Err(e.into()));
        }
        let mut state = SubState {
            sub: Subscription::new(after_seq),
            last_fill: None,
            failed_at: None,
        };
        let mut cursor = after_seq;
        // What a visitor is told it has: the last message it was given, never a trailing
        // note's seq (that would tell it a note exists).
        let mut last_shown = after_seq;
        loop {
            let page = match self
                .delivery
                .catch_up
                .page(conversation_id, cursor, REPLAY_PAGE)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    self.delivery.hub.unsubscribe(&topic, self.id);
                    self.subs.remove(conversation_id);
                    return Ok(Err(e.into()));
                }
            };
            let full = page.frames.len() == REPLAY_PAGE as usize;
            let now = Instant::now();
            for o in page.frames.iter() {
                cursor = o.seq;
                let ready = state.sub.offer_stored(o.clone(), now);
                if let Some(shown) = ready.iter().filter(|r| !r.private).map(|r| r.seq).max() {
                    last_shown = last_shown.max(shown);
                }
                self.emit(ready, false).await?;
            }
            if !full {
                break;
            }
            // The next page is a store read away: what this one released goes out now.
            self.flush().await?;
        }
        let last_seq = if self.principal.is_agent() {
            state.sub.delivered()
        } else {
            last_shown
        };
        self.subs.insert(conversation_id.to_string(), state);
        self.frame(&ServerFrame::Subscribed {
            conversation_id: conversation_id.to_string(),
            last_seq,
        })
        .await
        .map(Ok)
    }

    /// Handles `first` and whatever else the hub has queued, up to `BATCH` items, so that
    /// their frames share the turn's flush.
    async fn on_hub_batch(&mut self, first: HubItem) -> Result<Option<End>, Broken> {
        let mut item = first;
        for _ in 1..BATCH {
            if let Some(end) = self.on_hub(item).await? {
                return Ok(Some(end));
            }
            match self.inbox.try_take() {
                Some(next) => item = next,
                None => return Ok(None),
            }
        }
        self.on_hub(item).await
    }

    async fn on_hub(&mut self, item: HubItem) -> Result<Option<End>, Broken> {
        let event = match item {
            HubItem::Resync => {
                let ids: Vec<String> = self.subs.keys().cloned().collect();
                for id in ids {
                    Box::pin(self.fill(&id)).await?;
                }
                return Ok(None);
            }
            HubItem::Event(event) => event,
        };
        match &event.kind {
            EventKind::Message {
                conversation_id, ..
            } => {
                let Some(state) = self.subs.get_mut(conversation_id) else {
                    return Ok(None);
                };
                let o = event.outgoing().expect("message events carry a message");
                let ready = state.sub.offer_live(o, Instant::now());
                let overflow = state.sub.buffered() > self.limits.outbound_queue;
                self.emit(ready, true).await?;
                if overflow {
                    return Ok(Some(End::Close(
                        close_code::SLOW_CONSUMER,
                        "too far behind; reconnect and resume with after_seq",
                        "slow_consumer",
                    )));
                }
            }
            EventKind::Typing { author_id } if author_id == self.principal.id() => {}
            _ => self.write(event.text.clone()).await?,
        }
        Ok(None)
    }

    /// Reads the store after what was delivered, page by page, and judges the buffer by it
    /// (gap fill or resync).
    async fn fill(&mut self, conversation_id: &str) -> Result<(), Broken> {
        loop {
            let Some(after) = self.subs.get(conversation_id).map(|s| s.sub.delivered()) else {
                return Ok(());
            };
            self.delivery.metrics.gap_fills.inc();
            let page = self
                .delivery
                .catch_up
                .page(conversation_id, after, REPLAY_PAGE)
                .await;
            let now = Instant::now();
            let Some(state) = self.subs.get_mut(conversation_id) else {
                return Ok(());
            };
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    // The timer tries again; the buffer keeps what arrived live.
                    state.failed_at = Some(now);
                    tracing::warn!(error = %e, conversation_id, "gap fill failed");
                    return Ok(());
                }
            };
            state.last_fill = Some(now);
            state.failed_at = None;
            let complete = page.frames.len() < REPLAY_PAGE as usize;
            let read = StoreRead {
                after,
                frames: &page.frames,
                complete,
                started: page.started,
            };
            let confirmed = state.sub.confirm(read, now);
            if confirmed.dropped > 0 {
                self.delivery
                    .metrics
                    .bus_unconfirmed
                    .inc_by(confirmed.dropped as u64);
                tracing::warn!(
                    conversation_id,
                    dropped = confirmed.dropped,
                    "dropping bus frames whose seq the store does not hold"
                );
            }
            let advanced = state.sub.delivered() > after;
            self.emit(confirmed.ready, true).await?;
            if self.unflushed {
                self.flush().await?;
            }
            // A full page that moved nothing starts beyond a hole: reading it again would not
            // help; the hole's timer takes over.
            if complete || !advanced {
                return Ok(());
            }
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let grace = self.limits.hole_grace;
        self.subs.values().filter_map(|s| s.wake(grace)).min()
    }

    async fn on_timer(&mut self) -> Result<Option<End>, Broken> {
        let now = Instant::now();
        let grace = self.limits.hole_grace;
        let due: Vec<String> = self
            .subs
            .iter()
            .filter(|(_, s)| s.wake(grace).is_some_and(|at| at <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for id in due {
            self.fill(&id).await?;
            let skipped = match self.subs.get_mut(&id) {
                Some(state) => state.sub.skip_hole(Instant::now(), grace),
                None => Vec::new(),
            };
            if !skipped.is_empty() {
                self.delivery.metrics.holes_skipped.inc();
                tracing::warn!(conversation_id = %id, "skipping a seq hole older than the grace period");
                self.emit(skipped, true).await?;
            }
        }
        Ok(None)
    }
}

/// Runs a write step: `op` polled once without a timer (a write that does not block, nearly
/// every one, costs no timer), then, if it waits, against `WRITE_TIMEOUT` and the alarm.
async fn guarded<F, E>(alarm: &Alarm, op: F) -> Result<(), Broken>
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut op = std::pin::pin!(op);
    let r = match futures::poll!(op.as_mut()) {
        std::task::Poll::Ready(r) => r,
        // Boxed: the timer and the select would otherwise sit in every idle socket's task.
        std::task::Poll::Pending => Box::pin(wait_out(alarm, op)).await?,
    };
    r.map_err(|e| {
        tracing::debug!(error = %e, "websocket write failed");
        Broken::Socket("write_error")
    })
}

async fn wait_out<F: std::future::Future>(alarm: &Alarm, op: F) -> Result<F::Output, Broken> {
    tokio::select! {
        biased;
        why = alarm.wait() => Err(Broken::Alarmed(why)),
        r = tokio::time::timeout(WRITE_TIMEOUT, op) => r.map_err(|_| Broken::Socket("write_timeout")),
    }
}

/// Parses a client frame (`chat_protocol::parse`); a refusal becomes the 400 the session answers
/// with an error frame, and keeps the frame's `client_msg_id` for the frame's `ref`.
pub fn parse(text: &str) -> Result<ClientFrame, Refusal> {
    crate::protocol::parse(text).map_err(|e| (Error::invalid(e.code, e.message), e.reference))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::error::Kind;

    #[test]
    fn a_refused_frame_is_a_bad_request_that_keeps_its_client_msg_id() {
        let (e, r) = parse(r#"{"type":"send","client_msg_id":"c1"}"#).unwrap_err();
        assert_eq!(e.kind, Kind::Invalid);
        assert_eq!(e.code, "invalid_frame");
        assert!(e.message.contains("conversation_id"), "{}", e.message);
        assert_eq!(r.as_deref(), Some("c1"));
    }
}
