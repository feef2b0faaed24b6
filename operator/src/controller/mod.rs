//! The controller: a staged reconcile (fetch → validate → build → apply → status) driven by
//! kube-runtime's Controller, with a finalizer for cleanup.

pub mod apply;
pub mod atlas_database;
pub mod bus_access;
pub mod cleanup;
pub mod credentials;
pub mod elasticache_users;
pub mod mongo_database;
pub mod providers;
pub mod redis_acl;
pub mod s3_storage;
pub mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::context::{MANAGER, TENANT_LABEL, TenantContext};
use crate::metrics::Metrics;
use crate::resources::{self, CHAT_SERVER, secrets};
use crate::settings::{DEFAULT_CONCURRENCY, Settings};
use crate::tenant::{AppliedStatus, DatabaseStatus, Tenant, TenantStatus};
use providers::{
    BucketRequest, BusIdentity, BusUser, Database, DatabaseUser, ProviderError, Storage,
};
use status::Step;

pub const FINALIZER: &str = "atendo.io/cleanup";
/// "true" stops reconciling (never deletion).
pub const PAUSED_ANNOTATION: &str = "atendo.io/paused";
/// "true" lets a cluster operator delete a Tenant whose bucket or database can no longer be
/// reached: cleanup then skips both and only removes the namespace.
pub const SKIP_EXTERNAL_CLEANUP_ANNOTATION: &str = "atendo.io/skip-external-cleanup";
/// Any new value forces a reconcile: the change itself is the trigger.
pub const RECONCILE_REQUESTED_ANNOTATION: &str = "atendo.io/reconcile-requested-at";

/// Resync interval of a healthy tenant: drift the watches miss is corrected at least this often.
const RESYNC: Duration = Duration::from_secs(300);
/// Re-check interval while something is still converging (replicas, ingress address).
const CONVERGING: Duration = Duration::from_secs(15);
/// The longest one provider step (a whole ensure or cleanup, retries included) may take. S3's
/// SDK has no read timeout, so a silent endpoint would otherwise hold the reconcile for ever.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub storage: Arc<dyn Storage>,
    pub database: Arc<dyn Database>,
    /// The tenants' Redis users.
    pub bus: Arc<dyn BusIdentity>,
    pub metrics: Arc<Metrics>,
    /// Bound on each provider step; [`PROVIDER_TIMEOUT`] unless a test shortens it.
    pub provider_timeout: Duration,
    /// Reconciles at once; [`DEFAULT_CONCURRENCY`] unless set.
    pub concurrency: u16,
    recorder: Recorder,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(
        client: Client,
        settings: Settings,
        storage: Arc<dyn Storage>,
        database: Arc<dyn Database>,
        bus: Arc<dyn BusIdentity>,
    ) -> Self {
        let reporter = Reporter {
            controller: MANAGER.into(),
            instance: None,
        };
        let recorder = Recorder::new(client.clone(), reporter);
        Context {
            client,
            settings,
            storage,
            database,
            bus,
            metrics: Arc::new(Metrics::new()),
            provider_timeout: PROVIDER_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            recorder,
            failures: Mutex::default(),
        }
    }
}

/// Failures by stage; `label` names the stage for logs and metrics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {what}: {source}")]
    Read {
        what: &'static str,
        source: kube::Error,
    },
    #[error("applying {what}: {source}")]
    Apply {
        what: &'static str,
        source: kube::Error,
    },
    #[error("deleting {what}: {source}")]
    Delete {
        what: &'static str,
        source: kube::Error,
    },
    #[error("writing status: {0}")]
    Status(#[source] kube::Error),
    #[error("{step}: {source}")]
    Provider {
        step: &'static str,
        source: ProviderError,
    },
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    pub fn label(&self) -> &'static str {
        match self {
            Error::Read { .. } => "read",
            Error::Apply { .. } => "apply",
            Error::Delete { .. } => "delete",
            Error::Status(_) => "status",
            Error::Provider { .. } => "provider",
            Error::Finalizer(_) => "finalizer",
        }
    }

    /// The condition reason of a provider failure (RateLimited, BucketNameTaken, …), else the stage.
    pub fn reason(&self) -> &str {
        match self {
            Error::Provider { source, .. } => &source.reason,
            other => other.label(),
        }
    }
}

