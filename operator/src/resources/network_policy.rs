//! NetworkPolicy: a tenant's pods accept traffic only from the ingress controller (on the
//! chat-server's port) and from their own namespace. Egress stays open: Redis, MongoDB and S3
//! addresses are operator settings the policy cannot know as selectors.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::deployment::CONTAINER_PORT;
use crate::context::TenantContext;

pub const NAME: &str = "tenant-isolation";

pub fn build(ctx: &TenantContext) -> NetworkPolicy {
    let ingress_namespace = LabelSelector {
        match_labels: Some(BTreeMap::from([(
            "kubernetes.io/metadata.name".into(),
            ctx.settings.ingress_namespace.clone(),
        )])),
        ..LabelSelector::default()
    };
    NetworkPolicy {
        metadata: ctx.meta(NAME, ctx.labels()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![
                NetworkPolicyIngressRule {
                    from: Some(vec![NetworkPolicyPeer {
                        namespace_selector: Some(ingress_namespace),
                        ..NetworkPolicyPeer::default()
                    }]),
                    ports: Some(vec![NetworkPolicyPort {
                        protocol: Some("TCP".into()),
                        port: Some(IntOrString::Int(CONTAINER_PORT)),
                        ..NetworkPolicyPort::default()
                    }]),
                },
                NetworkPolicyIngressRule {
                    from: Some(vec![NetworkPolicyPeer {
                        pod_selector: Some(LabelSelector::default()),
                        ..NetworkPolicyPeer::default()
                    }]),
                    ports: None,
                },
            ]),
            ..NetworkPolicySpec::default()
        }),
    }
}
