//! Tenant validation on arbitrary text: whatever parses as a Tenant (YAML, or JSON, the two ways
//! a Tenant reaches the operator: `render -f` and the API server) is validated without a panic;
//! every refusal names a field the CRD schema has, with a message; and a Tenant that passes
//! survives a round trip through JSON, still passes, and resolves to a sizing the cluster can run.
#![no_main]

use std::sync::LazyLock;

use kube::CustomResourceExt;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tenant_api::plan::Sizing;
use tenant_api::tenant::{MAX_REPLICAS, Tenant};
use tenant_api::validation::validate;

/// The CRD's OpenAPI schema of the whole object: the field paths a refusal may name.
static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let crd = serde_json::to_value(Tenant::crd()).expect("the CRD serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
});

/// Whether `path` (`spec.chat.autoscaling.minReplicas`) names a property of the schema.
fn in_schema(path: &str) -> bool {
    let mut node = &*SCHEMA;
    for key in path.split('.') {
        match node["properties"].get(key) {
            Some(next) => node = next,
            // metadata is an ObjectMeta the CRD schema leaves open; name is all validation reads.
            None => return path == "metadata.name",
        }
    }
    true
}

fn check(tenant: &Tenant, text: &str) {
    match validate(tenant) {
        Err(invalid) => {
            assert!(
                !invalid.errors.is_empty(),
                "a refusal without a reason for {text:?}"
            );
            for e in &invalid.errors {
                assert!(
                    in_schema(&e.field),
                    "refusal names no schema field: {e} for {text:?}"
                );
                assert!(
                    !e.message.is_empty(),
                    "refusal of {} says nothing for {text:?}",
                    e.field
                );
            }
        }
        Ok(()) => {
            let json = serde_json::to_string(tenant).expect("a Tenant serializes");
            let back: Tenant = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{json} does not parse back ({e}) from {text:?}"));
            assert_eq!(&back, tenant, "JSON round trip of {text:?}");
            assert_eq!(validate(&back), Ok(()), "round-tripped {json} is refused");
            let sizing = Sizing::resolve(&tenant.spec);
            let (min, max) = sizing
                .autoscaling
                .map_or((sizing.replicas, sizing.replicas), |a| {
                    (a.min_replicas, a.max_replicas)
                });
            assert!(
                1 <= min && min <= max && max <= MAX_REPLICAS,
                "an accepted Tenant resolves to replicas {min}..{max}: {text:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tenant) = serde_yaml_ng::from_str::<Tenant>(text) {
        check(&tenant, text);
    }
    if let Ok(tenant) = serde_json::from_str::<Tenant>(text) {
        check(&tenant, text);
    }
});
