//! The self-managed bus provider against a real redis-server: the user it makes reaches its own
//! channels and nothing else (no other channel, no key, no admin command), a user widened by hand
//! is narrowed again, a connection opened before a rotation keeps working (the rotation order
//! README documents relies on it), and the conformance suite every BusIdentity passes.

use async_trait::async_trait;
use atendo_operator::controller::providers::{BusIdentity, BusUser};
use atendo_operator::controller::redis_acl::RedisAcl;
use support::bus_conformance::{Fixture, Probe, user};
use testkit::resp::{Reply, address, command_as};

mod support;

struct Server {
    redis: testkit::redis::Redis,
    addr: String,
}

impl Server {
    fn start() -> Self {
        let redis = testkit::redis::redis();
        let addr = address(&redis.url).expect("a redis:// URL");
        Server { redis, addr }
    }

    fn provider(&self) -> RedisAcl {
        RedisAcl::connect(&self.redis.url).expect("the admin URL parses")
    }

    fn as_user(&self, u: &BusUser, command: &[&str]) -> Reply {
        command_as(&self.addr, &u.user, &u.password, command).expect("Redis answers")
    }

    fn as_admin(&self, command: &[&str]) -> Reply {
        // The test Redis's default user has no password: any password signs it in.
        command_as(&self.addr, "default", "unused", command).expect("Redis answers")
    }
}

#[async_trait]
impl Probe for Server {
    async fn may_use(&self, u: &BusUser, channel: &str) -> bool {
        let publish = self.as_user(u, &["PUBLISH", channel, "probe"]);
        let subscribe = self.as_user(u, &["SUBSCRIBE", channel]);
        matches!(publish, Reply::Ok(_)) && matches!(subscribe, Reply::Ok(_))
    }
}

async fn fixture() -> Fixture {
    let s = std::sync::Arc::new(Server::start());
    Fixture {
        bus: Box::new(s.provider()),
        probe: Box::new(Shared(s.clone())),
        _keep: Box::new(s),
    }
}

struct Shared(std::sync::Arc<Server>);

#[async_trait]
impl Probe for Shared {
    async fn may_use(&self, u: &BusUser, channel: &str) -> bool {
        self.0.may_use(u, channel).await
    }
}

bus_conformance!(super::fixture);

