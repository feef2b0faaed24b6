//! Tenant Redis users on ElastiCache RBAC (`--redis-provider elasticache`) through
//! `aws-sdk-elasticache`: one RBAC user per tenant, with the access string of
//! [`bus_access::elasticache_access_string`] and its password, member of the user group attached
//! to the replication group (`--elasticache-user-group-id`).
//!
//! ElastiCache applies a change asynchronously: a user or user group being changed is `modifying`
//! and refuses further changes (InvalidUserState, InvalidUserGroupState) until it is `active`
//! again. Every step therefore waits for `active` (polling, within
//! [`ElastiCacheUsers::wait_limit`]) before it changes anything, and `ensure_user` returns only
//! once the group is `active` with the user in it, i.e. once the tenant's pods can sign in. A wait
//! that runs out is Unavailable, which the controller retries.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::config::Region;
use aws_sdk_elasticache::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticache::types::{AuthenticationMode, InputAuthenticationType};

use super::bus_access;
use super::providers::{BusIdentity, BusUser, ProviderError};

const ACTIVE: &str = "active";
/// The engine of RBAC users, Valkey caches included (AWS: "you will still need to assign users
/// and user groups the engine redis").
const ENGINE: &str = "redis";
/// The longest user id this provider makes: ElastiCache's console stops at 40 characters for
/// user and user group ids, so `tenant-<name>` leaves tenant names 33.
pub const MAX_USER_ID: usize = 40;

pub struct ElastiCacheUsers {
    client: Client,
    user_group: String,
    /// Between two looks at a `modifying` user or group.
    pub poll: Duration,
    /// Longest wait for `active` in one step; below the controller's 60 s provider limit, so a
    /// slow change ends as a clear Unavailable rather than a cut-off.
    pub wait_limit: Duration,
}

/// The user group as one DescribeUserGroups answer shows it.
struct Group {
    status: String,
    members: Vec<String>,
    adding: Vec<String>,
    removing: Vec<String>,
}

impl ElastiCacheUsers {
    pub fn new(client: Client, user_group: &str) -> Self {
        ElastiCacheUsers {
            client,
            user_group: user_group.into(),
            poll: Duration::from_secs(5),
            wait_limit: Duration::from_secs(45),
        }
    }

    /// The client from the default AWS chain (IRSA on EKS); `endpoint` for a stand-in.
    pub async fn from_settings(
        region: Option<&str>,
        endpoint: Option<&str>,
        user_group: &str,
    ) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        let sdk = loader.load().await;
        let mut builder = aws_sdk_elasticache::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        ElastiCacheUsers::new(Client::from_conf(builder.build()), user_group)
    }

    /// The user's status, or None when there is no such user.
    async fn user_status(&self, id: &str) -> Result<Option<String>, ProviderError> {
        match self.client.describe_users().user_id(id).send().await {
            Ok(out) => Ok(out
                .users()
                .iter()
                .find(|u| u.user_id() == Some(id))
                .map(|u| u.status().unwrap_or_default().to_string())),
            Err(e) if e.code() == Some("UserNotFound") => Ok(None),
            Err(e) => Err(failure(&format!("DescribeUsers {id}"), &e)),
        }
    }

    async fn group(&self) -> Result<Group, ProviderError> {
        let out = self
            .client
            .describe_user_groups()
            .user_group_id(&self.user_group)
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("UserGroupNotFound") => group_not_found(&self.user_group),
                _ => failure(&format!("DescribeUserGroups {}", self.user_group), &e),
            })?;
        let group = out
            .user_groups()
            .iter()
            .find(|g| g.user_group_id() == Some(self.user_group.as_str()))
            .ok_or_else(|| group_not_found(&self.user_group))?;
        let pending = group.pending_changes();
        Ok(Group {
            status: group.status().unwrap_or_default().to_string(),
            members: group.user_ids().to_vec(),
            adding: pending
                .map(|p| p.user_ids_to_add().to_vec())
                .unwrap_or_default(),
            removing: pending
                .map(|p| p.user_ids_to_remove().to_vec())
                .unwrap_or_default(),
        })
    }

    /// The user's status once it is not `modifying` (None: there is no such user).
    async fn wait_for_user(
        &self,
        id: &str,
        started: Instant,
    ) -> Result<Option<String>, ProviderError> {
        loop {
            let status = self.user_status(id).await?;
            match status.as_deref() {
                None | Some(ACTIVE) => return Ok(status),
                Some(other) => {
                    self.pause(started, &format!("user {id} is {other}"))
                        .await?
                }
            }
        }
    }

    async fn wait_for_group(&self, started: Instant) -> Result<Group, ProviderError> {
        loop {
            let group = self.group().await?;
            if group.status == ACTIVE {
                return Ok(group);
            }
            let why = format!("user group {} is {}", self.user_group, group.status);
            self.pause(started, &why).await?;
        }
    }

    async fn pause(&self, started: Instant, why: &str) -> Result<(), ProviderError> {
        if started.elapsed() + self.poll > self.wait_limit {
            return Err(ProviderError::new(
                "Unavailable",
                format!("{why} after {:?}; it is retried", self.wait_limit),
            ));
        }
        tokio::time::sleep(self.poll).await;
        Ok(())
    }

    /// Adds or removes `id` in the user group once it is active. Another change to the group
    /// (another tenant's user, a person) can start between the look and the request: its
    /// InvalidUserGroupState sends this back to waiting, within the same limit.
    async fn change_group(
        &self,
        id: &str,
        add: bool,
        started: Instant,
    ) -> Result<(), ProviderError> {
        loop {
            let group = self.wait_for_group(started).await?;
            let member = group.members.iter().chain(&group.adding).any(|m| m == id)
                && !group.removing.iter().any(|m| m == id);
            if member == add {
                return Ok(());
            }
            let request = self
                .client
                .modify_user_group()
                .user_group_id(&self.user_group);
            let (request, what) = if add {
                (request.user_ids_to_add(id), "adding")
            } else {
                (request.user_ids_to_remove(id), "removing")
            };
            match request.send().await {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("InvalidUserGroupState") => {
                    let why = format!("user group {} is busy with another change", self.user_group);
                    self.pause(started, &why).await?;
                }
                Err(e) => {
                    return Err(failure(
                        &format!("ModifyUserGroup {} {what} {id}", self.user_group),
                        &e,
                    ));
                }
            }
        }
    }

    async fn modify_user(&self, user: &BusUser, access: &str) -> Result<(), ProviderError> {
        let id = user.user.as_str();
        self.client
            .modify_user()
            .user_id(id)
            .access_string(access)
            .authentication_mode(password_mode(&user.password))
            .send()
            .await
            .map_err(|e| failure(&format!("ModifyUser {id}"), &e))?;
        Ok(())
    }
}

