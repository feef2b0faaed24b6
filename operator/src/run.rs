//! `run`: the controller against the cluster it runs in (or the current kubeconfig context).

use std::sync::Arc;

use futures::StreamExt;

use crate::cli::RunArgs;
use crate::controller::atlas_database::{AtlasConfig, AtlasDatabase};
use crate::controller::mongo_database::MongoDatabase;
use crate::controller::providers::{Database, ProviderError};
use crate::controller::s3_storage::S3Storage;
use crate::controller::{Context, controller};
use crate::metrics;
use crate::settings::{DatabaseArgs, DatabaseProvider};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("connecting to the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("connecting to the database provider: {0}")]
    Database(#[source] ProviderError),
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
        runtime,
    } = args;
    // The database provider first: a refusal here needs no cluster to be reported.
    let database = database_provider(&database).await?;
    let client = kube::Client::try_default().await?;
    // Reached, not just configured: readiness below means the API server answered.
    let version = client.apiserver_version().await?;
    tracing::info!(kubernetes = %version.git_version, "connected");
    let storage = Arc::new(
        S3Storage::from_settings(&settings.s3_region, settings.s3_endpoint.as_deref()).await,
    );
    let ctx = Arc::new(Context::new(client, settings, storage, database));
    let (addr, _server) = metrics::serve(runtime.metrics_addr, ctx.metrics.clone())
        .await
        .map_err(|source| RunError::Metrics {
            addr: runtime.metrics_addr,
            source,
        })?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    ctx.metrics.set_ready(true);
    ctx.metrics.set_leader(true);
    tracing::info!("watching Tenants");
    run_controller(ctx).await;
    Ok(())
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
            Some(client) => Arc::new(MongoDatabase::new(client)),
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
            };
            Arc::new(AtlasDatabase::new(config, admin).map_err(RunError::Database)?)
        }
    })
}
