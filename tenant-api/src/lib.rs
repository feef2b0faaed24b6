//! The `Tenant` resource (atendo.io/v1alpha1): its types ([`tenant`]), its rules
//! ([`validation`]) and the plans its sizing starts from ([`plan`]).
//!
//! Why a crate of its own: this is the platform team's contract (the CRD is generated from these
//! types) and it is fuzzed (`tenant-api/fuzz`). It needs only kube's derive, k8s-openapi,
//! schemars and serde, so a fuzz build instruments these instead of the operator's whole tree
//! (kube's client and runtime, the AWS SDK, mongodb, axum). The operator re-exports the modules,
//! so `atendo_operator::tenant::Tenant` and its siblings keep their paths.

pub mod plan;
pub mod tenant;
pub mod validation;
