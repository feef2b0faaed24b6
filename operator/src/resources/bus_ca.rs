//! The private CA of the tenants' Redis (`--redis-ca-file`), as a ConfigMap in the tenant
//! namespace that the chat-server mounts read-only and names in CHAT_BUS_CA_FILE. A ConfigMap,
//! not a Secret: a CA certificate is public, and the operator's RBAC reads no Secret but its three.
//! None without the setting: the controller then deletes one left from an earlier setting.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::context::TenantContext;

/// Name of the ConfigMap (charts/atendo/files/rbac/operator-rules.yaml names it too).
pub const BUS_CA: &str = "chat-bus-ca";
/// Its one key, and the file name inside the mount.
pub const CA_KEY: &str = "ca.crt";
/// Where the chat-server container sees it.
pub const MOUNT_DIR: &str = "/etc/atendo/bus-ca";

/// The chat-server's CHAT_BUS_CA_FILE.
pub fn ca_file() -> String {
    format!("{MOUNT_DIR}/{CA_KEY}")
}

pub fn build(ctx: &TenantContext) -> Option<ConfigMap> {
    let ca = ctx.settings.redis_ca_file.as_ref()?;
    Some(ConfigMap {
        metadata: ctx.meta(BUS_CA, ctx.chat_labels()),
        data: Some(BTreeMap::from([(CA_KEY.into(), ca.pem().to_string())])),
        ..ConfigMap::default()
    })
}
