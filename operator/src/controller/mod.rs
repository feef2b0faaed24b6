//! The controller: a staged reconcile (validate → fetch → build → apply → report, one function
//! per stage in `stages`) driven by kube-runtime's Controller, with a finalizer for cleanup.

pub mod apply;
pub mod atlas_cluster;
pub mod atlas_database;
pub mod bus_access;
pub mod caches;
pub mod cleanup;
pub mod credentials;
pub mod elasticache_users;
pub mod events;
pub mod mongo_database;
pub mod providers;
pub mod redis_acl;
pub mod s3_storage;
mod stages;
pub mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Resource;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use crate::context::{MANAGER, TENANT_LABEL};
use crate::metrics::Metrics;
use crate::resources::{CHAT_SERVER, bus_ca, limit_range, network_policy, resource_quota, secrets};
use crate::settings::{DEFAULT_CONCURRENCY, Settings};
use crate::tenant::Tenant;
use caches::{Caches, Feed, Writers};
use events::Recorder;
use providers::{BusIdentity, Database, ProviderError, Storage};
use stages::report::write_ready_only;
use status::Step;

pub const FINALIZER: &str = "atendo.io/cleanup";
/// "true" stops reconciling (never deletion).
pub const PAUSED_ANNOTATION: &str = "atendo.io/paused";
/// "true" lets a cluster operator delete a Tenant whose bucket or database can no longer be
/// reached: cleanup then skips both and only removes the namespace.
pub const SKIP_EXTERNAL_CLEANUP_ANNOTATION: &str = "atendo.io/skip-external-cleanup";
/// Any new value forces a reconcile: the change itself is the trigger.
pub const RECONCILE_REQUESTED_ANNOTATION: &str = "atendo.io/reconcile-requested-at";

/// When a pass skipped as stale ([`Context::already_answered`]) looks again, should the watch not
/// bring the Tenant's newer version sooner (it normally does, within milliseconds).
const STALE_RETRY: Duration = Duration::from_secs(1);
/// Resync interval of a healthy tenant: drift the watches miss is corrected at least this often.
const RESYNC: Duration = Duration::from_secs(300);
/// Re-check interval while something is still converging (replicas, ingress address).
const CONVERGING: Duration = Duration::from_secs(15);
/// The longest one provider step (a whole ensure or cleanup, retries included) may take. S3's
/// SDK has no read timeout, so a silent endpoint would otherwise hold the reconcile for ever.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(60);
/// A failed notice is tried again after 5 s, 10 s, 20 s … (at most 5 minutes), for ever: the
/// notice stays owed in status.notice until the sink takes it.
pub const NOTICE_BACKOFF: Duration = Duration::from_secs(5);

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
    /// What the operator owns, as the running Controller's watches last saw it; replaced each
    /// time a Controller starts (again, after leadership comes back).
    caches: RwLock<Arc<Caches>>,
    /// Where "tenant ready" notices go (crate::notices); None sends none.
    pub notices: Option<Arc<dyn crate::notices::NoticeSink>>,
    /// First wait before a failed notice is published again (doubling per attempt);
    /// [`NOTICE_BACKOFF`] unless a test shortens it.
    pub notice_backoff: Duration,
    recorder: Recorder,
    failures: Mutex<HashMap<String, u32>>,
    /// Per Tenant, the resourceVersion its last status write was computed from, until a
    /// reconcile sees a newer version (see [`Context::already_answered`]). Both hashed: 16
    /// bytes an entry, while every one of 10,000 Tenants may have a write in flight.
    status_written_from: Mutex<HashMap<u64, u64>>,
}

impl Context {
    pub fn new(
        client: Client,
        settings: Settings,
        storage: Arc<dyn Storage>,
        database: Arc<dyn Database>,
        bus: Arc<dyn BusIdentity>,
    ) -> Self {
        let recorder = Recorder::new(client.clone(), MANAGER);
        // Fed by no watch until a Controller starts: reads go to the API until then.
        let (caches, _) = Caches::new();
        Context {
            client,
            settings,
            storage,
            database,
            bus,
            metrics: Arc::new(Metrics::new()),
            provider_timeout: PROVIDER_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            caches: RwLock::new(Arc::new(caches)),
            notices: None,
            notice_backoff: NOTICE_BACKOFF,
            recorder,
            failures: Mutex::default(),
            status_written_from: Mutex::default(),
        }
    }
}

