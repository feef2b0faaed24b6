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
//! deletionTimestamp, and deleting a namespace deleting what it holds.
//!
//! Not modelled (left to the cluster e2e): admission (schema validation, CEL rules, defaulting,
//! pod security), managedFields in responses, ownership through PUT, list-merge keys, garbage
//! collection through ownerReferences, controllers (no Deployment ever gets replicas or an Ingress
//! an address unless a test writes that status), pagination, bookmarks.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::StreamExt;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use serde_json::{Value, json};
use tokio::sync::broadcast;

type Body = BoxBody<Bytes, Infallible>;

/// (group, resource, namespace or "", name)
type Key = (String, String, String, String);

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
    object: Value,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<Key, Value>,
    /// What each field manager last applied to each object, for server-side apply removals.
    applied: BTreeMap<(Key, String), Value>,
    /// Leaf field path -> the manager that last set it.
    owners: BTreeMap<Key, BTreeMap<String, String>>,
    rv: u64,
    uid: u64,
    history: Vec<Event>,
    calls: Vec<Call>,
}

#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<Event>,
}

impl Default for FakeApi {
    fn default() -> Self {
        FakeApi {
            state: Arc::default(),
            events: broadcast::channel(1024).0,
        }
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

fn without(value: &Value, keys: &[&str]) -> Value {
    let mut v = value.clone();
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

impl FakeApi {
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
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
        self.state.lock().unwrap().objects.get(&key).cloned()
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

    fn store(&self, state: &mut State, key: Key, mut object: Value) -> Value {
        let old = state.objects.get(&key).cloned();
        if let Some(old) = &old {
            let keep = ["uid", "creationTimestamp", "generation", "resourceVersion"];
            for field in keep {
                object["metadata"][field] = old["metadata"][field].clone();
            }
            if object == *old {
                return object;
            }
            let spec_changed =
                without(&object, &["metadata", "status"]) != without(old, &["metadata", "status"]);
            if spec_changed {
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
        if let Some(mut object) = state.objects.remove(key) {
            state.applied.retain(|(k, _), _| k != key);
            state.owners.remove(key);
            state.rv += 1;
            object["metadata"]["resourceVersion"] = json!(state.rv.to_string());
            self.emit(state, key.clone(), "DELETED", object);
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

    fn emit(&self, state: &mut State, key: Key, kind: &'static str, object: Value) {
        let event = Event {
            rv: state.rv,
            key,
            kind,
            object,
        };
        state.history.push(event.clone());
        let _ = self.events.send(event);
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
        match (method, t.name.clone()) {
            ("GET", None)
                if query_param(query, "watch").is_some_and(|w| w == "true" || w == "1") =>
            {
                let since: u64 = query_param(query, "resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let (group, resource) = (t.group.clone(), t.resource.clone());
                let selector = selector.map(str::to_string);
                let wanted = move |e: &Event| {
                    e.rv > since
                        && e.key.0 == group
                        && e.key.1 == resource
                        && (namespace.is_empty() || e.key.2 == namespace)
                        && matches_selector(&e.object, selector.as_deref())
                };
                let past: Vec<Event> = state
                    .history
                    .iter()
                    .filter(|e| wanted(e))
                    .cloned()
                    .collect();
                let live = tokio_stream_from(self.events.subscribe());
                let frames = futures::stream::iter(past)
                    .chain(live.filter(move |e| futures::future::ready(wanted(e))))
                    .map(|e| {
                        let line = json!({"type": e.kind, "object": e.object}).to_string() + "\n";
                        Ok::<_, Infallible>(http_body::Frame::data(Bytes::from(line)))
                    });
                Response::builder()
                    .header("content-type", "application/json")
                    .body(BodyExt::boxed(StreamBody::new(frames)))
                    .unwrap()
            }
            ("GET", None) => {
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|(k, _)| {
                        k.0 == t.group
                            && k.1 == t.resource
                            && (namespace.is_empty() || k.2 == namespace)
                    })
                    .map(|(_, v)| v.clone())
                    .filter(|v| matches_selector(v, selector))
                    .collect();
                json_response(
                    StatusCode::OK,
                    &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": state.rv.to_string()}, "items": items}),
                )
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
                            let has_finalizers = object["metadata"]["finalizers"]
                                .as_array()
                                .is_some_and(|f| !f.is_empty());
                            if has_finalizers {
                                if object["metadata"]["deletionTimestamp"].is_null() {
                                    object["metadata"]["deletionTimestamp"] =
                                        json!("2026-01-01T00:00:01Z");
                                    object = self.store(&mut state, key, object);
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
                            .clone()
                            .unwrap_or_else(|| json!({"metadata": {"name": name}}));
                        let manager = query_param(query, "fieldManager")
                            .map(percent_decode)
                            .unwrap_or_else(|| "unknown".into());
                        let patched = match content_type {
                            "application/apply-patch+yaml" => {
                                let force = query_param(query, "force") == Some("true");
                                let owners = state.owners.get(&key).cloned().unwrap_or_default();
                                let conflicts: Vec<String> = leaves(&patch)
                                    .into_iter()
                                    .filter(|(path, value)| {
                                        owners.get(path).is_some_and(|o| *o != manager)
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
                                let applied_key = (key.clone(), manager.clone());
                                if let Some(before) = state.applied.get(&applied_key) {
                                    remove_dropped(&mut next, before, &patch);
                                }
                                merge(&mut next, &patch);
                                state.applied.insert(applied_key, patch.clone());
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
    owners.retain(|path, _| now.iter().any(|(p, _)| p == path));
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

fn tokio_stream_from(rx: broadcast::Receiver<Event>) -> impl futures::Stream<Item = Event> + Send {
    futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(e) => Some((e, rx)),
            // A watcher that fell behind is disconnected, as the API server does; it
            // re-watches from its last resourceVersion and the history replays the gap.
            Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => {
                None
            }
        }
    })
}

impl tower::Service<Request<kube::client::Body>> for FakeApi {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let content_type = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .to_string();
            let query = parts.uri.query().unwrap_or("").to_string();
            Ok(this.handle(
                parts.method.as_str(),
                parts.uri.path(),
                &query,
                &content_type,
                &body,
            ))
        })
    }
}
