//! Tenant Redis users on a self-managed Redis 6.2+ (`--redis-provider self-managed`): `ACL
//! SETUSER` / `ACL DELUSER` through an admin connection (`--redis-admin-url`, from a Secret).
//!
//! ACLs live in each server's memory: on a server without an ACL file or `CONFIG REWRITE`, a
//! restart forgets them, and every tenant's bus is refused until the next reconcile (at most the
//! resync interval) converges its user again. README's self-managed guide says to keep an
//! `aclfile` for that reason.
//!
//! A Redis Cluster (`redis-cluster://` admin URL) shares no ACLs between nodes either: each
//! command goes to every master of the slot map. (A replica promoted later gets the user at the
//! next reconcile.)

use std::time::Duration;

use async_trait::async_trait;
use fred::interfaces::ClusterInterface;
use fred::prelude::{
    Builder, Client, ClientLike, Config, ErrorKind, PerformanceConfig, ReconnectPolicy,
};
use fred::types::{ClusterHash, CustomCommand, Value};

use super::bus_access;
use super::providers::{BusIdentity, BusUser, ProviderError};

/// Longest wait for one admin command, a reconnect included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisAcl {
    client: Client,
}

impl RedisAcl {
    /// A client for `admin_url` that connects in the background and reconnects forever: Redis
    /// being down when the operator starts is a BusReady=False Unavailable, not a crash loop.
    pub fn connect(admin_url: &str) -> Result<Self, ProviderError> {
        let config = Config::from_url(admin_url).map_err(|e| {
            // fred's message describes the URL's defect without repeating the URL.
            ProviderError::new(
                "Misconfigured",
                format!("--redis-admin-url is not a Redis URL: {}", e.details()),
            )
        })?;
        let client = Builder::from_config(config)
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .set_performance_config(PerformanceConfig {
                default_command_timeout: COMMAND_TIMEOUT,
                ..Default::default()
            })
            .build()
            .map_err(|e| ProviderError::new("Misconfigured", format!("--redis-admin-url: {e}")))?;
        client.connect();
        Ok(RedisAcl { client })
    }

    async fn acl(&self, args: Vec<String>) -> Result<Value, fred::error::Error> {
        let acl = CustomCommand::new_static("ACL", ClusterHash::Random, false);
        if !self.client.is_clustered() {
            return self.client.custom(acl, args).await;
        }
        // The slot map is known once connected; a PING waits for that like any command.
        let _: () = self.client.ping(None).await?;
        let masters = self
            .client
            .cached_cluster_state()
            .map(|state| state.unique_primary_nodes())
            .unwrap_or_default();
        if masters.is_empty() {
            return Err(fred::error::Error::new(
                ErrorKind::Cluster,
                "the cluster's slot map names no master",
            ));
        }
        let mut reply = Value::Null;
        for master in masters {
            reply = self
                .client
                .with_cluster_node(master)
                .custom(acl.clone(), args.clone())
                .await?;
        }
        Ok(reply)
    }
}

#[async_trait]
impl BusIdentity for RedisAcl {
    async fn ensure_user(&self, user: &BusUser) -> Result<(), ProviderError> {
        check_user_name(&user.user)?;
        let mut args = vec!["SETUSER".to_string(), user.user.clone()];
        args.extend(bus_access::redis_acl_rules(
            &user.channel_prefix,
            &user.password,
        ));
        self.acl(args).await.map_err(|e| {
            failure(
                &format!("ACL SETUSER {}", user.user),
                &e,
                Some(&user.password),
            )
        })?;
        Ok(())
    }

    async fn remove_user(&self, user: &str) -> Result<(), ProviderError> {
        // DELUSER answers how many users it removed: 0 for a missing one, which is success.
        self.acl(vec!["DELUSER".into(), user.into()])
            .await
            .map_err(|e| failure(&format!("ACL DELUSER {user}"), &e, None))?;
        Ok(())
    }
}

/// Redis user names may hold any byte but spaces would split the rules when a person copies
/// them; the operator only ever makes `tenant-<DNS label>`, so anything else is a bug caught here.
fn check_user_name(user: &str) -> Result<(), ProviderError> {
    if !user.is_empty() && user.len() <= 128 && user.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ProviderError::new(
            "InvalidUserName",
            format!("{user:?} is not a Redis user name this operator makes"),
        ))
    }
}

/// NOPERM and authentication refusals are the admin credential's fault (AccessDenied); a
/// connection that is down or slow is transient (Unavailable). Redis can echo an ACL rule in its
/// error text, so the password never reaches the message.
fn failure(what: &str, e: &fred::error::Error, password: Option<&str>) -> ProviderError {
    let text = e.details().to_string();
    let reason = match e.kind() {
        ErrorKind::IO | ErrorKind::Timeout | ErrorKind::Canceled | ErrorKind::Backpressure => {
            "Unavailable"
        }
        ErrorKind::Auth => "AccessDenied",
        _ if text.starts_with("NOPERM") || text.starts_with("WRONGPASS") => "AccessDenied",
        _ if text.starts_with("LOADING") || text.starts_with("BUSY") => "Unavailable",
        _ => "BusError",
    };
    let mut message = format!("{what}: {e}");
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        message = message.replace(p, "***");
    }
    ProviderError::new(reason, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_echoed_in_an_error_is_hidden() {
        let e = fred::error::Error::new(
            ErrorKind::Unknown,
            "ERR Error in ACL SETUSER modifier '>s3cret': Syntax error",
        );
        let p = failure("ACL SETUSER tenant-a", &e, Some("s3cret"));
        assert!(!p.message.contains("s3cret"), "{}", p.message);
        assert_eq!(p.reason, "BusError");
    }

    #[test]
    fn refusals_and_outages_get_their_reasons() {
        let noperm =
            fred::error::Error::new(ErrorKind::Unknown, "NOPERM this user has no permissions");
        assert_eq!(failure("x", &noperm, None).reason, "AccessDenied");
        let io = fred::error::Error::new(ErrorKind::IO, "connection refused");
        assert!(failure("x", &io, None).is_transient());
    }

    #[test]
    fn user_names_with_spaces_or_control_characters_are_refused() {
        assert!(check_user_name("tenant-acme").is_ok());
        for bad in ["", "tenant acme", "tenant\nacme"] {
            assert_eq!(check_user_name(bad).unwrap_err().reason, "InvalidUserName");
        }
    }
}
