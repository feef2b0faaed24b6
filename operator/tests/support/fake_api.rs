//! An in-memory Kubernetes API server, served as a tower `Service` that a real `kube::Client`
//! talks to, so the operator's real code (Api calls, finalizer helper, watchers, Controller) runs
//! unchanged against it.
//!
//! Modelled: the REST paths of core and grouped resources (namespaced and cluster-scoped, incl.
//! `/api/v1/namespaces/{name}`), get/list (equality label selectors)/watch, create, server-side
//! apply per field manager (fields it applied before and no longer applies are removed),
//! field ownership per manager (a non-forced apply of a field another manager set to a different
//! value is a 409 Conflict, which Lease-based leader election relies on), JSON merge patch,
//! strategic merge patch (as a merge patch: lists replace, which is exact for the Lease and Tenant
//! fields patched this way), JSON patch, delete; uid, creationTimestamp, a global resourceVersion that only
//! moves on real changes, generation bumped on changes outside metadata and status, the status
//! subresource (the main endpoint keeps status, `/status` changes only status), finalizers and
//! deletionTimestamp, and deleting a namespace deleting what it holds. Watches replay from a
//! bounded window of recent events, as the API server's watch cache does: a watch from a
//! resourceVersion older than the window gets a 410 Expired ERROR event (kube's watcher then
//! re-lists), and a watch from "0" or none starts with the current objects as ADDED.
//! `serve` puts the same fake on a TCP port, so an operator in another process can use it.
//!
//! Not modelled (left to the cluster e2e): admission (schema validation, CEL rules, defaulting,
//! pod security), managedFields in responses, ownership through PUT, list-merge keys, garbage
//! collection through ownerReferences, controllers (no Deployment ever gets replicas or an Ingress
//! an address unless a test writes that status), pagination, bookmarks.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use serde_json::{Value, json};
use tokio::sync::watch;

pub mod access;
pub mod faults;
mod transport;

use access::{Access, Admission};
use transport::WatchFilter;

type Body = BoxBody<Bytes, Infallible>;

/// (group, resource, namespace or "", name)
type Key = (String, String, String, String);

/// How many recent events watches can replay by default; a watch from further back gets 410
/// Expired. Wide enough that the scale bench's watches never fall out of it at 1,000 Tenants.
const HISTORY: usize = 50_000;

/// One request as it reached the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
}

impl Call {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

#[derive(Clone, Debug)]
struct Event {
    rv: u64,
    key: Key,
    kind: &'static str,
    /// Shared with `State::objects` while it is the current version.
    object: Arc<Value>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<Key, Arc<Value>>,
    /// What each field manager last applied to each object, for server-side apply removals.
    applied: BTreeMap<Key, BTreeMap<String, Value>>,
    /// Leaf field path -> the manager that last set it.
    owners: BTreeMap<Key, BTreeMap<String, String>>,
    rv: u64,
    uid: u64,
    /// The last `window` events, in resourceVersion order.
    history: VecDeque<Event>,
    window: usize,
    /// The newest resourceVersion that fell out of `history`.
    expired: u64,
    /// Watches refused with 410 Expired because they started before the window.
    expired_watches: usize,
    calls: Vec<Call>,
    /// RBAC and admission for one user's requests, when a test asks for them.
    access: Option<Arc<Access>>,
    /// What `access` refused, one line each.
    denied: Vec<String>,
}

#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    /// The newest resourceVersion, for waking watches; the events themselves are in `history`,
    /// so a slow watch never misses one while it stays inside the window.
    newest: Arc<watch::Sender<u64>>,
    /// Who this handle's requests are made as; None is an administrator.
    user: Option<Arc<str>>,
    /// The API server's own failures a test switches on (fake_api/faults.rs).
    pub faults: faults::Faults,
}

impl Default for FakeApi {
    fn default() -> Self {
        FakeApi::with_window(HISTORY)
    }
}

