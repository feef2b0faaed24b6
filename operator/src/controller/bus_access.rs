//! What a tenant's chat-server may do on the shared Redis: the one list of commands both bus
//! providers grant, and the names and rules they derive from a Tenant. Pure, so the rules are
//! unit-tested and the providers only transport them.
//!
//! The list is what the chat-server's fred 10 client sends (read from fred's connection setup in
//! `protocol/connection.rs` and `router/clustered.rs`, and from `chat-server/src/bus/`), checked
//! by running real chat-servers under exactly this ACL (e2e/tests/bus_isolation.rs): a command
//! missing here shows up there as a NOPERM entry in `ACL LOG` for the tenant's own user.

/// Every command a tenant's user is granted; everything else (`-@all`) is refused, and with no
/// key pattern no command can touch a key.
pub const BUS_COMMANDS: &[&str] = &[
    // Connection setup: AUTH (RESP2, fred's default) or HELLO (RESP3) carries the credentials.
    "auth",
    "hello",
    // fred's setup without credentials, the bus's heartbeat and its subscription confirmation.
    "ping",
    // fred's setup caches the connection id and the server version (it tolerates a refusal,
    // but would then log it at every connect).
    "client|id",
    "info",
    // fred selects the database a URL names (`redis://host:6379/0`); keys stay out of reach.
    "select",
    // The bus itself (chat-server/src/bus/redis.rs).
    "publish",
    "subscribe",
    "unsubscribe",
    // fred's `quit()` when a chat-server shuts down.
    "quit",
    // Redis Cluster (`redis-cluster://`, chat-server/src/bus/redis.rs, Topology::Cluster): fred
    // reads the slot map (`CLUSTER SLOTS`, router/clustered.rs) and checks `cluster_state:ok`
    // (`CLUSTER INFO`, protocol/connection.rs) on every connection; the bus then uses sharded
    // pub/sub. fred sends neither READONLY nor CLUSTER SHARDS without its `replicas` feature,
    // which the chat-server does not enable. Checked under exactly this list on a 3-master
    // cluster by e2e/tests/bus_isolation.rs (ACL LOG of every master).
    "cluster|slots",
    "cluster|info",
    "spublish",
    "ssubscribe",
    "sunsubscribe",
];

/// Redis ACL rules for `ACL SETUSER <user> <rules…>`, password last (so callers can keep it out
/// of anything they print). `reset` first: whatever the user held before (another password,
/// wider channels, a key pattern added by hand) is gone, so converging is a full replacement.
pub fn redis_acl_rules(channel_prefix: &str, password: &str) -> Vec<String> {
    let mut rules: Vec<String> = vec![
        "reset".into(),
        "resetkeys".into(),
        "resetchannels".into(),
        format!("&{}*", glob_escape(channel_prefix)),
        "-@all".into(),
    ];
    rules.extend(BUS_COMMANDS.iter().map(|c| format!("+{c}")));
    rules.push("on".into());
    rules.push(format!(">{password}"));
    rules
}

/// The ElastiCache RBAC access string: the same rules in its syntax (which has no `reset` and
/// takes the password through AuthenticationMode instead).
pub fn elasticache_access_string(channel_prefix: &str) -> String {
    let mut parts: Vec<String> = vec![
        "on".into(),
        "resetchannels".into(),
        format!("&{}*", glob_escape(channel_prefix)),
        "-@all".into(),
    ];
    parts.extend(BUS_COMMANDS.iter().map(|c| format!("+{c}")));
    parts.join(" ")
}

/// Redis glob metacharacters in a prefix match literally. Tenant names are DNS labels, so this
/// never changes one today; it keeps a future naming rule from widening a user's channels.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_replace_everything_and_allow_only_the_prefix_and_the_listed_commands() {
        let rules = redis_acl_rules("tenant-acme:", "pw");
        assert_eq!(
            &rules[..5],
            [
                "reset",
                "resetkeys",
                "resetchannels",
                "&tenant-acme:*",
                "-@all"
            ]
        );
        assert_eq!(rules.last().unwrap(), ">pw");
        assert!(rules.contains(&"+publish".to_string()));
        assert!(!rules.iter().any(|r| r.starts_with('~') || r == "allkeys"));
        assert!(
            !rules
                .iter()
                .any(|r| r.contains("@all") && r.starts_with('+'))
        );
    }

    #[test]
    fn the_access_string_holds_the_same_commands() {
        let access = elasticache_access_string("tenant-acme:");
        assert!(access.starts_with("on resetchannels &tenant-acme:* -@all +auth"));
        for c in BUS_COMMANDS {
            assert!(access.contains(&format!(" +{c}")), "{c}");
        }
        assert!(!access.contains('~'), "no key pattern: {access}");
    }

    #[test]
    fn glob_characters_in_a_prefix_match_literally() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn no_command_that_reads_or_writes_data_is_granted() {
        for c in [
            "keys",
            "get",
            "set",
            "config",
            "flushall",
            "psubscribe",
            "monitor",
            "acl",
            "eval",
            "debug",
            "pubsub",
            "cluster|nodes",
            "cluster|setslot",
            "readonly",
        ] {
            assert!(!BUS_COMMANDS.contains(&c), "{c}");
        }
    }
}
