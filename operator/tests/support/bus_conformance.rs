//! One conformance suite for every `BusIdentity` provider: what the controller relies on,
//! checked through a probe that asks the real system (or its stand-in) what a user may do.

use async_trait::async_trait;
use atendo_operator::controller::providers::{BusIdentity, BusUser};

#[async_trait]
pub trait Probe: Send + Sync {
    /// Whether `user`, signing in with its password, may publish and subscribe on `channel`.
    async fn may_use(&self, user: &BusUser, channel: &str) -> bool;
}

pub struct Fixture {
    pub bus: Box<dyn BusIdentity>,
    pub probe: Box<dyn Probe>,
    /// Whatever must live as long as the test (servers, guards).
    pub _keep: Box<dyn std::any::Any + Send>,
}

pub fn user(tenant: &str, password: &str) -> BusUser {
    BusUser {
        user: format!("tenant-{tenant}"),
        channel_prefix: format!("tenant-{tenant}:"),
        password: password.into(),
    }
}

pub async fn ensuring_creates_a_user_confined_to_its_own_channels_and_is_idempotent(f: Fixture) {
    let tenant = testkit::unique("c");
    let u = user(&tenant, "first-password-1234567");
    f.bus.ensure_user(&u).await.unwrap();
    let own = format!("tenant-{tenant}:conv.1");
    assert!(f.probe.may_use(&u, &own).await, "its own channel");
    // A tenant whose name extends this one's must not be reachable through the prefix.
    for other in [
        format!("tenant-{tenant}x:conv.1"),
        "tenant-other:conv.1".to_string(),
        "conv.1".to_string(),
    ] {
        assert!(!f.probe.may_use(&u, &other).await, "{other}");
    }
    f.bus.ensure_user(&u).await.unwrap();
    assert!(f.probe.may_use(&u, &own).await, "still works");
}

pub async fn ensuring_with_a_new_password_rotates_it(f: Fixture) {
    let tenant = testkit::unique("r");
    let old = user(&tenant, "old-password-12345678");
    let new = user(&tenant, "new-password-87654321");
    let own = format!("tenant-{tenant}:conv.1");
    f.bus.ensure_user(&old).await.unwrap();
    f.bus.ensure_user(&new).await.unwrap();
    assert!(f.probe.may_use(&new, &own).await, "new password");
    assert!(!f.probe.may_use(&old, &own).await, "old password");
}

pub async fn removing_is_idempotent_and_a_missing_user_is_success(f: Fixture) {
    let tenant = testkit::unique("d");
    let u = user(&tenant, "password-7890123456789");
    f.bus
        .remove_user(&u.user)
        .await
        .expect("never created: success");
    f.bus.ensure_user(&u).await.unwrap();
    f.bus.remove_user(&u.user).await.unwrap();
    assert!(
        !f.probe
            .may_use(&u, &format!("tenant-{tenant}:conv.1"))
            .await,
        "removed"
    );
    f.bus.remove_user(&u.user).await.expect("again: success");
}

/// The suite as `#[tokio::test]`s, given an async fn returning a `Fixture`.
#[macro_export]
macro_rules! bus_conformance {
    ($fixture:path) => {
        mod bus_conformance {
            use $crate::support::bus_conformance as suite;

            #[tokio::test]
            async fn ensuring_creates_a_user_confined_to_its_own_channels_and_is_idempotent() {
                suite::ensuring_creates_a_user_confined_to_its_own_channels_and_is_idempotent(
                    $fixture().await,
                )
                .await;
            }

            #[tokio::test]
            async fn ensuring_with_a_new_password_rotates_it() {
                suite::ensuring_with_a_new_password_rotates_it($fixture().await).await;
            }

            #[tokio::test]
            async fn removing_is_idempotent_and_a_missing_user_is_success() {
                suite::removing_is_idempotent_and_a_missing_user_is_success($fixture().await).await;
            }
        }
    };
}
