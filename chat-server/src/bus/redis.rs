//! Redis pub/sub bus (`CHAT_BUS=redis://…` or, over TLS, `rediss://…`), shared by every replica
//! of one deployment. Which certificates `rediss://` trusts is [`super::tls`]'s business.
//!
//! Two clients: a publisher and a fred `SubscriberClient` (a RESP2 connection in subscribed
//! mode cannot publish). Channels are `<namespace>:<topic>`, so deployments sharing one Redis
//! never see each other's traffic.
//!
//! Redis Cluster (`redis-cluster://…`, `rediss-cluster://…`; [`Topology::Cluster`]): each
//! client holds one connection per master, and the bus uses sharded pub/sub (`SPUBLISH`,
//! `SSUBSCRIBE`, `SUNSUBSCRIBE`), whose channels hash to slots like keys. A channel name holds
//! no `{hash tag}` (namespaces and topics have no braces), so one deployment's conversations
//! spread over every shard, and a message crosses only the shard of its conversation instead of
//! being broadcast to every node as classic `PUBLISH` is in a cluster.
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
use fred::interfaces::ClusterInterface;
use fred::prelude::{
    Builder, Client, ClientLike, Config, ConnectionConfig, ErrorKind, EventInterface, Options,
    PerformanceConfig, PubsubInterface, ReconnectPolicy,
};
use fred::types::ClusterHash;
use fred::types::config::{TlsConfig, TlsConnector, TlsHostMapping, UnresponsiveConfig};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio::task::JoinHandle;

use super::tls::client_config;
use super::{Bus, BusError, BusResult, Inbound};
use crate::config::CaFile;

/// Messages fred buffers for the forwarder before a slow receiver causes a `Resynced`.
///
/// fred preallocates all nine of a client's broadcast channels at this one capacity, though only
/// the pub/sub one carries traffic: at 4096 they held 2.9 MB, 40% of an idle tenant's private
/// memory; at 1024, 0.7 MB. The slack that matters is downstream: the forwarder only moves
/// messages into the inbound channel (65,536, allocated as it fills), so this ring overflows
/// only while the forwarder itself is not scheduled, and 1024 messages is 0.4 s of the fan-out
/// benchmark's best step.
pub const BROADCAST_CAPACITY: usize = 1024;
/// Longest wait for any reply from Redis (publish, subscribe, ping).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle subscriber connection is pinged this often, so a dead one is noticed.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// A connection with a command unanswered for this long is dropped and reconnected.
const UNRESPONSIVE_AFTER: Duration = Duration::from_secs(10);
const RESUBSCRIBE_RETRY: Duration = Duration::from_secs(1);

/// What the URL's scheme says the bus talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// `redis://`, `rediss://`: one endpoint (a single server, or a primary that fails over
    /// behind one name); classic `PUBLISH` / `SUBSCRIBE`.
    Single,
    /// `redis-cluster://`, `rediss-cluster://`: a Redis Cluster (ElastiCache cluster mode),
    /// found from the seed node(s) in the URL; sharded pub/sub.
    Cluster,
}

