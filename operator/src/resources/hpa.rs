//! HorizontalPodAutoscaler (autoscaling/v2) on CPU; absent when suspended or not autoscaled,
//! because an HPA would scale a suspended Deployment back up.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};

use super::CHAT_SERVER;
use crate::context::TenantContext;

pub fn build(ctx: &TenantContext) -> Option<HorizontalPodAutoscaler> {
    if ctx.tenant.spec.suspended {
        return None;
    }
    let auto = ctx.sizing.autoscaling?;
    Some(HorizontalPodAutoscaler {
        metadata: ctx.meta(CHAT_SERVER, ctx.chat_labels()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: CHAT_SERVER.into(),
            },
            min_replicas: Some(auto.min_replicas),
            max_replicas: auto.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(auto.target_cpu_utilization),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        }),
        ..HorizontalPodAutoscaler::default()
    })
}
