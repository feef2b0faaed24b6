//! The HTTP surface: `app(state) -> Router`. Handlers are thin; the rules live in `chat`.

mod api_tokens;
mod availability;
mod canned;
mod conversations;
pub mod error;
mod extract;
pub mod health;
mod identity;
pub mod openapi;
pub mod origins;
mod paging;
mod password_reset;
mod ratings;
mod reports;
mod rights;
mod routes;
mod search;
mod sessions;
mod teams;
mod transcript;
mod transcript_mail;
mod uploads;
mod visitors;
mod webhooks;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{Any, CorsLayer};

use self::origins::AllowedOrigins;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::chat::Chat;
use crate::delivery::Delivery;
use crate::delivery::session::SessionLimits;
use crate::error::{Error, Kind};
use crate::limits::Limiters;

#[derive(Clone, Debug)]
pub struct WsSettings {
    pub session: Arc<SessionLimits>,
    pub read_buffer: usize,
    pub max_frame_bytes: usize,
}

#[derive(Clone)]
pub struct AppState {
    pub chat: Arc<Chat>,
    pub delivery: Arc<Delivery>,
    /// What `/health/ready` checks.
    pub dependencies: health::Dependencies,
    pub ws: WsSettings,
    pub limits: Arc<Limiters>,
    /// X-Forwarded-For entries to trust, counted from the right (CHAT_TRUSTED_PROXY_HOPS).
    pub proxy_hops: u8,
    /// How long a REST request may take, body included (CHAT_HTTP_REQUEST_TIMEOUT_SECS).
    pub request_timeout: std::time::Duration,
    /// Pages that may call the API and open websockets (CHAT_ALLOWED_ORIGINS).
    pub origins: AllowedOrigins,
    /// Cancelled at shutdown: sockets close with 1012.
    pub shutdown: CancellationToken,
    /// Every websocket session, so shutdown can wait for them to finish their writes.
    pub sessions: TaskTracker,
}

/// Charges one REST write to the caller's budget, the one its websockets' frames draw on too.
fn charge_write(state: &AppState, by: &crate::auth::Principal) -> Result<(), Error> {
    state.limits.check_principal(by.id(), "rest_write", || {
        "too many writes with this token; slow down".into()
    })
}

/// `/metrics`, merged into [`app`]'s router or served on a port of its own (CHAT_METRICS_LISTEN).
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(state)
}

/// The whole router; `extra` carries routes from components (local attachment storage).
pub fn app(state: AppState, extra: Option<Router>) -> Router {
    let v1 = routes::served()
        // Bounds reading the body and the handler. A websocket is not cut: its upgrade answers
        // at once and the session runs on its own task.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    |_: tower::BoxError| async {
                        Error::new(
                            Kind::Unavailable,
                            "timeout",
                            "the request took too long; try again",
                        )
                    },
                ))
                .layer(tower::timeout::TimeoutLayer::new(state.request_timeout)),
        )
        // The widget calls the API from customers' sites: the ones CHAT_ALLOWED_ORIGINS lists,
        // or any when it is unset (see origins.rs for why that is no CSRF risk either way).
        .layer(
            CorsLayer::new()
                .allow_origin(state.origins.cors())
                .allow_methods(Any)
                // Listed, not `*`: the wildcard does not cover Authorization in browsers that
                // follow the Fetch standard to the letter (Firefox).
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                    axum::http::header::ACCEPT,
                ])
                .max_age(std::time::Duration::from_secs(3600)),
        );
    let mut router = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .nest("/api/v1", v1)
        // JSON bodies are small; uploads go straight to the bucket (or the blob routes).
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(state);
    if let Some(extra) = extra {
        router = router.merge(extra);
    }
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        // The path only: the websocket carries its token in the query string (?token=), and a
        // debug log must never hold a credential.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
}