pub struct RedisBus {
    topology: Topology,
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
        let (mut builder, topology) = builder(url, ca)?;
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
                topology,
                reconnects,
                inbound,
            )),
            tokio::spawn(heartbeat(subscriber.clone(), topology)),
        ];
        Ok(Self {
            topology,
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
/// policy, and for `rediss://` / `rediss-cluster://` the trust of [`client_config`].
fn builder(url: &str, ca: Option<&CaFile>) -> BusResult<(Builder, Topology)> {
    let shown = redact(url);
    // fred would build its own TLS settings for a TLS URL (the system's CA bundle, through a
    // process-wide rustls provider); the URL is parsed as plain and ours are set instead.
    let (scheme, rest) = url.split_once("://").unwrap_or((url, ""));
    let (plain_scheme, tls, topology) = match scheme {
        "redis" => ("redis", false, Topology::Single),
        "rediss" => ("redis", true, Topology::Single),
        "redis-cluster" => ("redis-cluster", false, Topology::Cluster),
        "rediss-cluster" => ("redis-cluster", true, Topology::Cluster),
        _ => {
            return Err(BusError::Other(format!(
                "invalid Redis URL {shown}: the scheme must be redis://, rediss://, \
                 redis-cluster:// or rediss-cluster://"
            )));
        }
    };
    if let (Some(ca), false) = (ca, tls) {
        return Err(BusError::Other(format!(
            "CHAT_BUS_CA_FILE ({}) is set but {shown} is not a TLS URL (rediss:// or \
             rediss-cluster://), so the connection would not be encrypted; use TLS or unset \
             CHAT_BUS_CA_FILE",
            ca.path().display()
        )));
    }
    let plain = format!("{plain_scheme}://{rest}");
    if topology == Topology::Cluster && !has_host(rest) {
        return Err(BusError::Other(format!(
            "invalid Redis URL {shown}: a cluster URL names at least one node, e.g. \
             redis-cluster://host:6379 or redis-cluster://host1:6379?node=host2:6379"
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
    Ok((builder, topology))
}

/// Whether the authority of a URL (after `scheme://`) names a host.
fn has_host(rest: &str) -> bool {
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    !host_port.split(':').next().unwrap_or("").is_empty()
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
    topology: Topology,
    mut reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
    inbound: mpsc::Sender<Inbound>,
) {
    loop {
        match reconnects.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
        // A cluster announces each master it connected to; one restore covers them all.
        while let Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) =
            reconnects.try_recv()
        {}
        tracing::info!("reconnected to Redis; restoring bus subscriptions");
        loop {
            let restored = match topology {
                Topology::Single => resubscribe(&subscriber).await,
                Topology::Cluster => resubscribe_sharded(&subscriber).await,
            };
            match restored {
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

/// One `SSUBSCRIBE` per channel (fred's `resubscribe_all` sends one per slot, but Redis answers
/// each channel of it separately and fred takes only the first answer as the reply). Each is
/// in effect when it returns: unlike the other subscription commands fred waits for Redis's
/// answer to `SSUBSCRIBE`, so that it can follow a `MOVED` to the slot's new master.
async fn resubscribe_sharded(subscriber: &SubscriberClient) -> BusResult<()> {
    for channel in subscriber.tracked_shard_channels() {
        subscriber
            .ssubscribe(channel)
            .await
            .map_err(|e| map_error("SSUBSCRIBE", e))?;
    }
    Ok(())
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

/// Like [`confirm`], on the master that serves `channel`'s slot: the one connection whose
/// order matters after a `SUNSUBSCRIBE` of it.
async fn confirm_on_shard(subscriber: &SubscriberClient, channel: &str) -> BusResult<()> {
    let options = Options {
        cluster_hash: Some(ClusterHash::Custom(fred::util::redis_keyslot(
            channel.as_bytes(),
        ))),
        ..Default::default()
    };
    let _: () = subscriber
        .with_options(&options)
        .ping(None)
        .await
        .map_err(|e| map_error("PING", e))?;
    Ok(())
}

async fn heartbeat(subscriber: SubscriberClient, topology: Topology) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !subscriber.is_connected() {
            continue;
        }
        // Failures surface through fred's reconnect logic; nothing to do here.
        match topology {
            Topology::Single => {
                let _: Result<(), _> = subscriber.ping(None).await;
            }
            // Every master's connection carries subscriptions of its own slots; a PING without
            // a key would reach only one of them.
            Topology::Cluster => {
                let masters = subscriber
                    .cached_cluster_state()
                    .map(|state| state.unique_primary_nodes())
                    .unwrap_or_default();
                for master in masters {
                    let options = Options {
                        cluster_node: Some(master),
                        ..Default::default()
                    };
                    let _: Result<(), _> = subscriber.with_options(&options).ping(None).await;
                }
            }
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> BusResult<()> {
        self.ensure_connected(&self.publisher)?;
        let publisher = self.publisher.with_options(&command_options());
        let channel = self.channel(topic);
        let _receivers: i64 = match self.topology {
            Topology::Single => publisher.publish(channel, payload).await,
            Topology::Cluster => publisher.spublish(channel, payload).await,
        }
        .map_err(|e| map_error("PUBLISH", e))?;
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> BusResult<()> {
        self.ensure_connected(&self.subscriber)?;
        // Through the SubscriberClient itself (not `with_options`), so the channel is tracked
        // for resubscription; the default command timeout bounds the wait.
        let channel = self.channel(topic);
        match self.topology {
            Topology::Single => {
                self.subscriber
                    .subscribe(channel)
                    .await
                    .map_err(|e| map_error("SUBSCRIBE", e))?;
                confirm(&self.subscriber).await
            }
            // In effect on return (see `resubscribe_sharded`).
            Topology::Cluster => self
                .subscriber
                .ssubscribe(channel)
                .await
                .map_err(|e| map_error("SSUBSCRIBE", e)),
        }
    }

    async fn unsubscribe(&self, topic: &str) -> BusResult<()> {
        self.ensure_connected(&self.subscriber)?;
        let channel = self.channel(topic);
        match self.topology {
            Topology::Single => {
                self.subscriber
                    .unsubscribe(channel)
                    .await
                    .map_err(|e| map_error("UNSUBSCRIBE", e))?;
                confirm(&self.subscriber).await
            }
            Topology::Cluster => {
                self.subscriber
                    .sunsubscribe(channel.as_str())
                    .await
                    .map_err(|e| map_error("SUNSUBSCRIBE", e))?;
                confirm_on_shard(&self.subscriber, &channel).await
            }
        }
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
        let (tls, topology) = builder("rediss://:pw@h:6380", None).unwrap();
        assert!(tls.get_config().unwrap().uses_rustls());
        assert_eq!(topology, Topology::Single);
        let (plain, _) = builder("redis://h:6379", None).unwrap();
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
            err.contains("not a TLS URL") && err.contains("redis://***@h:6379"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn the_cluster_schemes_choose_the_cluster_with_every_seed_and_tls_as_asked() {
        let (b, topology) = builder(
            "redis-cluster://u:pw@h1:7000?node=h2:7001&node=h3:7002",
            None,
        )
        .unwrap();
        assert_eq!(topology, Topology::Cluster);
        let config = b.get_config().unwrap();
        assert!(!config.uses_tls());
        let mut seeds: Vec<String> = config
            .server
            .hosts()
            .iter()
            .map(|s| format!("{}:{}", s.host, s.port))
            .collect();
        seeds.sort();
        assert_eq!(seeds, ["h1:7000", "h2:7001", "h3:7002"]);
        assert_eq!(config.password.as_deref(), Some("pw"));

        let (tls, topology) = builder("rediss-cluster://:pw@cfg.example.com:6379", None).unwrap();
        assert_eq!(topology, Topology::Cluster);
        assert!(tls.get_config().unwrap().uses_rustls());
        assert!(tls.get_config().unwrap().server.is_clustered());
    }

    #[test]
    fn a_cluster_url_without_a_node_is_a_clear_error_without_the_password() {
        for url in [
            "redis-cluster://",
            "redis-cluster://:secret@",
            "rediss-cluster://u:secret@:6379",
        ] {
            let err = builder(url, None).expect_err(url).to_string();
            assert!(
                err.contains("a cluster URL names at least one node") && err.contains("://"),
                "{err}"
            );
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn an_unknown_scheme_is_a_clear_error() {
        let err = builder("redis-sentinel://:secret@h:26379", None)
            .expect_err("not supported")
            .to_string();
        assert!(
            err.contains("redis-cluster://") && err.contains("redis-sentinel://***@h:26379"),
            "{err}"
        );
    }

    /// A self-signed CA certificate (any will do: only its parsing is exercised here).
    const TEST_CA: &str = include_str!("../../tests/fixtures/test-ca.pem");
}
