//! Generated secret values: kept across reconciles, rotated on request, upgraded in place.

use serde_json::json;

use crate::{World, acme, secret_data};

#[tokio::test]
async fn credentials_are_generated_once_and_rotated_on_request() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    let password = || w.database.users.lock().unwrap()["chat-acme"].1.clone();
    let bus_password = || w.bus.users.lock().unwrap()["tenant-acme"].1.clone();
    let bus_url = || secret_data(&w, "chat-credentials")["busUrl"].clone();
    let hash = || {
        w.deployment("tenant-acme").unwrap()["spec"]["template"]["metadata"]["annotations"]["atendo.io/config-hash"].clone()
    };
    let admin = || {
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(
            w.api
                .get("", "secrets", "tenant-acme", "chat-admin")
                .expect("the first admin's Secret"),
        )
        .unwrap();
        let data = secret.data.unwrap();
        let field = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
        (field("email"), field("password"))
    };
    let (first, first_hash, first_admin) = (password(), hash(), admin());
    let (first_bus, first_url) = (bus_password(), bus_url());
    assert!(first_url.contains(&first_bus));
    assert_eq!(first.len(), 32);
    assert_eq!(
        (first_admin.0.as_str(), first_admin.1.len()),
        ("admin@acme.chat.example.com", 24),
        "the default admin email"
    );
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        (password(), hash()),
        (first.clone(), first_hash.clone()),
        "kept across reconciles"
    );

    w.patch_tenant(
        "acme",
        json!({"metadata": {"annotations": {"atendo.io/rotate-credentials": "2026-01-02"}}}),
    )
    .await;
    w.reconcile("acme").await.unwrap();
    let (second, second_hash) = (password(), hash());
    assert_ne!(second, first);
    let second_bus = bus_password();
    assert_ne!(
        second_bus, first_bus,
        "the Redis user's password rotates too"
    );
    assert_eq!(
        bus_url(),
        format!("redis://tenant-acme:{second_bus}@redis.atendo:6379"),
        "and the pods' CHAT_BUS with it"
    );
    assert_ne!(
        second_hash, first_hash,
        "pods roll onto the new credentials"
    );
    w.reconcile("acme").await.unwrap();
    assert_eq!(password(), second, "one rotation per new annotation value");
    assert_eq!(
        admin(),
        first_admin,
        "rotation leaves the first admin's initial password alone"
    );
}

#[tokio::test]
async fn a_secret_from_before_per_tenant_redis_users_keeps_its_other_credentials() {
    let w = World::new();
    w.create(acme()).await;
    w.provision("acme").await;
    let database_password = w.database.users.lock().unwrap()["chat-acme"].1.clone();
    let mut secret = w
        .api
        .get("", "secrets", "tenant-acme", "chat-credentials")
        .unwrap();
    let data = secret["data"].as_object_mut().unwrap();
    data.remove("busPassword");
    data.remove("busUser");
    w.api.put("", "secrets", "tenant-acme", secret);
    w.bus.users.lock().unwrap().clear();
    w.reconcile("acme").await.unwrap();
    assert_eq!(
        w.database.users.lock().unwrap()["chat-acme"].1,
        database_password,
        "the database password is not rotated by the upgrade"
    );
    let bus_password = w.bus.users.lock().unwrap()["tenant-acme"].1.clone();
    assert_eq!(
        secret_data(&w, "chat-credentials")["busPassword"],
        bus_password
    );
}
