//! The chat-server's ClusterIP Service, the Ingress's backend.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::CHAT_SERVER;
use super::deployment::PORT_NAME;
use crate::context::TenantContext;

pub const PORT: i32 = 80;

pub fn build(ctx: &TenantContext) -> Service {
    Service {
        metadata: ctx.meta(CHAT_SERVER, ctx.chat_labels()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(ctx.selector_labels()),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: PORT,
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
