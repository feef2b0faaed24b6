//! Agents signing in with OIDC bearer tokens (Cognito-style), verified against a JWKS served
//! by a local HTTP stand-in. The RSA keys in `fixtures/` were generated for these tests only
//! and protect nothing.

mod common;

use axum::Router;
use axum::routing::get;
use chat_server::config::Config;
use clap::Parser;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISSUER: &str = "https://cognito-idp.test/pool-1";
const AUDIENCE: &str = "console-client";
const KEY: &str = include_str!("fixtures/oidc-test-key.pem");

async fn jwks_server() -> String {
    let jwks: Value = serde_json::from_str(include_str!("fixtures/oidc-jwks.json")).unwrap();
    let app = Router::new().route("/jwks", get(move || async move { axum::Json(jwks) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/jwks")
}

/// A chat-server with OIDC on (plus `extra` flags) and its bootstrap admin.
async fn server(extra: &[&str]) -> TestServer {
    let jwks = jwks_server().await;
    let mut flags = vec![
        format!("--oidc-issuer={ISSUER}"),
        format!("--oidc-audience={AUDIENCE}"),
        format!("--oidc-jwks-url={jwks}"),
    ];
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    TestServer::start_with(&flags).await
}

fn token(key_pem: &str, kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A good ID token's claims with `overrides` applied (`null` removes a claim).
fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "email": "sso.user@acme.test",
                       "email_verified": true, "token_use": "id", "name": "Sso User",
                       "iat": now, "exp": now + 600});
    for (k, v) in overrides.as_object().unwrap() {
        match v {
            Value::Null => {
                c.as_object_mut().unwrap().remove(k);
            }
            _ => c[k] = v.clone(),
        }
    }
    c
}

fn id_token(overrides: Value) -> String {
    token(KEY, "test-key-1", claims(overrides))
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test]
async fn a_valid_oidc_token_signs_an_agent_in_and_bad_ones_get_401() {
    let s = server(&[]).await;
    let other = include_str!("fixtures/oidc-other-key.pem");

    let good = id_token(json!({}));
    let (status, me) = s.get("/api/v1/me", Some(&good)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (
            me["kind"].as_str(),
            me["name"].as_str(),
            me["role"].as_str()
        ),
        (Some("agent"), Some("Sso User"), Some("agent"))
    );
    let (_, again) = s.get("/api/v1/me", Some(&good)).await;
    assert_eq!(
        again["id"], me["id"],
        "the second sign-in finds the same agent"
    );

    // Cognito access tokens name the app client in client_id instead of aud.
    let access = id_token(json!({"aud": null, "client_id": AUDIENCE, "token_use": "access"}));
    assert_eq!(s.get("/api/v1/me", Some(&access)).await.0, 200);
    // Other issuers send no token_use at all.
    let plain = id_token(json!({"token_use": null}));
    assert_eq!(s.get("/api/v1/me", Some(&plain)).await.0, 200);

    let now = chrono::Utc::now().timestamp();
    for (why, bad) in [
        ("wrong audience", id_token(json!({"aud": "someone-else"}))),
        (
            "wrong issuer",
            id_token(json!({"iss": "https://evil.test"})),
        ),
        ("expired", id_token(json!({"exp": 1_000_000}))),
        ("not valid yet", id_token(json!({"nbf": now + 600}))),
        (
            "unknown key id",
            token(KEY, "no-such-key", claims(json!({}))),
        ),
        (
            "forged signature",
            token(other, "test-key-1", claims(json!({}))),
        ),
        ("no email", id_token(json!({"email": null}))),
        ("no subject", id_token(json!({"sub": null}))),
        (
            "a refresh-kind token",
            id_token(json!({"token_use": "refresh"})),
        ),
        (
            "an access token for another client",
            id_token(json!({"aud": null, "client_id": "other-client", "token_use": "access"})),
        ),
        (
            "client_id on an ID token does not stand in for aud",
            id_token(json!({"aud": null, "client_id": AUDIENCE})),
        ),
    ] {
        let (status, body) = s.get("/api/v1/me", Some(&bad)).await;
        assert_eq!(status, 401, "{why}: {body}");
    }
}

#[tokio::test]
async fn a_token_whose_email_is_not_verified_is_refused_even_for_the_admins_address() {
    let s = server(&[]).await;
    for (why, verified) in [
        ("false", json!(false)),
        ("the string \"true\"", json!("true")),
        ("absent", Value::Null),
    ] {
        for email in [ADMIN_EMAIL, "new.person@acme.test"] {
            let t =
                id_token(json!({"email": email, "email_verified": verified, "sub": "attacker"}));
            let (status, body) = s.get("/api/v1/me", Some(&t)).await;
            assert_eq!(
                (status, code(&body)),
                (401, Some("email_not_verified")),
                "{why}, {email}: {body}"
            );
        }
    }
    let (_, admin) = s.admin().await;
    let (_, agents) = s.get("/api/v1/agents", Some(&admin)).await;
    assert_eq!(
        agents["agents"].as_array().unwrap().len(),
        1,
        "nobody was created: {agents}"
    );
}

#[tokio::test]
async fn a_verified_email_of_a_password_account_does_not_sign_in_as_that_account() {
    let s = server(&[]).await;
    let t = id_token(json!({"email": ADMIN_EMAIL, "sub": "someone-at-the-idp"}));
    let (status, body) = s.get("/api/v1/me", Some(&t)).await;
    assert_eq!(
        (status, code(&body)),
        (409, Some("oidc_account_conflict")),
        "{body}"
    );
    // The admin keeps its password sign-in, and no second account appeared.
    let (_, admin) = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, agents) = s.get("/api/v1/agents", Some(&admin)).await;
    assert_eq!(agents["agents"].as_array().unwrap().len(), 1, "{agents}");
}

