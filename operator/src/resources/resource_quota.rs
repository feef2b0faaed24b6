//! ResourceQuota: room for the plan's largest chat-server plus one rolling-update surge and one
//! backup pod (the CronJob forbids a second concurrent run), and nothing a stateless chat-server
//! has no use for (volumes, node ports, load balancers).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::backup_cron_job as backup;
use super::{cpu, memory};
use crate::context::TenantContext;

pub const NAME: &str = "tenant-quota";

pub fn build(ctx: &TenantContext) -> ResourceQuota {
    let pods = ctx.sizing.max_pods() as u32;
    let r = ctx.sizing.resources;
    let hard: BTreeMap<String, Quantity> = [
        ("pods", Quantity((pods + 1).to_string())),
        (
            "requests.cpu",
            cpu(pods * r.cpu_request_m + backup::CPU_REQUEST_M),
        ),
        (
            "requests.memory",
            memory(pods * r.memory_request_mi + backup::MEMORY_REQUEST_MI),
        ),
        (
            "limits.cpu",
            cpu(pods * r.cpu_limit_m + backup::CPU_LIMIT_M),
        ),
        (
            "limits.memory",
            memory(pods * r.memory_limit_mi + backup::MEMORY_LIMIT_MI),
        ),
        ("services", Quantity("1".into())),
        ("services.loadbalancers", Quantity("0".into())),
        ("services.nodeports", Quantity("0".into())),
        ("persistentvolumeclaims", Quantity("0".into())),
        ("secrets", Quantity("10".into())),
        ("configmaps", Quantity("10".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ResourceQuota {
        metadata: ctx.meta(NAME, ctx.labels()),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    }
}
