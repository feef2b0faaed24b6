//! An Atlas Admin API v2 stand-in on `wiremock`: it challenges every request without an
//! Authorization header the way Atlas does (401 with `WWW-Authenticate: Digest`, qop=auth, MD5),
//! checks each digest answer itself (RFC 7616, independent of the client's crate), serves the
//! `databaseUsers` resource from memory only to correctly signed requests that speak the
//! versioned media type, and can be told to fail (status codes, delays) to test backoff.
//!
//! It also models the `clusters` resource for dedicated tenants (create, 409 on a duplicate
//! name, CREATING then IDLE, termination protection, a resize by PATCH of replicationSpecs that
//! shows the new size at once and is UPDATING for a few GETs before IDLE, a refused unknown
//! instance size, DELETING then gone) and refuses a user scoped to a cluster that does not exist.
//!
//! Not modelled: Atlas's other resources, pagination, the IP access list, real rate limits,
//! any PATCH of a cluster other than termination protection or replicationSpecs, what Atlas
//! says to a PATCH while the cluster is already UPDATING (the operator never sends one).

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
    /// Dedicated clusters (see [`Clusters`]).
    pub clusters: Clusters,
    /// (n, writes so far): the n-th write (POST, PATCH, DELETE) is carried out and its answer
    /// held for five minutes, as if the operator died before hearing it.
    pub hold_write: Arc<Mutex<Option<(usize, usize)>>>,
}

/// The `clusters` resource: a cluster is CREATING for `polls_to_idle` GETs after its POST, then
/// IDLE with a connection string; a DELETE (refused while termination protection is on) makes it
/// DELETING for `polls_to_gone` GETs, then it is gone (404).
#[derive(Clone, Default)]
pub struct Clusters {
    /// name -> the cluster as Atlas describes it, plus "_polls" left in its current state.
    pub live: Arc<Mutex<BTreeMap<String, Value>>>,
    /// Every name a POST created, in order: a name twice is a second cluster.
    pub created: Arc<Mutex<Vec<String>>>,
    pub polls_to_idle: Arc<Mutex<u32>>,
    pub polls_to_gone: Arc<Mutex<u32>>,
    /// GETs a resized cluster stays UPDATING for.
    pub polls_to_resized: Arc<Mutex<u32>>,
    /// (cluster, instance size) of every resize PATCH Atlas accepted, in order.
    pub resized: Arc<Mutex<Vec<(String, String)>>>,
}

/// Atlas's dedicated instance sizes (the general tier); anything else is refused.
pub const INSTANCE_SIZES: [&str; 10] = [
    "M10", "M20", "M30", "M40", "M50", "M60", "M80", "M140", "M200", "M300",
];

/// The SRV address the stand-in gives a cluster once IDLE.
pub fn standard_srv(cluster: &str) -> String {
    format!("mongodb+srv://{}.x7k2p.mongodb.net", cluster.to_lowercase())
}

pub fn clusters_path() -> String {
    format!("/api/atlas/v2/groups/{PROJECT}/clusters")
}

