//! The NetworkPolicy `atendo-operator render` emits, read the way a CNI reads it: for a set of
//! would-be callers (the ingress controller, the tenant's own pods, another tenant's pods,
//! kube-system, an outside address), only the ingress controller (on the chat port) and the
//! tenant's own namespace get in. The evaluator below implements the NetworkPolicy rules the
//! policy uses (namespace and pod selectors with matchLabels and matchExpressions, ports, ipBlock)
//! and refuses anything it does not model, so a new kind of peer cannot slip through unjudged.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const INGRESS_NS: &str = "edge-ingress";
const CHAT_PORT: u16 = 8080;

/// Who is calling: its namespace (with that namespace's labels), its pod labels, or an address
/// outside the cluster.
struct Caller {
    what: &'static str,
    namespace: Option<&'static str>,
    pod_labels: BTreeMap<String, String>,
    port: u16,
}

fn caller(what: &'static str, namespace: Option<&'static str>, port: u16) -> Caller {
    Caller {
        what,
        namespace,
        pod_labels: BTreeMap::from([("app".into(), "anything".into())]),
        port,
    }
}

fn render(tenant: &str) -> Vec<Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/professional.yaml");
    let yaml = replace_tenant_name(&std::fs::read_to_string(file).unwrap(), tenant);
    let out = Command::new(env!("CARGO_BIN_EXE_atendo-operator"))
        .args(["render", "-f", "-"])
        .args([
            "--base-domain=chat.example.com",
            "--chat-image=atendo/chat-server:1",
        ])
        .args(["--redis-url=redis://redis.atendo:6379"])
        .args(["--database-url=mongodb://mongo.atendo:27017/"])
        .arg(format!("--ingress-namespace={INGRESS_NS}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(yaml.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run atendo-operator render");
    assert!(
        out.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_yaml_ng::Deserializer::from_slice(&out.stdout)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect()
}

/// The example's metadata.name and subdomain become `tenant`.
fn replace_tenant_name(yaml: &str, tenant: &str) -> String {
    let doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
    let mut doc = doc;
    doc["metadata"]["name"] = Value::String(tenant.into());
    doc["spec"]["subdomain"] = Value::String(tenant.into());
    serde_yaml_ng::to_string(&doc).unwrap()
}

fn namespace_labels(ns: &str) -> BTreeMap<String, String> {
    // Kubernetes sets this label on every namespace; nothing else is assumed.
    BTreeMap::from([("kubernetes.io/metadata.name".into(), ns.into())])
}

fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let known = ["matchLabels", "matchExpressions"];
    if let Some(obj) = selector.as_object() {
        for key in obj.keys() {
            assert!(
                known.contains(&key.as_str()),
                "unmodelled selector field {key}"
            );
        }
    }
    let labels_ok = selector["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
        })
        .unwrap_or(true);
    let expressions_ok = selector["matchExpressions"]
        .as_array()
        .map(|exprs| {
            exprs.iter().all(|e| {
                let key = e["key"].as_str().unwrap();
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e["operator"].as_str().unwrap() {
                    "In" => labels
                        .get(key)
                        .is_some_and(|v| values.contains(&v.as_str())),
                    "NotIn" => !labels
                        .get(key)
                        .is_some_and(|v| values.contains(&v.as_str())),
                    "Exists" => labels.contains_key(key),
                    "DoesNotExist" => !labels.contains_key(key),
                    op => panic!("unknown selector operator {op}"),
                }
            })
        })
        .unwrap_or(true);
    labels_ok && expressions_ok
}

fn peer_admits(peer: &Value, policy_ns: &str, c: &Caller) -> bool {
    if peer.get("ipBlock").is_some() {
        // Only outside callers could match an ipBlock; the policy must not have one.
        panic!("the policy admits an ipBlock: {peer}");
    }
    let Some(ns) = c.namespace else {
        return false;
    };
    let ns_ok = match peer.get("namespaceSelector") {
        Some(sel) => selector_matches(sel, &namespace_labels(ns)),
        // Without a namespaceSelector, a podSelector picks pods in the policy's own namespace.
        None => ns == policy_ns,
    };
    let pod_ok = peer
        .get("podSelector")
        .is_none_or(|sel| selector_matches(sel, &c.pod_labels));
    ns_ok && pod_ok
}

