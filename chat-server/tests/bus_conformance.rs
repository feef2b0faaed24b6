//! One conformance suite for every `Bus`: the in-process bus and Redis pub/sub (a real
//! redis-server, in plain text and TLS-only with a private CA; and a real 3-master Redis Cluster
//! with sharded pub/sub). Behaviour only Redis has (replicas, namespaces, outages) is tested
//! for Redis alone, below the shared suite, and what only a cluster has (shards) below that.
//!
//! Negative checks ("X does not arrive") use a marker: after the action under test, a marker is
//! published on a subscribed topic, and the next thing received must be the marker. Both buses
//! deliver one process's traffic in publish order, so nothing can overtake it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_server::bus::{self, Bus, BusError, Inbound};
use chat_server::config::BusLocation;
use chat_server::config::CaFile;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

enum Backend {
    Local,
    Redis(testkit::redis::Redis),
    /// `rediss://`, trusting the CA that signed the server's certificate.
    // Boxed: the TLS server carries its certificates, five times the other variants.
    RedisTls(Box<testkit::redis_tls::TlsRedis>, CaFile),
    /// `redis-cluster://`, three masters, sharded pub/sub.
    Cluster(testkit::redis_cluster::RedisCluster),
}

impl Backend {
    fn tls() -> Self {
        let redis = testkit::redis_tls::spawn_redis_tls().expect("start a TLS redis-server");
        let ca = CaFile::load(&redis.ca.ca_file).expect("the test CA loads");
        Backend::RedisTls(Box::new(redis), ca)
    }

    fn cluster() -> Self {
        Backend::Cluster(
            testkit::redis_cluster::spawn_redis_cluster(3).expect("start a 3-master Redis Cluster"),
        )
    }

    fn location(&self) -> BusLocation {
        match self {
            Backend::Local => BusLocation::Local,
            Backend::Redis(redis) => BusLocation::Redis(redis.url.clone()),
            Backend::RedisTls(redis, _) => BusLocation::Redis(redis.url.clone()),
            Backend::Cluster(cluster) => BusLocation::Redis(cluster.url.clone()),
        }
    }

    fn ca(&self) -> Option<&CaFile> {
        match self {
            Backend::RedisTls(_, ca) => Some(ca),
            _ => None,
        }
    }

    async fn node(&self, namespace: &str) -> Node {
        self.node_with_capacity(namespace, 16).await
    }

    async fn node_with_capacity(&self, namespace: &str, capacity: usize) -> Node {
        let (tx, rx) = mpsc::channel(capacity);
        let bus = bus::connect(&self.location(), self.ca(), namespace, tx)
            .await
            .expect("connect the bus");
        Node { bus, rx }
    }
}

struct Node {
    bus: Arc<dyn Bus>,
    rx: mpsc::Receiver<Inbound>,
}

impl Node {
    async fn next(&mut self) -> Inbound {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("nothing arrived in time")
            .expect("the bus dropped its sender")
    }

    async fn expect(&mut self, topic: &str, payload: &str) {
        assert_eq!(self.next().await, message(topic, payload));
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.bus
            .publish(topic, Bytes::from(payload.to_string()))
            .await
            .expect("publish");
    }
}

fn message(topic: &str, payload: &str) -> Inbound {
    Inbound::Message {
        topic: topic.to_string(),
        payload: Bytes::from(payload.to_string()),
    }
}

fn namespace() -> String {
    testkit::unique("bus")
}

/// The shared suite: each function is one behaviour every implementation must have.
mod suite {
    use super::*;

    pub async fn publish_reaches_a_subscribed_topic_and_not_an_unsubscribed_one(b: Backend) {
        let mut node = b.node(&namespace()).await;
        node.bus.subscribe("subscribed").await.unwrap();
        node.publish("not-subscribed", "lost").await;
        node.publish("subscribed", "hello").await;
        node.expect("subscribed", "hello").await;
    }

    pub async fn the_publisher_receives_its_own_publish(b: Backend) {
        let mut node = b.node(&namespace()).await;
        node.bus.subscribe("conversation.1").await.unwrap();
        node.publish("conversation.1", "mine").await;
        node.expect("conversation.1", "mine").await;
    }

    pub async fn subscribing_twice_delivers_each_payload_once(b: Backend) {
        let mut node = b.node(&namespace()).await;
        node.bus.subscribe("t").await.unwrap();
        node.bus.subscribe("t").await.unwrap();
        node.publish("t", "once").await;
        node.publish("t", "marker").await;
        node.expect("t", "once").await;
        node.expect("t", "marker").await;
    }

