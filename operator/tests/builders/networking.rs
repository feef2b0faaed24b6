//! NetworkPolicy, Service and Ingress.

use atendo_operator::resources::{ingress, network_policy, service};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{minimal_json, settings, with};
use super::{as_json, chat_labels, common_labels, ctx, owner, selector, stored};

/// DNS first, then one rule per --egress-cidrs entry, as the default gives them.
fn default_egress() -> Value {
    json!([
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
        {"to": [{"ipBlock": {"cidr": "172.16.0.0/12"}}]},
        {"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
         "ports": [{"protocol": "TCP", "port": 443}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
         "ports": [{"protocol": "TCP", "port": 27017}]}
    ])
}

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
                "podSelector": {"matchExpressions": [
                    {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["backup"]}
                ]},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-ingress"}}}],
                     "ports": [{"protocol": "TCP", "port": 8080}]},
                    {"from": [{"podSelector": {}}]}
                ],
                "egress": default_egress()
            }
        })
    );
}

#[test]
fn the_backup_pods_policy_has_the_same_egress_and_admits_nothing() {
    let tenant = stored(with(
        minimal_json("acme", "starter"),
        "/spec/sso",
        json!({"issuer": "https://login.acme.example", "audience": "atendo",
               "jwksUrl": "https://login.acme.example/jwks.json"}),
    ));
    let settings = settings(&["--ingress-namespace=kube-ingress"]);
    let ctx = ctx(&tenant, &settings);
    let server = as_json(&network_policy::build(&ctx));
    assert_eq!(server["spec"]["egress"], default_egress());
    assert_eq!(
        as_json(&network_policy::backup(&ctx)),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "tenant-backup-isolation", "namespace": "tenant-acme", "labels": common_labels("starter"), "ownerReferences": owner()},
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/component": "backup"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": server["spec"]["egress"]
            }
        })
    );
}

#[test]
fn the_monitoring_namespace_is_admitted_to_the_metrics_port_only() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = settings(&["--monitoring-namespace=monitoring"]);
    let policy = as_json(&network_policy::build(&ctx(&tenant, &settings)));
    assert_eq!(
        policy["spec"]["ingress"][1],
        json!({"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
               "ports": [{"protocol": "TCP", "port": 9090}]})
    );
    assert_eq!(policy["spec"]["ingress"].as_array().unwrap().len(), 3);
}

