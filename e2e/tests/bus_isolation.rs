//! The review's cross-tenant attack on the shared Redis, repeated against per-tenant Redis users.
//!
//! Two tenants (the professional example under two fresh names), each rendered by the real
//! `atendo-operator` and provisioned with the controller's own code (its Redis user made by the
//! self-managed provider, `ACL SETUSER` on this test's own redis-server), run two real
//! `chat-server` replicas each with exactly the CHAT_BUS the operator wrote: so the chat-server
//! runs under exactly the ACL the operator grants. Then:
//! - with tenant A's credential (its pods' CHAT_BUS), every step of the attack is refused with
//!   NOPERM: PSUBSCRIBE *, SUBSCRIBE / PUBLISH on B's live conversation channel, KEYS, GET,
//!   CONFIG, FLUSHALL;
//! - both tenants hold a conversation across their two replicas at the same time (visitor on one,
//!   agent on the other, so every message crosses the bus): each side receives every message of
//!   the other exactly once, in seq order;
//! - `ACL LOG` holds no refusal of a tenant's own chat-servers: the operator's command list
//!   covers everything they send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use e2e::client::{HostClient, Ws, expect_status, text};
use e2e::provision::Providers;
use e2e::tenant::{self, RunningTenant};
use serde_json::{Value, json};
use testkit::resp::{Reply, Resp, address, command_as, query_as};

const BASE_DOMAIN: &str = "chat.e2e.test";
/// Messages each side sends: within the websocket burst (60), so none is rate-limited.
const EACH_WAY: usize = 50;

/// A tenant file: the professional example under `name`, its subdomain defaulting to the name.
fn tenant_file(dir: &Path, name: &str) -> PathBuf {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../operator/examples/professional.yaml");
    let text = std::fs::read_to_string(&example).expect("the professional example");
    let mut doc: Value = serde_yaml_ng::from_str(&text).expect("example YAML");
    doc["metadata"]["name"] = json!(name);
    doc["spec"].as_object_mut().unwrap().remove("subdomain");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, serde_yaml_ng::to_string(&doc).unwrap()).unwrap();
    path
}

/// `--database-url` from an admin URI: the same hosts, without credentials, database or options.
fn database_url(admin_uri: &str) -> String {
    let (scheme, rest) = admin_uri.split_once("://").expect("a mongodb:// URI");
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{hosts}/")
}