struct Target {
    group: String,
    resource: String,
    namespace: String,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match *segs.first()? {
        "api" => ("", segs.get(2..)?),
        "apis" => (*segs.get(1)?, segs.get(3..)?),
        _ => return None,
    };
    let namespaced = rest.first() == Some(&"namespaces")
        && rest.len() >= 3
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, rest) = if namespaced {
        (rest[1], &rest[2..])
    } else {
        ("", rest)
    };
    Some(Target {
        group: group.into(),
        resource: rest.first()?.to_string(),
        namespace: namespace.into(),
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
    })
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn matches_selector(object: &Value, selector: Option<&str>) -> bool {
    let Some(selector) = selector.map(percent_decode).filter(|s| !s.is_empty()) else {
        return true;
    };
    let labels = &object["metadata"]["labels"];
    selector.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => labels[k.trim_end_matches('=')].as_str() == Some(v),
        None => !labels[term].is_null(),
    })
}

/// The field selectors this fake answers: `metadata.name` and `metadata.namespace` equality, as
/// every resource of the API server supports.
fn check_fields(fields: &str) -> Result<(), String> {
    let fields = percent_decode(fields);
    match fields.split(',').find(|f| {
        !(f.is_empty() || f.starts_with("metadata.name=") || f.starts_with("metadata.namespace="))
    }) {
        Some(other) => Err(format!("field label not supported: {other}")),
        None => Ok(()),
    }
}

fn matches_fields(object: &Value, fields: Option<&str>) -> bool {
    let Some(fields) = fields.map(percent_decode) else {
        return true;
    };
    fields.split(',').filter(|f| !f.is_empty()).all(|f| {
        let (field, value) = f.split_once('=').unwrap_or((f, ""));
        let field = field.trim_start_matches("metadata.");
        object["metadata"][field].as_str().unwrap_or_default() == value
    })
}

fn status(code: StatusCode, reason: &str, message: String) -> Response<Body> {
    json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code.as_u16()}),
    )
}

