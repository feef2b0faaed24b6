//! Security headers of the pages and files this module serves.
//!
//! The console gets a strict Content-Security-Policy: scripts and styles only from this
//! origin (no inline code at all), Trusted Types so that no string can reach an HTML sink,
//! and no framing. Connections may go to this origin, to wherever attachments live (the
//! tenant bucket) and to the OIDC issuer's origins (single sign-on), all known from the
//! configuration.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use super::assets::Audience;
use crate::config::Config;

/// For responses that are not pages (scripts, styles, JSON): nothing may run or frame them
/// should a browser ever be navigated to one.
const RESOURCE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

pub struct Policies {
    console_csp: HeaderValue,
}

impl Policies {
    pub fn new(config: &Config) -> Self {
        let csp = console_csp(config);
        Self {
            console_csp: HeaderValue::from_str(&csp).expect("CSP is built from checked ASCII"),
        }
    }

    /// The headers for one response to `audience`.
    pub fn apply(&self, audience: Audience, headers: &mut HeaderMap) {
        set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(headers, header::REFERRER_POLICY, "no-referrer");
        match audience {
            Audience::ConsolePage => {
                headers.insert(header::CONTENT_SECURITY_POLICY, self.console_csp.clone());
                set(headers, header::X_FRAME_OPTIONS, "DENY");
                set(
                    headers,
                    header::STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000",
                );
                set(headers, "cross-origin-opener-policy", "same-origin");
                set(headers, "cross-origin-resource-policy", "same-origin");
                set(
                    headers,
                    "permissions-policy",
                    "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
                );
            }
            Audience::Console => {
                set(headers, header::CONTENT_SECURITY_POLICY, RESOURCE_CSP);
                set(headers, "cross-origin-resource-policy", "same-origin");
            }
            Audience::Widget => {
                set(headers, header::CONTENT_SECURITY_POLICY, RESOURCE_CSP);
                // Customers' pages import these modules and read the branding; no cookies
                // or credentials are involved, so a wildcard grants nothing.
                set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
                set(headers, "cross-origin-resource-policy", "cross-origin");
            }
        }
    }
}

fn set<K: TryInto<HeaderName>>(headers: &mut HeaderMap, name: K, value: &'static str)
where
    K::Error: std::fmt::Debug,
{
    headers.insert(
        name.try_into().expect("static header name"),
        HeaderValue::from_static(value),
    );
}

/// The console's policy, with the configuration's external origins added where needed.
pub fn console_csp(config: &Config) -> String {
    let mut connect = vec!["'self'".to_string()];
    let mut img = vec![
        "'self'".into(),
        "data:".into(),
        "blob:".into(),
        "https:".into(),
    ];
    if let Some(origin) = config.public_url.as_deref().and_then(origin_of) {
        // The websocket and local attachment URLs are built from the public URL.
        let ws = origin
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        connect.push(origin);
        connect.push(ws);
    }
    if config.s3_bucket.is_some() {
        // Attachments are fetched from presigned bucket URLs (virtual-hosted or path style).
        match config.s3_endpoint.as_deref().and_then(origin_of) {
            Some(origin) => {
                let wildcard = origin.replacen("://", "://*.", 1);
                connect.push(origin);
                connect.push(wildcard);
            }
            None => connect.push("https://*.amazonaws.com".into()),
        }
    }
    // Single sign-on: the issuer's discovery document and token endpoint (origins only).
    connect.extend(super::sign_in::connect_origins(config));
    if let Some(origin) = config
        .brand_logo_url
        .as_deref()
        .filter(|u| !u.starts_with("https://"))
        .and_then(origin_of)
    {
        img.push(origin);
    }
    let mut seen = std::collections::HashSet::new();
    connect.retain(|o| seen.insert(o.clone()));
    [
        "default-src 'none'".to_string(),
        "script-src 'self'".into(),
        "style-src 'self'".into(),
        format!("img-src {}", img.join(" ")),
        format!("connect-src {}", connect.join(" ")),
        "font-src 'self'".into(),
        "manifest-src 'self'".into(),
        "base-uri 'none'".into(),
        "form-action 'self'".into(),
        "frame-ancestors 'none'".into(),
        "object-src 'none'".into(),
        "require-trusted-types-for 'script'".into(),
        "trusted-types 'none'".into(),
    ]
    .join("; ")
}

/// `scheme://host[:port]` of an http(s) URL, or `None` for anything else. Only characters of
/// a host may pass, so a configured URL cannot smuggle directives into the policy.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_keep_scheme_host_and_port_only() {
        assert_eq!(
            origin_of("https://Acme.example.com/x?y#z").as_deref(),
            Some("https://acme.example.com")
        );
        assert_eq!(
            origin_of("http://u:p@127.0.0.1:9000/b").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a.com;script-src *"), None);
        assert_eq!(origin_of("https:// evil"), None);
    }
}