fn rule_admits(rule: &Value, policy_ns: &str, c: &Caller) -> bool {
    let from_ok = match rule["from"].as_array() {
        // A rule without `from` admits every source: the policy must not have one.
        None => panic!("an ingress rule admits every source: {rule}"),
        Some(peers) => peers.iter().any(|p| peer_admits(p, policy_ns, c)),
    };
    let port_ok = match rule["ports"].as_array() {
        None => true,
        Some(ports) => ports.iter().any(|p| {
            p["protocol"].as_str().unwrap_or("TCP") == "TCP"
                && p.get("endPort").is_none()
                && p["port"]
                    .as_u64()
                    .is_none_or(|port| port == u64::from(c.port))
        }),
    };
    from_ok && port_ok
}

/// Whether some NetworkPolicy of `docs` that selects the chat-server pods admits `c`. A pod no
/// policy selects would admit everyone, so the chat pods must be selected.
fn admitted(docs: &[Value], c: &Caller) -> bool {
    let policies: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .collect();
    assert!(!policies.is_empty(), "render emits a NetworkPolicy");
    let chat_labels: BTreeMap<String, String> = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .and_then(|d| d["spec"]["template"]["metadata"]["labels"].as_object())
        .expect("a Deployment with pod labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let mut selected = false;
    let mut admits = false;
    for p in policies {
        let ns = p["metadata"]["namespace"].as_str().unwrap();
        if !selector_matches(&p["spec"]["podSelector"], &chat_labels) {
            continue;
        }
        let types: Vec<&str> = p["spec"]["policyTypes"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(types.contains(&"Ingress"), "the policy restricts ingress");
        selected = true;
        admits |= p["spec"]["ingress"]
            .as_array()
            .is_some_and(|rules| rules.iter().any(|r| rule_admits(r, ns, c)));
    }
    assert!(selected, "a NetworkPolicy selects the chat-server pods");
    admits
}

#[test]
fn only_the_ingress_controller_and_the_tenants_own_namespace_reach_its_pods() {
    let docs = render("acme");
    let ns = docs
        .iter()
        .find(|d| d["kind"] == "Namespace")
        .and_then(|d| d["metadata"]["name"].as_str())
        .expect("a Namespace")
        .to_string();
    let own: &'static str = Box::leak(ns.into_boxed_str());
    let cases = [
        (
            caller(
                "the ingress controller, on the chat port",
                Some(INGRESS_NS),
                CHAT_PORT,
            ),
            true,
        ),
        (
            caller(
                "the ingress controller, on another port",
                Some(INGRESS_NS),
                9090,
            ),
            false,
        ),
        (
            caller("a pod of the tenant's own namespace", Some(own), CHAT_PORT),
            true,
        ),
        (
            caller("another tenant's pod", Some("tenant-globex"), CHAT_PORT),
            false,
        ),
        (
            caller("a kube-system pod", Some("kube-system"), CHAT_PORT),
            false,
        ),
        (
            caller("the default namespace", Some("default"), CHAT_PORT),
            false,
        ),
        (
            caller("an address outside the cluster", None, CHAT_PORT),
            false,
        ),
    ];
    for (c, expected) in cases {
        assert_eq!(admitted(&docs, &c), expected, "{}", c.what);
    }
}

#[test]
fn each_tenant_admits_its_own_namespace_and_not_its_neighbours() {
    let acme = render("acme");
    let globex = render("globex");
    let ns_of = |docs: &[Value]| -> &'static str {
        let n = docs
            .iter()
            .find(|d| d["kind"] == "Namespace")
            .and_then(|d| d["metadata"]["name"].as_str())
            .unwrap()
            .to_string();
        Box::leak(n.into_boxed_str())
    };
    let (acme_ns, globex_ns) = (ns_of(&acme), ns_of(&globex));
    assert_ne!(acme_ns, globex_ns);
    assert!(admitted(
        &acme,
        &caller("acme's own pod", Some(acme_ns), CHAT_PORT)
    ));
    assert!(!admitted(
        &acme,
        &caller("globex's pod", Some(globex_ns), CHAT_PORT)
    ));
    assert!(admitted(
        &globex,
        &caller("globex's own pod", Some(globex_ns), CHAT_PORT)
    ));
    assert!(!admitted(
        &globex,
        &caller("acme's pod", Some(acme_ns), CHAT_PORT)
    ));
}
