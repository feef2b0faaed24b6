//! The simulated clients: subscribers that join one room and count what they receive, and
//! publishers that send numbered, time-stamped messages to one room at a set rate. Both
//! reconnect after a drop with the same policy whatever the system, failing over to the next
//! replica when theirs refuses.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::net::{self, SourcePlan, Ws};
use crate::proto::{self, Incoming, Protocol, Room};
use crate::record::{Recorder, Seen};

/// Most publishes one publisher leaves unacknowledged before it sheds load instead of queueing.
const MAX_IN_FLIGHT: u64 = 5_000;

/// Everything the clients of one run share.
pub struct Shared {
    pub protocol: Arc<dyn Protocol>,
    pub recorder: Arc<Recorder>,
    pub endpoints: Vec<SocketAddr>,
    pub sources: SourcePlan,
    pub stop: Stop,
    pub policy: ReconnectPolicy,
}

/// The end of a run: a token to wait on, and a flag a woken client reads without a lock.
#[derive(Default)]
pub struct Stop {
    flag: AtomicBool,
    token: CancellationToken,
}

impl Stop {
    /// Sets the flag, then wakes every client waiting on the token.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
        self.token.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }
}

/// How a dropped client comes back; the same for both systems. After a drop it waits a random
/// moment up to `first_jitter` and tries its replica again; when a replica refuses it tries the
/// next at once, and once every replica has refused it backs off exponentially (with ±50% jitter)
/// up to `max_backoff`.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ReconnectPolicy {
    pub first_jitter: Duration,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            first_jitter: Duration::from_millis(250),
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl ReconnectPolicy {
    fn backoff(&self, round: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << round.min(16))
            .min(self.max_backoff);
        exp.mul_f64(rand::rng().random_range(0.5..1.5))
    }
}

/// What one subscriber saw over the whole run.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubscriberReport {
    pub distinct: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub reconnects: u64,
    pub joined: bool,
}

enum Ended {
    Stopped,
    /// The connection went away; `connected` tells a drop from a refused connect.
    Dropped {
        connected: bool,
    },
}

/// Where a client reconnects next, and how long it waits first.
struct Failover {
    endpoint: usize,
    refused_in_round: usize,
    round: u32,
}

impl Failover {
    fn next(&mut self, shared: &Shared, connected: bool) -> Duration {
        let n = shared.endpoints.len();
        if connected {
            self.refused_in_round = 0;
            self.round = 0;
            return shared
                .policy
                .first_jitter
                .mul_f64(rand::rng().random_range(0.0..1.0));
        }
        self.endpoint = (self.endpoint + 1) % n;
        self.refused_in_round += 1;
        if self.refused_in_round < n {
            return Duration::ZERO;
        }
        self.refused_in_round = 0;
        self.round += 1;
        shared.policy.backoff(self.round - 1)
    }
}

