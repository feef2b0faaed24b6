//! The elasticache bus provider against the RBAC stand-in (tests/support/elasticache.rs): the
//! exact requests it sends, that it waits while a user or the user group is `modifying` (and
//! never changes either meanwhile), how ElastiCache's refusals become condition reasons, and the
//! conformance suite every BusIdentity passes.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use atendo_operator::controller::bus_access;
use atendo_operator::controller::elasticache_users::ElastiCacheUsers;
use atendo_operator::controller::providers::{BusIdentity, BusUser};
use support::bus_conformance::{Fixture, Probe};
use support::elasticache::{ElastiCacheStandIn, GROUP};

mod support;

fn user(tenant: &str, password: &str) -> BusUser {
    support::bus_conformance::user(tenant, password)
}

fn provider(s: &ElastiCacheStandIn) -> ElastiCacheUsers {
    let mut p = ElastiCacheUsers::new(s.client(), GROUP);
    p.poll = Duration::from_millis(20);
    p.wait_limit = Duration::from_secs(5);
    p
}

/// Redis's glob for the `&pattern`s of an access string, as far as the operator uses it: a
/// literal prefix and a trailing `*`.
fn allows(access: &str, channel: &str) -> bool {
    let commands = ["+publish", "+subscribe"];
    let words: Vec<&str> = access.split(' ').collect();
    words.first() == Some(&"on")
        && commands.iter().all(|c| words.contains(c))
        && words
            .iter()
            .filter_map(|w| w.strip_prefix('&'))
            .any(|p| match p.strip_suffix('*') {
                Some(prefix) => channel.starts_with(prefix) && !prefix.contains(['*', '?', '[']),
                None => p == channel,
            })
}

#[async_trait]
impl Probe for ElastiCacheStandIn {
    /// What ElastiCache would let this password do: an active user in the active group whose
    /// password matches and whose access string admits the channel.
    async fn may_use(&self, u: &BusUser, channel: &str) -> bool {
        let w = self.world();
        let Some(stored) = w.users.get(&u.user) else {
            return false;
        };
        stored.modifying == 0
            && w.group.modifying == 0
            && w.group.members.contains(&u.user)
            && stored.passwords == [u.password.clone()]
            && allows(&stored.access_string, channel)
    }
}

async fn fixture() -> Fixture {
    let s = std::sync::Arc::new(ElastiCacheStandIn::start().await);
    Fixture {
        bus: Box::new(provider(&s)),
        probe: Box::new(Shared(s.clone())),
        _keep: Box::new(s),
    }
}

struct Shared(std::sync::Arc<ElastiCacheStandIn>);

#[async_trait]
impl Probe for Shared {
    async fn may_use(&self, u: &BusUser, channel: &str) -> bool {
        self.0.may_use(u, channel).await
    }
}

bus_conformance!(super::fixture);

