//! How the console may sign an agent in: `GET /api/v1/auth/config`.
//!
//! `{"password": true, "password_reset": bool, "oidc": null}`, or with `CHAT_OIDC_*` set
//! `{"password": true, "password_reset": bool, "oidc": {"issuer", "client_id", "display_name",
//! "token_endpoint"}}`. `password_reset` says whether mail is configured (`CHAT_SMTP_URL`), so the
//! console offers "Forgot your password?" only where a link can actually be mailed.
//! The console then runs the authorization code flow with PKCE against the issuer as a public
//! client (no secret can be kept in a browser) and uses the ID token as its bearer token, which
//! the server verifies like any OIDC token (`auth/oidc.rs`).
//!
//! `client_id` is `CHAT_OIDC_AUDIENCE`: an ID token's `aud` is the client it was issued to, so a
//! separate client id setting could only ever disagree with it. `token_endpoint` is
//! `CHAT_OIDC_TOKEN_ENDPOINT` or null (the console then takes the discovery document's).
//!
//! The console's CSP must let the page reach the issuer (discovery, and the token endpoint when
//! it lives there) and the configured token endpoint: [`connect_origins`] names exactly those
//! origins. The authorization endpoint is a top-level navigation, which CSP does not govern.

use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Config;

use super::security::origin_of;

/// The body of `GET /api/v1/auth/config`.
#[derive(Serialize, ToSchema)]
pub struct SignInConfig {
    /// Email and password sign-in (`POST /api/v1/agents/login`); always offered.
    password: bool,
    /// Reset links can be mailed (`POST /api/v1/agents/password-reset`); false without mail.
    password_reset: bool,
    /// Single sign-on, or null when no issuer is configured.
    #[schema(required = true)]
    oidc: Option<OidcSignIn>,
}

/// What the console needs for the authorization code flow with PKCE.
#[derive(Serialize, ToSchema)]
pub struct OidcSignIn {
    issuer: String,
    client_id: String,
    /// "Sign in with <display_name>".
    display_name: String,
    /// Null: take the discovery document's.
    #[schema(required = true)]
    token_endpoint: Option<String>,
}

/// The JSON body of `GET /api/v1/auth/config`, prepared once.
pub fn config_json(config: &Config) -> Vec<u8> {
    let oidc = match (&config.oidc_issuer, &config.oidc_audience) {
        (Some(issuer), Some(client_id)) => Some(OidcSignIn {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            display_name: display_name(config, issuer),
            token_endpoint: config.oidc_token_endpoint.clone(),
        }),
        _ => None,
    };
    serde_json::to_vec(&SignInConfig {
        password: true,
        password_reset: config.smtp_url.is_some(),
        oidc,
    })
    .expect("sign-in config serializes")
}

fn display_name(config: &Config, issuer: &str) -> String {
    if let Some(name) = config.oidc_display_name.as_deref().map(str::trim)
        && !name.is_empty()
    {
        return name.to_string();
    }
    // "https://login.acme.com/realms/x" reads as "login.acme.com".
    origin_of(issuer)
        .and_then(|o| o.split_once("://").map(|(_, host)| host.to_string()))
        .unwrap_or_else(|| issuer.to_string())
}