fn annotation<'a>(tenant: &'a Tenant, key: &str) -> Option<&'a str> {
    tenant.annotations().get(key).map(String::as_str)
}

/// One reconcile of one Tenant, counted and timed in the metrics.
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let result = reconcile_once(tenant, ctx.clone()).await;
    let failure = result.as_ref().err().map(|e| (e.label(), e.reason()));
    ctx.metrics.observe(started.elapsed(), failure);
    result
}

async fn reconcile_once(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let deleting = tenant.metadata.deletion_timestamp.is_some();
    if annotation(&tenant, PAUSED_ANNOTATION) == Some("true") && !deleting {
        let step = Step {
            kind: status::READY,
            ok: false,
            reason: "Paused".into(),
            message: format!("{PAUSED_ANNOTATION} is true; nothing is reconciled"),
        };
        write_ready_only(&tenant, &ctx, step).await?;
        return Ok(Action::await_change());
    }
    let api: Api<Tenant> = Api::all(ctx.client.clone());
    let result = finalizer(&api, FINALIZER, tenant, |event| async {
        match event {
            Event::Apply(tenant) => apply_tenant(&tenant, &ctx).await,
            Event::Cleanup(tenant) => cleanup_tenant(&tenant, &ctx).await,
        }
    })
    .await;
    match result {
        Ok(action) => Ok(action),
        Err(
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e),
        ) => Err(e),
        Err(other) => Err(Error::Finalizer(other.to_string())),
    }
}