impl Context {
    /// The caches the reconcile reads owned objects from.
    pub fn caches(&self) -> Arc<Caches> {
        self.caches.read().expect("caches").clone()
    }

    /// Whether this very version of the Tenant was already reconciled into a status write: the
    /// Controller's store has not shown that write yet (an owned object's watch woke the Tenant
    /// first). A pass from it would see the status as it was before, so it would write that
    /// status again and announce the same Events again (at 10,000 Tenants, 0.8 status patches
    /// and 3.5 Event patches per Tenant). The watch event of the write is on its way and
    /// reconciles the Tenant as it is; a newer version ends the entry.
    fn already_answered(&self, tenant: &Tenant) -> bool {
        let name = hash(tenant.metadata.name.as_deref());
        let mut written = self.status_written_from.lock().expect("status writes");
        match written.get(&name) {
            Some(from) if *from == hash(tenant.metadata.resource_version.as_deref()) => true,
            Some(_) => {
                written.remove(&name);
                false
            }
            None => false,
        }
    }

    /// Records that a status was written from this version of the Tenant.
    fn wrote_status_from(&self, tenant: &Tenant) {
        if tenant.metadata.resource_version.is_some() {
            self.status_written_from
                .lock()
                .expect("status writes")
                .insert(
                    hash(tenant.metadata.name.as_deref()),
                    hash(tenant.metadata.resource_version.as_deref()),
                );
        }
    }
}

fn hash(s: Option<&str>) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(s)
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
    if ctx.already_answered(&tenant) {
        return Ok(Action::requeue(STALE_RETRY));
    }
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
            Event::Apply(tenant) => stages::apply_tenant(&tenant, &ctx).await,
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

async fn cleanup_tenant(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    if annotation(tenant, SKIP_EXTERNAL_CLEANUP_ANNOTATION) != Some("true") {
        // From what provisioning recorded, not from re-validating the spec: a Tenant that stopped
        // validating after it was provisioned still owns its bucket and users. The Redis user
        // goes under both deletion policies: it holds no data, only access.
        if let Some(targets) = cleanup::targets(tenant, &ctx.settings) {
            let policy = tenant.spec.deletion_policy;
            let database = match &targets.cluster {
                None => {
                    bounded(
                        ctx,
                        "removing the user",
                        ctx.database
                            .remove_user(&targets.database_user, &targets.database, policy),
                    )
                    .await
                }
                Some(cluster) => {
                    let cluster = providers::DedicatedCluster {
                        tenant: name.clone(),
                        name: cluster.clone(),
                        instance_size: crate::plan::dedicated_instance_size(tenant.spec.plan)
                            .unwrap_or_default()
                            .into(),
                        policy,
                    };
                    bounded(
                        ctx,
                        "retiring the dedicated database",
                        ctx.database.retire_dedicated(
                            &cluster,
                            &targets.database_user,
                            &targets.database,
                        ),
                    )
                    .await
                }
            };
            let results = [
                (status::DATABASE_READY, database),
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
                    // A dedicated cluster being terminated is progress, not a failure: the
                    // finalizer stays until it is gone (the error policy looks again).
                    let step_status = if source.reason == providers::CLUSTER_DELETING {
                        Step::failed(status::READY, &source.reason, source.message.clone())
                    } else {
                        let message = format!(
                            "{step} cleanup failed: {source}; set {SKIP_EXTERNAL_CLEANUP_ANNOTATION}=true to skip external cleanup"
                        );
                        Step::failed(status::READY, "CleanupFailed", message)
                    };
                    write_ready_only(tenant, ctx, step_status).await?;
                    return Err(Error::Provider { step, source });
                }
            }
        }
    }
    let namespace = format!("tenant-{name}");
    apply::delete_if_present(
        &Api::<Namespace>::all(ctx.client.clone()),
        &ctx.caches().namespace,
        None,
        &namespace,
    )
    .await
    .map_err(|source| Error::Delete {
        what: "namespace",
        source,
    })?;
    ctx.caches().forget(&namespace);
    ctx.failures.lock().expect("failure counts").remove(&name);
    ctx.status_written_from
        .lock()
        .expect("status writes")
        .remove(&hash(Some(&name)));
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
/// that drift or deletion of any of them reconciles its Tenant at once, and so that the
/// reconcile reads them from memory ([`caches`]). Each watch names the one object it is for (a
/// `metadata.name` field selector), which RBAC authorises by name: the operator's ClusterRole
/// lists and watches no Secret, Deployment, … but its own
/// (charts/atendo/files/rbac/operator-rules.yaml).
pub fn controller(ctx: Arc<Context>) -> impl futures::Stream<Item = Reconciled> {
    controller_and_tenants(ctx).1
}

