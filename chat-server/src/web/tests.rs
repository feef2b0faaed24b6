use std::collections::BTreeSet;
use std::path::Path;

use axum::body::to_bytes;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use tower::ServiceExt;

use super::assets::ASSETS;
use super::router;
use crate::config::Config;

fn config(args: &[&str]) -> Config {
    let mut all = vec!["chat-server"];
    all.extend_from_slice(args);
    Config::try_parse_from(all).expect("test config parses")
}

async fn get(config: &Config, uri: &str) -> axum::response::Response {
    get_with(config, uri, None).await
}

async fn get_with(
    config: &Config,
    uri: &str,
    if_none_match: Option<&str>,
) -> axum::response::Response {
    let mut request = Request::get(uri);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    router(config)
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header<'a>(r: &'a axum::response::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

async fn body(r: axum::response::Response) -> String {
    String::from_utf8(to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn branding_json_carries_the_configured_brand() {
    let c = config(&[
        "--brand-product-name",
        "ACME Suporte",
        "--brand-primary-color",
        "#AA3300",
        "--brand-logo-url",
        "https://cdn.acme.example/logo.png",
        "--brand-locale",
        "pt-BR",
        "--brand-welcome-message",
        "Olá! Como podemos ajudar?",
        "--max-message-bytes",
        "2000",
    ]);
    let r = get(&c, "/api/v1/branding").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "application/json");
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    let json: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "product_name": "ACME Suporte",
            "primary_color": "#aa3300",
            "logo_url": "https://cdn.acme.example/logo.png",
            "locale": "pt-BR",
            "welcome_message": "Olá! Como podemos ajudar?",
            "max_message_bytes": 2000,
        })
    );
}

#[tokio::test]
async fn branding_defaults_leave_logo_and_welcome_null() {
    let json: serde_json::Value =
        serde_json::from_str(&body(get(&config(&[]), "/api/v1/branding").await).await).unwrap();
    assert_eq!(json["product_name"], "Atendo");
    assert_eq!(json["locale"], "en");
    assert!(
        json["logo_url"].is_null() && json["welcome_message"].is_null(),
        "{json}"
    );
}

#[tokio::test]
async fn the_console_page_has_a_strict_csp_and_security_headers() {
    let r = get(&config(&[]), "/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    let csp = header(&r, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "require-trusted-types-for 'script'",
    ] {
        assert!(csp.contains(directive), "{directive:?} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");
    assert_eq!(header(&r, "cross-origin-opener-policy"), "same-origin");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_console_csp_allows_the_bucket_and_public_url_it_needs() {
    let c = config(&[
        "--public-url",
        "https://acme.chat.example.com",
        "--s3-bucket",
        "uploads",
        "--s3-endpoint",
        "http://127.0.0.1:9000",
    ]);
    let r = get(&c, "/").await;
    let csp = header(&r, "content-security-policy");
    let connect = csp
        .split("; ")
        .find(|d| d.starts_with("connect-src"))
        .unwrap();
    for origin in [
        "https://acme.chat.example.com",
        "wss://acme.chat.example.com",
        "http://127.0.0.1:9000",
    ] {
        assert!(
            connect.split(' ').any(|o| o == origin),
            "{origin} missing from {connect}"
        );
    }
    let aws = get(&config(&["--s3-bucket", "uploads"]), "/").await;
    assert!(header(&aws, "content-security-policy").contains("https://*.amazonaws.com"));
}

#[tokio::test]
async fn every_asset_is_served_with_its_content_type() {
    let c = config(&[]);
    for (uri, expected) in [
        ("/widget.js", "text/javascript; charset=utf-8"),
        ("/assets/widget/main.js", "text/javascript; charset=utf-8"),
        ("/assets/widget/widget.css", "text/css; charset=utf-8"),
        ("/assets/shared/client.js", "text/javascript; charset=utf-8"),
        ("/assets/console/app.js", "text/javascript; charset=utf-8"),
        ("/assets/console/console.css", "text/css; charset=utf-8"),
    ] {
        let r = get(&c, uri).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        assert_eq!(header(&r, "content-type"), expected, "{uri}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{uri}");
        assert!(!body(r).await.is_empty(), "{uri} is empty");
    }
    for asset in ASSETS {
        let r = get(&c, asset.url).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", asset.url);
        assert_eq!(header(&r, "content-type"), asset.content_type);
    }
    assert_eq!(
        get(&c, "/assets/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn widget_files_may_be_loaded_by_other_sites_but_console_files_may_not() {
    let c = config(&[]);
    for uri in [
        "/widget.js",
        "/assets/widget/view.js",
        "/assets/shared/dom.js",
    ] {
        let r = get(&c, uri).await;
        assert_eq!(header(&r, "access-control-allow-origin"), "*", "{uri}");
        assert_eq!(
            header(&r, "cross-origin-resource-policy"),
            "cross-origin",
            "{uri}"
        );
    }
    let r = get(&c, "/assets/console/thread.js").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(header(&r, "cross-origin-resource-policy"), "same-origin");
}

#[tokio::test]
async fn a_matching_etag_answers_not_modified() {
    let c = config(&[]);
    let first = get(&c, "/widget.js").await;
    let tag = header(&first, "etag").to_string();
    assert_eq!(header(&first, "cache-control"), "no-cache");
    let again = get_with(&c, "/widget.js", Some(&tag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, "x-content-type-options"), "nosniff");
    assert!(body(again).await.is_empty());
    let other = get_with(&c, "/widget.js", Some("\"0000\"")).await;
    assert_eq!(other.status(), StatusCode::OK);
}

fn web_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

fn files_under(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, base, out);
        } else {
            out.insert(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn every_file_in_the_web_folder_is_embedded() {
    let mut on_disk = BTreeSet::new();
    files_under(&web_dir(), &web_dir(), &mut on_disk);
    let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.file.to_string()).collect();
    assert_eq!(
        on_disk, embedded,
        "add new files under web/ to ASSETS (or delete them)"
    );
}

#[test]
fn the_console_page_has_no_inline_script_or_style() {
    let html = std::str::from_utf8(ASSETS.iter().find(|a| a.url == "/").unwrap().body).unwrap();
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains(" src="), "inline script: {tag}");
    }
    assert!(
        !lower.contains("<style"),
        "inline <style> in the console page"
    );
    assert!(
        !lower.contains(" style="),
        "inline style attribute in the console page"
    );
    let handler = lower.match_indices(" on").any(|(i, _)| {
        let rest = &lower[i + 3..];
        let name_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    });
    assert!(!handler, "inline event handler in the console page");
}

#[test]
fn no_script_writes_html_from_strings() {
    for asset in ASSETS.iter().filter(|a| a.file.ends_with(".js")) {
        let text = std::str::from_utf8(asset.body).unwrap();
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!text.contains(sink), "{} uses {sink}", asset.file);
        }
    }
}
