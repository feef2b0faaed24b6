//! NetworkPolicy, Service and Ingress.

use atendo_operator::resources::{ingress, network_policy, service};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{minimal_json, settings, with};
use super::{as_json, chat_labels, common_labels, ctx, owner, selector, stored};

#[test]
fn the_network_policy_admits_only_the_ingress_controller_and_the_namespace_itself() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = settings(&["--ingress-namespace=kube-ingress"]);
    assert_eq!(
        as_json(&network_policy::build(&ctx(&tenant, &settings))),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "tenant-isolation", "namespace": "tenant-acme", "labels": common_labels("starter"), "ownerReferences": owner()},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-ingress"}}}],
                     "ports": [{"protocol": "TCP", "port": 8080}]},
                    {"from": [{"podSelector": {}}]}
                ]
            }
        })
    );
}

#[test]
fn the_service_exposes_the_chat_server_port_inside_the_cluster() {
    let tenant = stored(minimal_json("acme", "enterprise"));
    let settings = settings(&[]);
    assert_eq!(
        as_json(&service::build(&ctx(&tenant, &settings))),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "chat-server", "namespace": "tenant-acme", "labels": chat_labels("enterprise"), "ownerReferences": owner()},
            "spec": {
                "type": "ClusterIP",
                "selector": selector(),
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
            }
        })
    );
}

fn ingress_for(doc: Value, flags: &[&str]) -> Value {
    let tenant = stored(doc);
    let settings = settings(flags);
    as_json(&ingress::build(&ctx(&tenant, &settings)))
}

fn expected_ingress(
    host: &str,
    annotations: Option<Value>,
    class: Option<&str>,
    tls: Option<Value>,
) -> Value {
    let mut metadata = json!({"name": "chat-server", "namespace": "tenant-acme", "labels": chat_labels("professional"), "ownerReferences": owner()});
    if let Some(a) = annotations {
        metadata["annotations"] = a;
    }
    let mut spec = json!({
        "rules": [{"host": host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "chat-server", "port": {"name": "http"}}}
        }]}}]
    });
    if let Some(c) = class {
        spec["ingressClassName"] = json!(c);
    }
    if let Some(t) = tls {
        spec["tls"] = t;
    }
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec})
}

#[test]
fn the_ingress_serves_the_subdomain_with_a_cert_manager_certificate() {
    let doc = with(
        minimal_json("acme", "professional"),
        "/spec/subdomain",
        json!("suporte"),
    );
    let actual = ingress_for(
        doc,
        &[
            "--cert-issuer=letsencrypt-prod",
            r#"--ingress-annotations={"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600"}"#,
        ],
    );
    assert_eq!(
        actual,
        expected_ingress(
            "suporte.chat.example.com",
            Some(json!({"cert-manager.io/cluster-issuer": "letsencrypt-prod",
                        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"})),
            Some("nginx"),
            Some(json!([{"hosts": ["suporte.chat.example.com"], "secretName": "chat-server-tls"}])),
        )
    );
}

#[test]
fn a_namespaced_issuer_uses_the_issuer_annotation() {
    let actual = ingress_for(
        minimal_json("acme", "professional"),
        &["--cert-issuer=local-ca", "--cert-issuer-kind=issuer"],
    );
    assert_eq!(
        actual["metadata"]["annotations"],
        json!({"cert-manager.io/issuer": "local-ca"})
    );
}

#[test]
fn a_named_tls_secret_is_used_as_is() {
    let actual = ingress_for(
        minimal_json("acme", "professional"),
        &["--tls-secret=wildcard-chat"],
    );
    assert_eq!(
        actual,
        expected_ingress(
            "acme.chat.example.com",
            None,
            Some("nginx"),
            Some(json!([{"hosts": ["acme.chat.example.com"], "secretName": "wildcard-chat"}])),
        )
    );
}

#[test]
fn without_tls_settings_the_ingress_leaves_tls_to_the_load_balancer() {
    let actual = ingress_for(
        minimal_json("acme", "professional"),
        &[
            "--ingress-class=alb",
            r#"--ingress-annotations={"alb.ingress.kubernetes.io/group.name":"atendo"}"#,
        ],
    );
    assert_eq!(
        actual,
        expected_ingress(
            "acme.chat.example.com",
            Some(json!({"alb.ingress.kubernetes.io/group.name": "atendo"})),
            Some("alb"),
            None,
        )
    );
}