fn json_response(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

/// RFC 7386 merge of `patch` into `target`, except that lists replace (as in SSA for atomic lists).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Removes from `target` the fields present in `before` but absent from `now` (SSA: a manager
/// that stops applying a field gives it up, and with no other owner it is deleted).
fn remove_dropped(target: &mut Value, before: &Value, now: &Value) {
    if let (Value::Object(t), Value::Object(b)) = (target, before) {
        for (k, old) in b {
            match now.get(k) {
                None => {
                    t.remove(k);
                }
                Some(new) => {
                    if let Some(child) = t.get_mut(k) {
                        remove_dropped(child, old, new);
                    }
                }
            }
        }
    }
}

/// Whether `a` and `b` agree outside metadata and status (what bumps generation), compared in
/// place rather than on copies: every write asks this.
fn same_spec(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let counted = |k: &&String| !matches!(k.as_str(), "metadata" | "status");
    a.keys().filter(counted).count() == b.keys().filter(counted).count()
        && a.iter()
            .filter(|(k, _)| counted(k))
            .all(|(k, v)| b.get(k) == Some(v))
}

impl FakeApi {
    /// A fake whose watches can replay only the last `events` events.
    pub fn with_window(events: usize) -> Self {
        let state = State {
            window: events,
            ..State::default()
        };
        FakeApi {
            state: Arc::new(Mutex::new(state)),
            newest: Arc::new(watch::channel(0).0),
            user: None,
            faults: faults::Faults::default(),
        }
    }

    /// A client that gives up on an answer after `limit`, as a real client's read timeout
    /// does (kube's in-process client has none): what a slow fault is measured against.
    pub fn client_with_timeout(&self, limit: std::time::Duration) -> kube::Client {
        kube::Client::new(
            transport::Timeout {
                inner: FakeApi {
                    user: None,
                    ..self.clone()
                },
                limit,
            },
            "default",
        )
    }

    /// A client whose requests are an administrator's (nothing is enforced on them).
    pub fn client(&self) -> kube::Client {
        kube::Client::new(
            FakeApi {
                user: None,
                ..self.clone()
            },
            "default",
        )
    }

    /// A client whose requests are made as `user`, subject to what [`FakeApi::enforce`] set.
    pub fn client_as(&self, user: &str) -> kube::Client {
        kube::Client::new(
            FakeApi {
                user: Some(user.into()),
                ..self.clone()
            },
            "default",
        )
    }

    /// From now on, requests made as `access.user` are authorised and admitted by `access`.
    pub fn enforce(&self, access: Access) {
        self.state.lock().unwrap().access = Some(Arc::new(access));
    }

    /// The requests refused by RBAC or admission so far.
    pub fn denied(&self) -> Vec<String> {
        self.state.lock().unwrap().denied.clone()
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// How many requests so far, and how many of them writes, without copying them.
    pub fn call_counts(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        let writes = state.calls.iter().filter(|c| c.is_write()).count();
        (state.calls.len(), writes)
    }

    /// Watches refused with 410 Expired so far (each makes kube's watcher re-list).
    pub fn expired_watches(&self) -> usize {
        self.state.lock().unwrap().expired_watches
    }

    /// Requests that changed or tried to change something.
    pub fn writes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_write).collect()
    }

    pub fn clear_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// The stored object, as the API server would return it.
    pub fn get(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = (group.into(), resource.into(), namespace.into(), name.into());
        let state = self.state.lock().unwrap();
        state.objects.get(&key).map(|o| Value::clone(o))
    }

    /// Names of the stored objects of one resource in one namespace.
    pub fn names(&self, group: &str, resource: &str, namespace: &str) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .objects
            .keys()
            .filter(|(g, r, n, _)| g == group && r == resource && n == namespace)
            .map(|k| k.3.clone())
            .collect()
    }

    /// Stores `object` as another actor (a built-in controller, a person) would, bypassing the
    /// recorded calls: the way tests set a Deployment's status or simulate drift.
    pub fn put(&self, group: &str, resource: &str, namespace: &str, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        let key = (group.into(), resource.into(), namespace.into(), name);
        let mut state = self.state.lock().unwrap();
        self.store(&mut state, key, object);
    }

    fn store(&self, state: &mut State, key: Key, mut object: Value) -> Arc<Value> {
        let old = state.objects.get(&key).cloned();
        if let Some(old) = &old {
            let keep = ["uid", "creationTimestamp", "generation", "resourceVersion"];
            for field in keep {
                object["metadata"][field] = old["metadata"][field].clone();
            }
            if object == **old {
                return old.clone();
            }
            if !same_spec(&object, old) {
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                object["metadata"]["generation"] = json!(generation);
            }
        } else {
            state.uid += 1;
            object["metadata"]["uid"] = json!(format!("uid-{}", state.uid));
            object["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
            object["metadata"]["generation"] = json!(1);
            if !key.2.is_empty() {
                object["metadata"]["namespace"] = json!(key.2);
            }
        }
        state.rv += 1;
        object["metadata"]["resourceVersion"] = json!(state.rv.to_string());
        let deleting = !object["metadata"]["deletionTimestamp"].is_null();
        let finalizers = object["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let object = Arc::new(object);
        if deleting && !finalizers {
            self.remove(state, &key);
            return object;
        }
        state.objects.insert(key.clone(), object.clone());
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        self.emit(state, key, kind, object.clone());
        object
    }

    fn remove(&self, state: &mut State, key: &Key) {
        if let Some(object) = state.objects.remove(key) {
            let mut object = Value::clone(&object);
            state.applied.remove(key);
            state.owners.remove(key);
            state.rv += 1;
            object["metadata"]["resourceVersion"] = json!(state.rv.to_string());
            self.emit(state, key.clone(), "DELETED", Arc::new(object));
        }
        // The namespace controller's job, done at once.
        if key.0.is_empty() && key.1 == "namespaces" {
            let inside: Vec<Key> = state
                .objects
                .keys()
                .filter(|k| k.2 == key.3)
                .cloned()
                .collect();
            for k in inside {
                self.remove(state, &k);
            }
        }
    }

    fn emit(&self, state: &mut State, key: Key, kind: &'static str, object: Arc<Value>) {
        state.history.push_back(Event {
            rv: state.rv,
            key,
            kind,
            object,
        });
        while state.history.len() > state.window {
            let dropped = state.history.pop_front().expect("history is not empty");
            state.expired = dropped.rv;
        }
        self.newest.send_replace(state.rv);
    }

    fn handle(
        &self,
        method: &str,
        path: &str,
        query: &str,
        content_type: &str,
        body: &[u8],
    ) -> Response<Body> {
        let Some(t) = parse_path(path) else {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("no route for {path}"),
            );
        };
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call {
            method: method.into(),
            path: path.into(),
            query: query.into(),
        });
        let namespace = t.namespace.clone();
        let selector = query_param(query, "labelSelector");
        let field_selector = query_param(query, "fieldSelector");
        if let Some(fields) = field_selector
            && let Err(message) = check_fields(fields)
        {
            return status(StatusCode::BAD_REQUEST, "BadRequest", message);
        }
        let access = state
            .access
            .clone()
            .filter(|a| self.user.as_deref() == Some(a.user.as_str()));
        if let Some(access) = &access {
            let mut asked = vec![access::attributes(
                method,
                &t.group,
                &t.resource,
                t.subresource.as_deref(),
                &t.namespace,
                t.name.as_deref(),
                query,
            )];
            // An apply that creates its object is authorised as create as well.
            if method == "PATCH" && content_type == "application/apply-patch+yaml" {
                let key = (
                    t.group.clone(),
                    t.resource.clone(),
                    t.namespace.clone(),
                    t.name.clone().unwrap_or_default(),
                );
                if !state.objects.contains_key(&key) {
                    let mut create = asked[0].clone();
                    create.verb = "create".into();
                    asked.push(create);
                }
            }
            if let Some(refused) = asked.iter().find(|a| !access.allows(a)) {
                let scope = if refused.namespace.is_empty() {
                    "at the cluster scope".to_string()
                } else {
                    format!("in the namespace {:?}", refused.namespace)
                };
                let message = format!(
                    "{} {:?} is forbidden: User {:?} cannot {} resource {:?} in API group {:?} {scope}",
                    refused.resource,
                    refused.name,
                    access.user,
                    refused.verb,
                    refused.resource,
                    refused.group
                );
                state.denied.push(message.clone());
                return status(StatusCode::FORBIDDEN, "Forbidden", message);
            }
        }
        // Admission of a write by the enforced user; `Some` is the response refusing it.
        let (group, resource, in_namespace) =
            (t.group.clone(), t.resource.clone(), t.namespace.clone());
        let admit = move |state: &mut State,
                          operation: &'static str,
                          name: &str,
                          old: Option<&Value>,
                          new: Option<&Value>|
              -> Option<Response<Body>> {
            let access = access.as_ref()?;
            let ns_key = (
                String::new(),
                "namespaces".to_string(),
                String::new(),
                in_namespace.clone(),
            );
            let namespace_object = state.objects.get(&ns_key).cloned();
            let request = Admission {
                operation,
                group: &group,
                resource: &resource,
                namespace: &in_namespace,
                name,
                object: new,
                old_object: old,
                namespace_object: namespace_object.as_deref(),
            };
            access.admit(&request).err().map(|message| {
                state.denied.push(message.clone());
                status(StatusCode::FORBIDDEN, "Forbidden", message)
            })
        };
        match (method, t.name.clone()) {
            ("GET", None)
                if query_param(query, "watch").is_some_and(|w| w == "true" || w == "1") =>
            {
                let since: u64 = query_param(query, "resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let filter = WatchFilter {
                    group: t.group,
                    resource: t.resource,
                    namespace,
                    selector: selector.map(str::to_string),
                    fields: field_selector.map(str::to_string),
                };
                self.watch(&mut state, filter, since)
            }
            ("GET", None) => {
                // Keys sort by (group, resource, namespace, name): one range holds the answer.
                let from = (
                    t.group.clone(),
                    t.resource.clone(),
                    namespace.clone(),
                    String::new(),
                );
                let mut body = String::from(
                    r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""#,
                );
                body += &state.rv.to_string();
                body += r#""},"items":["#;
                let mut first = true;
                for (_, object) in state
                    .objects
                    .range(from..)
                    .take_while(|(k, _)| {
                        k.0 == t.group
                            && k.1 == t.resource
                            && (namespace.is_empty() || k.2 == namespace)
                    })
                    .filter(|(_, v)| {
                        matches_selector(v, selector) && matches_fields(v, field_selector)
                    })
                {
                    if !first {
                        body.push(',');
                    }
                    first = false;
                    body += &object.to_string();
                }
                body += "]}";
                Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)).boxed())
                    .unwrap()
            }
            ("POST", None) => {
                let Ok(object) = serde_json::from_slice::<Value>(body) else {
                    return status(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        "body is not JSON".into(),
                    );
                };
                let name = object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let key = (t.group, t.resource, t.namespace, name.clone());
                if state.objects.contains_key(&key) {
                    return status(
                        StatusCode::CONFLICT,
                        "AlreadyExists",
                        format!("{name} already exists"),
                    );
                }
                if let Some(refused) = admit(&mut state, "CREATE", &name, None, Some(&object)) {
                    return refused;
                }
                let stored = self.store(&mut state, key, object);
                json_response(StatusCode::CREATED, &stored)
            }
            (_, Some(name)) => {
                let key = (
                    t.group.clone(),
                    t.resource.clone(),
                    t.namespace.clone(),
                    name.clone(),
                );
                let current = state.objects.get(&key).cloned();
                let is_status = t.subresource.as_deref() == Some("status");
                match method {
                    "GET" => match current {
                        Some(object) => json_response(StatusCode::OK, &object),
                        None => status(
                            StatusCode::NOT_FOUND,
                            "NotFound",
                            format!("{} {name} not found", t.resource),
                        ),
                    },
                    "DELETE" => match current {
                        None => status(
                            StatusCode::NOT_FOUND,
                            "NotFound",
                            format!("{} {name} not found", t.resource),
                        ),
                        Some(mut object) => {
                            if let Some(refused) =
                                admit(&mut state, "DELETE", &name, Some(&*object), None)
                            {
                                return refused;
                            }
                            let has_finalizers = object["metadata"]["finalizers"]
                                .as_array()
                                .is_some_and(|f| !f.is_empty());
                            if has_finalizers {
                                if object["metadata"]["deletionTimestamp"].is_null() {
                                    let mut next = Value::clone(&object);
                                    next["metadata"]["deletionTimestamp"] =
                                        json!("2026-01-01T00:00:01Z");
                                    object = self.store(&mut state, key, next);
                                }
                            } else {
                                self.remove(&mut state, &key);
                            }
                            json_response(StatusCode::OK, &object)
                        }
                    },
                    "PUT" => {
                        let Ok(object) = serde_json::from_slice::<Value>(body) else {
                            return status(
                                StatusCode::BAD_REQUEST,
                                "BadRequest",
                                "body is not JSON".into(),
                            );
                        };
                        let Some(current) = current else {
                            return status(
                                StatusCode::NOT_FOUND,
                                "NotFound",
                                format!("{name} not found"),
                            );
                        };
                        let rv = object["metadata"]["resourceVersion"].as_str();
                        if rv.is_some_and(|rv| {
                            Some(rv) != current["metadata"]["resourceVersion"].as_str()
                        }) {
                            return status(
                                StatusCode::CONFLICT,
                                "Conflict",
                                "the object has been modified".into(),
                            );
                        }
                        let next = self.subresource_split(&current, object, is_status);
                        if let Some(refused) =
                            admit(&mut state, "UPDATE", &name, Some(&*current), Some(&next))
                        {
                            return refused;
                        }
                        json_response(StatusCode::OK, &self.store(&mut state, key, next))
                    }
                    "PATCH" => {
                        let Ok(patch) = serde_json::from_slice::<Value>(body) else {
                            return status(
                                StatusCode::BAD_REQUEST,
                                "BadRequest",
                                "patch is not JSON".into(),
                            );
                        };
                        let base = current
                            .as_deref()
                            .cloned()
                            .unwrap_or_else(|| json!({"metadata": {"name": name}}));
                        let manager = query_param(query, "fieldManager")
                            .map(percent_decode)
                            .unwrap_or_else(|| "unknown".into());
                        let patched = match content_type {
                            "application/apply-patch+yaml" => {
                                let force = query_param(query, "force") == Some("true");
                                let owners = state.owners.get(&key);
                                let conflicts: Vec<String> = leaves(&patch)
                                    .into_iter()
                                    .filter(|(path, value)| {
                                        owners
                                            .and_then(|o| o.get(path))
                                            .is_some_and(|o| *o != manager)
                                            && base.pointer(path) != Some(value)
                                    })
                                    .map(|(path, _)| path)
                                    .collect();
                                if !force && !conflicts.is_empty() {
                                    return status(
                                        StatusCode::CONFLICT,
                                        "Conflict",
                                        format!(
                                            "Apply failed with conflicts: {}",
                                            conflicts.join(", ")
                                        ),
                                    );
                                }
                                let mut next = base.clone();
                                if let Some(before) =
                                    state.applied.get(&key).and_then(|m| m.get(&manager))
                                {
                                    remove_dropped(&mut next, before, &patch);
                                }
                                merge(&mut next, &patch);
                                state
                                    .applied
                                    .entry(key.clone())
                                    .or_default()
                                    .insert(manager.clone(), patch.clone());
                                next
                            }
                            "application/merge-patch+json"
                            | "application/strategic-merge-patch+json" => {
                                if current.is_none() {
                                    return status(
                                        StatusCode::NOT_FOUND,
                                        "NotFound",
                                        format!("{name} not found"),
                                    );
                                }
                                let mut next = base.clone();
                                json_patch::merge(&mut next, &patch);
                                next
                            }
                            "application/json-patch+json" => {
                                if current.is_none() {
                                    return status(
                                        StatusCode::NOT_FOUND,
                                        "NotFound",
                                        format!("{name} not found"),
                                    );
                                }
                                let ops = tolerate_null_tests(&base, patch);
                                let mut next = base.clone();
                                match serde_json::from_value::<json_patch::Patch>(ops) {
                                    Ok(p) => {
                                        if let Err(e) = json_patch::patch(&mut next, &p) {
                                            return status(
                                                StatusCode::UNPROCESSABLE_ENTITY,
                                                "Invalid",
                                                e.to_string(),
                                            );
                                        }
                                    }
                                    Err(e) => {
                                        return status(
                                            StatusCode::BAD_REQUEST,
                                            "BadRequest",
                                            e.to_string(),
                                        );
                                    }
                                }
                                next
                            }
                            other => {
                                return status(
                                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                                    "UnsupportedMediaType",
                                    format!("{other} is not modelled"),
                                );
                            }
                        };
                        let next = match &current {
                            Some(current) => self.subresource_split(current, patched, is_status),
                            None => patched,
                        };
                        let operation = if current.is_some() {
                            "UPDATE"
                        } else {
                            "CREATE"
                        };
                        if let Some(refused) = admit(
                            &mut state,
                            operation,
                            &name,
                            current.as_deref(),
                            Some(&next),
                        ) {
                            return refused;
                        }
                        record_owners(&mut state, &key, &base, &next, &manager);
                        json_response(StatusCode::OK, &self.store(&mut state, key, next))
                    }
                    _ => status(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "MethodNotAllowed",
                        method.into(),
                    ),
                }
            }
            _ => status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                method.into(),
            ),
        }
    }

    /// The main endpoint never changes status; `/status` changes nothing else.
    fn subresource_split(&self, current: &Value, mut next: Value, is_status: bool) -> Value {
        if is_status {
            let mut only_status = current.clone();
            only_status["status"] = next["status"].clone();
            only_status
        } else {
            match current.get("status") {
                Some(s) => next["status"] = s.clone(),
                None => {
                    if let Some(o) = next.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
            next
        }
    }
}

/// JSON pointers of the leaves (scalars and whole lists) a manager sets, without the identity
/// fields every apply repeats.
fn leaves(value: &Value) -> Vec<(String, Value)> {
    fn walk(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(
                        v,
                        format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            leaf => out.push((path, leaf.clone())),
        }
    }
    let mut out = vec![];
    walk(value, String::new(), &mut out);
    let identity = [
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
    ];
    out.retain(|(p, _)| !identity.contains(&p.as_str()));
    out
}

/// A write by `manager` owns every leaf it changed; a removed leaf has no owner.
fn record_owners(state: &mut State, key: &Key, before: &Value, after: &Value, manager: &str) {
    let owners = state.owners.entry(key.clone()).or_default();
    let now = leaves(after);
    for (path, value) in &now {
        if before.pointer(path) != Some(value) {
            owners.insert(path.clone(), manager.to_string());
        }
    }
    let now: HashSet<&str> = now.iter().map(|(p, _)| p.as_str()).collect();
    owners.retain(|path, _| now.contains(path.as_str()));
}

/// The API server's JSON patch treats a missing path as null in a `test` operation (kube's
/// finalizer helper relies on it); the json-patch crate does not, so such tests are dropped.
fn tolerate_null_tests(doc: &Value, ops: Value) -> Value {
    let Value::Array(ops) = ops else { return ops };
    Value::Array(
        ops.into_iter()
            .filter(|op| {
                !(op["op"] == "test"
                    && op["value"].is_null()
                    && doc.pointer(op["path"].as_str().unwrap_or("")).is_none())
            })
            .collect(),
    )
}
