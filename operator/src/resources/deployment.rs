//! The tenant's chat-server Deployment: the chat contract's environment, health probes, a
//! restricted security context, the plan's resources, the Redis CA mounted read-only when there is
//! one, and a config hash that rolls the pods whenever their ConfigMaps or Secrets change.

use std::collections::BTreeMap;

use chat_settings::names;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort, EnvFromSource, EnvVar,
    HTTPGetAction, Lifecycle, LifecycleHandler, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SleepAction, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::{self, secret_env};
use super::{CHAT_SERVER, bus_ca, cpu, memory, secrets};
use crate::context::TenantContext;

pub const CONTAINER_PORT: i32 = 8080;
pub const PORT_NAME: &str = "http";
/// /metrics, apart from the public port (CHAT_METRICS_LISTEN): no Service exposes it, so no
/// Ingress can route to it; the NetworkPolicy admits only the monitoring namespace.
pub const METRICS_PORT: i32 = 9090;
pub const METRICS_PORT_NAME: &str = "metrics";
pub const CONFIG_HASH_ANNOTATION: &str = "atendo.io/config-hash";
/// Time for endpoints to drop a terminating pod before it stops accepting sockets.
pub const PRE_STOP_SECONDS: i64 = 5;
/// The chat-server's own drain after SIGTERM (CHAT_SHUTDOWN_GRACE_SECS).
pub const SHUTDOWN_GRACE_SECONDS: i64 = 15;
/// The pod volume of [`bus_ca::BUS_CA`], with `--redis-ca-file`.
const BUS_CA_VOLUME: &str = "bus-ca";

pub fn build(ctx: &TenantContext, config_hash: &str) -> Deployment {
    let selector = LabelSelector {
        match_labels: Some(ctx.selector_labels()),
        ..LabelSelector::default()
    };
    // With an HPA the replica count is its to set; applying one here would fight it on every
    // reconcile, so the field is left out and the HPA's minimum takes over.
    let replicas = if ctx.tenant.spec.suspended {
        Some(0)
    } else if ctx.sizing.autoscaling.is_none() {
        Some(ctx.sizing.replicas)
    } else {
        None
    };
    Deployment {
        metadata: ctx.meta(CHAT_SERVER, ctx.chat_labels()),
        spec: Some(DeploymentSpec {
            replicas,
            selector: selector.clone(),
            revision_history_limit: Some(5),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.chat_labels()),
                    annotations: Some(BTreeMap::from([(
                        CONFIG_HASH_ANNOTATION.into(),
                        config_hash.into(),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(ctx, selector)),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

fn pod_spec(ctx: &TenantContext, selector: LabelSelector) -> PodSpec {
    let spread = |key: &str| TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.into(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(selector.clone()),
        ..TopologySpreadConstraint::default()
    };
    PodSpec {
        service_account_name: Some(CHAT_SERVER.into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(PRE_STOP_SECONDS + SHUTDOWN_GRACE_SECONDS + 10),
        security_context: Some(pod::pod_security_context()),
        topology_spread_constraints: Some(vec![
            spread("topology.kubernetes.io/zone"),
            spread("kubernetes.io/hostname"),
        ]),
        containers: vec![container(ctx)],
        volumes: Some(
            [pod::tmp_volume("64Mi")]
                .into_iter()
                .chain(ctx.settings.redis_ca_file.as_ref().map(|_| Volume {
                    name: BUS_CA_VOLUME.into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: bus_ca::BUS_CA.into(),
                        optional: Some(false),
                        ..ConfigMapVolumeSource::default()
                    }),
                    ..Volume::default()
                }))
                .collect(),
        ),
        ..PodSpec::default()
    }
}

fn container(ctx: &TenantContext) -> Container {
    let r = ctx.sizing.resources;
    let pair = |c: u32, m: u32| {
        BTreeMap::from([
            ("cpu".to_string(), cpu(c)),
            ("memory".to_string(), memory(m)),
        ])
    };
    let probe = |path: &str, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(PORT_NAME.into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(2),
        ..Probe::default()
    };
    Container {
        name: CHAT_SERVER.into(),
        image: Some(ctx.settings.chat_image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        ports: Some(vec![
            ContainerPort {
                name: Some(PORT_NAME.into()),
                container_port: CONTAINER_PORT,
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some(METRICS_PORT_NAME.into()),
                container_port: METRICS_PORT,
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            },
        ]),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: CHAT_SERVER.into(),
                optional: Some(false),
            }),
            ..EnvFromSource::default()
        }]),
        env: Some(
            vec![
                pod::store_env(),
                secret_env(
                    names::SIGNING_KEY,
                    secrets::CREDENTIALS,
                    secrets::SIGNING_KEY_KEY,
                ),
                secret_env(names::BUS, secrets::CREDENTIALS, secrets::BUS_URL_KEY),
                secret_env(
                    names::ADMIN_PASSWORD,
                    secrets::ADMIN,
                    secrets::ADMIN_PASSWORD_KEY,
                ),
            ]
            .into_iter()
            .chain(pod::s3_credentials_env(ctx))
            .chain(
                ctx.settings.smtp_url.as_ref().map(|_| {
                    secret_env(names::SMTP_URL, secrets::CREDENTIALS, secrets::SMTP_URL_KEY)
                }),
            )
            .chain(ctx.settings.redis_ca_file.as_ref().map(|_| EnvVar {
                name: names::BUS_CA_FILE.into(),
                value: Some(bus_ca::ca_file()),
                ..EnvVar::default()
            }))
            .collect(),
        ),
        resources: Some(ResourceRequirements {
            requests: Some(pair(r.cpu_request_m, r.memory_request_mi)),
            limits: Some(pair(r.cpu_limit_m, r.memory_limit_mi)),
            ..ResourceRequirements::default()
        }),
        startup_probe: Some(probe("/health/live", 2, 30)),
        liveness_probe: Some(probe("/health/live", 10, 3)),
        readiness_probe: Some(probe("/health/ready", 5, 3)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction {
                    seconds: PRE_STOP_SECONDS,
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        security_context: Some(pod::container_security_context()),
        volume_mounts: Some(
            [pod::tmp_mount()]
                .into_iter()
                .chain(ctx.settings.redis_ca_file.as_ref().map(|_| VolumeMount {
                    name: BUS_CA_VOLUME.into(),
                    mount_path: bus_ca::MOUNT_DIR.into(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                }))
                .collect(),
        ),
        ..Container::default()
    }
}