/// Joins `room` on replica `home` and counts deliveries until the run stops.
pub async fn subscriber(
    shared: Arc<Shared>,
    id: usize,
    room: Arc<Room>,
    home: usize,
) -> SubscriberReport {
    let local = shared.sources.next_addr();
    let mut state = SubState {
        seen: Seen::default(),
        last_seq: 0,
        joined_once: false,
    };
    let mut failover = Failover {
        endpoint: home,
        refused_in_round: 0,
        round: 0,
    };
    let mut reconnects = 0;
    loop {
        let ended = subscribe_once(&shared, id, &room, failover.endpoint, local, &mut state).await;
        let connected = match ended {
            Ended::Stopped => break,
            Ended::Dropped { connected } => connected,
        };
        if connected {
            reconnects += 1;
            shared.recorder.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let wait = failover.next(&shared, connected);
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    let published = shared.recorder.published(room.index);
    SubscriberReport {
        distinct: state.seen.distinct,
        duplicates: state.seen.duplicates,
        lost: state.seen.missing_below(published),
        reconnects,
        joined: state.joined_once,
    }
}

struct SubState {
    seen: Seen,
    last_seq: u64,
    joined_once: bool,
}

async fn open(shared: &Shared, endpoint: usize, local: IpAddr, room: &Room) -> Option<Ws> {
    let server = shared.endpoints[endpoint];
    match net::connect(server, local, &shared.protocol.path(room)).await {
        Ok(mut ws) => {
            if let Some(g) = shared.protocol.greeting()
                && ws.send(Message::text(g)).await.is_err()
            {
                return None;
            }
            Some(ws)
        }
        Err(e) => {
            // Refusals are expected while a replica is down; anything else is worth reporting.
            if !matches!(&e, net::ConnectError::Tcp { source, .. } if source.kind() == std::io::ErrorKind::ConnectionRefused)
            {
                shared.recorder.note_error(&e);
            }
            None
        }
    }
}

async fn subscribe_once(
    shared: &Shared,
    id: usize,
    room: &Room,
    endpoint: usize,
    local: IpAddr,
    state: &mut SubState,
) -> Ended {
    let protocol = shared.protocol.as_ref();
    let recorder = shared.recorder.as_ref();
    let Some(mut ws) = open(shared, endpoint, local, room).await else {
        return Ended::Dropped { connected: false };
    };
    if protocol.greeting().is_none()
        && ws
            .send(Message::text(protocol.join(room, state.last_seq)))
            .await
            .is_err()
    {
        return Ended::Dropped { connected: true };
    }
    // The run's token wakes this task when the run stops. Its future is polled once, to file
    // the task's waker; each later wake-up reads `Stop`'s flag, an atomic load, where polling
    // the token took its locks twice per frame (3% of the tool in a profile).
    let stopped = shared.stop.cancelled();
    tokio::pin!(stopped);
    if std::future::poll_fn(|cx| Poll::Ready(stopped.as_mut().poll(cx).is_ready())).await {
        return Ended::Stopped;
    }
    loop {
        let frame = std::future::poll_fn(|cx| {
            if shared.stop.is_stopped() {
                return Poll::Ready(None);
            }
            ws.poll_next_unpin(cx).map(Some)
        })
        .await;
        let Some(frame) = frame else {
            return Ended::Stopped;
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                return Ended::Dropped { connected: true };
            }
            Some(Ok(_)) => continue,
        };
        let reply = match protocol.parse(text.as_str()) {
            Ok(Incoming::Delivered { seq, body }) => {
                let now = recorder.now_ns();
                if let Some(seq) = seq {
                    state.last_seq = state.last_seq.max(seq);
                }
                match proto::parse_body(&body) {
                    Some((number, sent)) if state.seen.mark(number) => {
                        recorder.delivered.add(id);
                        recorder.record_latency(id, sent, now);
                    }
                    Some(_) => {
                        recorder.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    None => recorder.note_error(format!(
                        "a delivered body the tool did not write: {body:.60}"
                    )),
                }
                None
            }
            Ok(Incoming::Ready) => Some(protocol.join(room, state.last_seq)),
            Ok(Incoming::Joined) => {
                if state.joined_once {
                    recorder.note_rejoin(id, recorder.now_ns());
                } else {
                    state.joined_once = true;
                    recorder.joined.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
            Ok(Incoming::Ping) => protocol.pong().map(str::to_string),
            Ok(Incoming::Rejected(why)) => {
                recorder.rejected.fetch_add(1, Ordering::Relaxed);
                recorder.note_error(format!("subscriber rejected: {why:.200}"));
                return Ended::Dropped { connected: true };
            }
            Ok(Incoming::Acked { .. } | Incoming::Other) => None,
            Err(e) => {
                recorder.note_error(e);
                None
            }
        };
        if let Some(reply) = reply
            && ws.send(Message::text(reply)).await.is_err()
        {
            return Ended::Dropped { connected: true };
        }
    }
}

/// What publishers are told to do; changed between the steps of a ramp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PublishPlan {
    /// Publishes per second of this publisher (0 pauses it).
    pub rate: f64,
    pub body_size: usize,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct PublisherReport {
    pub sent: u64,
    pub acked: u64,
    /// Publishes skipped because too many were unacknowledged (the system fell behind).
    pub shed: u64,
    pub reconnects: u64,
}

/// Publishes to `room` through replica `home` as `plan` says, until the run stops.
pub async fn publisher(
    shared: Arc<Shared>,
    room: Arc<Room>,
    home: usize,
    mut plan: watch::Receiver<PublishPlan>,
) -> PublisherReport {
    let local = shared.sources.next_addr();
    let mut report = PublisherReport::default();
    let mut next_id = 1u64;
    let mut failover = Failover {
        endpoint: home,
        refused_in_round: 0,
        round: 0,
    };
    loop {
        let ended = publish_once(
            &shared,
            &room,
            failover.endpoint,
            local,
            &mut plan,
            &mut next_id,
            &mut report,
        )
        .await;
        let connected = match ended {
            Ended::Stopped => break,
            Ended::Dropped { connected } => connected,
        };
        if connected {
            report.reconnects += 1;
            shared.recorder.note_error(
                "a publisher lost its connection; its unacknowledged publishes may be lost",
            );
        }
        let wait = failover.next(&shared, connected);
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    report
}

async fn publish_once(
    shared: &Shared,
    room: &Room,
    endpoint: usize,
    local: IpAddr,
    plan_rx: &mut watch::Receiver<PublishPlan>,
    next_id: &mut u64,
    report: &mut PublisherReport,
) -> Ended {
    let protocol = shared.protocol.as_ref();
    let recorder = shared.recorder.as_ref();
    let Some(mut ws) = open(shared, endpoint, local, room).await else {
        return Ended::Dropped { connected: false };
    };
    let mut ready = protocol.greeting().is_none();
    if ready && report.sent == 0 && report.reconnects == 0 {
        recorder.publishers_ready.fetch_add(1, Ordering::Relaxed);
    }
    let mut plan = *plan_rx.borrow_and_update();
    let mut schedule = Schedule::new(plan.rate);
    let mut in_flight = 0u64;
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => return Ended::Stopped,
            changed = plan_rx.changed() => {
                if changed.is_err() {
                    return Ended::Stopped;
                }
                plan = *plan_rx.borrow_and_update();
                schedule = Schedule::new(plan.rate);
            }
            _ = tokio::time::sleep_until(schedule.wake), if ready && plan.rate > 0.0 => {
                let due = schedule.due();
                for _ in 0..due {
                    if in_flight >= MAX_IN_FLIGHT {
                        report.shed += 1;
                        recorder.shed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let number = recorder.next_number(room.index);
                    let body = proto::body(number, recorder.now_ns(), plan.body_size);
                    let frame = protocol.publish(room, *next_id, &body);
                    *next_id += 1;
                    if ws.feed(Message::text(frame)).await.is_err() {
                        return Ended::Dropped { connected: true };
                    }
                    report.sent += 1;
                    in_flight += 1;
                    recorder.sent.fetch_add(1, Ordering::Relaxed);
                }
                if ws.flush().await.is_err() {
                    return Ended::Dropped { connected: true };
                }
            }
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ended::Dropped { connected: true },
                    Some(Ok(_)) => continue,
                };
                let reply = match protocol.parse(text.as_str()) {
                    Ok(Incoming::Ready) => {
                        if report.reconnects == 0 {
                            recorder.publishers_ready.fetch_add(1, Ordering::Relaxed);
                        }
                        ready = true;
                        schedule = Schedule::new(plan.rate);
                        None
                    }
                    Ok(Incoming::Acked { .. }) => {
                        report.acked += 1;
                        in_flight = in_flight.saturating_sub(1);
                        recorder.acked.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Ok(Incoming::Ping) => protocol.pong().map(str::to_string),
                    Ok(Incoming::Rejected(why)) => {
                        recorder.rejected.fetch_add(1, Ordering::Relaxed);
                        recorder.note_error(format!("publish rejected: {why:.200}"));
                        in_flight = in_flight.saturating_sub(1);
                        None
                    }
                    Ok(_) => None,
                    Err(e) => {
                        recorder.note_error(e);
                        None
                    }
                };
                if let Some(reply) = reply
                    && ws.send(Message::text(reply)).await.is_err()
                {
                    return Ended::Dropped { connected: true };
                }
            }
        }
    }
}

/// An open-loop schedule: after `t` seconds, `t * rate` publishes are due, however late the
/// timer fires. Wakes at most every millisecond and at least every 100 ms. Each publisher
/// starts at a random point of its own interval between messages, so that publishers spread
/// evenly instead of firing together (at 1/s each, a phase drawn only from the 100 ms wake
/// period once packed every publisher's message into one tenth of each second).
struct Schedule {
    rate: f64,
    origin: tokio::time::Instant,
    done: u64,
    period: Duration,
    wake: tokio::time::Instant,
}

impl Schedule {
    fn new(rate: f64) -> Self {
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::from_millis(100)
        };
        let period = interval.clamp(Duration::from_millis(1), Duration::from_millis(100));
        let now = tokio::time::Instant::now();
        let origin = now + interval.mul_f64(rand::rng().random_range(0.0..1.0));
        Self {
            rate,
            origin,
            done: 0,
            period,
            wake: origin,
        }
    }

    fn due(&mut self) -> u64 {
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(self.origin).as_secs_f64();
        let target = (elapsed * self.rate).floor() as u64 + 1;
        let due = target.saturating_sub(self.done);
        self.done = self.done.max(target);
        // Wake for the next publish, or after `period` when several fall due per wake.
        let next = self.origin + Duration::from_secs_f64(self.done as f64 / self.rate);
        self.wake = next
            .max(now + Duration::from_millis(1))
            .min(now + self.period);
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_schedule_spreads_its_publishes_over_time_and_catches_up_when_late() {
        let mut s = Schedule::new(100.0);
        assert!(s.wake - tokio::time::Instant::now() <= Duration::from_millis(10));
        tokio::time::sleep_until(s.wake).await;
        assert_eq!(s.due(), 1);
        assert!(s.wake - tokio::time::Instant::now() <= Duration::from_millis(10));
        // 200 ms late: the twenty publishes of that time are due at once, and only once.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let due = s.due();
        assert!((19..=22).contains(&due), "{due}");
        assert!(s.due() <= 1);
    }
}
