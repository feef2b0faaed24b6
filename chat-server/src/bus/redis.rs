//! Redis pub/sub bus (`CHAT_BUS=redis://…` or, over TLS, `rediss://…`), shared by every replica
//! of one deployment. Which certificates `rediss://` trusts is [`super::tls`]'s business.
//!
//! Two connections: a publisher and a fred `SubscriberClient` (a RESP2 connection in subscribed
//! mode cannot publish). Channels are `{namespace}:{topic}`, so deployments sharing one Redis
//! never see each other's traffic.
//!
//! Reconnects: both clients reconnect forever with exponential backoff. After every reconnect
//! of the subscriber (not the first connect) the tracked channels are subscribed again and
//! [`Inbound::Resynced`] is pushed, because whatever was published while the connection was
//! down is lost. A connection that stops answering (half-open TCP) is detected by a heartbeat
//! PING plus fred's unresponsive-connection timeout, and then reconnected the same way.
//!
//! Back-pressure: fred's reader never waits for us. It pushes into a broadcast ring buffer of
//! [`BROADCAST_CAPACITY`] messages; one forwarding task moves them into the bounded inbound
//! channel and waits there when the receiver is slow. If the receiver falls so far behind that
//! the ring buffer overwrites messages, the forwarder sees the gap and pushes
//! [`Inbound::Resynced`], which tells receivers to catch up from the store, exactly as after a
//! reconnect. A slow receiver thus costs fan-out latency and a catch-up, never a stalled
//! connection or a silent loss.
//!
//! Publish never waits for a reconnect: while the connection is down it fails at once with
//! [`BusError::Unavailable`] (the message is already durable in the store, and subscribers
//! catch up on their `Resynced`). A publish that gets no reply within [`COMMAND_TIMEOUT`] is
//! `Unavailable` too.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use fred::clients::SubscriberClient;
use fred::prelude::{
    Builder, Client, ClientLike, Config, ConnectionConfig, ErrorKind, EventInterface, Options,
    PerformanceConfig, PubsubInterface, ReconnectPolicy,
};
use fred::types::config::{TlsConfig, TlsConnector, TlsHostMapping, UnresponsiveConfig};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio::task::JoinHandle;

use super::tls::{CaFile, client_config};
use super::{Bus, BusError, BusResult, Inbound};

/// Messages fred buffers for the forwarder before a slow receiver causes a `Resynced`.
pub const BROADCAST_CAPACITY: usize = 4096;
/// Longest wait for any reply from Redis (publish, subscribe, ping).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle subscriber connection is pinged this often, so a dead one is noticed.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// A connection with a command unanswered for this long is dropped and reconnected.
const UNRESPONSIVE_AFTER: Duration = Duration::from_secs(10);
const RESUBSCRIBE_RETRY: Duration = Duration::from_secs(1);

pub struct RedisBus {
    prefix: String,
    publisher: Client,
    subscriber: SubscriberClient,
    tasks: Vec<JoinHandle<()>>,
}

impl RedisBus {
    /// Connects both clients; fails if Redis cannot be reached now (a deployment that starts
    /// without its bus should crash visibly, not serve without fan-out).
    pub async fn connect(
        url: &str,
        ca: Option<&CaFile>,
        namespace: &str,
        inbound: mpsc::Sender<Inbound>,
    ) -> BusResult<Self> {
        let shown = redact(url);
        let mut builder = builder(url, ca)?;
        let subscriber = builder
            .build_subscriber_client()
            .map_err(|e| BusError::Other(format!("Redis client for {shown}: {e}")))?;
        // fred preallocates every broadcast channel of a client (about nine) at this capacity;
        // the publisher never receives pub/sub messages, and at 4096 its channels alone held
        // 2.4 MB of an idle server's 7 MB private memory.
        builder.with_performance_config(|p| p.broadcast_channel_capacity = 32);
        let publisher = builder
            .build()
            .map_err(|e| BusError::Other(format!("Redis client for {shown}: {e}")))?;

        publisher.init().await.map_err(|e| unreachable(&shown, e))?;
        if let Err(e) = subscriber.init().await {
            let _ = publisher.quit().await;
            return Err(unreachable(&shown, e));
        }

        // Created after `init`: fred announces the first connect on the reconnect channel too,
        // before `init` returns, and that one must not count as a resync.
        let reconnects = subscriber.reconnect_rx();
        let messages = subscriber.message_rx();
        let prefix = format!("{namespace}:");
        let tasks = vec![
            tokio::spawn(forward(messages, prefix.clone(), inbound.clone())),
            tokio::spawn(restore_subscriptions(
                subscriber.clone(),
                reconnects,
                inbound,
            )),
            tokio::spawn(heartbeat(subscriber.clone())),
        ];
        Ok(Self {
            prefix,
            publisher,
            subscriber,
            tasks,
        })
    }

