//! LimitRange: containers that state no resources get the plan's, and none may exceed them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem, LimitRangeSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{cpu, memory};
use crate::context::TenantContext;

pub const NAME: &str = "tenant-limits";

pub fn build(ctx: &TenantContext) -> LimitRange {
    let r = ctx.sizing.resources;
    let pair = |c: u32, m: u32| -> BTreeMap<String, Quantity> {
        BTreeMap::from([("cpu".into(), cpu(c)), ("memory".into(), memory(m))])
    };
    LimitRange {
        metadata: ctx.meta(NAME, ctx.labels()),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: Some(pair(r.cpu_limit_m, r.memory_limit_mi)),
                default_request: Some(pair(r.cpu_request_m, r.memory_request_mi)),
                max: Some(pair(r.cpu_limit_m, r.memory_limit_mi)),
                ..LimitRangeItem::default()
            }],
        }),
    }
}
