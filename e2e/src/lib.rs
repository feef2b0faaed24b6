//! End-to-end support on stand-ins, for the tests in `e2e/tests`.
//!
//! A crate of its own because it joins the two products: it runs the real `atendo-operator`
//! binary and the real `chat-server` binary (both from this workspace's target directory), and
//! links the operator library for what the controller does beyond rendering (secret values,
//! bucket, database user). The pure parts ([`manifests`], [`env`], [`router`]) have typed errors
//! and unit tests; the orchestration ([`tenant`], [`client`]) is test support and reports with
//! `anyhow`, like `testkit`.

pub mod argocd;
pub mod client;
pub mod env;
pub mod manifests;
pub mod provision;
pub mod router;
pub mod tenant;

/// Static S3 credentials: moto accepts any, and they stand in for the workload identity (IRSA)
/// the operator and the chat-server pods get in a cluster.
pub const AWS_KEY_ID: &str = "e2e-access-key";
pub const AWS_SECRET: &str = "e2e-secret-key";