    fn channel(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    fn ensure_connected(&self, client: &impl ClientLike) -> BusResult<()> {
        if client.is_connected() {
            Ok(())
        } else {
            Err(BusError::Unavailable(format!(
                "the connection to Redis is down ({:?}); reconnecting",
                client.state()
            )))
        }
    }
}

/// Pure: the fred configuration for `url`, with this bus's reconnect, timeout and buffer
/// policy, and for `rediss://` the trust of [`client_config`].
fn builder(url: &str, ca: Option<&CaFile>) -> BusResult<Builder> {
    let shown = redact(url);
    // fred would build its own TLS settings for a rediss:// URL (the system's CA bundle, through
    // a process-wide rustls provider); the URL is parsed as plain and ours are set instead.
    let (plain, tls) = match url.strip_prefix("rediss://") {
        Some(rest) => (format!("redis://{rest}"), true),
        None => (url.to_string(), false),
    };
    if let (Some(ca), false) = (ca, tls) {
        return Err(BusError::Other(format!(
            "CHAT_BUS_CA_FILE ({}) is set but {shown} is not a rediss:// URL, so the connection \
             would not be encrypted; use rediss:// or unset CHAT_BUS_CA_FILE",
            ca.path().display()
        )));
    }
    let mut config = Config::from_url(&plain)
        .map_err(|e| BusError::Other(format!("invalid Redis URL {shown}: {e}")))?;
    if tls {
        let rustls = client_config(ca).map_err(|e| BusError::Other(format!("{shown}: {e}")))?;
        config.tls = Some(TlsConfig {
            connector: TlsConnector::from(rustls),
            hostnames: TlsHostMapping::None,
        });
    }
    let mut builder = Builder::from_config(config);
    builder
        // max_attempts 0 = forever; 100 ms doubling up to 5 s.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .set_performance_config(PerformanceConfig {
            default_command_timeout: COMMAND_TIMEOUT,
            broadcast_channel_capacity: BROADCAST_CAPACITY,
            ..Default::default()
        })
        .set_connection_config(ConnectionConfig {
            connection_timeout: CONNECT_TIMEOUT,
            internal_command_timeout: CONNECT_TIMEOUT,
            unresponsive: UnresponsiveConfig {
                max_timeout: Some(UNRESPONSIVE_AFTER),
                interval: Duration::from_secs(1),
            },
            ..Default::default()
        });
    Ok(builder)
}

