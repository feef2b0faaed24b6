//! The mongodb database provider against SecantusDB with --auth: the user it creates can write
//! its tenant database and nothing else, rotation changes the password, removal drops the user
//! (and with Delete the database), and every step is idempotent.

use async_trait::async_trait;
use atendo_operator::controller::mongo_database::MongoDatabase;
use atendo_operator::controller::providers::{
    DEDICATED_UNAVAILABLE, Database, DatabaseUser, DedicatedCluster,
};
use atendo_operator::settings::DatabaseUrl;
use atendo_operator::tenant::DeletionPolicy;
use mongodb::bson::{Document, doc};
use support::database_conformance::{Fixture, Probe};

mod support;

struct Server {
    mongo: testkit::mongo::Mongo,
    admin: mongodb::Client,
    provider: MongoDatabase,
}

async fn server() -> Server {
    let mongo = testkit::mongo::mongo_auth();
    let admin = mongodb::Client::with_uri_str(&mongo.uri).await.unwrap();
    let provider = MongoDatabase::connect(&mongo.uri).await.unwrap();
    Server {
        mongo,
        admin,
        provider,
    }
}

impl Server {
    /// What the tenant's chat-server would get as CHAT_STORE.
    fn tenant_uri(&self, user: &DatabaseUser) -> String {
        let hosts = self
            .mongo
            .uri
            .rsplit('@')
            .next()
            .unwrap()
            .trim_start_matches("mongodb://")
            .split('/')
            .next()
            .unwrap();
        let url = DatabaseUrl {
            scheme: "mongodb://".into(),
            hosts: hosts.into(),
            options: String::new(),
        };
        url.for_user(&user.user, &user.password, &user.database)
    }

    async fn insert_as(
        &self,
        user: &DatabaseUser,
        database: &str,
    ) -> Result<(), mongodb::error::Error> {
        let client = mongodb::Client::with_uri_str(self.tenant_uri(user)).await?;
        client
            .database(database)
            .collection::<Document>("messages")
            .insert_one(doc! {"body": "olá"})
            .await?;
        Ok(())
    }
}

fn user(tenant: &str, password: &str) -> DatabaseUser {
    DatabaseUser {
        user: format!("chat-{tenant}"),
        database: format!("tenant_{tenant}"),
        password: password.into(),
    }
}

#[tokio::test]
async fn the_created_user_writes_its_own_database_and_is_denied_another() {
    let s = server().await;
    let tenant = testkit::unique("t");
    let other = testkit::unique("o");
    let acme = user(&tenant, "first-password");
    s.provider.ensure_user(&acme).await.unwrap();
    s.insert_as(&acme, &acme.database).await.unwrap();
    let denied = s
        .insert_as(&acme, &format!("tenant_{other}"))
        .await
        .unwrap_err();
    assert!(
        denied.to_string().to_lowercase().contains("not authorized")
            || denied.to_string().contains("Unauthorized"),
        "{denied}"
    );
    s.provider.ensure_user(&acme).await.unwrap();
    s.insert_as(&acme, &acme.database).await.unwrap();
}

#[tokio::test]
async fn rotation_changes_the_password() {
    let s = server().await;
    let tenant = testkit::unique("t");
    let old = user(&tenant, "old-password");
    s.provider.ensure_user(&old).await.unwrap();
    let new = user(&tenant, "new-password");
    s.provider.ensure_user(&new).await.unwrap();
    s.insert_as(&new, &new.database).await.unwrap();
    let err = s.insert_as(&old, &old.database).await.unwrap_err();
    assert!(
        err.to_string().contains("Authentication failed")
            || err.to_string().to_lowercase().contains("auth"),
        "{err}"
    );
}

