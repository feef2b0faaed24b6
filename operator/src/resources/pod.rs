//! What the chat-server's pods and the backup's share: the store and S3 environment, and the
//! restricted security context. One place, so a backup never runs with settings or privileges
//! the server does not have.

use chat_settings::names;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    PodSecurityContext, SeccompProfile, SecretKeySelector, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{CHAT_SERVER, secrets};
use crate::context::TenantContext;

/// Distroless "nonroot".
const RUN_AS: i64 = 65532;
const TMP_VOLUME: &str = "tmp";

pub fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// One key of the chat-server's ConfigMap, for a pod that must not take all of it.
pub fn config_env(name: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: CHAT_SERVER.into(),
                key: name.into(),
                optional: Some(optional),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// CHAT_STORE, from the database Secret.
pub fn store_env() -> EnvVar {
    secret_env(names::STORE, secrets::DATABASE, secrets::DATABASE_URI_KEY)
}

/// The static S3 keys when the operator was given some; none with IRSA (the service account's
/// role) or the node's credentials.
pub fn s3_credentials_env(ctx: &TenantContext) -> Vec<EnvVar> {
    match ctx.settings.chat_s3_keys() {
        Some(_) => vec![
            secret_env(
                names::AWS_ACCESS_KEY_ID,
                secrets::CREDENTIALS,
                secrets::S3_ACCESS_KEY_ID_KEY,
            ),
            secret_env(
                names::AWS_SECRET_ACCESS_KEY,
                secrets::CREDENTIALS,
                secrets::S3_SECRET_ACCESS_KEY_KEY,
            ),
        ],
        None => vec![],
    }
}

pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        fs_group: Some(RUN_AS),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// The root filesystem is read-only; /tmp (an emptyDir of at most `size_limit`) is the one
/// writable place.
pub fn tmp_volume(size_limit: &str) -> Volume {
    Volume {
        name: TMP_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(size_limit.into())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

pub fn tmp_mount() -> VolumeMount {
    VolumeMount {
        name: TMP_VOLUME.into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }
}