/// What the Controller's stream yields per reconcile.
pub type Reconciled =
    Result<(ObjectRef<Tenant>, Action), kube::runtime::controller::Error<Error, watcher::Error>>;

/// [`controller`], and its store of the Tenants as its watch last saw them (what the scale
/// bench resyncs from, as the Controller's own resync would, rather than listing 10,000
/// Tenants at once).
pub fn controller_and_tenants(
    ctx: Arc<Context>,
) -> (Store<Tenant>, impl futures::Stream<Item = Reconciled>) {
    let client = ctx.client.clone();
    let concurrency = ctx.concurrency;
    let Writers {
        namespace,
        resource_quota,
        limit_range,
        network_policy,
        backup_network_policy,
        service_account,
        database_secret,
        credentials_secret,
        admin_secret,
        config_map,
        bus_ca,
        deployment,
        service,
        ingress,
        hpa,
        pdb,
        backup_cron_job,
    } = {
        let (caches, writers) = Caches::new();
        *ctx.caches.write().expect("caches") = Arc::new(caches);
        writers
    };
    let managed =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let by_tenant_label = |obj: Namespace| {
        obj.labels()
            .get(TENANT_LABEL)
            .map(|n| ObjectRef::<Tenant>::new(n))
    };
    let owned = Owned {
        client: &client,
        managed: &managed,
    };
    let controller = Controller::new(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches_stream(
        reflected(Api::all(client.clone()), managed.clone(), namespace),
        by_tenant_label,
    )
    .watches_stream(
        owned.watch(resource_quota::NAME, resource_quota),
        owning_tenant,
    )
    .watches_stream(owned.watch(limit_range::NAME, limit_range), owning_tenant)
    .watches_stream(
        owned.watch(network_policy::NAME, network_policy),
        owning_tenant,
    )
    .watches_stream(
        owned.watch(network_policy::BACKUP_NAME, backup_network_policy),
        owning_tenant,
    )
    .watches_stream(owned.watch(CHAT_SERVER, service_account), owning_tenant)
    .watches_stream(
        owned.watch(secrets::DATABASE, database_secret),
        owning_tenant,
    )
    .watches_stream(
        owned.watch(secrets::CREDENTIALS, credentials_secret),
        owning_tenant,
    )
    .watches_stream(owned.watch(secrets::ADMIN, admin_secret), owning_tenant)
    .watches_stream(owned.watch(CHAT_SERVER, config_map), owning_tenant)
    // Watched with or without --redis-ca-file: the reconcile deletes a leftover one, and learns
    // from this watch that there is none.
    .watches_stream(owned.watch(bus_ca::BUS_CA, bus_ca), owning_tenant)
    .watches_stream(owned.watch(CHAT_SERVER, deployment), owning_tenant)
    .watches_stream(owned.watch(CHAT_SERVER, service), owning_tenant)
    .watches_stream(owned.watch(CHAT_SERVER, ingress), owning_tenant)
    .watches_stream(owned.watch(CHAT_SERVER, hpa), owning_tenant)
    .watches_stream(owned.watch(CHAT_SERVER, pdb), owning_tenant)
    .watches_stream(
        owned.watch(crate::resources::backup_cron_job::NAME, backup_cron_job),
        owning_tenant,
    );
    let tenants = controller.store();
    let running = controller
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .run(reconcile, error_policy, ctx);
    (tenants, running)
}

/// Watches of the objects the operator makes in tenant namespaces.
struct Owned<'a> {
    client: &'a Client,
    managed: &'a watcher::Config,
}

impl Owned<'_> {
    /// The objects called `name` in every namespace, into `writer`'s cache.
    fn watch<K>(
        &self,
        name: &str,
        writer: Feed<K>,
    ) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
    where
        K: caches::Owned,
    {
        let config = self
            .managed
            .clone()
            .fields(&format!("metadata.name={name}"));
        reflected(Api::all(self.client.clone()), config, writer)
    }
}

/// A watch that keeps `writer`'s store current and passes on each object it touches.
fn reflected<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: Feed<K>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: caches::Owned,
{
    use futures::StreamExt as _;
    let mut feed = writer;
    watcher(api, config)
        .modify(caches::trim)
        .map(move |event| {
            if let Ok(event) = &event {
                feed.apply(event);
            }
            event
        })
        .touched_objects()
}
