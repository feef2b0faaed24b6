//! The atlas database provider against an Atlas Admin API stand-in (tests/support/atlas.rs):
//! exact requests (method, path, digest exchange, media type, body), 409 convergence, typed and
//! retryable failures, and how those reach the Tenant's conditions and the error policy.

mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atendo_operator::controller::atlas_database::{AtlasDatabase, MEDIA_TYPE};
use atendo_operator::controller::providers::{Database, DatabaseUser};
use atendo_operator::controller::{Context, error_policy, reconcile};
use atendo_operator::tenant::{DeletionPolicy, Tenant};
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use support::atlas::{self, AtlasStandIn, CLUSTER, Fault, PROJECT};
use support::database_conformance::{Fixture, Probe};
use support::fake_api::FakeApi;
use support::providers::MemoryStorage;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn acme(password: &str) -> DatabaseUser {
    DatabaseUser {
        user: "chat-acme".into(),
        database: "tenant_acme".into(),
        password: password.into(),
    }
}

fn provider(standin: &AtlasStandIn) -> AtlasDatabase {
    AtlasDatabase::new(standin.config(), None).unwrap()
}

#[tokio::test]
async fn creating_a_user_answers_the_digest_challenge_and_posts_the_versioned_body() {
    let s = AtlasStandIn::start().await;
    provider(&s).ensure_user(&acme("s3cret")).await.unwrap();

    let requests = s.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "challenge, then the signed request");
    let (first, second) = (&requests[0], &requests[1]);
    for r in [first, second] {
        assert_eq!(r.method.as_str(), "POST");
        assert_eq!(r.url.path(), atlas::users_path());
        assert_eq!(r.headers["accept"], MEDIA_TYPE);
        assert_eq!(r.headers["content-type"], MEDIA_TYPE);
    }
    assert!(!first.headers.contains_key("authorization"));
    let answer = second.headers["authorization"].to_str().unwrap();
    let fields = atlas::digest_fields(answer.strip_prefix("Digest ").unwrap());
    assert_eq!(fields["username"], atlas::PUBLIC_KEY);
    assert_eq!(fields["uri"], atlas::users_path());
    assert_eq!(fields["qop"], "auth");
    assert!(
        !answer.contains(atlas::PRIVATE_KEY),
        "the private key never travels"
    );
    assert_eq!(
        second.body_json::<Value>().unwrap(),
        json!({
            "databaseName": "admin",
            "groupId": PROJECT,
            "username": "chat-acme",
            "password": "s3cret",
            "roles": [{"databaseName": "tenant_acme", "roleName": "readWrite"}],
            "scopes": [{"name": CLUSTER, "type": "CLUSTER"}],
        })
    );
    assert!(s.user("chat-acme").is_some());
}

#[tokio::test]
async fn an_existing_user_converges_by_patch_with_password_role_and_scope() {
    let s = AtlasStandIn::start().await;
    s.state.users.lock().unwrap().insert(
        "chat-acme".into(),
        json!({"username": "chat-acme", "password": "old", "roles": [{"databaseName": "other", "roleName": "read"}], "scopes": []}),
    );
    provider(&s).ensure_user(&acme("new")).await.unwrap();

    let signed: Vec<(String, String)> = s
        .requests()
        .await
        .into_iter()
        .filter(|r| r.2)
        .map(|r| (r.0, r.1))
        .collect();
    assert_eq!(
        signed,
        [
            ("POST".to_string(), atlas::users_path()),
            ("PATCH".to_string(), atlas::user_path("chat-acme")),
        ]
    );
    let patch = s.server.received_requests().await.unwrap().pop().unwrap();
    assert_eq!(patch.headers["content-type"], MEDIA_TYPE);
    assert_eq!(
        patch.body_json::<Value>().unwrap(),
        json!({
            "password": "new",
            "roles": [{"databaseName": "tenant_acme", "roleName": "readWrite"}],
            "scopes": [{"name": CLUSTER, "type": "CLUSTER"}],
        })
    );
    let stored = s.user("chat-acme").unwrap();
    assert_eq!(stored["password"], "new");
    assert_eq!(stored["roles"][0]["databaseName"], "tenant_acme");
}

