//! An Atlas Admin API v2 stand-in on `wiremock`: it challenges every request without an
//! Authorization header the way Atlas does (401 with `WWW-Authenticate: Digest`, qop=auth, MD5),
//! checks each digest answer itself (RFC 7616, independent of the client's crate), serves the
//! `databaseUsers` resource from memory only to correctly signed requests that speak the
//! versioned media type, and can be told to fail (status codes, delays) to test backoff.
//!
//! Not modelled: Atlas's other resources, pagination, the IP access list, real rate limits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atendo_operator::controller::atlas_database::{AtlasConfig, MEDIA_TYPE};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

pub const PROJECT: &str = "5f1a2b3c4d5e6f7a8b9c0d1e";
pub const CLUSTER: &str = "Cluster0";
pub const PUBLIC_KEY: &str = "okfwdxmb";
pub const PRIVATE_KEY: &str = "a0b1c2d3-e4f5-4a6b-8c9d-0e1f2a3b4c5d";
const REALM: &str = "MMS Public API";
const NONCE: &str = "wZ5rKl4mJbW0cX9dT2yH8vQ1nE6sA3uF";

pub fn users_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/databaseUsers")
}

pub fn user_path(user: &str) -> String {
    format!("{}/admin/{user}", users_path())
}

/// What the stand-in does instead of serving a signed request.
#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16),
    /// Answers correctly, but only after this long.
    Delay(Duration),
}

#[derive(Clone, Default)]
pub struct State {
    /// username -> the user as Atlas stores it (password included, which Atlas never returns).
    pub users: Arc<Mutex<BTreeMap<String, Value>>>,
    pub fault: Arc<Mutex<Option<Fault>>>,
}

pub struct AtlasStandIn {
    pub server: MockServer,
    pub state: State,
}

impl AtlasStandIn {
    /// The challenge, the digest check and the stateful `databaseUsers` resource.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = State::default();
        Mock::given(Unauthenticated)
            .respond_with(challenge())
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(SignedDigest)
            .respond_with(Users(state.clone()))
            .with_priority(2)
            .mount(&server)
            .await;
        // A wrong answer gets a fresh challenge, as Atlas gives it.
        Mock::given(any())
            .respond_with(challenge())
            .with_priority(u8::MAX)
            .mount(&server)
            .await;
        AtlasStandIn { server, state }
    }

    pub fn config(&self) -> AtlasConfig {
        AtlasConfig {
            api_url: self.server.uri(),
            project_id: PROJECT.into(),
            cluster: CLUSTER.into(),
            public_key: PUBLIC_KEY.into(),
            private_key: PRIVATE_KEY.into(),
            request_timeout: Duration::from_secs(2),
        }
    }

    pub fn fail_with(&self, fault: Option<Fault>) {
        *self.state.fault.lock().unwrap() = fault;
    }

    pub fn user(&self, name: &str) -> Option<Value> {
        self.state.users.lock().unwrap().get(name).cloned()
    }

    /// (method, path, signed) of every request so far.
    pub async fn requests(&self) -> Vec<(String, String, bool)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_string(),
                    r.headers.contains_key("authorization"),
                )
            })
            .collect()
    }
}

pub fn challenge() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .insert_header(
            "www-authenticate",
            format!(
                "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{NONCE}\", algorithm=MD5, qop=\"auth\", stale=false"
            ),
        )
        .set_body_json(json!({"error": 401, "errorCode": "NOT_AUTHORIZED", "detail": "You are not authorized for this resource.", "reason": "Unauthorized"}))
}

pub struct Unauthenticated;

impl Match for Unauthenticated {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key("authorization")
    }
}

/// A request whose `Authorization: Digest` answer is right for this key pair, nonce, method and
/// URI (qop=auth, MD5).
pub struct SignedDigest;