/// Exponential backoff per Tenant: 5s, 10s, 20s … capped at 5 minutes.
pub fn error_policy(tenant: Arc<Tenant>, error: &Error, ctx: Arc<Context>) -> Action {
    let mut failures = ctx.failures.lock().expect("failure counts");
    let n = failures.entry(tenant.name_any()).or_insert(0);
    *n = n.saturating_add(1);
    let delay = Duration::from_secs(5u64.saturating_mul(1 << (*n - 1).min(6))).min(RESYNC);
    tracing::warn!(tenant = %tenant.name_any(), stage = error.label(), %error, ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn apply_tenant(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    // validate
    let tc = match TenantContext::new(tenant, &ctx.settings) {
        Ok(tc) => tc,
        Err(invalid) => {
            let message = invalid
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            write_ready_only(
                tenant,
                ctx,
                Step::failed(status::READY, "InvalidSpec", message),
            )
            .await?;
            // Only a change to the Tenant can fix it: no retry loop.
            return Ok(Action::await_change());
        }
    };
    let client = &ctx.client;
    let ns = tc.namespace.as_str();

    // fetch: the secret values generated earlier
    let secret_api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let read = |what| move |source| Error::Read { what, source };
    let stored_db = secret_api
        .get_opt(secrets::DATABASE)
        .await
        .map_err(read("database secret"))?;
    let stored_creds = secret_api
        .get_opt(secrets::CREDENTIALS)
        .await
        .map_err(read("credentials secret"))?;
    let stored_admin = secret_api
        .get_opt(secrets::ADMIN)
        .await
        .map_err(read("admin secret"))?;
    let rotate = annotation(tenant, credentials::ROTATE_ANNOTATION);
    let creds = credentials::resolve(
        stored_db.as_ref(),
        stored_creds.as_ref(),
        stored_admin.as_ref(),
        rotate,
    );

    // build
    let objects = resources::build(&tc, &creds);

    // apply: namespace first, then the external systems, then what lives in the namespace
    let fail = |what| move |source| Error::Apply { what, source };
    apply::apply(&Api::<Namespace>::all(client.clone()), objects.namespace)
        .await
        .map_err(fail("namespace"))?;
    // External systems are called only when what they must hold changed since the last success,
    // or when a new reconcile-requested-at value asks for it: a resync with nothing to do writes
    // nothing there either.
    let previous = tenant.status.clone().unwrap_or_default();
    let applied = previous.applied.clone().unwrap_or_default();
    let requested = annotation(tenant, RECONCILE_REQUESTED_ANNOTATION).map(String::from);
    let forced = requested.is_some() && requested != applied.reconcile_requested_at;
    let condition_ok = |kind: &str| {
        previous
            .conditions
            .iter()
            .any(|c| c.type_ == kind && c.status == "True")
    };
    let bucket_request = BucketRequest::new(
        &tc.bucket,
        &tc.name,
        tenant.spec.plan,
        &tc.sizing,
        &tc.allowed_origins,
    );
    let storage_hash = fingerprint(&format!("{bucket_request:?}"));
    let storage = if !forced
        && applied.storage.as_deref() == Some(&storage_hash)
        && condition_ok(status::STORAGE_READY)
    {
        Ok(())
    } else {
        bounded(
            ctx,
            "ensuring the bucket",
            ctx.storage.ensure_bucket(&bucket_request),
        )
        .await
    };
    let user = DatabaseUser {
        user: tc.database_user.clone(),
        database: tc.database.clone(),
        password: creds.database_password.clone(),
    };
    let database_hash = fingerprint(&format!("{user:?}"));
    let database = if !forced
        && applied.database.as_deref() == Some(&database_hash)
        && condition_ok(status::DATABASE_READY)
    {
        Ok(())
    } else {
        bounded(ctx, "ensuring the user", ctx.database.ensure_user(&user)).await
    };
    // Rotation order: the Redis user takes the new password here, before the Secret and the
    // Deployment (whose config hash then rolls the pods). Redis keeps connections that signed in
    // with the old password, so running pods keep their bus until they are replaced; only a pod
    // that reconnects in between is refused until its replacement starts with the new Secret.
    let bus_user = BusUser {
        user: tc.bus_user.clone(),
        channel_prefix: format!("{}:", tc.bus_namespace),
        password: creds.bus_password.clone(),
    };
    // Covers the granted commands too, so an operator upgrade that changes them re-converges.
    let bus_hash = fingerprint(&format!(
        "{}|{}|{}|{:?}",
        bus_user.user,
        bus_user.channel_prefix,
        bus_user.password,
        bus_access::BUS_COMMANDS
    ));
    let bus = if !forced
        && applied.bus.as_deref() == Some(&bus_hash)
        && condition_ok(status::BUS_READY)
    {
        Ok(())
    } else {
        bounded(
            ctx,
            "ensuring the Redis user",
            ctx.bus.ensure_user(&bus_user),
        )
        .await
    };
    let nsd = |c: &Client| c.clone();
    apply::apply(
        &Api::<ResourceQuota>::namespaced(nsd(client), ns),
        objects.resource_quota,
    )
    .await
    .map_err(fail("resource quota"))?;
    apply::apply(
        &Api::<LimitRange>::namespaced(nsd(client), ns),
        objects.limit_range,
    )
    .await
    .map_err(fail("limit range"))?;
    apply::apply(
        &Api::<NetworkPolicy>::namespaced(nsd(client), ns),
        objects.network_policy,
    )
    .await
    .map_err(fail("network policy"))?;
    apply::apply(
        &Api::<ServiceAccount>::namespaced(nsd(client), ns),
        objects.service_account,
    )
    .await
    .map_err(fail("service account"))?;
    apply::apply(&secret_api, objects.database_secret)
        .await
        .map_err(fail("database secret"))?;
    apply::apply(&secret_api, objects.credentials_secret)
        .await
        .map_err(fail("credentials secret"))?;
    apply::apply(&secret_api, objects.admin_secret)
        .await
        .map_err(fail("admin secret"))?;
    apply::apply(
        &Api::<ConfigMap>::namespaced(nsd(client), ns),
        objects.config_map,
    )
    .await
    .map_err(fail("config map"))?;
    let config_maps = Api::<ConfigMap>::namespaced(nsd(client), ns);
    // Before the Deployment whose pods mount it; removed only after the Deployment no longer
    // mounts it, so a pod of the new template never waits for a volume that is gone.
    let remove_bus_ca = match objects.bus_ca {
        Some(bus_ca) => {
            apply::apply(&config_maps, bus_ca)
                .await
                .map_err(fail("bus CA config map"))?;
            false
        }
        None => true,
    };
    let deployment = apply::apply(
        &Api::<Deployment>::namespaced(nsd(client), ns),
        objects.deployment,
    )
    .await
    .map_err(fail("deployment"))?;
    if remove_bus_ca {
        apply::delete_if_present(&config_maps, resources::bus_ca::BUS_CA)
            .await
            .map_err(|source| Error::Delete {
                what: "bus CA config map",
                source,
            })?;
    }
    apply::apply(
        &Api::<Service>::namespaced(nsd(client), ns),
        objects.service,
    )
    .await
    .map_err(fail("service"))?;
    let ingress = apply::apply(
        &Api::<Ingress>::namespaced(nsd(client), ns),
        objects.ingress,
    )
    .await
    .map_err(fail("ingress"))?;
    let hpa_api = Api::<HorizontalPodAutoscaler>::namespaced(nsd(client), ns);
    match objects.hpa {
        Some(hpa) => {
            apply::apply(&hpa_api, hpa)
                .await
                .map_err(fail("autoscaler"))?;
        }
        None => apply::delete_if_present(&hpa_api, CHAT_SERVER)
            .await
            .map_err(|source| Error::Delete {
                what: "autoscaler",
                source,
            })?,
    }
    apply::apply(
        &Api::<PodDisruptionBudget>::namespaced(nsd(client), ns),
        objects.pdb,
    )
    .await
    .map_err(fail("disruption budget"))?;

    // status
    let steps = [
        Step::ok(
            status::NAMESPACE_READY,
            "Applied",
            format!("namespace {ns} and its policies are applied"),
        ),
        Step::from_provider(
            status::STORAGE_READY,
            &storage,
            format!("bucket {}", tc.bucket),
        ),
        Step::from_provider(
            status::DATABASE_READY,
            &database,
            format!("user {} on database {}", tc.database_user, tc.database),
        ),
        Step::from_provider(
            status::BUS_READY,
            &bus,
            format!(
                "Redis user {} on channels {}:*",
                tc.bus_user, tc.bus_namespace
            ),
        ),
        status::chat_server_step(&deployment, tenant.spec.suspended),
        status::ingress_step(&ingress, &tc.host),
    ];
    let new_status = TenantStatus {
        observed_generation: tenant.metadata.generation,
        conditions: status::conditions(
            &previous.conditions,
            &steps,
            tenant.metadata.generation,
            &now(),
        ),
        url: Some(tc.url.clone()),
        namespace: Some(tc.namespace.clone()),
        bucket: Some(tc.bucket.clone()),
        database: Some(DatabaseStatus {
            name: tc.database.clone(),
            user: tc.database_user.clone(),
        }),
        applied: Some(AppliedStatus {
            storage: if storage.is_ok() {
                Some(storage_hash)
            } else {
                applied.storage.clone()
            },
            database: if database.is_ok() {
                Some(database_hash)
            } else {
                applied.database.clone()
            },
            bus: if bus.is_ok() {
                Some(bus_hash)
            } else {
                applied.bus.clone()
            },
            reconcile_requested_at: if storage.is_ok() && database.is_ok() && bus.is_ok() {
                requested
            } else {
                applied.reconcile_requested_at.clone()
            },
        }),
    };
    write_status(tenant, ctx, new_status).await?;
    if let Err(source) = storage {
        return Err(Error::Provider {
            step: status::STORAGE_READY,
            source,
        });
    }
    if let Err(source) = database {
        return Err(Error::Provider {
            step: status::DATABASE_READY,
            source,
        });
    }
    if let Err(source) = bus {
        return Err(Error::Provider {
            step: status::BUS_READY,
            source,
        });
    }
    ctx.failures
        .lock()
        .expect("failure counts")
        .remove(&tc.name);
    Ok(Action::requeue(if steps.iter().all(|s| s.ok) {
        RESYNC
    } else {
        CONVERGING
    }))
}

async fn cleanup_tenant(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    if annotation(tenant, SKIP_EXTERNAL_CLEANUP_ANNOTATION) != Some("true") {
        // From what provisioning recorded, not from re-validating the spec: a Tenant that stopped
        // validating after it was provisioned still owns its bucket and users. The Redis user
        // goes under both deletion policies: it holds no data, only access.
        if let Some(targets) = cleanup::targets(tenant, &ctx.settings) {
            let policy = tenant.spec.deletion_policy;
            let results = [
                (
                    status::DATABASE_READY,
                    bounded(
                        ctx,
                        "removing the user",
                        ctx.database
                            .remove_user(&targets.database_user, &targets.database, policy),
                    )
                    .await,
                ),
                (
                    status::BUS_READY,
                    bounded(
                        ctx,
                        "removing the Redis user",
                        ctx.bus.remove_user(&targets.bus_user),
                    )
                    .await,
                ),
                (
                    status::STORAGE_READY,
                    if bucket_never_ours(tenant) {
                        Ok(())
                    } else {
                        bounded(
                            ctx,
                            "retiring the bucket",
                            ctx.storage.retire_bucket(&targets.bucket, policy),
                        )
                        .await
                    },
                ),
            ];
            for (step, result) in results {
                if let Err(source) = result {
                    let message = format!(
                        "{step} cleanup failed: {source}; set {SKIP_EXTERNAL_CLEANUP_ANNOTATION}=true to skip external cleanup"
                    );
                    write_ready_only(
                        tenant,
                        ctx,
                        Step::failed(status::READY, "CleanupFailed", message),
                    )
                    .await?;
                    return Err(Error::Provider { step, source });
                }
            }
        }
    }
    apply::delete_if_present(
        &Api::<Namespace>::all(ctx.client.clone()),
        &format!("tenant-{name}"),
    )
    .await
    .map_err(|source| Error::Delete {
        what: "namespace",
        source,
    })?;
    ctx.failures.lock().expect("failure counts").remove(&name);
    Ok(Action::await_change())
}

/// The bucket name belonged to another account when this Tenant last tried (StorageReady
/// False, BucketNameTaken): retiring it would tag or empty someone else's bucket. The reason can
/// only come from CreateBucket's BucketAlreadyExists, which S3 never answers about our own.
fn bucket_never_ours(tenant: &Tenant) -> bool {
    tenant.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == status::STORAGE_READY && c.reason == "BucketNameTaken")
    })
}