fn password_mode(password: &str) -> AuthenticationMode {
    AuthenticationMode::builder()
        .r#type(InputAuthenticationType::Password)
        .passwords(password)
        .build()
}

fn group_not_found(group: &str) -> ProviderError {
    ProviderError::new(
        "UserGroupNotFound",
        format!("user group {group} does not exist; check --elasticache-user-group-id"),
    )
}

#[async_trait]
impl BusIdentity for ElastiCacheUsers {
    async fn ensure_user(&self, user: &BusUser) -> Result<(), ProviderError> {
        check(user)?;
        let started = Instant::now();
        let id = user.user.as_str();
        let access = bus_access::elasticache_access_string(&user.channel_prefix);
        match self.wait_for_user(id, started).await? {
            None => {
                let created = self
                    .client
                    .create_user()
                    .user_id(id)
                    .user_name(id)
                    .engine(ENGINE)
                    .access_string(&access)
                    .authentication_mode(password_mode(&user.password))
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    // Made since the look (a reconcile of an older operator pod): converge it.
                    Err(e) if e.code() == Some("UserAlreadyExists") => {
                        self.wait_for_user(id, started).await?;
                        self.modify_user(user, &access).await?;
                    }
                    Err(e) => return Err(failure(&format!("CreateUser {id}"), &e)),
                }
            }
            // The password cannot be read back: it is set every time, which is also how a rotated
            // one arrives and how an access string changed by hand is narrowed again.
            Some(_) => self.modify_user(user, &access).await?,
        }
        self.wait_for_user(id, started).await?;
        self.change_group(id, true, started).await?;
        self.wait_for_group(started).await?;
        Ok(())
    }

    async fn remove_user(&self, user: &str) -> Result<(), ProviderError> {
        let started = Instant::now();
        if self.wait_for_user(user, started).await?.is_none() {
            return Ok(());
        }
        // Out of the group first: a user group must never name a user that is gone, whatever
        // DeleteUser does with memberships.
        match self.change_group(user, false, started).await {
            Ok(()) => {}
            // The group is gone (the cache was torn down): nothing to take the user out of.
            Err(e) if e.reason == "UserGroupNotFound" => {}
            Err(e) => return Err(e),
        }
        self.wait_for_user(user, started).await?;
        loop {
            match self.client.delete_user().user_id(user).send().await {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("UserNotFound") => return Ok(()),
                // The group change is still being applied to the user.
                Err(e) if e.code() == Some("InvalidUserState") => {
                    self.pause(started, &format!("user {user} is not active"))
                        .await?;
                }
                Err(e) => return Err(failure(&format!("DeleteUser {user}"), &e)),
            }
        }
    }
}

