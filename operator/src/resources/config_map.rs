//! The chat-server's non-secret configuration, mounted whole with envFrom: the chat contract's
//! settings (names from `chat_settings::names`), the plan's limits and retention, the first admin's email, single sign-on, business
//! hours, routing, branding and the mail sender.

use std::collections::BTreeMap;

use chat_settings::names;
use k8s_openapi::api::core::v1::ConfigMap;

use super::CHAT_SERVER;
use super::deployment::{CONTAINER_PORT, METRICS_PORT, SHUTDOWN_GRACE_SECONDS};
use crate::context::TenantContext;
use crate::tenant::{BusinessHours, RoutingMode};

pub fn build(ctx: &TenantContext) -> ConfigMap {
    let s = ctx.settings;
    let sizing = ctx.sizing;
    let branding = ctx.tenant.spec.branding.clone().unwrap_or_default();
    let product_name = branding
        .product_name
        .clone()
        .unwrap_or_else(|| ctx.tenant.spec.display_name.clone());
    let mut data: BTreeMap<String, String> = [
        (names::LISTEN, format!("0.0.0.0:{CONTAINER_PORT}")),
        (names::METRICS_LISTEN, format!("0.0.0.0:{METRICS_PORT}")),
        (names::PUBLIC_URL, ctx.url.clone()),
        // The pages that may use the chat from a browser: the tenant's own host and the widget's
        // sites, the same list as the bucket's CORS rule.
        (names::ALLOWED_ORIGINS, ctx.allowed_origins.join(",")),
        (names::BUS_NAMESPACE, ctx.bus_namespace.clone()),
        (names::LOG_FORMAT, "json".into()),
        // Behind the ingress, the client address is the entry the outermost trusted proxy
        // appended to X-Forwarded-For; anything left of it is client-supplied.
        (names::TRUSTED_PROXY_HOPS, s.trusted_proxy_hops.to_string()),
        (
            names::SHUTDOWN_GRACE_SECS,
            SHUTDOWN_GRACE_SECONDS.to_string(),
        ),
        (names::S3_BUCKET, ctx.bucket.clone()),
        (names::S3_REGION, s.s3_region.clone()),
        (names::MAX_UPLOAD_MB, sizing.max_upload_mb.to_string()),
        (names::WS_RATE, sizing.rate_limits.ws_rate.to_string()),
        (names::WS_BURST, sizing.rate_limits.ws_burst.to_string()),
        (
            names::VISITOR_RATE,
            sizing.rate_limits.visitor_rate.to_string(),
        ),
        // Conversations and their files expire together, by the conversation's last change: the
        // chat-server erases both, and the bucket expires no upload by age (s3_storage::lifecycle).
        (names::RETENTION_DAYS, sizing.retention_days.to_string()),
        (names::BRAND_PRODUCT_NAME, product_name.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sso = ctx.tenant.spec.sso.clone();
    let chat = ctx.tenant.spec.chat.clone().unwrap_or_default();
    let routing = chat.routing;
    let optional = [
        (names::ADMIN_EMAIL, Some(ctx.admin_email.clone())),
        // The relay's URL holds credentials: it is in the chat-credentials Secret.
        (names::MAIL_FROM, s.mail_from_for(&product_name)),
        (names::OIDC_ISSUER, sso.as_ref().map(|o| o.issuer.clone())),
        (
            names::OIDC_AUDIENCE,
            sso.as_ref().map(|o| o.audience.clone()),
        ),
        (
            names::OIDC_JWKS_URL,
            sso.as_ref().map(|o| o.jwks_url.clone()),
        ),
        (
            names::OIDC_ALLOWED_DOMAINS,
            sso.as_ref()
                .filter(|o| !o.allowed_domains.is_empty())
                .map(|o| o.allowed_domains.join(",")),
        ),
        (
            names::OIDC_ADMIN_GROUP,
            sso.as_ref().and_then(|o| o.admin_group.clone()),
        ),
        (
            names::OIDC_DISPLAY_NAME,
            sso.as_ref().and_then(|o| o.display_name.clone()),
        ),
        (
            names::OIDC_TOKEN_ENDPOINT,
            sso.and_then(|o| o.token_endpoint),
        ),
        (
            names::BUSINESS_HOURS,
            chat.business_hours
                .as_ref()
                .map(BusinessHours::to_contract_json),
        ),
        (
            names::AUTO_ASSIGN,
            routing.as_ref().map(|r| match r.mode {
                RoutingMode::Off => "off".to_string(),
                RoutingMode::RoundRobin => "round_robin".to_string(),
            }),
        ),
        (
            names::AGENT_CAPACITY,
            routing
                .as_ref()
                .and_then(|r| r.agent_capacity)
                .map(|n| n.to_string()),
        ),
        (names::S3_ENDPOINT, s.s3_endpoint.clone()),
        (names::BRAND_PRIMARY_COLOR, branding.primary_color),
        (names::BRAND_LOGO_URL, branding.logo_url),
        (names::BRAND_LOCALE, branding.locale),
        (names::BRAND_WELCOME_MESSAGE, branding.welcome_message),
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