fn unreachable(shown: &str, e: fred::error::Error) -> BusError {
    let e = e.to_string();
    // rustls's reasons (UnknownIssuer, NotValidForName…) arrive inside an I/O error.
    let hint = if e.contains("InvalidCertificate") {
        "; the server's TLS certificate was refused: it must chain to CHAT_BUS_CA_FILE (or, \
         without it, to a public root) and name the URL's host"
    } else {
        ""
    };
    BusError::Unavailable(format!("could not connect to Redis at {shown}: {e}{hint}"))
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Commands issued by the bus never queue behind a reconnect: a caller is better served by a
/// prompt `Unavailable` than by a late success.
fn command_options() -> Options {
    Options {
        fail_fast: true,
        max_attempts: Some(1),
        timeout: Some(COMMAND_TIMEOUT),
        ..Default::default()
    }
}

fn map_error(action: &str, e: fred::error::Error) -> BusError {
    let message = format!("Redis {action} failed: {e}");
    match e.kind() {
        ErrorKind::IO
        | ErrorKind::Timeout
        | ErrorKind::Canceled
        | ErrorKind::Backpressure
        | ErrorKind::Routing => BusError::Unavailable(message),
        _ => BusError::Other(message),
    }
}

async fn forward(
    mut messages: tokio::sync::broadcast::Receiver<fred::types::Message>,
    prefix: String,
    inbound: mpsc::Sender<Inbound>,
) {
    loop {
        let event = match messages.recv().await {
            Ok(message) => {
                let Some(topic) = message.channel.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                Inbound::Message {
                    topic: topic.to_string(),
                    // An empty payload arrives as nil.
                    payload: message.value.into_bytes().unwrap_or_default(),
                }
            }
            Err(RecvError::Lagged(lost)) => {
                tracing::warn!(lost, "bus receiver fell behind; asking for a resync");
                Inbound::Resynced
            }
            Err(RecvError::Closed) => return,
        };
        if inbound.send(event).await.is_err() {
            return;
        }
    }
}

async fn restore_subscriptions(
    subscriber: SubscriberClient,
    mut reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
    inbound: mpsc::Sender<Inbound>,
) {
    loop {
        match reconnects.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
        tracing::info!("reconnected to Redis; restoring bus subscriptions");
        loop {
            match resubscribe(&subscriber).await {
                Ok(()) => {
                    if inbound.send(Inbound::Resynced).await.is_err() {
                        return;
                    }
                    break;
                }
                // Lost again: the next reconnect event brings us back here.
                Err(_) if !subscriber.is_connected() => break,
                Err(e) => {
                    tracing::warn!(error = %e, "restoring bus subscriptions failed; retrying");
                    tokio::time::sleep(RESUBSCRIBE_RETRY).await;
                }
            }
        }
    }
}

/// Like fred's `resubscribe_all` (which sends an invalid bare `SUBSCRIBE` when nothing is
/// tracked), and confirmed.
async fn resubscribe(subscriber: &SubscriberClient) -> BusResult<()> {
    let channels: Vec<_> = subscriber.tracked_channels().into_iter().collect();
    if channels.is_empty() {
        return Ok(());
    }
    subscriber
        .subscribe(channels)
        .await
        .map_err(|e| map_error("SUBSCRIBE", e))?;
    confirm(subscriber).await
}

/// fred resolves (UN)SUBSCRIBE as soon as it is written, before Redis has acted on it. Redis
/// answers one connection's commands in order, so the reply to a PING sent after it means it
/// took effect: from then on a publish from any connection is (or is no longer) delivered.
/// Delivery relies on this to replay from the store without a gap.
async fn confirm(subscriber: &SubscriberClient) -> BusResult<()> {
    let _: () = subscriber
        .ping(None)
        .await
        .map_err(|e| map_error("PING", e))?;
    Ok(())
}

async fn heartbeat(subscriber: SubscriberClient) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if subscriber.is_connected() {
            // Failures surface through fred's reconnect logic; nothing to do here.
            let _: Result<(), _> = subscriber.ping(None).await;
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> BusResult<()> {
        self.ensure_connected(&self.publisher)?;
        let _receivers: i64 = self
            .publisher
            .with_options(&command_options())
            .publish(self.channel(topic), payload)
            .await
            .map_err(|e| map_error("PUBLISH", e))?;
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> BusResult<()> {
        self.ensure_connected(&self.subscriber)?;
        // Through the SubscriberClient itself (not `with_options`), so the channel is tracked
        // for resubscription; the default command timeout bounds the wait.
        self.subscriber
            .subscribe(self.channel(topic))
            .await
            .map_err(|e| map_error("SUBSCRIBE", e))?;
        confirm(&self.subscriber).await
    }

    async fn unsubscribe(&self, topic: &str) -> BusResult<()> {
        self.ensure_connected(&self.subscriber)?;
        self.subscriber
            .unsubscribe(self.channel(topic))
            .await
            .map_err(|e| map_error("UNSUBSCRIBE", e))?;
        confirm(&self.subscriber).await
    }

    async fn ping(&self) -> BusResult<()> {
        self.ensure_connected(&self.publisher)?;
        self.ensure_connected(&self.subscriber)?;
        let publisher = self.publisher.with_options(&command_options());
        let _: () = publisher
            .ping(None)
            .await
            .map_err(|e| map_error("PING", e))?;
        let _: () = self
            .subscriber
            .ping(None)
            .await
            .map_err(|e| map_error("PING", e))?;
        Ok(())
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let publisher = self.publisher.clone();
            let subscriber = self.subscriber.clone();
            runtime.spawn(async move {
                let _ = subscriber.quit().await;
                let _ = publisher.quit().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(redact("redis://u:secret@h:6379/0"), "redis://***@h:6379/0");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
    }

    #[test]
    fn a_malformed_url_is_a_clear_error() {
        let err = builder("redis://:pw@/", None)
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("invalid Redis URL redis://***@/"), "{err}");
    }

    #[test]
    fn tls_urls_get_tls_and_plain_urls_do_not() {
        let tls = builder("rediss://:pw@h:6380", None).unwrap();
        assert!(tls.get_config().unwrap().uses_rustls());
        let plain = builder("redis://h:6379", None).unwrap();
        assert!(!plain.get_config().unwrap().uses_tls());
    }

    #[test]
    fn a_ca_file_with_a_plain_url_is_refused_instead_of_connecting_in_plain_text() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), TEST_CA).unwrap();
        let ca = CaFile::load(ca.path()).unwrap();
        let err = builder("redis://:secret@h:6379", Some(&ca))
            .expect_err("must fail")
            .to_string();
        assert!(
            err.contains("not a rediss:// URL") && err.contains("redis://***@h:6379"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }

    /// A self-signed CA certificate (any will do: only its parsing is exercised here).
    const TEST_CA: &str = include_str!("../../tests/fixtures/test-ca.pem");
}