/// Origins the console fetches from during single sign-on: the issuer's (its discovery document,
/// and its token endpoint unless one is configured elsewhere) and the configured token endpoint's.
pub fn connect_origins(config: &Config) -> Vec<String> {
    if config.oidc_audience.is_none() {
        return Vec::new();
    }
    [&config.oidc_issuer, &config.oidc_token_endpoint]
        .into_iter()
        .filter_map(|u| u.as_deref().and_then(origin_of))
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::{Request, StatusCode, header};
    use clap::Parser;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use crate::config::Config;
    use crate::web::router;
    use chat_settings::rules::http_url;

    const OIDC: [&str; 3] = [
        "--oidc-issuer=https://login.acme.test/realms/acme/",
        "--oidc-audience=atendo-console",
        "--oidc-jwks-url=https://login.acme.test/realms/acme/certs",
    ];

    fn config(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("chat-server").chain(args.iter().copied()))
            .expect("test config parses")
    }

    async fn get(config: &Config, uri: &str) -> axum::response::Response {
        router(config)
            .oneshot(Request::get(uri).body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn auth_config(config: &Config) -> Value {
        let r = get(config, "/api/v1/auth/config").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/json",
            "the console reads it as JSON"
        );
        assert_eq!(r.headers()["cross-origin-resource-policy"], "same-origin");
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn connect_src(csp: &str) -> Vec<String> {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("connect-src "))
            .expect("a connect-src directive")
            .split(' ')
            .map(String::from)
            .collect()
    }

    async fn console_csp(config: &Config) -> String {
        let r = get(config, "/").await;
        r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn without_oidc_the_console_is_offered_the_password_form_only() {
        let c = config(&[]);
        assert_eq!(
            auth_config(&c).await,
            json!({"password": true, "password_reset": false, "oidc": null})
        );
        let with_mail = config(&[
            "--smtp-url=smtp://mail.acme.test:587",
            "--mail-from=suporte@acme.test",
            "--public-url=https://acme.chat.test",
        ]);
        assert_eq!(auth_config(&with_mail).await["password_reset"], true);
        assert_eq!(connect_src(&console_csp(&c).await), ["'self'"]);
    }

    #[tokio::test]
    async fn with_oidc_the_console_learns_the_issuer_and_its_client_id_is_the_audience() {
        let c = config(&OIDC);
        assert_eq!(
            auth_config(&c).await,
            json!({"password": true, "password_reset": false, "oidc": {
                "issuer": "https://login.acme.test/realms/acme/",
                "client_id": "atendo-console",
                "display_name": "login.acme.test",
                "token_endpoint": null,
            }})
        );
        let mut args = OIDC.to_vec();
        args.push("--oidc-display-name=ACME Login");
        let named = auth_config(&config(&args)).await;
        assert_eq!(named["oidc"]["display_name"], "ACME Login");
    }

    #[tokio::test]
    async fn the_csp_admits_the_issuers_origin_and_no_other() {
        let c = config(&OIDC);
        assert_eq!(
            connect_src(&console_csp(&c).await),
            ["'self'", "https://login.acme.test"],
            "the origin only: no path, no wildcard"
        );
    }

    #[tokio::test]
    async fn a_token_endpoint_elsewhere_is_announced_and_admitted_by_origin() {
        // Cognito: the issuer is cognito-idp, the token endpoint the pool's hosted domain.
        let c = config(&[
            "--oidc-issuer=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
            "--oidc-audience=client123",
            "--oidc-jwks-url=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json",
            "--oidc-token-endpoint=https://acme.auth.eu-west-1.amazoncognito.com/oauth2/token",
        ]);
        let body = auth_config(&c).await;
        assert_eq!(
            body["oidc"]["token_endpoint"],
            "https://acme.auth.eu-west-1.amazoncognito.com/oauth2/token"
        );
        assert_eq!(
            connect_src(&console_csp(&c).await),
            [
                "'self'",
                "https://cognito-idp.eu-west-1.amazonaws.com",
                "https://acme.auth.eu-west-1.amazoncognito.com",
            ]
        );
    }

    #[test]
    fn issuer_urls_that_cannot_become_a_csp_origin_stop_the_start() {
        assert_eq!(
            http_url("https://login.acme.test/x/").as_deref(),
            Ok("https://login.acme.test/x/")
        );
        for bad in [
            "login.acme.test",
            "ftp://login.acme.test",
            "https://a.test; script-src *",
            "https://a.test/ x",
            "javascript:alert(1)",
        ] {
            assert!(http_url(bad).is_err(), "{bad} accepted");
        }
        let err = Config::try_parse_from([
            "chat-server",
            "--oidc-issuer=https://a.test; script-src *",
            "--oidc-audience=a",
            "--oidc-jwks-url=https://a.test/jwks",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("CHAT_OIDC_ISSUER"), "{err}");
    }
}