/// One provider call, cut off after `ctx.provider_timeout` as a transient failure the error
/// policy retries.
async fn bounded(
    ctx: &Context,
    what: &str,
    call: impl std::future::Future<Output = Result<(), ProviderError>>,
) -> Result<(), ProviderError> {
    let limit = ctx.provider_timeout;
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(ProviderError::new(
            "Unavailable",
            format!("{what} got no answer within {limit:?}; it is retried"),
        ))
    })
}

async fn write_ready_only(tenant: &Tenant, ctx: &Context, step: Step) -> Result<(), Error> {
    let previous = tenant.status.clone().unwrap_or_default();
    let conditions = status::ready_only(
        &previous.conditions,
        step,
        tenant.metadata.generation,
        &now(),
    );
    write_status(
        tenant,
        ctx,
        TenantStatus {
            observed_generation: tenant.metadata.generation,
            conditions,
            ..previous
        },
    )
    .await
}

/// Writes the status only when it differs from the stored one: a no-op reconcile writes nothing.
async fn write_status(tenant: &Tenant, ctx: &Context, new: TenantStatus) -> Result<(), Error> {
    if tenant.status.as_ref() == Some(&new) {
        return Ok(());
    }
    let api: Api<Tenant> = Api::all(ctx.client.clone());
    api.patch_status(
        &tenant.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": new })),
    )
    .await
    .map_err(Error::Status)?;
    let ready = |s: Option<&TenantStatus>| {
        s.and_then(|s| s.conditions.iter().find(|c| c.type_ == status::READY))
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    if let Some((state, reason, message)) = ready(Some(&new))
        && ready(tenant.status.as_ref()).map(|(s, r, _)| (s, r))
            != Some((state.clone(), reason.clone()))
    {
        // Events are for people reading `kubectl describe`: one per change of Ready, never per
        // reconcile; failing to record one must not fail the reconcile.
        let converging = matches!(reason.as_str(), "Progressing" | "AwaitingAddress");
        let event = KubeEvent {
            type_: if state == "True" || converging {
                EventType::Normal
            } else {
                EventType::Warning
            },
            reason,
            note: Some(message.chars().take(1000).collect()),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(error) = ctx.recorder.publish(&event, &tenant.object_ref(&())).await {
            tracing::warn!(tenant = %tenant.name_any(), %error, "recording an event failed");
        }
    }
    Ok(())
}

/// SHA-256 in hex; the database fingerprint covers the password, whose hash of 190 random bits
/// reveals nothing usable.
fn fingerprint(settings: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(settings.as_bytes()))
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// The Tenant that owns `obj`, keyed as the Tenant's own watch keys it. (`Controller::owns` keys
/// it with the object's namespace, which for a cluster-scoped Tenant is a second queue key: two
/// reconciles of one Tenant then ran side by side, and before its credentials were stored each
/// made its own, leaving the database user's password different from the Secret's.)
fn owning_tenant<K: Resource>(obj: K) -> Option<ObjectRef<Tenant>> {
    obj.owner_references()
        .iter()
        .find(|o| o.kind == "Tenant" && o.api_version == Tenant::api_version(&()))
        .map(|o| ObjectRef::new(&o.name))
}

/// The Controller: Tenants, plus the objects it makes (labelled as managed by the operator) so
/// that drift or deletion of any of them reconciles its Tenant at once. Each watch names the one
/// object it is for (a `metadata.name` field selector), which RBAC authorises by name: the
/// operator's ClusterRole lists and watches no Secret, Deployment, … but its own
/// (charts/atendo/files/rbac/operator-rules.yaml).
pub fn controller(
    ctx: Arc<Context>,
) -> impl futures::Stream<
    Item = Result<
        (ObjectRef<Tenant>, Action),
        kube::runtime::controller::Error<Error, watcher::Error>,
    >,
> {
    let client = ctx.client.clone();
    let concurrency = ctx.concurrency;
    let managed =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let named = |name: &str| managed.clone().fields(&format!("metadata.name={name}"));
    let by_tenant_label = |obj: Namespace| {
        obj.labels()
            .get(TENANT_LABEL)
            .map(|n| ObjectRef::<Tenant>::new(n))
    };
    let mut controller = Controller::new(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Deployment>::all(client.clone()),
        named(CHAT_SERVER),
        owning_tenant,
    )
    .watches(
        Api::<ConfigMap>::all(client.clone()),
        named(CHAT_SERVER),
        owning_tenant,
    )
    .watches(
        Api::<Service>::all(client.clone()),
        named(CHAT_SERVER),
        owning_tenant,
    )
    .watches(
        Api::<Ingress>::all(client.clone()),
        named(CHAT_SERVER),
        owning_tenant,
    )
    .watches(
        Api::<HorizontalPodAutoscaler>::all(client.clone()),
        named(CHAT_SERVER),
        owning_tenant,
    );
    // Only with --redis-ca-file: without it the reconcile deletes a leftover one anyway, and the
    // watch would hold a connection open for nothing.
    if ctx.settings.redis_ca_file.is_some() {
        controller = controller.watches(
            Api::<ConfigMap>::all(client.clone()),
            named(resources::bus_ca::BUS_CA),
            owning_tenant,
        );
    }
    for secret in secrets::ALL {
        controller = controller.watches(
            Api::<Secret>::all(client.clone()),
            named(secret),
            owning_tenant,
        );
    }
    controller
        .watches(Api::<Namespace>::all(client), managed, by_tenant_label)
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .run(reconcile, error_policy, ctx)
}