    pub async fn unsubscribing_stops_delivery(b: Backend) {
        let mut node = b.node(&namespace()).await;
        node.bus.subscribe("t").await.unwrap();
        node.bus.subscribe("marker").await.unwrap();
        node.publish("t", "before").await;
        node.expect("t", "before").await;
        node.bus.unsubscribe("t").await.unwrap();
        node.publish("t", "after").await;
        node.publish("marker", "m").await;
        node.expect("marker", "m").await;
    }

    pub async fn order_is_preserved_per_topic_for_a_thousand_payloads(b: Backend) {
        let mut node = b.node(&namespace()).await;
        node.bus.subscribe("ordered").await.unwrap();
        let bus = node.bus.clone();
        // Published while the receiver drains, so the bounded inbound channel fills and
        // empties many times over.
        let publisher = tokio::spawn(async move {
            for i in 0..1000 {
                bus.publish("ordered", Bytes::from(i.to_string()))
                    .await
                    .unwrap();
            }
        });
        for i in 0..1000 {
            node.expect("ordered", &i.to_string()).await;
        }
        publisher.await.unwrap();
    }

    pub async fn binary_and_empty_payloads_arrive_byte_for_byte(b: Backend) {
        let mut node = b.node(&namespace()).await;
        node.bus.subscribe("bin").await.unwrap();
        let binary = Bytes::from_static(&[0, 159, 146, 150, 255, b'\n']);
        node.bus.publish("bin", binary.clone()).await.unwrap();
        node.bus.publish("bin", Bytes::new()).await.unwrap();
        let expected = |payload: Bytes| Inbound::Message {
            topic: "bin".into(),
            payload,
        };
        assert_eq!(node.next().await, expected(binary));
        assert_eq!(node.next().await, expected(Bytes::new()));
    }

    pub async fn ping_succeeds_while_the_bus_is_reachable(b: Backend) {
        let node = b.node(&namespace()).await;
        node.bus.ping().await.unwrap();
    }
}

macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn publish_reaches_a_subscribed_topic_and_not_an_unsubscribed_one() {
                suite::publish_reaches_a_subscribed_topic_and_not_an_unsubscribed_one($make).await
            }
            #[tokio::test]
            async fn the_publisher_receives_its_own_publish() {
                suite::the_publisher_receives_its_own_publish($make).await
            }
            #[tokio::test]
            async fn subscribing_twice_delivers_each_payload_once() {
                suite::subscribing_twice_delivers_each_payload_once($make).await
            }
            #[tokio::test]
            async fn unsubscribing_stops_delivery() {
                suite::unsubscribing_stops_delivery($make).await
            }
            #[tokio::test]
            async fn order_is_preserved_per_topic_for_a_thousand_payloads() {
                suite::order_is_preserved_per_topic_for_a_thousand_payloads($make).await
            }
            #[tokio::test]
            async fn binary_and_empty_payloads_arrive_byte_for_byte() {
                suite::binary_and_empty_payloads_arrive_byte_for_byte($make).await
            }
            #[tokio::test]
            async fn ping_succeeds_while_the_bus_is_reachable() {
                suite::ping_succeeds_while_the_bus_is_reachable($make).await
            }
        }
    };
}

conformance!(local, Backend::Local);
conformance!(redis, Backend::Redis(testkit::redis::redis()));
conformance!(redis_tls, Backend::tls());
conformance!(redis_cluster, Backend::cluster());

/// What only a networked bus has: other replicas, shared servers, outages.
mod redis_only {
    use super::*;

    #[tokio::test]
    async fn two_replicas_with_one_namespace_see_each_others_publishes() {
        let backend = Backend::Redis(testkit::redis::redis());
        let ns = namespace();
        let mut a = backend.node(&ns).await;
        let mut b = backend.node(&ns).await;
        a.bus.subscribe("t").await.unwrap();
        b.bus.subscribe("t").await.unwrap();
        a.publish("t", "from a").await;
        b.publish("t", "from b").await;
        for node in [&mut a, &mut b] {
            node.expect("t", "from a").await;
            node.expect("t", "from b").await;
        }
    }

    /// Delivery subscribes, then replays from the store, then relies on live messages: a
    /// publish that starts once `subscribe` has returned must never be missed.
    #[tokio::test]
    async fn a_subscription_is_in_effect_when_subscribe_returns() {
        let backend = Backend::Redis(testkit::redis::redis());
        let ns = namespace();
        let mut a = backend.node(&ns).await;
        let b = backend.node(&ns).await;
        for i in 0..200 {
            let topic = format!("t{i}");
            a.bus.subscribe(&topic).await.unwrap();
            b.publish(&topic, "first").await;
            a.expect(&topic, "first").await;
            a.bus.unsubscribe(&topic).await.unwrap();
            b.publish(&topic, "gone").await;
        }
        a.bus.subscribe("marker").await.unwrap();
        b.publish("marker", "m").await;
        a.expect("marker", "m").await;
    }