/// ElastiCache's rules for user ids (a letter, then letters, digits and hyphens, stored lowercase;
/// no trailing or doubled hyphen, as for every ElastiCache identifier) and passwords (16 to 128
/// printable characters other than `@`, `"` and `/`), checked before any request so that a refusal
/// names the rule. The password is never repeated in a message.
pub fn check(user: &BusUser) -> Result<(), ProviderError> {
    let id = user.user.as_str();
    let bytes = id.as_bytes();
    let id_ok = bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id.len() <= MAX_USER_ID;
    if !id_ok {
        return Err(ProviderError::new(
            "InvalidUserName",
            format!(
                "{id:?} is not an ElastiCache user id: a lowercase letter, then lowercase letters, \
                 digits and single hyphens, at most {MAX_USER_ID} characters, not ending in '-' \
                 (the Tenant's name gives tenant-<name>, so at most {} characters there)",
                MAX_USER_ID - "tenant-".len()
            ),
        ));
    }
    let p = &user.password;
    let printable = p
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'"' | b'/'));
    if !(16..=128).contains(&p.len()) || !printable {
        return Err(ProviderError::new(
            "InvalidPassword",
            format!(
                "the password of {id} must be 16 to 128 printable characters other than @, \" and / \
                 for ElastiCache"
            ),
        ));
    }
    Ok(())
}

type Response = aws_sdk_elasticache::config::http::HttpResponse;

/// An ElastiCache failure as a condition reason: throttling is RateLimited, server errors and no
/// answer are Unavailable, a busy user or group Unavailable too (it passes), refusals of the
/// operator's IAM identity AccessDenied, a missing group UserGroupNotFound, and the rest names
/// ElastiCache's own code under ElastiCacheError.
fn failure<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    e: &SdkError<E, Response>,
) -> ProviderError {
    let code = e.code().unwrap_or("");
    let status = e.raw_response().map(|r| r.status().as_u16());
    let reason = match (code, status) {
        ("Throttling" | "ThrottlingException" | "RequestLimitExceeded", _) | (_, Some(429)) => {
            "RateLimited"
        }
        ("UserGroupNotFound", _) => "UserGroupNotFound",
        ("InvalidUserState" | "InvalidUserGroupState", _) => "Unavailable",
        (
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch",
            _,
        )
        | (_, Some(403)) => "AccessDenied",
        ("UserQuotaExceeded" | "UserGroupQuotaExceeded", _) => "QuotaExceeded",
        (_, Some(500..) | None) => "Unavailable",
        _ => "ElastiCacheError",
    };
    let detail = e
        .message()
        .map(String::from)
        .unwrap_or_else(|| aws_sdk_elasticache::error::DisplayErrorContext(e).to_string());
    let message = if code.is_empty() {
        format!("{what}: {detail}")
    } else {
        format!("{what}: {code}: {detail}")
    };
    ProviderError::new(reason, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, password: &str) -> BusUser {
        BusUser {
            user: id.into(),
            channel_prefix: format!("{id}:"),
            password: password.into(),
        }
    }

    #[test]
    fn ids_elasticache_refuses_are_refused_first_naming_the_rule() {
        let good = "p".repeat(32);
        for ok in [
            "tenant-acme",
            "tenant-a1",
            &format!("tenant-{}", "a".repeat(33)),
        ] {
            assert!(check(&user(ok, &good)).is_ok(), "{ok}");
        }
        for bad in [
            "Tenant-acme",
            "9tenant",
            "tenant_acme",
            "tenant.acme",
            "tenant-",
            "tenant--acme",
            "",
            &format!("tenant-{}", "a".repeat(34)),
        ] {
            let e = check(&user(bad, &good)).unwrap_err();
            assert_eq!(e.reason, "InvalidUserName", "{bad}");
            assert!(e.message.contains("at most 40"), "{e}");
        }
    }

    #[test]
    fn passwords_elasticache_refuses_are_refused_without_repeating_them() {
        assert!(check(&user("tenant-a", &"p".repeat(16))).is_ok());
        assert!(check(&user("tenant-a", &"p".repeat(128))).is_ok());
        for bad in [
            "short-password1",
            &"p".repeat(129),
            "sixteen chars ok",
            "password-with-@-sign",
            "password-with-/-slash",
            "password-with-\"-quote",
            "password-with-ü-umlaut",
        ] {
            let e = check(&user("tenant-a", bad)).unwrap_err();
            assert_eq!(e.reason, "InvalidPassword", "{bad}");
            assert!(
                !e.message.contains(bad),
                "the password is not repeated: {e}"
            );
        }
    }
}