pub fn cluster_path(name: &str) -> String {
    format!("{}/{name}", clusters_path())
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
            dedicated_provider: "AWS".into(),
            dedicated_region: "SA_EAST_1".into(),
        }
    }

    pub fn fail_with(&self, fault: Option<Fault>) {
        *self.state.fault.lock().unwrap() = fault;
    }

    pub fn user(&self, name: &str) -> Option<Value> {
        self.state.users.lock().unwrap().get(name).cloned()
    }

    /// A live cluster as GET shows it (without the stand-in's own bookkeeping).
    pub fn cluster(&self, name: &str) -> Option<Value> {
        self.state
            .clusters
            .live
            .lock()
            .unwrap()
            .get(name)
            .map(shown)
    }

    /// GETs a resized cluster stays UPDATING for before it is IDLE at its new size.
    pub fn resize_polls(&self, n: u32) {
        *self.state.clusters.polls_to_resized.lock().unwrap() = n;
    }

    /// (cluster, size) of every resize Atlas accepted.
    pub fn resizes(&self) -> Vec<(String, String)> {
        self.state.clusters.resized.lock().unwrap().clone()
    }

    /// The electable instance size a live cluster has (as GET shows it).
    pub fn instance_size(&self, name: &str) -> Option<String> {
        self.cluster(name)?["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"]
            ["instanceSize"]
            .as_str()
            .map(String::from)
    }

    /// Names of every cluster POST ever created.
    pub fn clusters_created(&self) -> Vec<String> {
        self.state.clusters.created.lock().unwrap().clone()
    }

    /// Carries out the n-th write from now but never answers it (see [`State::hold_write`]);
    /// None answers everything again.
    pub fn hold_write(&self, n: Option<usize>) {
        *self.state.hold_write.lock().unwrap() = n.map(|n| (n, 0));
    }

    /// Writes counted since [`Self::hold_write`].
    pub fn writes_seen(&self) -> usize {
        self.state
            .hold_write
            .lock()
            .unwrap()
            .map_or(0, |(_, seen)| seen)
    }

    /// GETs a new cluster stays CREATING for, and a deleted one DELETING for.
    pub fn cluster_polls(&self, to_idle: u32, to_gone: u32) {
        *self.state.clusters.polls_to_idle.lock().unwrap() = to_idle;
        *self.state.clusters.polls_to_gone.lock().unwrap() = to_gone;
    }

    /// (method, path, body) of every signed request so far.
    pub async fn signed_bodies(&self) -> Vec<(String, String, Value)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.headers.contains_key("authorization"))
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_string(),
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
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
        let mut delay = delay;
        if request.method.as_str() != "GET"
            && let Some((n, seen)) = self.0.hold_write.lock().unwrap().as_mut()
        {
            *seen += 1;
            if *seen == *n {
                delay = Duration::from_secs(300);
            }
        }
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
        let path = request.url.path();
        let method = request.method.as_str();
        if path == clusters_path() || path.starts_with(&cluster_path("")) {
            return self.0.clusters.serve(method, path, body);
        }
        // A user may be scoped only to a cluster that exists (the shared one always does).
        let scopes_ok = body["scopes"].as_array().is_none_or(|scopes| {
            scopes.iter().all(|scope| {
                let name = scope["name"].as_str().unwrap_or_default();
                name == CLUSTER || self.0.clusters.live.lock().unwrap().contains_key(name)
            })
        });
        if !scopes_ok {
            return error(
                400,
                "INVALID_CLUSTER_NAME_SCOPE",
                "A scope names a cluster that does not exist.",
            );
        }
        let mut users = self.0.users.lock().unwrap();
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

/// A stored cluster without the stand-in's bookkeeping.
fn shown(stored: &Value) -> Value {
    let mut shown = stored.clone();
    shown.as_object_mut().unwrap().remove("_polls");
    shown
}