#[tokio::test]
async fn removing_sends_delete_and_a_missing_user_counts_as_removed() {
    let s = AtlasStandIn::start().await;
    let p = provider(&s);
    p.ensure_user(&acme("pw")).await.unwrap();
    p.remove_user("chat-acme", "tenant_acme", DeletionPolicy::Retain)
        .await
        .unwrap();
    assert!(s.user("chat-acme").is_none());
    p.remove_user("chat-acme", "tenant_acme", DeletionPolicy::Retain)
        .await
        .unwrap();
    let deletes: Vec<_> = s
        .requests()
        .await
        .into_iter()
        .filter(|r| r.0 == "DELETE" && r.2)
        .map(|r| r.1)
        .collect();
    assert_eq!(deletes, vec![atlas::user_path("chat-acme"); 2]);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable_and_named_in_the_reason() {
    let s = AtlasStandIn::start().await;
    let p = provider(&s);
    for (status, reason) in [
        (429, "RateLimited"),
        (500, "Unavailable"),
        (503, "Unavailable"),
    ] {
        s.fail_with(Some(Fault::Status(status)));
        let e = p.ensure_user(&acme("pw")).await.unwrap_err();
        assert_eq!(e.reason, reason, "{status}: {e}");
        assert!(e.is_transient(), "{status}");
        assert!(e.message.contains(&status.to_string()), "{e}");
    }
    s.fail_with(Some(Fault::Delay(Duration::from_secs(5))));
    let e = p.ensure_user(&acme("pw")).await.unwrap_err();
    assert_eq!(e.reason, "Unavailable", "a hung call times out: {e}");
    s.fail_with(None);
    p.ensure_user(&acme("pw")).await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_is_access_denied_and_not_retried_in_place() {
    let s = AtlasStandIn::start().await;
    let mut config = s.config();
    config.private_key = "not-the-key".into();
    let e = AtlasDatabase::new(config, None)
        .unwrap()
        .ensure_user(&acme("pw"))
        .await
        .unwrap_err();
    assert_eq!(e.reason, "AccessDenied", "{e}");
    assert!(!e.is_transient());
    assert!(s.user("chat-acme").is_none());
    assert_eq!(s.requests().await.len(), 2, "one challenge, one answer");
}

#[tokio::test]
async fn delete_without_a_data_connection_removes_the_user_and_says_the_data_stays() {
    let s = AtlasStandIn::start().await;
    let p = provider(&s);
    p.ensure_user(&acme("pw")).await.unwrap();
    let e = p
        .remove_user("chat-acme", "tenant_acme", DeletionPolicy::Delete)
        .await
        .unwrap_err();
    assert_eq!(e.reason, "DropUnavailable");
    assert!(e.message.contains("--mongodb-admin-uri"), "{e}");
    assert!(s.user("chat-acme").is_none(), "the user is removed first");
}

#[tokio::test]
async fn atlas_outages_surface_in_database_ready_back_off_and_recover() {
    let s = AtlasStandIn::start().await;
    let api = FakeApi::default();
    let ctx = Arc::new(Context::new(
        api.client(),
        common::settings(&[]),
        Arc::new(MemoryStorage::default()),
        Arc::new(provider(&s)),
        Arc::new(support::providers::MemoryBus::default()),
    ));
    let tenants: Api<Tenant> = Api::all(api.client());
    tenants
        .create(
            &PostParams::default(),
            &common::tenant(common::full_tenant_json()),
        )
        .await
        .unwrap();
    let once = || async {
        let t = Arc::new(tenants.get("acme").await.unwrap());
        match reconcile(t.clone(), ctx.clone()).await {
            Ok(action) => (Ok(action), t),
            Err(e) => {
                let action = error_policy(t.clone(), &e, ctx.clone());
                (Err(action), t)
            }
        }
    };
    once().await.0.unwrap(); // the finalizer
    s.fail_with(Some(Fault::Status(429)));
    let mut delays = vec![];
    for _ in 0..3 {
        delays.push(once().await.0.unwrap_err());
    }
    assert_eq!(
        delays,
        [5, 10, 20].map(|s| Action::requeue(Duration::from_secs(s)))
    );
    let tenant = tenants.get("acme").await.unwrap();
    let conditions = &tenant.status.unwrap().conditions;
    let find = |t: &str| conditions.iter().find(|c| c.type_ == t).unwrap();
    assert_eq!(
        (
            find("DatabaseReady").status.as_str(),
            find("DatabaseReady").reason.as_str()
        ),
        ("False", "RateLimited")
    );
    assert_eq!(find("Ready").reason, "RateLimited");
    assert!(find("DatabaseReady").message.contains("429"));

    s.fail_with(None);
    let recovered = once().await.0.expect("recovers once Atlas answers");
    assert_ne!(recovered, Action::await_change());
    let tenant = tenants.get("acme").await.unwrap();
    let conditions = &tenant.status.unwrap().conditions;
    let ready = conditions
        .iter()
        .find(|c| c.type_ == "DatabaseReady")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Provisioned")
    );
    // Nothing changed: the next resync leaves Atlas alone; a forced one reaches it again.
    s.fail_with(Some(Fault::Status(503)));
    assert!(once().await.0.is_ok(), "no Atlas call on a resync");
    tenants
        .patch(
            "acme",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"annotations": {"atendo.io/reconcile-requested-at": "now"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        once().await.0.unwrap_err(),
        Action::requeue(Duration::from_secs(5)),
        "backoff starts over after a success"
    );
}

#[tokio::test]
async fn a_401_without_a_digest_challenge_is_access_denied() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(atlas::users_path()))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let mut config = AtlasStandIn::start().await.config();
    config.api_url = server.uri();
    let e = AtlasDatabase::new(config, None)
        .unwrap()
        .ensure_user(&acme("pw"))
        .await
        .unwrap_err();
    assert_eq!(e.reason, "AccessDenied", "{e}");
}

struct StandInProbe(atlas::State);

#[async_trait]
impl Probe for StandInProbe {
    async fn can_use_its_database(&self, user: &DatabaseUser) -> bool {
        let users = self.0.users.lock().unwrap();
        users.get(&user.user).is_some_and(|u| {
            u["password"] == user.password.as_str()
                && u["roles"] == json!([{"databaseName": user.database, "roleName": "readWrite"}])
                && u["scopes"] == json!([{"name": CLUSTER, "type": "CLUSTER"}])
        })
    }
}

async fn fixture() -> Fixture {
    let s = AtlasStandIn::start().await;
    Fixture {
        database: Box::new(provider(&s)),
        probe: Box::new(StandInProbe(s.state.clone())),
        _keep: Box::new(s.server),
    }
}

database_conformance!(super::fixture);
