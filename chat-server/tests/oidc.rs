//! Agents signing in with OIDC bearer tokens (Cognito-style), verified against a JWKS served
//! by a local HTTP stand-in. The RSA keys in `fixtures/` were generated for these tests only
//! and protect nothing.

mod common;

use axum::Router;
use axum::routing::get;
use common::TestServer;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISSUER: &str = "https://cognito-idp.test/pool-1";
const AUDIENCE: &str = "console-client";

async fn jwks_server() -> String {
    let jwks: Value = serde_json::from_str(include_str!("fixtures/oidc-jwks.json")).unwrap();
    let app = Router::new().route("/jwks", get(move || async move { axum::Json(jwks) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/jwks")
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

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "email": "sso.user@acme.test",
                       "name": "Sso User", "iat": now, "exp": now + 600});
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[tokio::test]
async fn a_valid_oidc_token_signs_an_agent_in_and_bad_ones_get_401() {
    let jwks = jwks_server().await;
    let s = TestServer::start_with(&[
        &format!("--oidc-issuer={ISSUER}"),
        &format!("--oidc-audience={AUDIENCE}"),
        &format!("--oidc-jwks-url={jwks}"),
    ])
    .await;
    let key = include_str!("fixtures/oidc-test-key.pem");
    let other = include_str!("fixtures/oidc-other-key.pem");

    let good = token(key, "test-key-1", claims(json!({})));
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
    let access = token(
        key,
        "test-key-1",
        claims(json!({"aud": null, "client_id": AUDIENCE})),
    );
    assert_eq!(s.get("/api/v1/me", Some(&access)).await.0, 200);

    for (why, bad) in [
        (
            "wrong audience",
            token(key, "test-key-1", claims(json!({"aud": "someone-else"}))),
        ),
        (
            "wrong issuer",
            token(
                key,
                "test-key-1",
                claims(json!({"iss": "https://evil.test"})),
            ),
        ),
        (
            "expired",
            token(key, "test-key-1", claims(json!({"exp": 1_000_000}))),
        ),
        (
            "unknown key id",
            token(key, "no-such-key", claims(json!({}))),
        ),
        (
            "forged signature",
            token(other, "test-key-1", claims(json!({}))),
        ),
        (
            "no email",
            token(key, "test-key-1", claims(json!({"email": null}))),
        ),
    ] {
        let (status, body) = s.get("/api/v1/me", Some(&bad)).await;
        assert_eq!(status, 401, "{why}: {body}");
    }
}