    #[tokio::test]
    async fn two_namespaces_on_one_redis_do_not_see_each_other() {
        let backend = Backend::Redis(testkit::redis::redis());
        let mut a = backend.node(&namespace()).await;
        let mut b = backend.node(&namespace()).await;
        a.bus.subscribe("t").await.unwrap();
        b.bus.subscribe("t").await.unwrap();
        a.publish("t", "for a").await;
        b.publish("t", "for b").await;
        // Each side's next and only message is its own.
        a.expect("t", "for a").await;
        b.expect("t", "for b").await;
        a.publish("t", "marker a").await;
        b.publish("t", "marker b").await;
        a.expect("t", "marker a").await;
        b.expect("t", "marker b").await;
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_a_clear_error_at_connect() {
        let port = testkit::free_port();
        let url = format!("redis://127.0.0.1:{port}");
        let (tx, _rx) = mpsc::channel(1);
        let err = bus::connect(&BusLocation::Redis(url.clone()), None, "ns", tx)
            .await
            .err()
            .expect("nothing listens there");
        assert!(matches!(err, BusError::Unavailable(_)), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("could not connect to Redis at {url}")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_receiver_that_falls_far_behind_gets_resynced_instead_of_stalling_redis() {
        let backend = Backend::Redis(testkit::redis::redis());
        let mut node = backend.node_with_capacity(&namespace(), 1).await;
        node.bus.subscribe("flood").await.unwrap();
        let total = chat_server::bus::redis::BROADCAST_CAPACITY + 2000;
        for i in 0..total {
            node.publish("flood", &i.to_string()).await;
        }
        // Every publish was answered although nobody read: Redis was never blocked.
        node.publish("flood", "last").await;
        let mut received = 0;
        let mut resynced = false;
        loop {
            match node.next().await {
                Inbound::Resynced => resynced = true,
                Inbound::Message { payload, .. } if payload == "last" => break,
                Inbound::Message { .. } => received += 1,
            }
        }
        assert!(
            resynced,
            "overwritten payloads must be reported as a resync"
        );
        assert!(
            received < total,
            "some payloads must have been dropped, got {received}"
        );
    }

    #[tokio::test]
    async fn after_a_redis_restart_subscriptions_come_back_and_resynced_is_reported() {
        let mut redis = testkit::redis::spawn_redis().expect("start redis-server");
        let url = redis.url.clone();
        let (tx, rx) = mpsc::channel(16);
        let bus = bus::connect(&BusLocation::Redis(url), None, &namespace(), tx)
            .await
            .unwrap();
        let mut node = Node { bus, rx };
        node.bus.subscribe("t").await.unwrap();
        node.publish("t", "before").await;
        // The first connect is not a resync.
        node.expect("t", "before").await;

        redis.stop().unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match node.bus.publish("t", Bytes::from_static(b"lost")).await {
                Err(BusError::Unavailable(_)) => break,
                other => assert!(
                    tokio::time::Instant::now() < deadline,
                    "publish kept answering {other:?} with Redis down"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            node.bus.ping().await.is_err(),
            "ping must fail while Redis is down"
        );

        redis.start().unwrap();
        assert_eq!(node.next().await, Inbound::Resynced);
        // Resynced comes after the subscription is restored, so this publish is delivered.
        // The publisher has its own connection and may take a moment longer to return.
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Err(e) = node.bus.publish("t", Bytes::from_static(b"after")).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "publish still fails: {e}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node.expect("t", "after").await;
        node.bus.ping().await.unwrap();
    }
}

/// What only a Redis Cluster has: shards.
mod cluster_only {
    use super::*;
    use testkit::redis_cluster::spawn_redis_cluster;
    use testkit::resp::{Resp, query};

    /// Sharded pub/sub: each channel lives on the master of its slot, so a deployment's
    /// conversations spread over every shard and each reaches its subscribers from there.
    #[tokio::test]
    async fn topics_spread_over_every_shard_and_each_reaches_the_other_replica() {
        let cluster = spawn_redis_cluster(3).unwrap();
        let backend = Backend::Cluster(cluster);
        let ns = namespace();
        let mut a = backend.node(&ns).await;
        let b = backend.node(&ns).await;
        let topics: Vec<String> = (0..30).map(|i| format!("conv.{i}")).collect();
        for t in &topics {
            a.bus.subscribe(t).await.unwrap();
        }
        for t in &topics {
            b.publish(t, t).await;
        }
        let mut got = Vec::new();
        for _ in &topics {
            match a.next().await {
                Inbound::Message { topic, payload } => {
                    assert_eq!(payload, topic.as_bytes());
                    got.push(topic);
                }
                other => panic!("{other:?}"),
            }
        }
        got.sort();
        let mut want = topics.clone();
        want.sort();
        assert_eq!(got, want);

        let Backend::Cluster(cluster) = &backend else {
            unreachable!()
        };
        let mut per_master = Vec::new();
        for port in &cluster.ports {
            let channels = query(
                &format!("127.0.0.1:{port}"),
                &["PUBSUB", "SHARDCHANNELS", &format!("{ns}:*")],
            )
            .unwrap();
            per_master.push(channels.items().len());
        }
        eprintln!("sharded channels per master: {per_master:?}");
        assert_eq!(per_master.iter().sum::<usize>(), topics.len());
        assert!(
            per_master.iter().all(|n| *n > 0),
            "every master carries some: {per_master:?}"
        );
        // Nothing went through classic pub/sub, which a cluster broadcasts to every node.
        let classic = query(
            &format!("127.0.0.1:{}", cluster.ports[0]),
            &["PUBSUB", "CHANNELS", &format!("{ns}:*")],
        )
        .unwrap();
        assert_eq!(classic, Resp::Array(Some(vec![])));
    }

    #[tokio::test]
    async fn unreachable_seeds_are_a_clear_error_at_connect_without_the_password() {
        let (p1, p2) = (testkit::free_port(), testkit::free_port());
        let url = format!("redis-cluster://u:secret@127.0.0.1:{p1}?node=127.0.0.1:{p2}");
        let (tx, _rx) = mpsc::channel(1);
        let err = bus::connect(&BusLocation::Redis(url), None, "ns", tx)
            .await
            .err()
            .expect("nothing listens there");
        let err = err.to_string();
        assert!(
            err.contains(&format!(
                "could not connect to Redis at redis-cluster://***@127.0.0.1:{p1}?node=127.0.0.1:{p2}"
            )),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }

    #[tokio::test]
    async fn a_plain_redis_url_on_a_cluster_node_is_not_mistaken_for_a_cluster() {
        // The scheme decides: `redis://` on a cluster node gets classic pub/sub on that node,
        // and a cluster URL is needed for sharding (README says so).
        let cluster = spawn_redis_cluster(1).unwrap();
        let url = format!("redis://127.0.0.1:{}", cluster.ports[0]);
        let (tx, rx) = mpsc::channel(16);
        let bus = bus::connect(&BusLocation::Redis(url), None, &namespace(), tx)
            .await
            .unwrap();
        let mut node = Node { bus, rx };
        node.bus.subscribe("t").await.unwrap();
        node.publish("t", "classic").await;
        node.expect("t", "classic").await;
    }

    /// A master that restarts drops its connections: the bus reconnects on its own, restores
    /// its sharded subscriptions and says `Resynced`, so delivery catches up from the store.
    #[tokio::test]
    async fn after_a_master_restart_sharded_subscriptions_come_back_and_resynced_is_reported() {
        let mut cluster = spawn_redis_cluster(3).unwrap();
        let ns = namespace();
        let owner = cluster.master_of_slot(cluster.keyslot(&format!("{ns}:t")).unwrap());
        let (tx, rx) = mpsc::channel(16);
        let bus = bus::connect(&BusLocation::Redis(cluster.url.clone()), None, &ns, tx)
            .await
            .unwrap();
        let mut node = Node { bus, rx };
        node.bus.subscribe("t").await.unwrap();
        node.publish("t", "before").await;
        node.expect("t", "before").await;

        cluster.stop(owner);
        let deadline = tokio::time::Instant::now() + WAIT;
        while node
            .bus
            .publish("t", Bytes::from_static(b"lost"))
            .await
            .is_ok()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "publish to a stopped master kept succeeding"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stopped_at = tokio::time::Instant::now();
        cluster.start(owner).unwrap();

        let deadline = tokio::time::Instant::now() + WAIT * 3;
        loop {
            match tokio::time::timeout_at(deadline, node.rx.recv()).await {
                Ok(Some(Inbound::Resynced)) => break,
                // A publish that Redis took just before the kill may still arrive.
                Ok(Some(Inbound::Message { payload, .. })) if payload == "lost" => {}
                other => panic!("expected Resynced, got {other:?}"),
            }
        }
        eprintln!(
            "FIGURES resynced {} ms after the master was stopped",
            stopped_at.elapsed().as_millis()
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Err(e) = node.bus.publish("t", Bytes::from_static(b"after")).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "publish still fails: {e}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        loop {
            match node.next().await {
                Inbound::Message { payload, .. } if payload == "after" => break,
                Inbound::Resynced => {}
                Inbound::Message { payload, .. } if payload == "lost" => {}
                other => panic!("expected the publish after the restart, got {other:?}"),
            }
        }
        node.bus.ping().await.unwrap();
    }
}
