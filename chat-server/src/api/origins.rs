//! Which web pages may use this server from a browser (CHAT_ALLOWED_ORIGINS).
//!
//! Unset, any page may: the embedded quick start and local development stay open. Set (the
//! operator always sets it, from the Tenant's spec.widget.allowedOrigins plus the tenant's own
//! host), the API's CORS answers only those origins, and a websocket upgrade that carries an
//! `Origin` outside them is refused, so another site cannot embed the tenant's widget.
//!
//! This is not CSRF protection, which the API does not need: credentials are bearer tokens in
//! the Authorization header or the websocket URL, never cookies, so a foreign page gains no
//! ambient authority. It is a tenant's control over where its chat appears. Requests without an
//! `Origin` (servers, the load tool, curl) are not browsers and are not affected; what a bearer
//! token allows is still decided by the token alone.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::http::request::Parts;
use chat_settings::origins::origin_matches;
use tower_http::cors::AllowOrigin;

#[derive(Clone, Debug, Default)]
pub struct AllowedOrigins {
    /// `None`: any origin.
    entries: Option<Arc<[String]>>,
}

impl AllowedOrigins {
    pub fn any() -> Self {
        AllowedOrigins { entries: None }
    }

    /// `entries` (checked by chat_settings::origins::allowed_origin) plus `own`, the origin of
    /// CHAT_PUBLIC_URL, where the console runs.
    pub fn only(entries: &[String], own: Option<String>) -> Self {
        let mut all: Vec<String> = own.into_iter().collect();
        for entry in entries {
            if !all.contains(entry) {
                all.push(entry.clone());
            }
        }
        AllowedOrigins {
            entries: Some(all.into()),
        }
    }

    pub fn allows(&self, origin: &HeaderValue) -> bool {
        let Some(entries) = &self.entries else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        entries.iter().any(|e| origin_matches(e, origin))
    }

    /// For a CORS layer: `*` when any origin may, else the request's origin when it is allowed.
    pub fn cors(&self) -> AllowOrigin {
        if self.entries.is_none() {
            return AllowOrigin::any();
        }
        let this = self.clone();
        AllowOrigin::predicate(move |origin: &HeaderValue, _: &Parts| this.allows(origin))
    }
}