impl Match for SignedDigest {
    fn matches(&self, request: &Request) -> bool {
        let Some(header) = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(fields) = header.strip_prefix("Digest ").map(digest_fields) else {
            return false;
        };
        let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
        let mut uri = request.url.path().to_string();
        if let Some(q) = request.url.query() {
            uri = format!("{uri}?{q}");
        }
        let hex = |s: String| format!("{:x}", Md5::digest(s.as_bytes()));
        let ha1 = hex(format!("{PUBLIC_KEY}:{REALM}:{PRIVATE_KEY}"));
        let ha2 = hex(format!("{}:{uri}", request.method));
        let expected = hex(format!(
            "{ha1}:{NONCE}:{}:{}:auth:{ha2}",
            field("nc"),
            field("cnonce")
        ));
        field("username") == PUBLIC_KEY
            && field("realm") == REALM
            && field("nonce") == NONCE
            && field("uri") == uri
            && field("qop") == "auth"
            && !field("cnonce").is_empty()
            && field("response") == expected
    }
}

/// `key=value` and `key="value"` pairs of a Digest header.
pub fn digest_fields(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while let Some((key, tail)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let (value, tail) = if let Some(quoted) = tail.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = tail.find(',').unwrap_or(tail.len());
            (&tail[..end], &tail[end..])
        };
        out.insert(key, value.trim().to_string());
        rest = tail.trim_start_matches([',', ' ']);
    }
    out
}

fn error(status: u16, code: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(
        json!({"error": status, "errorCode": code, "detail": detail, "reason": code}),
    )
}

/// The `databaseUsers` resource over `State`.
struct Users(State);

impl Respond for Users {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fault = self.0.fault.lock().unwrap().clone();
        let delay = match fault {
            Some(Fault::Status(status)) => {
                return error(status, "SERVICE_UNAVAILABLE", "injected fault");
            }
            Some(Fault::Delay(d)) => d,
            None => Duration::ZERO,
        };
        self.serve(request).set_delay(delay)
    }
}

impl Users {
    fn serve(&self, request: &Request) -> ResponseTemplate {
        let accept = request.headers.get("accept").and_then(|v| v.to_str().ok());
        if accept != Some(MEDIA_TYPE) {
            return error(406, "INVALID_VERSION", "unsupported Accept");
        }
        let has_body = !request.body.is_empty();
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        if has_body && content_type != Some(MEDIA_TYPE) {
            return error(415, "UNSUPPORTED_MEDIA_TYPE", "unsupported Content-Type");
        }
        let body: Value = if has_body {
            match serde_json::from_slice(&request.body) {
                Ok(v) => v,
                Err(_) => return error(400, "INVALID_JSON", "body is not JSON"),
            }
        } else {
            Value::Null
        };
        let mut users = self.0.users.lock().unwrap();
        let path = request.url.path();
        let method = request.method.as_str();
        if path == users_path() && method == "POST" {
            let name = body["username"].as_str().unwrap_or_default().to_string();
            if users.contains_key(&name) {
                return error(
                    409,
                    "USER_ALREADY_EXISTS",
                    "The specified database user already exists.",
                );
            }
            users.insert(name, body.clone());
            let mut shown = body;
            shown.as_object_mut().unwrap().remove("password");
            return ResponseTemplate::new(201).set_body_json(shown);
        }
        let Some(name) = path.strip_prefix(&user_path("")) else {
            return error(404, "RESOURCE_NOT_FOUND", "no such resource");
        };
        let Some(stored) = users.get_mut(name) else {
            return error(404, "USERNAME_NOT_FOUND", "No user with that name exists.");
        };
        match method {
            "PATCH" => {
                for (k, v) in body.as_object().cloned().unwrap_or_default() {
                    stored[k] = v;
                }
                ResponseTemplate::new(200).set_body_json(json!({"username": name}))
            }
            "DELETE" => {
                users.remove(name);
                ResponseTemplate::new(204)
            }
            _ => error(405, "METHOD_NOT_ALLOWED", "not modelled"),
        }
    }
}