#[tokio::test]
async fn accounts_follow_the_issuer_subject_not_the_email() {
    let s = server(&[]).await;
    let first = id_token(json!({"sub": "u-1", "email": "ana@acme.test"}));
    let (_, ana) = s.get("/api/v1/me", Some(&first)).await;
    let ana_id = ana["id"].as_str().unwrap().to_string();

    // Another identity at the issuer that now shows Ana's (verified) email gets nothing of hers.
    let squatter = id_token(json!({"sub": "u-2", "email": "ANA@acme.test"}));
    let (status, body) = s.get("/api/v1/me", Some(&squatter)).await;
    assert_eq!(
        (status, code(&body)),
        (409, Some("oidc_account_conflict")),
        "{body}"
    );
    // Ana changes her email at the issuer: still her account.
    let renamed = id_token(json!({"sub": "u-1", "email": "ana.silva@acme.test"}));
    let (status, me) = s.get("/api/v1/me", Some(&renamed)).await;
    assert_eq!((status, me["id"].as_str()), (200, Some(ana_id.as_str())));
}

#[tokio::test]
async fn only_emails_in_the_allowed_domains_sign_in_or_get_an_account() {
    let s = server(&["--oidc-allowed-domains=acme.test, Acme.COM.br"]).await;
    for email in ["ana@acme.test", "bia@ACME.com.br"] {
        let t = id_token(json!({"email": email, "sub": email}));
        let (status, body) = s.get("/api/v1/me", Some(&t)).await;
        assert_eq!(status, 200, "{email}: {body}");
    }
    for email in [
        "eve@evil.test",
        "eve@sub.acme.test",
        "eve@acme.test.evil.test",
        "eve@notacme.test",
    ] {
        let t = id_token(json!({"email": email, "sub": email}));
        let (status, body) = s.get("/api/v1/me", Some(&t)).await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("email_domain_not_allowed")),
            "{email}: {body}"
        );
    }
    let (_, admin) = s.admin().await;
    let (_, agents) = s.get("/api/v1/agents", Some(&admin)).await;
    let emails: Vec<&str> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["email"].as_str())
        .collect();
    assert_eq!(emails.len(), 3, "the admin and the two allowed: {emails:?}");
}

