//! PodDisruptionBudget: voluntary disruptions take one chat-server pod at a time. maxUnavailable
//! (not minAvailable) so a single-replica tenant never blocks a node drain.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::CHAT_SERVER;
use crate::context::TenantContext;

pub fn build(ctx: &TenantContext) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ctx.meta(CHAT_SERVER, ctx.chat_labels()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(ctx.selector_labels()),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