#[test]
fn egress_goes_to_the_configured_blocks_and_never_to_instance_metadata() {
    let tenant = stored(minimal_json("acme", "starter"));
    let settings = settings(&[
        "--egress-cidrs=10.20.0.0/16:6379,10.20.0.0/16:27017,169.254.0.0/16,fd00::/8:443",
    ]);
    let policy = as_json(&network_policy::build(&ctx(&tenant, &settings)));
    assert_eq!(
        policy["spec"]["egress"].as_array().unwrap()[1..],
        [
            json!({"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 6379}]}),
            json!({"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 27017}]}),
            json!({"to": [{"ipBlock": {"cidr": "169.254.0.0/16", "except": ["169.254.169.254/32"]}}]}),
            json!({"to": [{"ipBlock": {"cidr": "fd00::/8"}}], "ports": [{"protocol": "TCP", "port": 443}]}),
        ]
    );
}

#[test]
fn a_tenant_with_single_sign_on_may_fetch_its_identity_providers_keys_over_https() {
    let sso = with(
        minimal_json("acme", "starter"),
        "/spec/sso",
        json!({"issuer": "https://login.acme.example", "audience": "atendo",
               "jwksUrl": "https://login.acme.example/keys"}),
    );
    let narrow = settings(&["--egress-cidrs=10.20.0.0/16"]);
    let https = json!({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
                       "ports": [{"protocol": "TCP", "port": 443}]});
    let egress = |doc: Value, settings| {
        let tenant = stored(doc);
        as_json(&network_policy::build(&ctx(&tenant, settings)))["spec"]["egress"].clone()
    };
    let with_sso = egress(sso.clone(), &narrow);
    assert_eq!(with_sso.as_array().unwrap().last(), Some(&https));
    let without = egress(minimal_json("acme", "starter"), &narrow);
    assert!(!without.as_array().unwrap().contains(&https));
    // The default already allows HTTPS anywhere: no second rule for it.
    assert_eq!(egress(sso, &settings(&[])), default_egress());
}

#[test]
fn with_mail_the_tenants_pods_may_reach_the_relays_port_anywhere_and_without_it_no_mail_port() {
    let tenant = stored(minimal_json("acme", "starter"));
    let egress = |flags: &[&str]| {
        let settings = settings(flags);
        as_json(&network_policy::build(&ctx(&tenant, &settings)))["spec"]["egress"].clone()
    };
    let to_port = |port: u16| {
        json!({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
               "ports": [{"protocol": "TCP", "port": port}]})
    };
    let from = "--mail-from=no-reply@chat.example.com";
    for (url, port) in [
        (
            "--smtp-url=smtp://u:p@email-smtp.us-east-1.amazonaws.com",
            587,
        ),
        (
            "--smtp-url=smtps://u:p@email-smtp.us-east-1.amazonaws.com",
            465,
        ),
        ("--smtp-url=smtp://u:p@smtp.example.com:2525", 2525),
        ("--smtp-url=smtp://relay.mail.svc:25?tls=none", 25),
    ] {
        let mut expected = default_egress();
        expected.as_array_mut().unwrap().push(to_port(port));
        assert_eq!(egress(&[url, from]), expected, "{url}");
    }
    // Without mail, the default reaches no mail port outside the private blocks.
    let without = egress(&[]);
    assert_eq!(without, default_egress());
    for port in [25, 465, 587] {
        assert!(!without.as_array().unwrap().contains(&to_port(port)));
    }
    // Egress already open on every port: no second rule.
    let open = [
        "--egress-cidrs=0.0.0.0/0",
        "--smtp-url=smtp://u:p@smtp.example.com",
        from,
    ];
    assert_eq!(egress(&open).as_array().unwrap().len(), 2);
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
fn no_ingress_path_reaches_the_metrics_port() {
    let tenant = stored(minimal_json("acme", "professional"));
    let settings = settings(&[]);
    let ctx = ctx(&tenant, &settings);
    let service = as_json(&service::build(&ctx));
    let ingress = as_json(&ingress::build(&ctx));
    let deployment = as_json(&atendo_operator::resources::deployment::build(&ctx, "hash"));
    // Every backend of the Ingress is a port of the Service…
    let backends: Vec<&Value> = ingress["spec"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["http"]["paths"].as_array().unwrap())
        .map(|p| &p["backend"]["service"])
        .collect();
    assert!(!backends.is_empty());
    let service_ports = service["spec"]["ports"].as_array().unwrap();
    for backend in backends {
        assert_eq!(backend["name"], "chat-server");
        let port = service_ports
            .iter()
            .find(|p| p["name"] == backend["port"]["name"])
            .expect("the backend names a Service port");
        // …and the Service leads only to the public container port, never to /metrics'.
        assert_eq!(port["targetPort"], "http");
    }
    assert_eq!(service_ports.len(), 1);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["ports"],
        json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"},
               {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}])
    );
    let config = as_json(&atendo_operator::resources::config_map::build(&ctx));
    assert_eq!(config["data"]["CHAT_METRICS_LISTEN"], "0.0.0.0:9090");
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

#[test]
fn with_external_dns_each_ingress_asks_for_its_own_record_and_ttl() {
    let doc = with(
        minimal_json("acme", "professional"),
        "/spec/subdomain",
        json!("suporte"),
    );
    let actual = ingress_for(
        doc.clone(),
        &[
            "--external-dns=true",
            "--external-dns-ttl=120",
            "--ingress-class=alb",
            r#"--ingress-annotations={"alb.ingress.kubernetes.io/group.name":"atendo"}"#,
        ],
    );
    assert_eq!(
        actual,
        expected_ingress(
            "suporte.chat.example.com",
            Some(json!({
                "alb.ingress.kubernetes.io/group.name": "atendo",
                "external-dns.alpha.kubernetes.io/hostname": "suporte.chat.example.com",
                "external-dns.alpha.kubernetes.io/ttl": "120"
            })),
            Some("alb"),
            None,
        )
    );
    // The flag alone gives the default TTL; without it (kind, a hand-made wildcard) nothing.
    let default_ttl = ingress_for(doc.clone(), &["--external-dns"]);
    assert_eq!(
        default_ttl["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/ttl"],
        json!("300")
    );
    let off = ingress_for(doc, &[]);
    assert_eq!(off["metadata"].get("annotations"), None, "{off}");
}