#[tokio::test]
async fn retain_drops_the_user_and_keeps_the_data() {
    let s = server().await;
    let tenant = testkit::unique("t");
    let u = user(&tenant, "password-1");
    s.provider.ensure_user(&u).await.unwrap();
    s.insert_as(&u, &u.database).await.unwrap();
    s.provider
        .remove_user(&u.user, &u.database, DeletionPolicy::Retain)
        .await
        .unwrap();
    assert!(
        s.insert_as(&u, &u.database).await.is_err(),
        "the user is gone"
    );
    let kept = s
        .admin
        .database(&u.database)
        .collection::<Document>("messages")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(kept, 1);
    s.provider
        .remove_user(&u.user, &u.database, DeletionPolicy::Retain)
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_drops_the_user_and_the_database() {
    let s = server().await;
    let tenant = testkit::unique("t");
    let u = user(&tenant, "password-1");
    s.provider.ensure_user(&u).await.unwrap();
    s.insert_as(&u, &u.database).await.unwrap();
    s.provider
        .remove_user(&u.user, &u.database, DeletionPolicy::Delete)
        .await
        .unwrap();
    let names = s.admin.list_database_names().await.unwrap();
    assert!(!names.contains(&u.database), "{names:?}");
    s.provider
        .remove_user(&u.user, &u.database, DeletionPolicy::Delete)
        .await
        .unwrap();
}

#[async_trait]
impl Probe for Server {
    async fn can_use_its_database(&self, user: &DatabaseUser) -> bool {
        self.insert_as(user, &user.database).await.is_ok()
    }
}

async fn fixture() -> Fixture {
    let s = std::sync::Arc::new(server().await);
    Fixture {
        database: Box::new(MongoDatabase::connect(&s.mongo.uri).await.unwrap()),
        probe: Box::new(SharedServer(s.clone())),
        _keep: Box::new(s),
    }
}

struct SharedServer(std::sync::Arc<Server>);

#[async_trait]
impl Probe for SharedServer {
    async fn can_use_its_database(&self, user: &DatabaseUser) -> bool {
        self.0.can_use_its_database(user).await
    }
}

database_conformance!(super::fixture);

// Dedicated databases (spec.database.dedicated): refused without a server template, made on the
// template's server with one.

fn dedicated(tenant: &str, policy: DeletionPolicy) -> DedicatedCluster {
    DedicatedCluster {
        tenant: tenant.into(),
        name: atendo_operator::context::dedicated_cluster_name(tenant),
        instance_size: "M30".into(),
        policy,
    }
}

#[tokio::test]
async fn a_dedicated_tenant_is_refused_without_a_server_template_naming_the_field_and_the_setting()
{
    let s = server().await;
    let tenant = testkit::unique("d");
    let u = user(&tenant, "password-1");
    let e = s
        .provider
        .ensure_dedicated(&dedicated(&tenant, DeletionPolicy::Retain), &u)
        .await
        .unwrap_err();
    assert_eq!(e.reason, DEDICATED_UNAVAILABLE, "{e}");
    assert!(!e.is_transient() && !e.is_pending());
    for named in [
        "spec.database.dedicated",
        "--mongodb-dedicated-admin-uri-template",
        "ATENDO_MONGODB_DEDICATED_ADMIN_URI_TEMPLATE",
    ] {
        assert!(e.message.contains(named), "{named} in {e}");
    }
    assert!(
        s.insert_as(&u, &u.database).await.is_err(),
        "no user was made on the shared server"
    );
}

#[tokio::test]
async fn with_a_template_the_user_is_made_on_the_tenants_own_server_and_retired_there() {
    let s = server().await;
    // One SecantusDB plays the tenant's own server; {tenant} goes into its appName.
    let template = format!("{}&appName={{tenant}}", s.mongo.uri);
    let provider = MongoDatabase::connect(&s.mongo.uri)
        .await
        .unwrap()
        .with_dedicated_template(Some(template));
    let tenant = testkit::unique("d");
    let u = user(&tenant, "password-1");
    let found = provider
        .ensure_dedicated(&dedicated(&tenant, DeletionPolicy::Delete), &u)
        .await
        .unwrap();
    assert_eq!(
        found.updating, None,
        "a server of the template has no size to change"
    );
    let address = found.address;
    let port = s
        .mongo
        .uri
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert_eq!(
        address.address(),
        format!("mongodb://127.0.0.1:{port}/?appName={tenant}"),
        "the template's server, without the admin's credentials"
    );
    // The tenant's CHAT_STORE, built from that address, works for its own database.
    let store = address.for_user(&u.user, &u.password, &u.database);
    let client = mongodb::Client::with_uri_str(&store).await.unwrap();
    client
        .database(&u.database)
        .collection::<Document>("messages")
        .insert_one(doc! {"body": "olá"})
        .await
        .unwrap();
    provider
        .retire_dedicated(
            &dedicated(&tenant, DeletionPolicy::Delete),
            &u.user,
            &u.database,
        )
        .await
        .unwrap();
    let names = s.admin.list_database_names().await.unwrap();
    assert!(!names.contains(&u.database), "Delete drops it: {names:?}");
    assert!(
        s.insert_as(&u, &u.database).await.is_err(),
        "the user is gone"
    );
}
