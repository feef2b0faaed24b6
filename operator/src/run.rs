//! `run`: the controller against the cluster it runs in (or the current kubeconfig context).

use std::sync::Arc;

use futures::StreamExt;

use crate::cli::RunArgs;
use crate::controller::atlas_database::{AtlasConfig, AtlasDatabase};
use crate::controller::elasticache_users::ElastiCacheUsers;
use crate::controller::mongo_database::MongoDatabase;
use crate::controller::providers::{BusIdentity, Database, ProviderError};
use crate::controller::redis_acl::RedisAcl;
use crate::controller::s3_storage::S3Storage;
use crate::controller::{Context, controller};
use crate::leader::{self, Election, LeaderConfig, LeaderError};
use crate::metrics;
use crate::notices::NoticeSink;
use crate::notices::cloudevents::CloudEventsSink;
use crate::notices::sns::SnsSink;
use crate::settings::{
    BusArgs, DatabaseArgs, DatabaseProvider, NoticeArgs, RedisProvider, SettingsError,
};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("connecting to the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("connecting to the database provider: {0}")]
    Database(#[source] ProviderError),
    #[error("setting up the Redis user provider: {0}")]
    Bus(#[source] ProviderError),
    #[error(transparent)]
    Leader(#[from] LeaderError),
    #[error("leader election stopped unexpectedly; exiting so the pod restarts")]
    ElectionEnded,
    #[error("serving metrics on --metrics-addr {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

pub async fn run(args: RunArgs) -> Result<(), RunError> {
    let RunArgs {
        settings,
        database,
        bus,
        runtime,
        notices,
    } = args;
    settings.check()?;
    // The database provider first: a refusal here needs no cluster to be reported.
    let database = database_provider(&database).await?;
    let bus = bus_provider(&bus).await?;
    let client = kube::Client::try_default().await?;
    // Reached, not just configured: readiness below means the API server answered.
    let version = client.apiserver_version().await?;
    tracing::info!(kubernetes = %version.git_version, "connected");
    let storage = Arc::new(
        S3Storage::from_settings(&settings.s3_region, settings.s3_endpoint.as_deref()).await,
    );
    let mut ctx = Context::new(client, settings, storage, database, bus);
    ctx.concurrency = runtime.max_concurrent_reconciles;
    ctx.notices = notice_sink(&notices).await;
    let ctx = Arc::new(ctx);
    let (addr, _server) = metrics::serve(runtime.metrics_addr, ctx.metrics.clone())
        .await
        .map_err(|source| RunError::Metrics {
            addr: runtime.metrics_addr,
            source,
        })?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    if !runtime.leader_election {
        ctx.metrics.set_ready(true);
        ctx.metrics.set_leader(true);
        tracing::info!("watching Tenants");
        tokio::select! {
            () = run_controller(ctx.clone()) => {}
            () = shutdown() => tracing::info!("shutting down"),
        }
        return Ok(());
    }
    let config = LeaderConfig {
        lease_name: runtime.lease_name.clone(),
        namespace: runtime.lease_namespace(std::env::var("POD_NAMESPACE").ok()),
        identity: leader::identity(),
        duration: LeaderConfig::DURATION,
        grace: LeaderConfig::GRACE,
    };
    tracing::info!(lease = %config.lease_name, namespace = %config.namespace, identity = %config.identity, "campaigning for the leader lease");
    let election = Election::start(ctx.client.clone(), &config).await?;
    ctx.metrics.set_ready(true);
    let leading = election.leading.clone();
    let ended = tokio::select! {
        () = leader::while_leading(leading, ctx.metrics.clone(), || run_controller(ctx.clone())) => true,
        () = shutdown() => false,
    };
    election.stop().await;
    if ended {
        return Err(RunError::ElectionEnded);
    }
    tracing::info!("shut down");
    Ok(())
}

/// The "tenant ready" notice sink the settings name, if any.
async fn notice_sink(args: &NoticeArgs) -> Option<Arc<dyn NoticeSink>> {
    if let Some(topic) = &args.notice_sns_topic_arn {
        tracing::info!(%topic, "tenant-ready notices go to SNS");
        let sink = SnsSink::from_settings(topic, args.notice_sns_endpoint.as_deref()).await;
        return Some(Arc::new(sink));
    }
    let url = args.notice_cloudevents_url.as_ref()?;
    tracing::info!(%url, "tenant-ready notices go to a CloudEvents endpoint");
    Some(Arc::new(CloudEventsSink::new(url, &args.notice_source)))
}

/// SIGTERM (what the kubelet sends) or Ctrl-C.
async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// The Controller until its stream ends.
pub async fn run_controller(ctx: Arc<Context>) {
    controller(ctx)
        .for_each(|result| async move {
            match result {
                Ok((tenant, _)) => tracing::debug!(tenant = %tenant.name, "reconciled"),
                Err(error) => tracing::warn!(%error, "reconcile failed"),
            }
        })
        .await;
}

async fn database_provider(args: &DatabaseArgs) -> Result<Arc<dyn Database>, RunError> {
    // Optional with atlas (only deletionPolicy Delete uses it), required by clap with mongodb.
    let admin = match args.mongodb_admin_uri.as_deref() {
        Some(uri) => Some(mongodb::Client::with_uri_str(uri).await.map_err(|e| {
            RunError::Database(ProviderError::new(
                "Unavailable",
                format!("connecting with --mongodb-admin-uri: {e}"),
            ))
        })?),
        None => None,
    };
    Ok(match args.database_provider {
        DatabaseProvider::Mongodb => match admin {
            Some(client) => Arc::new(
                MongoDatabase::new(client)
                    .with_dedicated_template(args.mongodb_dedicated_admin_uri_template.clone()),
            ),
            None => {
                return Err(RunError::Database(ProviderError::new(
                    "Misconfigured",
                    "--database-provider mongodb needs --mongodb-admin-uri",
                )));
            }
        },
        DatabaseProvider::Atlas => {
            // clap requires these with this provider.
            let required = |v: &Option<String>| v.clone().unwrap_or_default();
            let config = AtlasConfig {
                api_url: args.atlas_api_url.clone(),
                project_id: required(&args.atlas_project_id),
                cluster: required(&args.atlas_cluster),
                public_key: required(&args.atlas_public_key),
                private_key: required(&args.atlas_private_key),
                request_timeout: AtlasConfig::DEFAULT_TIMEOUT,
                dedicated_provider: args.atlas_dedicated_provider.clone(),
                dedicated_region: args.atlas_dedicated_region.clone(),
            };
            Arc::new(AtlasDatabase::new(config, admin).map_err(RunError::Database)?)
        }
    })
}

async fn bus_provider(args: &BusArgs) -> Result<Arc<dyn BusIdentity>, RunError> {
    Ok(match args.redis_provider {
        RedisProvider::SelfManaged => {
            let url = args.redis_admin_url.as_deref().ok_or_else(|| {
                RunError::Bus(ProviderError::new(
                    "Misconfigured",
                    "--redis-provider self-managed needs --redis-admin-url",
                ))
            })?;
            Arc::new(RedisAcl::connect(url).map_err(RunError::Bus)?)
        }
        RedisProvider::Elasticache => {
            let group = args.elasticache_user_group_id.as_deref().ok_or_else(|| {
                RunError::Bus(ProviderError::new(
                    "Misconfigured",
                    "--redis-provider elasticache needs --elasticache-user-group-id",
                ))
            })?;
            Arc::new(
                ElastiCacheUsers::from_settings(
                    args.elasticache_region.as_deref(),
                    args.elasticache_endpoint.as_deref(),
                    group,
                )
                .await,
            )
        }
    })
}