impl Clusters {
    fn serve(&self, method: &str, path: &str, body: Value) -> ResponseTemplate {
        let mut live = self.live.lock().unwrap();
        if path == clusters_path() {
            if method != "POST" {
                return error(405, "METHOD_NOT_ALLOWED", "not modelled");
            }
            let region = &body["replicationSpecs"][0]["regionConfigs"][0];
            let complete = body["name"].is_string()
                && body["clusterType"] == "REPLICASET"
                && region["providerName"].is_string()
                && region["regionName"].is_string()
                && region["electableSpecs"]["instanceSize"].is_string()
                && region["electableSpecs"]["nodeCount"].is_u64()
                && body["terminationProtectionEnabled"].is_boolean();
            if !complete {
                return error(400, "INVALID_ATTRIBUTE", "incomplete cluster description");
            }
            let name = body["name"].as_str().unwrap().to_string();
            if live.contains_key(&name) {
                return error(
                    409,
                    "DUPLICATE_CLUSTER_NAME",
                    "A cluster with that name already exists.",
                );
            }
            let mut stored = body;
            stored["stateName"] = json!("CREATING");
            stored["_polls"] = json!(*self.polls_to_idle.lock().unwrap());
            self.created.lock().unwrap().push(name.clone());
            live.insert(name, stored.clone());
            return ResponseTemplate::new(201).set_body_json(shown(&stored));
        }
        let name = path.strip_prefix(&cluster_path("")).unwrap_or_default();
        let Some(stored) = live.get_mut(name) else {
            return error(
                404,
                "CLUSTER_NOT_FOUND",
                "No cluster with that name exists.",
            );
        };
        match method {
            "GET" => {
                let polls = stored["_polls"].as_u64().unwrap_or(0);
                match (stored["stateName"].as_str().unwrap_or_default(), polls) {
                    ("CREATING", 0) => {
                        stored["stateName"] = json!("IDLE");
                        stored["connectionStrings"] = json!({ "standardSrv": standard_srv(name) });
                    }
                    ("UPDATING", 0) => stored["stateName"] = json!("IDLE"),
                    ("DELETING", 0) => {
                        live.remove(name);
                        return error(
                            404,
                            "CLUSTER_NOT_FOUND",
                            "No cluster with that name exists.",
                        );
                    }
                    (_, n) if n > 0 => stored["_polls"] = json!(n - 1),
                    _ => {}
                }
                ResponseTemplate::new(200).set_body_json(shown(stored))
            }
            "PATCH" => {
                let only = |key: &str| {
                    body.as_object()
                        .is_some_and(|o| o.len() == 1 && o.contains_key(key))
                };
                if only("terminationProtectionEnabled")
                    && body["terminationProtectionEnabled"].is_boolean()
                {
                    stored["terminationProtectionEnabled"] =
                        body["terminationProtectionEnabled"].clone();
                    return ResponseTemplate::new(200).set_body_json(shown(stored));
                }
                if !only("replicationSpecs") {
                    return error(
                        400,
                        "INVALID_ATTRIBUTE",
                        "not modelled: only terminationProtectionEnabled or replicationSpecs",
                    );
                }
                let regions: Vec<&Value> = body["replicationSpecs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|spec| spec["regionConfigs"].as_array().into_iter().flatten())
                    .collect();
                if regions.is_empty() {
                    return error(400, "INVALID_ATTRIBUTE", "replicationSpecs without regions");
                }
                for region in &regions {
                    let size = &region["electableSpecs"]["instanceSize"];
                    if !size.as_str().is_some_and(|s| INSTANCE_SIZES.contains(&s)) {
                        let shown_size = size.as_str().map_or(size.to_string(), String::from);
                        return ResponseTemplate::new(400).set_body_json(json!({
                            "error": 400,
                            "errorCode": "INVALID_ENUM_VALUE",
                            "detail": format!("An invalid enumeration value {shown_size} was specified."),
                            "parameters": [shown_size],
                            "reason": "Bad Request",
                        }));
                    }
                }
                let size = regions[0]["electableSpecs"]["instanceSize"]
                    .as_str()
                    .unwrap()
                    .to_string();
                // Atlas describes the cluster as asked at once and is UPDATING until it is so.
                stored["replicationSpecs"] = body["replicationSpecs"].clone();
                stored["stateName"] = json!("UPDATING");
                stored["_polls"] = json!(*self.polls_to_resized.lock().unwrap());
                self.resized.lock().unwrap().push((name.to_string(), size));
                ResponseTemplate::new(200).set_body_json(shown(stored))
            }
            "DELETE" => {
                if stored["terminationProtectionEnabled"] == true {
                    return error(
                        400,
                        "CANNOT_TERMINATE_CLUSTER_WHEN_TERMINATION_PROTECTION_ENABLED",
                        "The cluster has termination protection enabled.",
                    );
                }
                stored["stateName"] = json!("DELETING");
                stored["_polls"] = json!(*self.polls_to_gone.lock().unwrap());
                ResponseTemplate::new(202)
            }
            _ => error(405, "METHOD_NOT_ALLOWED", "not modelled"),
        }
    }
}
