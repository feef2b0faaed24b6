//! Atendo operator: turns a `Tenant` into its namespace, bucket, database user and chat-server.
//!
//! Everything here is a library so the binary stays a thin dispatcher and every stage can be
//! tested without a cluster: the resource types ([`tenant`]) and their rules ([`validation`]), the
//! generated CRD ([`crd`]), operator flags ([`settings`]) and plans ([`plan`]), the pure builders
//! ([`resources`]) fed by a [`context::TenantContext`], `render` ([`render`]) and the reconcile
//! pipeline ([`controller`]).

pub mod ca_bundle;
pub mod cli;
pub mod context;
pub mod controller;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod notices;
pub mod render;
pub mod resources;
pub mod run;
pub mod settings;

/// The Tenant types, rules and plans live in `tenant-api` (fuzzed without the operator's
/// dependencies); these keep the paths the operator has always used.
pub use tenant_api::{plan, tenant, validation};