/// (user, password) of a CHAT_BUS URL the operator wrote.
fn credential(bus_url: &str) -> (String, String) {
    let authority = bus_url
        .split("://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let (userinfo, _) = authority.rsplit_once('@').expect("CHAT_BUS carries a user");
    let (user, password) = userinfo.split_once(':').expect("user:password");
    (user.to_string(), password.to_string())
}

/// One live conversation of a tenant: the visitor's socket on replica 0, the agent's on 1.
struct Live {
    id: String,
    visitor: Ws,
    agent: Ws,
}

async fn open(t: &RunningTenant) -> anyhow::Result<Live> {
    ensure!(
        t.replicas.len() == 2,
        "{}: {} replicas",
        t.name,
        t.replicas.len()
    );
    let first = HostClient::new(&t.host, t.replicas[0].addr)?;
    let second = HostClient::new(&t.host, t.replicas[1].addr)?;
    let (_, visitor_token) = first.visitor("Vera").await?;
    let (status, created) = first
        .post("/api/v1/conversations", Some(&visitor_token), json!({}))
        .await?;
    expect_status(status, 201, &created, "creating a conversation")?;
    let id = text(&created, "id")?;
    let mut visitor = first.ws(&visitor_token).await?;
    visitor.subscribe(&id).await?;
    let (email, password) = &t.admin;
    let (_, agent_token) = second.login(email, password).await?;
    let mut agent = second.ws(&agent_token).await?;
    agent.subscribe(&id).await?;
    Ok(Live { id, visitor, agent })
}

/// Both sides send EACH_WAY messages at once, then each reads until it holds all of the other's.
/// Returns, per side, how often each of the other side's messages arrived and the seqs in order.
async fn converse(name: &str, live: &mut Live) -> anyhow::Result<()> {
    for i in 0..EACH_WAY {
        for (ws, who) in [(&mut live.visitor, "v"), (&mut live.agent, "a")] {
            ws.send(json!({"type": "send", "conversation_id": live.id, "client_msg_id": format!("{who}-{i}"), "body": format!("{name} {who} {i}")}))
                .await?;
        }
    }
    for (ws, me, other) in [(&mut live.visitor, "v", "a"), (&mut live.agent, "a", "v")] {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut seqs = vec![];
        while (0..EACH_WAY).any(|i| !seen.contains_key(&format!("{other}-{i}"))) {
            let frame = ws.next().await.with_context(|| {
                format!(
                    "{name} {me}: waiting for the other side's messages, {} seen",
                    seen.len()
                )
            })?;
            ensure!(frame["type"] != "error", "{name} {me}: {frame}");
            if frame["type"] != "message" {
                continue;
            }
            let m = &frame["message"];
            ensure!(
                m["body"].as_str().is_some_and(|b| b.starts_with(name)),
                "{name} {me} received another tenant's message: {m}"
            );
            *seen
                .entry(m["client_msg_id"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
            seqs.push(m["seq"].as_u64().context("seq")?);
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        ensure!(
            twice.is_empty(),
            "{name} {me}: delivered more than once: {twice:?}"
        );
        ensure!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{name} {me}: seqs out of order: {seqs:?}"
        );
        eprintln!(
            "{name} {me}: all {EACH_WAY} of the other side's messages exactly once ({} message frames, seqs {}..={})",
            seqs.len(),
            seqs.first().unwrap_or(&0),
            seqs.last().unwrap_or(&0)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_credential_can_neither_read_nor_forge_another_tenants_bus_and_both_chats_stay_exactly_once()
 {
    // This test's own Redis, so its ACL LOG holds only what happens here.
    let redis = testkit::redis::spawn_redis().expect("redis-server");
    let mongo = testkit::mongo::mongo();
    let s3 = testkit::s3::s3();
    let flags = vec![
        format!("--base-domain={BASE_DOMAIN}"),
        "--chat-image=registry.example.com/atendo/chat-server:e2e".into(),
        format!("--redis-url={}", redis.url),
        format!("--database-url={}", database_url(&mongo.uri)),
        format!("--s3-endpoint={}", s3.endpoint),
        "--ingress-class=nginx".into(),
    ];
    // The test Redis's default user stands in for the operator's --redis-admin-url.
    let providers = Providers::connect(&s3.endpoint, "us-east-1", &mongo.uri, &redis.url)
        .await
        .expect("the operator's providers connect");
    let dir = tempfile::tempdir().unwrap();
    let (a_name, b_name) = (testkit::unique("busa"), testkit::unique("busb"));
    let mut a = tenant::start(&tenant_file(dir.path(), &a_name), &flags, &providers)
        .await
        .expect("tenant A starts");
    let mut b = tenant::start(&tenant_file(dir.path(), &b_name), &flags, &providers)
        .await
        .expect("tenant B starts");
    let addr = address(&redis.url).unwrap();
    let (a_user, a_password) = credential(&a.env["CHAT_BUS"]);
    assert_eq!(a_user, format!("tenant-{a_name}"));
    assert_eq!(a.env["CHAT_BUS_NAMESPACE"], format!("tenant-{a_name}"));

    let mut live_a = open(&a).await.expect("tenant A's conversation");
    let mut live_b = open(&b).await.expect("tenant B's conversation");

    // The attack, with tenant A's credential, on B's live conversation.
    let b_channel = format!("{}:conv.{}", b.env["CHAT_BUS_NAMESPACE"], live_b.id);
    let forged = json!({"type": "message", "message": {"seq": 1_000_000, "body": "re-enter your card at https://evil.example", "author": {"kind": "agent", "name": "Support"}}}).to_string();
    let attack: Vec<Vec<&str>> = vec![
        vec!["PSUBSCRIBE", "*"],
        vec!["SUBSCRIBE", &b_channel],
        vec!["PUBLISH", &b_channel, &forged],
        vec!["KEYS", "*"],
        vec!["GET", "anything"],
        vec!["CONFIG", "GET", "*"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["FLUSHALL"],
    ];
    for command in &attack {
        let reply = command_as(&addr, &a_user, &a_password, command).unwrap();
        assert!(
            reply.is_noperm(),
            "tenant A's {command:?} answered {reply:?}"
        );
    }
    eprintln!(
        "tenant A's credential: all {} attack commands refused with NOPERM",
        attack.len()
    );
    let own = format!("{}:conv.{}", a.env["CHAT_BUS_NAMESPACE"], live_a.id);
    assert!(
        matches!(
            command_as(&addr, &a_user, &a_password, &["PUBLISH", &own, "{}"]),
            Ok(Reply::Ok(_))
        ),
        "the same credential works on A's own channels"
    );

    let (ra, rb) = tokio::join!(
        converse(&a_name, &mut live_a),
        converse(&b_name, &mut live_b)
    );
    ra.expect("tenant A's conversation");
    rb.expect("tenant B's conversation");
    a.ensure_running().expect("tenant A's replicas are up");
    b.ensure_running().expect("tenant B's replicas are up");

    let log = query_as(&addr, "default", "unused", &["ACL", "LOG"]).unwrap();
    let refused: Vec<(String, String)> = log
        .items()
        .iter()
        .map(|e| {
            let field = |k| e.field(k).and_then(Resp::text).unwrap_or("").to_string();
            (field("username"), field("object"))
        })
        .collect();
    eprintln!("ACL LOG: {refused:?}");
    let b_user = format!("tenant-{b_name}");
    assert!(
        !refused.iter().any(|(u, _)| *u == b_user),
        "tenant B's chat-servers were refused a command: {refused:?}"
    );
    let attack_objects = [
        "psubscribe",
        "keys",
        "get",
        "config|get",
        "config|set",
        "flushall",
        "*",
        &b_channel,
    ];
    for (user, object) in &refused {
        assert_eq!(
            user, &a_user,
            "only the attacker is in the ACL LOG: {refused:?}"
        );
        assert!(
            attack_objects.contains(&object.as_str())
                || object == "subscribe"
                || object == "publish",
            "tenant A's chat-servers were refused {object:?}: the operator's command list misses it"
        );
    }
}

/// The same on a 3-master Redis Cluster (`--redis-url=redis-cluster://…`, sharded pub/sub): the
/// operator's URL building keeps the seeds, its self-managed provider makes each tenant's user on
/// every master (ACLs are per node), the chat-servers run under exactly that user, and the
/// sharded commands are confined to the tenant's prefix like the classic ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_redis_cluster_each_tenant_runs_under_its_own_user_on_every_master_and_chats_exactly_once()
 {
    let cluster = testkit::redis_cluster::spawn_redis_cluster(3).expect("a 3-master cluster");
    let mongo = testkit::mongo::mongo();
    let s3 = testkit::s3::s3();
    let flags = vec![
        format!("--base-domain={BASE_DOMAIN}"),
        "--chat-image=registry.example.com/atendo/chat-server:e2e".into(),
        format!("--redis-url={}", cluster.url),
        format!("--database-url={}", database_url(&mongo.uri)),
        format!("--s3-endpoint={}", s3.endpoint),
        "--ingress-class=nginx".into(),
    ];
    let providers = Providers::connect(&s3.endpoint, "us-east-1", &mongo.uri, &cluster.url)
        .await
        .expect("the operator's providers connect");
    let dir = tempfile::tempdir().unwrap();
    let (a_name, b_name) = (testkit::unique("clua"), testkit::unique("club"));
    let mut a = tenant::start(&tenant_file(dir.path(), &a_name), &flags, &providers)
        .await
        .expect("tenant A starts");
    let mut b = tenant::start(&tenant_file(dir.path(), &b_name), &flags, &providers)
        .await
        .expect("tenant B starts");
    let (a_user, a_password) = credential(&a.env["CHAT_BUS"]);
    assert!(
        a.env["CHAT_BUS"].starts_with(&format!("redis-cluster://tenant-{a_name}:")),
        "the cluster scheme and seeds are kept"
    );
    assert!(a.env["CHAT_BUS"].contains("?node=127.0.0.1:"));

    let mut live_a = open(&a).await.expect("tenant A's conversation");
    let mut live_b = open(&b).await.expect("tenant B's conversation");

    // Sharded pub/sub is confined like the classic one, on the master of B's channel.
    let b_channel = format!("{}:conv.{}", b.env["CHAT_BUS_NAMESPACE"], live_b.id);
    let owner = cluster.ports[cluster.master_of_slot(cluster.keyslot(&b_channel).unwrap())];
    let owner = format!("127.0.0.1:{owner}");
    let attack: Vec<Vec<&str>> = vec![
        vec!["SSUBSCRIBE", &b_channel],
        vec!["SPUBLISH", &b_channel, "{\"seq\":1000000}"],
        vec!["PSUBSCRIBE", "*"],
        vec!["PUBSUB", "SHARDCHANNELS"],
        vec!["CLUSTER", "NODES"],
        vec!["KEYS", "*"],
    ];
    for command in &attack {
        let reply = command_as(&owner, &a_user, &a_password, command).unwrap();
        assert!(
            reply.is_noperm(),
            "tenant A's {command:?} answered {reply:?}"
        );
    }

    let (ra, rb) = tokio::join!(
        converse(&a_name, &mut live_a),
        converse(&b_name, &mut live_b)
    );
    ra.expect("tenant A's conversation");
    rb.expect("tenant B's conversation");
    a.ensure_running().expect("tenant A's replicas are up");
    b.ensure_running().expect("tenant B's replicas are up");

    let attack_objects = [
        "ssubscribe",
        "spublish",
        "psubscribe",
        "pubsub|shardchannels",
        "cluster|nodes",
        "keys",
        "*",
        &b_channel,
    ];
    let b_user = format!("tenant-{b_name}");
    let mut entries = 0;
    for (port, log) in cluster.acl_logs().unwrap() {
        for e in log.items() {
            let field = |k| e.field(k).and_then(Resp::text).unwrap_or("").to_string();
            let (user, object) = (field("username"), field("object"));
            entries += 1;
            assert_ne!(
                user, b_user,
                "master {port} refused tenant B's chat-servers {object:?}: the operator's \
                 command list misses it"
            );
            assert!(
                user == a_user && attack_objects.contains(&object.as_str()),
                "master {port} refused {user} {object:?}: the operator's command list misses it"
            );
        }
    }
    eprintln!(
        "ACL LOG over 3 masters: {entries} entries, all of them tenant A's attack; none for either \
         tenant's chat-servers"
    );
}
