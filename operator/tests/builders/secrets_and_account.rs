//! ServiceAccount and Secrets.

use atendo_operator::resources::{Credentials, secrets, service_account};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::{minimal_json, settings};
use super::{as_json, chat_labels, ctx, owner, stored};

fn b64(s: &str) -> String {
    // Small enough to do by hand; a Secret's data is base64 on the wire.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_service_account_carries_the_tenants_iam_role_when_a_template_is_set() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings =
        settings(&["--iam-role-arn-template=arn:aws:iam::123456789012:role/atendo-{tenant}-chat"]);
    assert_eq!(
        as_json(&service_account::build(&ctx(&tenant, &settings))),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "chat-server", "namespace": "tenant-acme",
                "labels": chat_labels("starter"), "ownerReferences": owner(),
                "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/atendo-acme-chat"}
            },
            "automountServiceAccountToken": false
        })
    );
}

#[test]
fn without_an_iam_template_the_service_account_has_no_annotation() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = settings(&[]);
    let sa = as_json(&service_account::build(&ctx(&tenant, &settings)));
    assert_eq!(sa["metadata"].get("annotations"), None);
}

/// Secret values as the controller would pass them; the signing key is always 48 `k`s.
fn credentials(database_password: &str, rotated_for: Option<&str>) -> Credentials {
    Credentials {
        database_password: database_password.into(),
        bus_password: "bus-pw".into(),
        signing_key: "k".repeat(48),
        admin_password: "first-admin-pw".into(),
        rotated_for: rotated_for.map(String::from),
    }
}

#[test]
fn the_database_secret_holds_the_tenant_user_and_its_connection_string() {
    let tenant = stored(minimal_json("acme-br", "professional"));
    let settings = settings(&[]);
    let credentials = credentials("s3cr3t/pw", None);
    let secret = as_json(&secrets::database(&ctx(&tenant, &settings), &credentials));
    let mut labels = chat_labels("professional");
    labels["app.kubernetes.io/instance"] = json!("acme-br");
    labels["atendo.io/tenant"] = json!("acme-br");
    let mut owner = owner();
    owner[0]["name"] = json!("acme-br");
    assert_eq!(
        secret,
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "chat-database", "namespace": "tenant-acme-br", "labels": labels, "ownerReferences": owner},
            "type": "Opaque",
            "data": {
                "uri": b64("mongodb+srv://chat-acme-br:s3cr3t%2Fpw@cluster0.abcde.mongodb.net/tenant_acme_br?retryWrites=true&authSource=admin"),
                "username": b64("chat-acme-br"),
                "password": b64("s3cr3t/pw"),
                "database": b64("tenant_acme_br")
            }
        })
    );
}

#[test]
fn the_credentials_secret_holds_the_signing_key_and_a_bus_url_signed_in_as_the_tenant_user() {
    let tenant = stored(minimal_json("acme", "professional"));
    let settings = settings(&[]);
    let credentials = credentials("pw", None);
    assert_eq!(
        as_json(&secrets::credentials(
            &ctx(&tenant, &settings),
            &credentials
        )),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "chat-credentials", "namespace": "tenant-acme", "labels": chat_labels("professional"), "ownerReferences": owner()},
            "type": "Opaque",
            "data": {
                "signingKey": b64(&"k".repeat(48)),
                "busUrl": b64("redis://tenant-acme:bus-pw@redis.atendo:6379"),
                "busUser": b64("tenant-acme"),
                "busPassword": b64("bus-pw")
            }
        })
    );
}

#[test]
fn static_s3_keys_for_the_chat_servers_go_into_the_credentials_secret() {
    let tenant = stored(minimal_json("acme", "professional"));
    let settings = settings(&[
        "--chat-s3-access-key-id=AKIAEXAMPLE",
        "--chat-s3-secret-access-key=wJalr/EXAMPLE",
    ]);
    let credentials = credentials("pw", None);
    let secret = as_json(&secrets::credentials(
        &ctx(&tenant, &settings),
        &credentials,
    ));
    assert_eq!(
        secret["data"],
        json!({
            "signingKey": b64(&"k".repeat(48)),
            "busUrl": b64("redis://tenant-acme:bus-pw@redis.atendo:6379"),
            "busUser": b64("tenant-acme"),
            "busPassword": b64("bus-pw"),
            "s3AccessKeyId": b64("AKIAEXAMPLE"),
            "s3SecretAccessKey": b64("wJalr/EXAMPLE")
        })
    );
}

#[test]
fn the_admin_secret_names_the_first_admin_and_its_initial_password() {
    let settings = settings(&[]);
    let credentials = credentials("pw", Some("2026-01-02"));
    let tenant = stored(minimal_json("acme", "professional"));
    assert_eq!(
        as_json(&secrets::admin(&ctx(&tenant, &settings), &credentials)),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            // No rotated-for annotation: rotation never changes the admin's password.
            "metadata": {"name": "chat-admin", "namespace": "tenant-acme", "labels": chat_labels("professional"), "ownerReferences": owner()},
            "type": "Opaque",
            "data": {"email": b64("admin@acme.chat.example.com"), "password": b64("first-admin-pw")}
        })
    );
    let mut chosen = minimal_json("acme", "professional");
    chosen["spec"]["adminEmail"] = json!("lead@acme.com.br");
    let tenant = stored(chosen);
    assert_eq!(
        as_json(&secrets::admin(&ctx(&tenant, &settings), &credentials))["data"]["email"],
        json!(b64("lead@acme.com.br"))
    );
}

#[test]
fn the_hand_written_base64_matches_known_values() {
    assert_eq!(
        (b64("a"), b64("ab"), b64("abc"), b64("chat-acme")),
        (
            "YQ==".into(),
            "YWI=".into(),
            "YWJj".into(),
            "Y2hhdC1hY21l".into()
        )
    );
}

#[test]
fn credentials_made_for_a_rotation_request_are_marked_with_it() {
    let tenant = stored(minimal_json("acme", "professional"));
    let settings = settings(&[]);
    let credentials = credentials("pw", Some("2026-01-02"));
    let ctx = ctx(&tenant, &settings);
    for secret in [
        secrets::database(&ctx, &credentials),
        secrets::credentials(&ctx, &credentials),
    ] {
        assert_eq!(
            as_json(&secret)["metadata"]["annotations"],
            json!({"atendo.io/rotated-for": "2026-01-02"})
        );
    }
}
