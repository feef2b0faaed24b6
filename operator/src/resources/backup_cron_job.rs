//! The tenant's backup CronJob: `chat-server backup --to s3://<bucket>/backups` on the plan's
//! schedule, with the store and S3 settings of the chat-server's pods and nothing else (no
//! signing key, bus or admin password), as restricted as they are. Its pods carry their own
//! labels, so the Service never routes to them and the PDB and HPA never count them.

use std::collections::BTreeMap;

use chat_settings::names;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};

use super::{CHAT_SERVER, cpu, memory, pod};
use crate::context::TenantContext;
use crate::plan::Backups;

pub const NAME: &str = "chat-server-backup";
/// Folder of the tenant bucket the backups go to (each run a new sub-folder named after its
/// time); the bucket's `backups/` lifecycle rule expires them.
pub const BACKUPS_PREFIX: &str = "backups";
/// Label value of `app.kubernetes.io/component` on the backup's pods; the NetworkPolicy
/// `tenant-backup-isolation` selects them by it.
pub const COMPONENT: &str = "backup";
/// The hour (UTC) of the first run of the day: the quiet end of the night in Europe and the
/// Americas. Plans backing up more often run every `every_hours` from it.
pub const FIRST_HOUR: u32 = 3;
/// Small, and within every plan's LimitRange (starter's limits are 500m / 256Mi): a backup
/// streams documents to gzip files, so its memory stays flat whatever the tenant's size.
pub const CPU_REQUEST_M: u32 = 100;
pub const MEMORY_REQUEST_MI: u32 = 128;
pub const CPU_LIMIT_M: u32 = 500;
pub const MEMORY_LIMIT_MI: u32 = 256;
/// The backup stages its gzip files in TMPDIR (/tmp) before uploading them.
const TMP_SIZE: &str = "4Gi";
/// Past this a missed run (controller down, tenant suspended) is skipped, not started late.
const STARTING_DEADLINE_SECONDS: i64 = 3600;
/// A run that has not finished in 3 hours is stuck; less than the shortest interval (6 h).
const ACTIVE_DEADLINE_SECONDS: i64 = 3 * 3600;

pub fn build(ctx: &TenantContext) -> CronJob {
    let labels = pod_labels(ctx);
    CronJob {
        metadata: ctx.meta(NAME, labels.clone()),
        spec: Some(CronJobSpec {
            schedule: schedule(&ctx.name, ctx.sizing.backups),
            time_zone: Some("Etc/UTC".into()),
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
            suspend: Some(ctx.tenant.spec.suspended),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    active_deadline_seconds: Some(ACTIVE_DEADLINE_SECONDS),
                    ttl_seconds_after_finished: Some(3 * 24 * 3600),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(pod_spec(ctx)),
                    },
                    ..JobSpec::default()
                }),
            },
        }),
        ..CronJob::default()
    }
}

/// The tenant's labels plus the backup's own name and component; never the chat-server's
/// selector (`app.kubernetes.io/name: chat-server`).
pub fn pod_labels(ctx: &TenantContext) -> BTreeMap<String, String> {
    let mut labels = ctx.labels();
    labels.extend([
        ("app.kubernetes.io/name".into(), NAME.into()),
        ("app.kubernetes.io/instance".into(), ctx.name.clone()),
        ("app.kubernetes.io/component".into(), COMPONENT.into()),
    ]);
    labels
}

/// Five-field cron, UTC: at a minute taken from the tenant's name (so a thousand tenants do
/// not all hit the shared database and S3 in the same minute) of every `every_hours`-th hour
/// from [`FIRST_HOUR`]. The hours are listed (`3,9,15,21`) rather than stepped, which every cron
/// dialect reads alike.
pub fn schedule(tenant: &str, backups: Backups) -> String {
    let minute = Sha256::digest(tenant.as_bytes())[0] as u32 % 60;
    let every = backups.every_hours.clamp(1, 24);
    let mut hours: Vec<u32> = (0..24 / every)
        .map(|i| (FIRST_HOUR + i * every) % 24)
        .collect();
    hours.sort_unstable();
    let hours: Vec<String> = hours.iter().map(u32::to_string).collect();
    format!("{minute} {} * * *", hours.join(","))
}

fn pod_spec(ctx: &TenantContext) -> PodSpec {
    let pair = |c: u32, m: u32| {
        BTreeMap::from([
            ("cpu".to_string(), cpu(c)),
            ("memory".to_string(), memory(m)),
        ])
    };
    let env = [
        pod::store_env(),
        pod::config_env(names::S3_REGION, false),
        pod::config_env(names::S3_ENDPOINT, true),
        pod::config_env(names::LOG_FORMAT, true),
    ]
    .into_iter()
    .chain(pod::s3_credentials_env(ctx))
    .collect();
    PodSpec {
        // The chat-server's account: with IRSA its role is what may write the bucket.
        service_account_name: Some(CHAT_SERVER.into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        // A failed pod stays for its logs; the Job's backoffLimit starts new ones.
        restart_policy: Some("Never".into()),
        security_context: Some(pod::pod_security_context()),
        containers: vec![Container {
            name: COMPONENT.into(),
            image: Some(ctx.settings.chat_image.clone()),
            image_pull_policy: Some("IfNotPresent".into()),
            args: Some(vec![
                "backup".into(),
                "--to".into(),
                format!("s3://{}/{BACKUPS_PREFIX}", ctx.bucket),
            ]),
            env: Some(env),
            resources: Some(ResourceRequirements {
                requests: Some(pair(CPU_REQUEST_M, MEMORY_REQUEST_MI)),
                limits: Some(pair(CPU_LIMIT_M, MEMORY_LIMIT_MI)),
                ..ResourceRequirements::default()
            }),
            security_context: Some(pod::container_security_context()),
            volume_mounts: Some(vec![pod::tmp_mount()]),
            ..Container::default()
        }],
        volumes: Some(vec![pod::tmp_volume(TMP_SIZE)]),
        ..PodSpec::default()
    }
}
