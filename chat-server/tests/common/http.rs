//! One REST call for black-box tests against a server at `base` (a process or in-process).

use serde_json::Value;

/// `method` on `{base}/api/v1{path}`, with a bearer token and a JSON body when given: the status
/// and the JSON answer (`Null` when there is none). A request the server never answers (it was
/// killed under it) gives status 0, so a crash test can tell "no answer" from a refusal.
pub async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let mut req = reqwest::Client::new().request(method, format!("{base}/api/v1{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}
