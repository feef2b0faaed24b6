//! The chat-server's ServiceAccount; on EKS its IAM role (IRSA) is what lets it reach its bucket.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceAccount;

use super::CHAT_SERVER;
use crate::context::TenantContext;

pub const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

pub fn build(ctx: &TenantContext) -> ServiceAccount {
    let mut metadata = ctx.meta(CHAT_SERVER, ctx.chat_labels());
    metadata.annotations = ctx
        .iam_role_arn
        .clone()
        .map(|arn| BTreeMap::from([(IRSA_ANNOTATION.to_string(), arn)]));
    ServiceAccount {
        metadata,
        // The chat-server never calls the Kubernetes API.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}
