//! The NetworkPolicy `atendo-operator render` emits, read the way a CNI reads it: for a set of
//! would-be callers (the ingress controller, the tenant's own pods, another tenant's pods,
//! kube-system, an outside address), only the ingress controller (on the chat port) and the
//! tenant's own namespace get in. The evaluator below implements the NetworkPolicy rules the
//! policy uses (namespace and pod selectors with matchLabels and matchExpressions, ports, ipBlock)
//! and refuses anything it does not model, so a new kind of peer cannot slip through unjudged.
//! Egress likewise: where the tenant's pods may connect (DNS, the configured blocks), and where
//! not (instance metadata, the internet on other ports, blocks outside the settings).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const INGRESS_NS: &str = "edge-ingress";
const CHAT_PORT: u16 = 8080;
const MONITORING_NS: &str = "monitoring";
const METRICS_PORT: u16 = 9090;

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
    render_with(tenant, &[])
}

fn render_with(tenant: &str, extra: &[&str]) -> Vec<Value> {
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
        .arg(format!("--monitoring-namespace={MONITORING_NS}"))
        .args(extra)
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

/// The pod labels of the first object of `kind`: the Deployment's pods or the backup
/// CronJob's.
fn pod_labels(docs: &[Value], kind: &str) -> BTreeMap<String, String> {
    let object = docs
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("render emits a {kind}"));
    let template = match kind {
        "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"],
        _ => &object["spec"]["template"],
    };
    template["metadata"]["labels"]
        .as_object()
        .unwrap_or_else(|| panic!("a {kind} with pod labels"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Whether some NetworkPolicy of `docs` that selects the chat-server pods admits `c`.
fn admitted(docs: &[Value], c: &Caller) -> bool {
    admitted_to(docs, &pod_labels(docs, "Deployment"), c)
}

/// Whether some NetworkPolicy of `docs` that selects pods labelled `labels` admits `c`. A pod
/// no policy selects would admit everyone, so the pod must be selected.
fn admitted_to(docs: &[Value], labels: &BTreeMap<String, String>, c: &Caller) -> bool {
    let policies: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .collect();
    assert!(!policies.is_empty(), "render emits a NetworkPolicy");
    let mut selected = false;
    let mut admits = false;
    for p in policies {
        let ns = p["metadata"]["namespace"].as_str().unwrap();
        if !selector_matches(&p["spec"]["podSelector"], labels) {
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
    assert!(
        selected,
        "a NetworkPolicy selects the pods labelled {labels:?}"
    );
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
fn nothing_reaches_a_backup_pod_and_the_service_and_budget_never_count_one() {
    let docs = render("acme");
    let backup = pod_labels(&docs, "CronJob");
    let chat = pod_labels(&docs, "Deployment");
    let own: &'static str = Box::leak(format!("tenant-{}", "acme").into_boxed_str());
    let callers = [
        caller("the ingress controller", Some(INGRESS_NS), CHAT_PORT),
        caller(
            "monitoring, on the metrics port",
            Some(MONITORING_NS),
            METRICS_PORT,
        ),
        caller("a pod of the tenant's own namespace", Some(own), CHAT_PORT),
        caller("an address outside the cluster", None, CHAT_PORT),
    ];
    for c in &callers {
        assert!(
            !admitted_to(&docs, &backup, c),
            "{} reaches a backup pod",
            c.what
        );
    }
    // The same callers do reach the chat-server: the policies are read, not absent.
    assert!(callers[..3].iter().all(|c| admitted_to(&docs, &chat, c)));
    for kind in ["Service", "PodDisruptionBudget"] {
        let object = docs.iter().find(|d| d["kind"] == kind).unwrap();
        let selector = match kind {
            "Service" => serde_json::json!({"matchLabels": object["spec"]["selector"]}),
            _ => object["spec"]["selector"].clone(),
        };
        assert!(
            selector_matches(&selector, &chat),
            "{kind} selects the chat-server"
        );
        assert!(
            !selector_matches(&selector, &backup),
            "{kind} selects a backup pod"
        );
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

#[test]
fn the_monitoring_namespace_reaches_the_metrics_port_and_nothing_else_does_from_outside() {
    let docs = render("acme");
    let cases = [
        (
            caller(
                "Prometheus, on the metrics port",
                Some(MONITORING_NS),
                METRICS_PORT,
            ),
            true,
        ),
        (
            caller(
                "Prometheus, on the chat port",
                Some(MONITORING_NS),
                CHAT_PORT,
            ),
            false,
        ),
        (
            caller(
                "the ingress controller, on the metrics port",
                Some(INGRESS_NS),
                METRICS_PORT,
            ),
            false,
        ),
        (
            caller(
                "another tenant, on the metrics port",
                Some("tenant-globex"),
                METRICS_PORT,
            ),
            false,
        ),
        (
            caller("an address outside the cluster", None, METRICS_PORT),
            false,
        ),
    ];
    for (c, expected) in cases {
        assert_eq!(admitted(&docs, &c), expected, "{}", c.what);
    }
}

/// Where a tenant's pod connects to: a pod (namespace and labels) or an address.
enum Destination {
    Pod {
        namespace: &'static str,
        labels: &'static [(&'static str, &'static str)],
    },
    Address([u8; 4]),
}

fn in_cidr(ip: [u8; 4], cidr: &str) -> bool {
    let (address, length) = cidr.split_once('/').unwrap();
    let Ok(address) = address.parse::<std::net::Ipv4Addr>() else {
        return false; // an IPv6 block never holds an IPv4 address
    };
    let length: u32 = length.parse().unwrap();
    let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
    u32::from_be_bytes(ip) & mask == u32::from(address) & mask
}

fn peer_reaches(peer: &Value, to: &Destination) -> bool {
    let known = ["ipBlock", "namespaceSelector", "podSelector"];
    for key in peer.as_object().unwrap().keys() {
        assert!(known.contains(&key.as_str()), "unmodelled peer field {key}");
    }
    match to {
        Destination::Address(ip) => peer.get("ipBlock").is_some_and(|block| {
            in_cidr(*ip, block["cidr"].as_str().unwrap())
                && !block["except"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|c| in_cidr(*ip, c.as_str().unwrap())))
        }),
        Destination::Pod { namespace, labels } => {
            if peer.get("ipBlock").is_some() {
                return false;
            }
            let labels: BTreeMap<String, String> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let ns_ok = peer
                .get("namespaceSelector")
                .is_some_and(|sel| selector_matches(sel, &namespace_labels(namespace)));
            let pod_ok = peer
                .get("podSelector")
                .is_none_or(|sel| selector_matches(sel, &labels));
            ns_ok && pod_ok
        }
    }
}

/// Whether the tenant's pods may connect to `to` on `protocol`/`port`: the chat-server's, the
/// backup's and any other pod of the namespace, which must all be allowed the same.
fn reaches(docs: &[Value], to: &Destination, protocol: &str, port: u16) -> bool {
    let chat = reaches_from(docs, &pod_labels(docs, "Deployment"), to, protocol, port);
    let backup = reaches_from(docs, &pod_labels(docs, "CronJob"), to, protocol, port);
    let other = BTreeMap::from([("app".to_string(), "anything".to_string())]);
    let other = reaches_from(docs, &other, to, protocol, port);
    assert_eq!(
        (backup, other),
        (chat, chat),
        "the backup's pods and other pods (left) reach what the chat-server's do (right)"
    );
    chat
}

/// Whether pods labelled `labels` may connect to `to` on `protocol`/`port`. Every policy
/// selecting them must list Egress, and at least one must select them.
fn reaches_from(
    docs: &[Value],
    labels: &BTreeMap<String, String>,
    to: &Destination,
    protocol: &str,
    port: u16,
) -> bool {
    let mut selected = false;
    let mut allowed = false;
    for p in docs.iter().filter(|d| d["kind"] == "NetworkPolicy") {
        if !selector_matches(&p["spec"]["podSelector"], labels) {
            continue;
        }
        let types = p["spec"]["policyTypes"].as_array().unwrap();
        assert!(
            types.iter().any(|t| t == "Egress"),
            "a policy selecting {labels:?} leaves egress open"
        );
        selected = true;
        for rule in p["spec"]["egress"].as_array().into_iter().flatten() {
            let to_ok = match rule["to"].as_array() {
                None => panic!("an egress rule reaches everywhere: {rule}"),
                Some(peers) => peers.iter().any(|peer| peer_reaches(peer, to)),
            };
            let port_ok = rule["ports"].as_array().is_none_or(|ports| {
                ports.iter().any(|p| {
                    assert!(p.get("endPort").is_none(), "unmodelled endPort");
                    p["protocol"].as_str().unwrap_or("TCP") == protocol
                        && p["port"].as_u64().is_none_or(|n| n == u64::from(port))
                })
            });
            allowed |= to_ok && port_ok;
        }
    }
    assert!(
        selected,
        "an Egress NetworkPolicy selects the pods labelled {labels:?}"
    );
    allowed
}

const KUBE_DNS: Destination = Destination::Pod {
    namespace: "kube-system",
    labels: &[("k8s-app", "kube-dns")],
};
const METADATA: Destination = Destination::Address([169, 254, 169, 254]);

#[test]
fn by_default_tenants_reach_dns_private_networks_and_https_but_never_instance_metadata() {
    let docs = render("acme");
    let cases = [
        ("cluster DNS over UDP", &KUBE_DNS, "UDP", 53, true),
        ("cluster DNS over TCP", &KUBE_DNS, "TCP", 53, true),
        (
            "another kube-system pod",
            &Destination::Pod {
                namespace: "kube-system",
                labels: &[("k8s-app", "metrics-server")],
            },
            "UDP",
            53,
            false,
        ),
        (
            "a resolver on the internet",
            &Destination::Address([8, 8, 8, 8]),
            "UDP",
            53,
            false,
        ),
        (
            "ElastiCache in the VPC",
            &Destination::Address([10, 0, 12, 7]),
            "TCP",
            6379,
            true,
        ),
        (
            "MongoDB Atlas over the internet",
            &Destination::Address([34, 1, 2, 3]),
            "TCP",
            27017,
            true,
        ),
        (
            "S3 over HTTPS",
            &Destination::Address([52, 216, 0, 1]),
            "TCP",
            443,
            true,
        ),
        (
            "the internet over plain HTTP",
            &Destination::Address([52, 216, 0, 1]),
            "TCP",
            80,
            false,
        ),
        (
            "SMTP on the internet",
            &Destination::Address([1, 2, 3, 4]),
            "TCP",
            25,
            false,
        ),
        ("instance metadata", &METADATA, "TCP", 80, false),
        ("instance metadata on 443", &METADATA, "TCP", 443, false),
    ];
    for (what, to, protocol, port, expected) in cases {
        assert_eq!(reaches(&docs, to, protocol, port), expected, "{what}");
    }
}

#[test]
fn narrowed_egress_reaches_only_the_configured_endpoints() {
    let docs = render_with(
        "acme",
        &["--egress-cidrs=10.0.0.0/16:6379,10.0.0.0/16:27017,52.216.0.0/15:443"],
    );
    let redis = Destination::Address([10, 0, 12, 7]);
    let cases = [
        ("Redis", &redis, "TCP", 6379, true),
        ("MongoDB", &redis, "TCP", 27017, true),
        ("SSH on the Redis host", &redis, "TCP", 22, false),
        (
            "Redis in another block",
            &Destination::Address([10, 1, 0, 1]),
            "TCP",
            6379,
            false,
        ),
        (
            "S3",
            &Destination::Address([52, 217, 3, 4]),
            "TCP",
            443,
            true,
        ),
        (
            "HTTPS elsewhere",
            &Destination::Address([93, 184, 216, 34]),
            "TCP",
            443,
            false,
        ),
        ("cluster DNS", &KUBE_DNS, "UDP", 53, true),
        ("instance metadata", &METADATA, "TCP", 80, false),
    ];
    for (what, to, protocol, port, expected) in cases {
        assert_eq!(reaches(&docs, to, protocol, port), expected, "{what}");
    }
}

#[test]
fn with_mail_tenants_reach_the_relays_port_on_the_internet_and_no_other_mail_port() {
    let docs = render_with(
        "acme",
        &[
            "--smtp-url=smtp://AKIAEXAMPLE:pw@email-smtp.us-east-1.amazonaws.com:587",
            "--mail-from=no-reply@chat.example.com",
        ],
    );
    let relay = Destination::Address([52, 94, 4, 10]);
    let cases = [
        ("the relay on its submission port", &relay, "TCP", 587, true),
        ("SMTP on port 25", &relay, "TCP", 25, false),
        ("SMTPS on 465", &relay, "TCP", 465, false),
        ("instance metadata on 587", &METADATA, "TCP", 587, false),
    ];
    for (what, to, protocol, port, expected) in cases {
        assert_eq!(reaches(&docs, to, protocol, port), expected, "{what}");
    }
    // The default settings (no mail) keep the submission port closed on the internet.
    assert!(!reaches(&render("acme"), &relay, "TCP", 587));
}