#[tokio::test]
async fn the_admin_group_makes_admins_and_everyone_else_agents_on_every_request() {
    let s = server(&["--oidc-admin-group=atendo-admins"]).await;
    let new_agent = || json!({"email": "x@acme.test", "password": "violet-harbour-cactus", "name": "X", "role": "agent"});

    let boss = id_token(
        json!({"sub": "boss", "email": "boss@acme.test", "cognito:groups": ["staff", "atendo-admins"]}),
    );
    let (_, me) = s.get("/api/v1/me", Some(&boss)).await;
    assert_eq!(me["role"], "admin", "{me}");
    let (status, body) = s.post("/api/v1/agents", Some(&boss), new_agent()).await;
    assert_eq!(status, 201, "{body}");

    let keycloak_style =
        id_token(json!({"sub": "kc", "email": "kc@acme.test", "groups": ["atendo-admins"]}));
    assert_eq!(
        s.get("/api/v1/me", Some(&keycloak_style)).await.1["role"],
        "admin"
    );

    for (why, groups) in [
        ("another group", json!({"cognito:groups": ["staff"]})),
        ("no groups", json!({})),
        ("a prefix of the group", json!({"groups": ["atendo"]})),
    ] {
        let mut c = json!({"sub": "worker", "email": "worker@acme.test"});
        c.as_object_mut()
            .unwrap()
            .extend(groups.as_object().unwrap().clone());
        let t = id_token(c);
        let (_, me) = s.get("/api/v1/me", Some(&t)).await;
        assert_eq!(me["role"], "agent", "{why}: {me}");
        assert_eq!(
            s.post("/api/v1/agents", Some(&t), new_agent()).await.0,
            403,
            "{why}"
        );
    }

    // Removed from the group at the issuer: an agent from the next token on.
    let demoted = id_token(json!({"sub": "boss", "email": "boss@acme.test", "cognito:groups": []}));
    let (_, me) = s.get("/api/v1/me", Some(&demoted)).await;
    assert_eq!(me["role"], "agent", "{me}");
}

#[tokio::test]
async fn an_unreachable_jwks_gives_a_503_that_does_not_say_where_it_is() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let s = TestServer::start_with(&[
        &format!("--oidc-issuer={ISSUER}"),
        &format!("--oidc-audience={AUDIENCE}"),
        &format!("--oidc-jwks-url=http://127.0.0.1:{port}/internal/jwks.json"),
    ])
    .await;
    let (status, body) = s.get("/api/v1/me", Some(&id_token(json!({})))).await;
    assert_eq!(
        (status, code(&body)),
        (503, Some("oidc_unavailable")),
        "{body}"
    );
    let text = body.to_string();
    for secret in [
        "127.0.0.1",
        &port.to_string(),
        "jwks",
        "internal",
        "error sending",
    ] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
}

#[test]
fn oidc_settings_name_what_is_wrong() {
    let parse = |extra: &[&str]| {
        let mut args = vec![
            "chat-server",
            "--oidc-issuer=https://i.test",
            "--oidc-audience=a",
            "--oidc-jwks-url=http://j.test/jwks",
        ];
        args.extend_from_slice(extra);
        Config::try_parse_from(args)
    };
    let c = parse(&[
        "--oidc-allowed-domains=Acme.com,acme.com.br",
        "--oidc-admin-group=atendo-admins",
    ])
    .unwrap();
    assert_eq!(c.oidc_allowed_domains, ["acme.com", "acme.com.br"]);
    assert_eq!(c.oidc_admin_group.as_deref(), Some("atendo-admins"));
    for bad in [
        "@acme.com",
        "*.acme.com",
        "acme",
        "ana@acme.com",
        "acme..com",
    ] {
        let err = parse(&[&format!("--oidc-allowed-domains={bad}")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHAT_OIDC_ALLOWED_DOMAINS"), "{bad}: {err}");
    }
    let err = parse(&["--oidc-admin-group= "]).unwrap_err().to_string();
    assert!(err.contains("CHAT_OIDC_ADMIN_GROUP"), "{err}");
    let err = Config::try_parse_from(["chat-server", "--oidc-admin-group=x"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("CHAT_OIDC_ISSUER"), "needs OIDC on: {err}");
}