#[tokio::test]
async fn the_user_is_refused_every_step_of_the_cross_tenant_attack() {
    let s = Server::start();
    let tenant = testkit::unique("a");
    let u = user(&tenant, "attack-password-123456");
    s.provider().ensure_user(&u).await.unwrap();
    let victim = "tenant-victim:conv.0190";
    let attack: &[&[&str]] = &[
        &["PSUBSCRIBE", "*"],
        &["PSUBSCRIBE", &format!("tenant-{tenant}:*")],
        &["SUBSCRIBE", victim],
        &["PUBLISH", victim, "{\"type\":\"message\",\"seq\":1000000}"],
        &["SPUBLISH", victim, "x"],
        &["KEYS", "*"],
        &["GET", "session"],
        &["SET", "x", "1"],
        &["CONFIG", "GET", "*"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["FLUSHALL"],
        &["ACL", "LIST"],
        &["ACL", "SETUSER", &u.user, "+@all"],
        &["MONITOR"],
        &["PUBSUB", "CHANNELS"],
        &["CLIENT", "LIST"],
        &["CLIENT", "KILL", "TYPE", "pubsub"],
        &["EVAL", "return redis.call('flushall')", "0"],
        &["SHUTDOWN"],
    ];
    let mut refused = 0;
    for command in attack {
        let reply = s.as_user(&u, command);
        assert!(reply.is_noperm(), "{command:?} answered {reply:?}");
        refused += 1;
    }
    eprintln!(
        "{refused} of {} attack commands refused with NOPERM",
        attack.len()
    );
    let own = format!("tenant-{tenant}:conv.1");
    assert!(matches!(
        s.as_user(&u, &["PUBLISH", &own, "ok"]),
        Reply::Ok(_)
    ));
}

#[tokio::test]
async fn a_user_widened_by_hand_is_narrowed_again_by_the_next_ensure() {
    let s = Server::start();
    let tenant = testkit::unique("w");
    let u = user(&tenant, "widened-password-12345");
    let provider = s.provider();
    provider.ensure_user(&u).await.unwrap();
    let widened = s.as_admin(&[
        "ACL",
        "SETUSER",
        &u.user,
        "allkeys",
        "allchannels",
        "+@all",
        ">second-password-123",
    ]);
    assert_eq!(widened, Reply::Ok("+OK".into()));
    assert!(
        matches!(s.as_user(&u, &["KEYS", "*"]), Reply::Ok(_)),
        "widened"
    );
    provider.ensure_user(&u).await.unwrap();
    assert!(s.as_user(&u, &["KEYS", "*"]).is_noperm());
    assert!(s.as_user(&u, &["PUBLISH", "elsewhere", "x"]).is_noperm());
    let second = command_as(&s.addr, &u.user, "second-password-123", &["PING"]).unwrap();
    assert!(
        matches!(&second, Reply::Refused(e) if e.starts_with("WRONGPASS")),
        "the password added by hand is gone: {second:?}"
    );
}

#[tokio::test]
async fn a_connection_opened_before_a_rotation_keeps_publishing_after_it() {
    use std::io::{BufRead, BufReader, Write};
    let s = Server::start();
    let tenant = testkit::unique("k");
    let old = user(&tenant, "before-rotation-12345");
    let provider = s.provider();
    provider.ensure_user(&old).await.unwrap();
    let stream = std::net::TcpStream::connect(&s.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut ask = |line: &str| {
        writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        reply.trim_end().to_string()
    };
    assert_eq!(ask(&format!("AUTH {} {}", old.user, old.password)), "+OK");
    let new = user(&tenant, "after-rotation-123456");
    provider.ensure_user(&new).await.unwrap();
    assert_eq!(
        ask(&format!("PUBLISH tenant-{tenant}:conv.1 still-here")),
        ":0",
        "the pod that authenticated before the rotation still publishes until it is replaced"
    );
    assert!(
        matches!(s.as_user(&old, &["PING"]), Reply::Refused(e) if e.starts_with("WRONGPASS")),
        "a new connection needs the new password"
    );
    provider.remove_user(&new.user).await.unwrap();
    let mut after = String::new();
    writer.write_all(b"PING\r\n").unwrap();
    let gone = reader.read_line(&mut after).map(|n| n == 0).unwrap_or(true);
    assert!(gone, "removal ends the user's connections, got {after:?}");
}

#[tokio::test]
async fn a_refused_admin_credential_is_access_denied_and_names_no_password() {
    let s = Server::start();
    let admin = testkit::unique("adm");
    let granted = s.as_admin(&[
        "ACL",
        "SETUSER",
        &admin,
        "on",
        ">admin-password-123",
        "+@all",
        "-acl",
        "~*",
        "&*",
    ]);
    assert_eq!(granted, Reply::Ok("+OK".into()));
    let url = format!("redis://{admin}:admin-password-123@{}", s.addr);
    let provider = RedisAcl::connect(&url).unwrap();
    let err = provider
        .ensure_user(&user(&testkit::unique("n"), "tenant-password-12345"))
        .await
        .unwrap_err();
    assert_eq!(err.reason, "AccessDenied", "{err}");
    assert!(!err.message.contains("tenant-password-12345"), "{err}");
    assert!(!err.message.contains("admin-password-123"), "{err}");
    s.as_admin(&["ACL", "DELUSER", &admin]);
}

/// ACLs are per node: on a Redis Cluster the user must exist on every master, or a tenant's
/// chat-server is refused on the shards the provider skipped.
#[tokio::test]
async fn on_a_cluster_the_user_is_made_on_every_master_and_removed_from_every_master() {
    let cluster = testkit::redis_cluster::spawn_redis_cluster(3).expect("a 3-master cluster");
    let provider = RedisAcl::connect(&cluster.url).expect("a cluster admin URL parses");
    let tenant = testkit::unique("c");
    let u = user(&tenant, "cluster-password-12345");
    provider.ensure_user(&u).await.unwrap();
    let own = format!("tenant-{tenant}:conv.1");
    for port in &cluster.ports {
        let addr = format!("127.0.0.1:{port}");
        // SPUBLISH on a node that does not own the slot answers MOVED: the user got that far.
        let reply = command_as(&addr, &u.user, &u.password, &["PING"]).unwrap();
        assert_eq!(reply, Reply::Ok("+PONG".into()), "master {port}");
        let other = command_as(&addr, &u.user, &u.password, &["SPUBLISH", "elsewhere", "x"]);
        assert!(other.unwrap().is_noperm(), "master {port}");
        let mine = command_as(&addr, &u.user, &u.password, &["SPUBLISH", &own, "x"]).unwrap();
        assert!(
            matches!(&mine, Reply::Ok(_))
                || matches!(&mine, Reply::Refused(e) if e.starts_with("MOVED")),
            "master {port}: {mine:?}"
        );
    }
    provider.remove_user(&u.user).await.unwrap();
    for port in &cluster.ports {
        let addr = format!("127.0.0.1:{port}");
        let reply = command_as(&addr, &u.user, &u.password, &["PING"]).unwrap();
        assert!(
            matches!(&reply, Reply::Refused(e) if e.starts_with("WRONGPASS")),
            "master {port}: {reply:?}"
        );
    }
}
