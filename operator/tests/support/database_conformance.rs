//! One conformance suite for every `Database` provider: what the controller relies on, checked
//! through a probe that knows how to ask the real system (or its stand-in) whether a user can
//! log in to its tenant database.

use async_trait::async_trait;
use atendo_operator::controller::providers::{Database, DatabaseUser};
use atendo_operator::tenant::DeletionPolicy;

#[async_trait]
pub trait Probe: Send + Sync {
    /// Whether `user` with its password may read and write `user.database`.
    async fn can_use_its_database(&self, user: &DatabaseUser) -> bool;
}

pub struct Fixture {
    pub database: Box<dyn Database>,
    pub probe: Box<dyn Probe>,
    /// Whatever must live as long as the test (servers, guards).
    pub _keep: Box<dyn std::any::Any + Send>,
}

fn user(tenant: &str, password: &str) -> DatabaseUser {
    DatabaseUser {
        user: format!("chat-{tenant}"),
        database: format!("tenant_{tenant}"),
        password: password.into(),
    }
}

pub async fn ensuring_creates_a_working_user_and_is_idempotent(f: Fixture) {
    let u = user(&testkit::unique("c"), "first-password-123");
    f.database.ensure_user(&u).await.unwrap();
    assert!(f.probe.can_use_its_database(&u).await, "created");
    f.database.ensure_user(&u).await.unwrap();
    assert!(f.probe.can_use_its_database(&u).await, "still works");
}

pub async fn ensuring_with_a_new_password_rotates_it(f: Fixture) {
    let tenant = testkit::unique("r");
    let old = user(&tenant, "old-password-123");
    let new = user(&tenant, "new-password-456");
    f.database.ensure_user(&old).await.unwrap();
    f.database.ensure_user(&new).await.unwrap();
    assert!(f.probe.can_use_its_database(&new).await, "new password");
    assert!(!f.probe.can_use_its_database(&old).await, "old password");
}

pub async fn removing_is_idempotent_and_a_missing_user_is_success(f: Fixture) {
    let u = user(&testkit::unique("d"), "password-789");
    f.database
        .remove_user(&u.user, &u.database, DeletionPolicy::Retain)
        .await
        .expect("never created: success");
    f.database.ensure_user(&u).await.unwrap();
    f.database
        .remove_user(&u.user, &u.database, DeletionPolicy::Retain)
        .await
        .unwrap();
    assert!(!f.probe.can_use_its_database(&u).await, "removed");
    f.database
        .remove_user(&u.user, &u.database, DeletionPolicy::Retain)
        .await
        .expect("again: success");
}

/// The suite as `#[tokio::test]`s, given an async fn returning a `Fixture`.
#[macro_export]
macro_rules! database_conformance {
    ($fixture:path) => {
        mod conformance {
            use $crate::support::database_conformance as suite;

            #[tokio::test]
            async fn ensuring_creates_a_working_user_and_is_idempotent() {
                suite::ensuring_creates_a_working_user_and_is_idempotent($fixture().await).await;
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
