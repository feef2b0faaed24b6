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

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

use crate::config::Config;
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
            etag: assets::etag(asset.body),
            audience: asset.audience,
            policies: policies.clone(),
        });
        router = router.route(
            asset.url,
            get(move |request: HeaderMap| serve(served.clone(), request)),
        );
    }
    let branding = branding_json(config);
    let served = Arc::new(Served {
        etag: assets::etag(&branding),
        body: branding.into(),
        content_type: "application/json",
        // The widget reads it from customers' pages.
        audience: Audience::Widget,
        policies: policies.clone(),
    });
    let router = router.route(
        "/api/v1/branding",
        get(move |request: HeaderMap| serve(served.clone(), request)),
    );
    let sign_in = sign_in::config_json(config);
    let served = Arc::new(Served {
        etag: assets::etag(&sign_in),
        body: sign_in.into(),
        content_type: "application/json",
        // Only the console signs agents in.
        audience: Audience::Console,
        policies,
    });
    router.route(
        "/api/v1/auth/config",
        get(move |request: HeaderMap| serve(served.clone(), request)),
    )
}

/// One fixed response, prepared when the router is built.
struct Served {
    body: Bytes,
    content_type: &'static str,
    etag: String,
    audience: Audience,
    policies: Arc<Policies>,
}

/// `{product_name, primary_color, logo_url, locale, welcome_message}` from the CHAT_BRAND_* settings,
/// and `max_message_bytes` (CHAT_MAX_MESSAGE_BYTES): both screens need it before anyone signs
/// in, to refuse an over-long message the way the server counts it (UTF-8 bytes).
fn branding_json(config: &Config) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "product_name": config.brand_product_name,
        "primary_color": config.brand_primary_color,
        "logo_url": config.brand_logo_url,
        "locale": config.brand_locale,
        "welcome_message": config.brand_welcome_message,
        "max_message_bytes": config.max_message_bytes,
    }))
    .expect("branding serializes")
}

async fn serve(served: Arc<Served>, request: HeaderMap) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == served.etag || tag.trim() == "*")
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
        HeaderValue::from_str(&served.etag).expect("hex etag"),
    );
    // Unversioned URLs: always revalidate (cheap with the ETag) so an upgrade shows at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    served.policies.apply(served.audience, headers);
    response
}

#[cfg(test)]
mod tests;
