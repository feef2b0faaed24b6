//! The REST contract in the repository: `docs/openapi.json` is generated from the handlers
//! (`chat_server::api::openapi`), never edited by hand, and must equal what the code generates
//! and serves at `GET /api/v1/openapi.json`.

mod common;

use std::path::PathBuf;

use chat_server::api::openapi;
use common::TestServer;
use serde_json::Value;

const REFRESH: &str = "ATENDO_WRITE_OPENAPI=1 cargo nextest run --workspace -E 'test(openapi)'";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

/// Every operation the contract (chat-api v1 and the v1.1 additions) names that this server
/// serves, as the contract writes it.
const CONTRACT: &[(&str, &str)] = &[
    // v1
    ("post", "/api/v1/visitors"),
    ("post", "/api/v1/agents/login"),
    ("post", "/api/v1/agents"),
    ("post", "/api/v1/conversations"),
    ("get", "/api/v1/conversations"),
    ("get", "/api/v1/conversations/{id}"),
    ("get", "/api/v1/conversations/{id}/messages"),
    ("post", "/api/v1/conversations/{id}/messages"),
    ("post", "/api/v1/conversations/{id}/assign"),
    ("post", "/api/v1/conversations/{id}/status"),
    ("post", "/api/v1/uploads"),
    ("get", "/api/v1/ws"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    // v1.1
    ("get", "/api/v1/agents"),
    ("patch", "/api/v1/agents/{id}"),
    ("delete", "/api/v1/agents/{id}"),
    ("post", "/api/v1/agents/password-reset"),
    ("post", "/api/v1/agents/password-reset/confirm"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/agents/me/password"),
    ("get", "/api/v1/canned-responses"),
    ("post", "/api/v1/canned-responses"),
    ("put", "/api/v1/canned-responses/{id}"),
    ("delete", "/api/v1/canned-responses/{id}"),
    ("put", "/api/v1/conversations/{id}/labels"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/teams"),
    ("post", "/api/v1/teams"),
    ("patch", "/api/v1/teams/{id}"),
    ("delete", "/api/v1/teams/{id}"),
    ("post", "/api/v1/api-tokens"),
    ("get", "/api/v1/api-tokens"),
    ("delete", "/api/v1/api-tokens/{id}"),
    // v1.1, when no one is there
    ("get", "/api/v1/availability"),
    ("patch", "/api/v1/visitors/me"),
    ("post", "/api/v1/conversations/{id}/transcript/email"),
];

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    doc["paths"].get(path).and_then(|item| item.get(method))
}

/// The first line where two texts differ, to point at the change without printing 3,000 lines.
fn first_difference(committed: &str, generated: &str) -> String {
    let mut committed_lines = committed.lines();
    for (n, line) in generated.lines().enumerate() {
        match committed_lines.next() {
            Some(old) if old == line => continue,
            old => {
                return format!(
                    "line {}: committed {:?}, generated {line:?}",
                    n + 1,
                    old.unwrap_or("<end of file>")
                );
            }
        }
    }
    "the committed file has extra lines at the end".into()
}

#[test]
fn the_committed_openapi_document_is_what_the_code_generates() {
    let generated = openapi::json();
    let path = committed_path();
    if std::env::var_os("ATENDO_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}; write it with `{REFRESH}`", path.display()));
    assert!(
        committed == generated,
        "docs/openapi.json is stale ({}); regenerate it with `{REFRESH}` and commit it",
        first_difference(&committed, &generated)
    );
}

#[test]
fn the_openapi_document_has_every_operation_the_contract_names() {
    let doc: Value = serde_json::from_str(&openapi::json()).unwrap();
    let missing: Vec<String> = CONTRACT
        .iter()
        .filter(|(method, path)| operation(&doc, method, path).is_none())
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "not in the document: {missing:?}");
}

#[test]
fn every_openapi_operation_names_its_errors_and_how_it_authenticates() {
    let doc: Value = serde_json::from_str(&openapi::json()).unwrap();
    let error_body = serde_json::json!({"$ref": "#/components/schemas/ErrorBody"});
    let public = [
        "/api/v1/visitors",
        "/api/v1/agents/login",
        "/api/v1/agents/password-reset",
        "/api/v1/agents/password-reset/confirm",
        "/api/v1/branding",
        "/api/v1/auth/config",
        "/api/v1/availability",
        "/api/v1/openapi.json",
        "/api/v1/ws",
        "/health/live",
        "/health/ready",
    ];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            assert!(op["operationId"].is_string(), "{name} has no operationId");
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                !public.contains(&path.as_str()),
                "{name}: bearer security where a token is needed, none where it is not"
            );
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"], error_body,
                        "{name} {status}: an error answers with the error body"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= CONTRACT.len(), "only {checked} operations");
}

#[test]
fn operation_ids_are_unique_for_client_generators() {
    let doc: Value = serde_json::from_str(&openapi::json()).unwrap();
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "repeated operationIds");
}

#[tokio::test]
async fn openapi_json_is_served_publicly_with_the_committed_bytes() {
    let server = TestServer::start().await;
    let url = server.url("/api/v1/openapi.json");
    let r = server.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    let etag = r.headers()["etag"].clone();
    assert_eq!(r.text().await.unwrap(), openapi::json());

    let again = server
        .http
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

/// The server routes from the same table as the document but builds its router without the
/// OpenAPI descriptions (api/routes.rs), so check that every documented operation is served. An
/// unrouted path answers 404 with an empty body and an unrouted method 405; a routed one, asked
/// without credentials or with a made-up id, answers with something else or with an error body.
#[tokio::test]
async fn every_documented_operation_is_routed_by_the_server() {
    let server = TestServer::start().await;
    let doc: Value = serde_json::from_str(&openapi::json()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete: String = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "01JATENDOROUTECHECK00000000"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let name = format!("{} {path}", method.to_uppercase());
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = server
                .http
                .request(method, server.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.bytes().await.unwrap();
            assert_ne!(
                status, 405,
                "{name}: the path is served, this method is not"
            );
            assert!(
                !(status == 404 && body.is_empty()),
                "{name}: not routed (404 without a body)"
            );
            checked += 1;
        }
    }
    assert!(checked >= CONTRACT.len(), "only {checked} operations");
}
