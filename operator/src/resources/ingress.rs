//! The Ingress on https://<subdomain>.<base-domain>. TLS is one of: a named Secret, a
//! certificate cert-manager issues per tenant, or none here because it ends in front (an ALB with
//! ACM, say). DNS is a wildcard record made by hand, or with --external-dns a record per tenant
//! that ExternalDNS makes from the annotations here.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

use super::CHAT_SERVER;
use super::deployment::PORT_NAME;
use crate::context::TenantContext;
use crate::settings::IssuerKind;

/// The record ExternalDNS makes for this Ingress (with --external-dns).
pub const EXTERNAL_DNS_HOSTNAME: &str = "external-dns.alpha.kubernetes.io/hostname";
/// Its TTL in seconds.
pub const EXTERNAL_DNS_TTL: &str = "external-dns.alpha.kubernetes.io/ttl";

/// Where cert-manager stores the certificate it issues for the tenant.
pub const CERT_MANAGER_SECRET: &str = "chat-server-tls";

pub fn build(ctx: &TenantContext) -> Ingress {
    let s = ctx.settings;
    let mut annotations = s.ingress_annotations.clone();
    if let Some(issuer) = &s.cert_issuer {
        let key = match s.cert_issuer_kind {
            IssuerKind::ClusterIssuer => "cert-manager.io/cluster-issuer",
            IssuerKind::Issuer => "cert-manager.io/issuer",
        };
        annotations.insert(key.into(), issuer.clone());
    }
    // ExternalDNS's ingress source reads the rule hosts as well; the hostname annotation states
    // the record this Ingress asks for even when it runs with --ignore-ingress-rules-spec, and
    // the TTL annotation is the only per-Ingress way to set a record's TTL.
    if s.external_dns {
        annotations.insert(EXTERNAL_DNS_HOSTNAME.into(), ctx.host.clone());
        annotations.insert(EXTERNAL_DNS_TTL.into(), s.external_dns_ttl.to_string());
    }
    let tls_secret = s
        .tls_secret
        .clone()
        .or_else(|| s.cert_issuer.as_ref().map(|_| CERT_MANAGER_SECRET.into()));
    let mut metadata = ctx.meta(CHAT_SERVER, ctx.chat_labels());
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: s.ingress_class.clone(),
            rules: Some(vec![IngressRule {
                host: Some(ctx.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: CHAT_SERVER.into(),
                                port: Some(ServiceBackendPort {
                                    name: Some(PORT_NAME.into()),
                                    number: None,
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            tls: tls_secret.map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![ctx.host.clone()]),
                    secret_name: Some(secret),
                }]
            }),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    }
}
