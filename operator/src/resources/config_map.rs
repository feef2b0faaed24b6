//! The chat-server's non-secret configuration, mounted whole with envFrom: the chat contract's
//! CHAT_* settings, the plan's limits, the first admin's email, single sign-on, and branding under
//! CHAT_BRAND_* (names the chat-server can adopt as they are).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::CHAT_SERVER;
use super::deployment::{CONTAINER_PORT, METRICS_PORT, SHUTDOWN_GRACE_SECONDS};
use crate::context::TenantContext;

pub fn build(ctx: &TenantContext) -> ConfigMap {
    let s = ctx.settings;
    let sizing = ctx.sizing;
    let branding = ctx.tenant.spec.branding.clone().unwrap_or_default();
    let mut data: BTreeMap<String, String> = [
        ("CHAT_LISTEN", format!("0.0.0.0:{CONTAINER_PORT}")),
        ("CHAT_METRICS_LISTEN", format!("0.0.0.0:{METRICS_PORT}")),
        ("CHAT_PUBLIC_URL", ctx.url.clone()),
        ("CHAT_BUS_NAMESPACE", ctx.bus_namespace.clone()),
        ("CHAT_LOG_FORMAT", "json".into()),
        // Behind the ingress, the client address is the entry the outermost trusted proxy
        // appended to X-Forwarded-For; anything left of it is client-supplied.
        ("CHAT_TRUSTED_PROXY_HOPS", s.trusted_proxy_hops.to_string()),
        (
            "CHAT_SHUTDOWN_GRACE_SECS",
            SHUTDOWN_GRACE_SECONDS.to_string(),
        ),
        ("CHAT_S3_BUCKET", ctx.bucket.clone()),
        ("CHAT_S3_REGION", s.s3_region.clone()),
        ("CHAT_MAX_UPLOAD_MB", sizing.max_upload_mb.to_string()),
        ("CHAT_WS_RATE", sizing.rate_limits.ws_rate.to_string()),
        ("CHAT_WS_BURST", sizing.rate_limits.ws_burst.to_string()),
        (
            "CHAT_VISITOR_RATE",
            sizing.rate_limits.visitor_rate.to_string(),
        ),
        (
            "CHAT_BRAND_PRODUCT_NAME",
            branding
                .product_name
                .clone()
                .unwrap_or_else(|| ctx.tenant.spec.display_name.clone()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sso = ctx.tenant.spec.sso.clone();
    let optional = [
        ("CHAT_ADMIN_EMAIL", Some(ctx.admin_email.clone())),
        ("CHAT_OIDC_ISSUER", sso.as_ref().map(|o| o.issuer.clone())),
        (
            "CHAT_OIDC_AUDIENCE",
            sso.as_ref().map(|o| o.audience.clone()),
        ),
        ("CHAT_OIDC_JWKS_URL", sso.map(|o| o.jwks_url)),
        ("CHAT_S3_ENDPOINT", s.s3_endpoint.clone()),
        ("CHAT_BRAND_PRIMARY_COLOR", branding.primary_color),
        ("CHAT_BRAND_LOGO_URL", branding.logo_url),
        ("CHAT_BRAND_LOCALE", branding.locale),
        ("CHAT_BRAND_WELCOME_MESSAGE", branding.welcome_message),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            data.insert(key.into(), value);
        }
    }
    ConfigMap {
        metadata: ctx.meta(CHAT_SERVER, ctx.chat_labels()),
        data: Some(data),
        ..ConfigMap::default()
    }
}
