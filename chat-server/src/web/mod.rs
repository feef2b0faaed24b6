//! The two screens people use, served by the chat-server itself (no CDN, works embedded):
//! the agent console at `/`, the visitor widget at `/widget.js`, their ES modules and styles
//! under `/assets/`, the tenant's branding at `GET /api/v1/branding`, and how the console may
//! sign agents in at `GET /api/v1/auth/config` (see [`sign_in`]).
//!
//! The files live in `chat-server/web/` and are compiled in (see [`assets`]). Every response
//! carries the security headers of [`security`].

mod assets;
mod security;
pub mod sign_in;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chat_settings::rules::Locale;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Config;
pub(crate) use assets::etag;
use assets::{ASSETS, Audience};
use security::Policies;
pub use security::origin_of;

/// A state-less router for merging into the app.
pub fn router(config: &Config) -> Router {
    let policies = Arc::new(Policies::new(config));
    let mut router = Router::new();
    for asset in ASSETS {
        let served = Arc::new(Served {
            body: Bytes::from_static(asset.body),
            content_type: asset.content_type,
            etag: OnceLock::new(),
            audience: asset.audience,
            policies: policies.clone(),
        });
        router = router.route(
            asset.url,
            get(move |request: HeaderMap| serve(served.clone(), request)),
        );
    }
    let brand = branding_json(config);
    let served = Arc::new(Served {
        etag: OnceLock::new(),
        body: brand.into(),
        content_type: "application/json",
        // The widget reads it from customers' pages.
        audience: Audience::Widget,
        policies: policies.clone(),
    });
    let router = router.route("/api/v1/branding", get(branding).with_state(served));
    let sign_in = sign_in::config_json(config);
    let served = Arc::new(Served {
        etag: OnceLock::new(),
        body: sign_in.into(),
        content_type: "application/json",
        // Only the console signs agents in.
        audience: Audience::Console,
        policies,
    });
    router.route("/api/v1/auth/config", get(auth_config).with_state(served))
}

/// The entries of these state-less routes, which live here outside the v1 router, in the OpenAPI
/// document (`api::openapi` merges it).
#[derive(utoipa::OpenApi)]
#[openapi(paths(branding, auth_config))]
pub struct WebDoc;

#[utoipa::path(
    get, path = "/api/v1/branding", tag = "branding", operation_id = "branding",
    summary = "The tenant's branding, for the widget and console before anyone signs in",
    description = "Public. Carries an ETag; `If-None-Match` with it answers 304.",
    responses(
        (status = 200, description = "The branding", body = Branding),
        (status = 304, description = "Not modified (If-None-Match matched the ETag)"),
    ),
)]
async fn branding(State(served): State<Arc<Served>>, request: HeaderMap) -> Response {
    serve(served, request).await
}

#[utoipa::path(
    get, path = "/api/v1/auth/config", tag = "identity", operation_id = "sign_in_config",
    summary = "How agents may sign in to the console: password, and single sign-on when configured",
    description = "Public. Carries an ETag; `If-None-Match` with it answers 304.",
    responses(
        (status = 200, description = "The sign-in options", body = sign_in::SignInConfig),
        (status = 304, description = "Not modified (If-None-Match matched the ETag)"),
    ),
)]
async fn auth_config(State(served): State<Arc<Served>>, request: HeaderMap) -> Response {
    serve(served, request).await
}

/// One fixed response, prepared when the router is built. Its ETag is worked out at the first
/// request: hashing every embedded asset at start-up read them all into an idle server's memory.
struct Served {
    body: Bytes,
    content_type: &'static str,
    etag: OnceLock<String>,
    audience: Audience,
    policies: Arc<Policies>,
}

impl Served {
    fn etag(&self) -> &str {
        self.etag.get_or_init(|| assets::etag(&self.body))
    }
}

/// The CHAT_BRAND_* settings, and `max_message_bytes` (CHAT_MAX_MESSAGE_BYTES): both screens need
/// it before anyone signs in, to refuse an over-long message the way the server counts it (UTF-8
/// bytes).
#[derive(Serialize, ToSchema)]
pub struct Branding<'a> {
    product_name: &'a str,
    primary_color: &'a str,
    #[schema(required = true)]
    logo_url: Option<&'a str>,
    /// `en` or `pt-BR`.
    #[schema(value_type = String, example = "pt-BR")]
    locale: Locale,
    #[schema(required = true)]
    welcome_message: Option<&'a str>,
    max_message_bytes: usize,
}

fn branding_json(config: &Config) -> Vec<u8> {
    serde_json::to_vec(&Branding {
        product_name: &config.brand_product_name,
        primary_color: &config.brand_primary_color,
        logo_url: config.brand_logo_url.as_deref(),
        locale: config.brand_locale,
        welcome_message: config.brand_welcome_message.as_deref(),
        max_message_bytes: config.max_message_bytes,
    })
    .expect("branding serializes")
}

async fn serve(served: Arc<Served>, request: HeaderMap) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == served.etag() || tag.trim() == "*")
        });
    let mut response = if fresh {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
    } else {
        Response::builder()
            .header(header::CONTENT_TYPE, served.content_type)
            .body(Body::from(served.body.clone()))
    }
    .expect("static response parts are valid");
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(served.etag()).expect("hex etag"),
    );
    // Unversioned URLs: always revalidate (cheap with the ETag) so an upgrade shows at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    served.policies.apply(served.audience, headers);
    response
}

#[cfg(test)]
mod tests;
