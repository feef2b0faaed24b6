//! NetworkPolicy: a tenant's pods accept traffic only from the ingress controller (on the
//! chat-server's port), from the monitoring namespace (on the metrics port alone) and from their
//! own namespace; they reach only the cluster DNS and the address blocks of `--egress-cidrs`
//! (the Redis, MongoDB and S3 endpoints, which are addresses outside the cluster's selectors),
//! never instance metadata. With single sign-on, HTTPS anywhere too: an identity provider's keys
//! are behind a host name no policy can name; with mail (`--smtp-url`), the relay's port
//! anywhere, for the same reason.
//!
//! The backup's pods have a policy of their own (`tenant-backup-isolation`): the same egress,
//! since they reach the same database and bucket, and no ingress at all, since nothing calls a
//! backup. Ingress rules apply to every pod a policy selects, so `tenant-isolation` selects every
//! pod but the backup's; each pod of the namespace is selected by exactly one of the two.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::backup_cron_job::COMPONENT;
use super::deployment::{CONTAINER_PORT, METRICS_PORT};
use crate::context::TenantContext;
use crate::settings::{EgressCidr, INSTANCE_METADATA};

pub const NAME: &str = "tenant-isolation";
pub const BACKUP_NAME: &str = "tenant-backup-isolation";
const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

fn namespace(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(
            "kubernetes.io/metadata.name".into(),
            name.to_string(),
        )])),
        ..LabelSelector::default()
    }
}

fn port(protocol: &str, port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(port)),
        ..NetworkPolicyPort::default()
    }
}

fn to_block(entry: &EgressCidr) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: entry.cidr.clone(),
                except: entry
                    .holds_metadata
                    .then(|| vec![INSTANCE_METADATA.to_string()]),
            }),
            ..NetworkPolicyPeer::default()
        }]),
        ports: entry.port.map(|p| vec![port("TCP", i32::from(p))]),
    }
}

pub fn build(ctx: &TenantContext) -> NetworkPolicy {
    let s = ctx.settings;
    let mut ingress = vec![NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespace(&s.ingress_namespace)),
            ..NetworkPolicyPeer::default()
        }]),
        ports: Some(vec![port("TCP", CONTAINER_PORT)]),
    }];
    if let Some(monitoring) = &s.monitoring_namespace {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(namespace(monitoring)),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(vec![port("TCP", METRICS_PORT)]),
        });
    }
    ingress.push(NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector::default()),
            ..NetworkPolicyPeer::default()
        }]),
        ports: None,
    });

    NetworkPolicy {
        metadata: ctx.meta(NAME, ctx.labels()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: COMPONENT_LABEL.into(),
                    operator: "NotIn".into(),
                    values: Some(vec![COMPONENT.into()]),
                }]),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress(ctx)),
        }),
    }
}

/// The backup's pods: the chat-server's egress, no ingress.
pub fn backup(ctx: &TenantContext) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ctx.meta(BACKUP_NAME, ctx.labels()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(COMPONENT_LABEL.into(), COMPONENT.into())])),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![]),
            egress: Some(egress(ctx)),
        }),
    }
}

fn egress(ctx: &TenantContext) -> Vec<NetworkPolicyEgressRule> {
    let s = ctx.settings;
    let dns = NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespace("kube-system")),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("k8s-app".into(), "kube-dns".into())])),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }]),
        ports: Some(vec![port("UDP", 53), port("TCP", 53)]),
    };
    let mut egress = vec![dns];
    egress.extend(s.egress_cidrs.iter().map(to_block));
    let https_anywhere = s
        .egress_cidrs
        .iter()
        .any(|e| e.cidr == "0.0.0.0/0" && e.port.is_none_or(|p| p == 443));
    if ctx.tenant.spec.sso.is_some() && !https_anywhere {
        egress.push(to_block(&EgressCidr {
            cidr: "0.0.0.0/0".into(),
            port: Some(443),
            holds_metadata: true,
        }));
    }
    // The SMTP relay (--smtp-url) is a host name too. Its port alone, and only with mail
    // configured: 25, 465 and 587 stay closed otherwise, so a tenant's pods cannot send mail
    // around the relay.
    if let Some(smtp) = s.smtp_port()
        && !s
            .egress_cidrs
            .iter()
            .any(|e| e.cidr == "0.0.0.0/0" && e.port.is_none_or(|p| p == smtp))
    {
        egress.push(to_block(&EgressCidr {
            cidr: "0.0.0.0/0".into(),
            port: Some(smtp),
            holds_metadata: true,
        }));
    }
    egress
}