#[tokio::test]
async fn a_new_user_is_created_with_its_access_string_and_password_then_added_to_the_group() {
    let s = ElastiCacheStandIn::start().await;
    let u = user("acme", "acme-password-123456789");
    provider(&s).ensure_user(&u).await.unwrap();
    let w = s.world();
    let create = w
        .requests
        .iter()
        .find(|r| r["Action"] == "CreateUser")
        .unwrap();
    assert_eq!(create["UserId"], "tenant-acme");
    assert_eq!(create["UserName"], "tenant-acme");
    assert_eq!(create["Engine"], "redis");
    assert_eq!(
        create["AccessString"],
        bus_access::elasticache_access_string("tenant-acme:")
    );
    assert_eq!(create["AuthenticationMode.Type"], "password");
    assert_eq!(create["AuthenticationMode.Passwords.member.1"], u.password);
    assert!(!create.contains_key("AuthenticationMode.Passwords.member.2"));
    let add = w
        .requests
        .iter()
        .find(|r| r["Action"] == "ModifyUserGroup")
        .unwrap();
    assert_eq!(add["UserGroupId"], GROUP);
    assert_eq!(add["UserIdsToAdd.member.1"], "tenant-acme");
    assert!(
        w.group.members.contains(&"tenant-acme".to_string()),
        "active when ensure returns"
    );
    drop(w);
    let actions = s.actions();
    let modify_at = actions.iter().position(|a| a == "ModifyUserGroup").unwrap();
    let created_at = actions.iter().position(|a| a == "CreateUser").unwrap();
    assert!(
        actions[created_at..modify_at]
            .iter()
            .filter(|a| *a == "DescribeUsers")
            .count()
            >= 2,
        "the new user is waited for until active before it joins the group: {actions:?}"
    );
    assert_eq!(
        actions.last().map(String::as_str),
        Some("DescribeUserGroups"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_group_that_is_modifying_is_waited_for_and_never_changed_meanwhile() {
    let s = ElastiCacheStandIn::start().await;
    s.world().group.modifying = 6;
    let started = Instant::now();
    provider(&s)
        .ensure_user(&user("busy", "busy-password-1234567"))
        .await
        .unwrap();
    let actions = s.actions();
    let first_modify = actions.iter().position(|a| a == "ModifyUserGroup").unwrap();
    let describes_before = actions[..first_modify]
        .iter()
        .filter(|a| *a == "DescribeUserGroups")
        .count();
    assert!(describes_before >= 6, "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| *a == "ModifyUserGroup").count(),
        1,
        "no change was attempted while the group was modifying: {actions:?}"
    );
    eprintln!(
        "waited through {describes_before} looks at a modifying group in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_group_changed_by_someone_else_between_the_look_and_the_change_is_waited_for_again() {
    let s = ElastiCacheStandIn::start().await;
    s.world().concurrent_group_changes = 2;
    provider(&s)
        .ensure_user(&user("race", "race-password-1234567"))
        .await
        .unwrap();
    let actions = s.actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "ModifyUserGroup").count(),
        3,
        "two refusals (InvalidUserGroupState), then the change: {actions:?}"
    );
    assert!(s.world().group.members.contains(&"tenant-race".to_string()));
}

#[tokio::test]
async fn a_group_that_stays_modifying_is_unavailable_and_retried() {
    let s = ElastiCacheStandIn::start().await;
    s.world().group.modifying = u32::MAX;
    let mut p = provider(&s);
    p.wait_limit = Duration::from_millis(300);
    let err = p
        .ensure_user(&user("stuck", "stuck-password-1234567"))
        .await
        .unwrap_err();
    assert_eq!(err.reason, "Unavailable", "{err}");
    assert!(err.is_transient());
    assert!(err.message.contains("atendo-tenants is modifying"), "{err}");
}

#[tokio::test]
async fn rotation_modifies_the_user_with_the_new_password_only() {
    let s = ElastiCacheStandIn::start().await;
    let p = provider(&s);
    p.ensure_user(&user("rot", "old-password-123456789"))
        .await
        .unwrap();
    p.ensure_user(&user("rot", "new-password-987654321"))
        .await
        .unwrap();
    let w = s.world();
    let modify = w
        .requests
        .iter()
        .find(|r| r["Action"] == "ModifyUser")
        .unwrap();
    assert_eq!(
        modify["AuthenticationMode.Passwords.member.1"],
        "new-password-987654321"
    );
    assert!(!modify.contains_key("AuthenticationMode.Passwords.member.2"));
    assert_eq!(
        w.requests
            .iter()
            .filter(|r| r["Action"] == "ModifyUserGroup")
            .count(),
        1,
        "already a member: the group is left alone"
    );
}

#[tokio::test]
async fn throttling_refusals_and_a_missing_group_get_their_reasons_and_no_password() {
    let s = ElastiCacheStandIn::start().await;
    let p = provider(&s);
    let u = user("err", "secret-password-12345678");
    for (status, code, reason) in [
        (400, "Throttling", "RateLimited"),
        (403, "AccessDenied", "AccessDenied"),
        (503, "ServiceUnavailable", "Unavailable"),
    ] {
        s.world().fault = Some((status, code.into()));
        let err = p.ensure_user(&u).await.unwrap_err();
        assert_eq!(err.reason, reason, "{code}: {err}");
        assert!(!err.message.contains(&u.password), "{err}");
        s.world().fault = None;
    }
    let mut other = ElastiCacheUsers::new(s.client(), "no-such-group");
    other.poll = Duration::from_millis(20);
    let err = other.ensure_user(&u).await.unwrap_err();
    assert_eq!(err.reason, "UserGroupNotFound", "{err}");
    assert!(err.message.contains("--elasticache-user-group-id"), "{err}");
}

#[tokio::test]
async fn a_tenant_name_elasticache_cannot_hold_is_refused_before_any_request() {
    let s = ElastiCacheStandIn::start().await;
    let bad = BusUser {
        user: "tenant-Acme_1".into(),
        channel_prefix: "tenant-Acme_1:".into(),
        password: "long-enough-password-1".into(),
    };
    let err = provider(&s).ensure_user(&bad).await.unwrap_err();
    assert_eq!(err.reason, "InvalidUserName");
    assert!(s.actions().is_empty(), "{:?}", s.actions());
}

#[tokio::test]
async fn removal_takes_the_user_out_of_the_group_then_deletes_it_waiting_while_it_is_modifying() {
    let s = ElastiCacheStandIn::start().await;
    let p = provider(&s);
    p.ensure_user(&user("del", "delete-password-1234567"))
        .await
        .unwrap();
    s.world().requests.clear();
    s.world().users.get_mut("tenant-del").unwrap().modifying = 3;
    p.remove_user("tenant-del").await.unwrap();
    let w = s.world();
    assert!(!w.users.contains_key("tenant-del"));
    assert!(!w.group.members.contains(&"tenant-del".to_string()));
    let changes: Vec<(String, String)> = w
        .requests
        .iter()
        .filter(|r| !r["Action"].starts_with("Describe"))
        .map(|r| {
            let target = r
                .get("UserIdsToRemove.member.1")
                .or(r.get("UserId"))
                .cloned()
                .unwrap_or_default();
            (r["Action"].clone(), target)
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("ModifyUserGroup".to_string(), "tenant-del".to_string()),
            ("DeleteUser".into(), "tenant-del".into())
        ],
        "each sent once, only when what it changes was active"
    );
    let looks_before_delete = w
        .requests
        .iter()
        .take_while(|r| r["Action"] != "ModifyUserGroup")
        .filter(|r| r["Action"] == "DescribeUsers")
        .count();
    assert!(
        looks_before_delete >= 4,
        "waited for the modifying user: {looks_before_delete} looks"
    );
}

#[test]
fn the_probes_glob_reads_the_access_string_the_operator_writes() {
    let access = bus_access::elasticache_access_string("tenant-a:");
    assert!(allows(&access, "tenant-a:conv.1"));
    assert!(!allows(&access, "tenant-ab:conv.1"));
    assert!(!allows(&access, "tenant-b:conv.1"));
}
