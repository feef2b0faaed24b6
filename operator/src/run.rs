//! `run`: the controller against the cluster it runs in (or the current kubeconfig context).

use std::sync::Arc;

use futures::StreamExt;

use crate::controller::atlas_database::{AtlasConfig, AtlasDatabase};
use crate::controller::mongo_database::MongoDatabase;
use crate::controller::providers::{Database, ProviderError};
use crate::controller::s3_storage::S3Storage;
use crate::controller::{Context, controller};
use crate::settings::{DatabaseArgs, DatabaseProvider, Settings};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("connecting to the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("connecting to the database provider: {0}")]
    Database(#[source] ProviderError),
}

pub async fn run(settings: Settings, database: DatabaseArgs) -> Result<(), RunError> {
    // The database provider first: a refusal here needs no cluster to be reported.
    let database: Arc<dyn Database> = match database.database_provider {
        DatabaseProvider::Mongodb => {
            // clap requires the URI with this provider.
            let uri = database.mongodb_admin_uri.as_deref().unwrap_or_default();
            Arc::new(
                MongoDatabase::connect(uri)
                    .await
                    .map_err(RunError::Database)?,
            )
        }
        DatabaseProvider::Atlas => {
            // clap requires these with this provider.
            let required = |v: &Option<String>| v.clone().unwrap_or_default();
            let config = AtlasConfig {
                api_url: database.atlas_api_url.clone(),
                project_id: required(&database.atlas_project_id),
                cluster: required(&database.atlas_cluster),
                public_key: required(&database.atlas_public_key),
                private_key: required(&database.atlas_private_key),
                request_timeout: AtlasConfig::DEFAULT_TIMEOUT,
            };
            // Optional here: only deletionPolicy Delete needs it, to drop the tenant's data.
            let data = match database.mongodb_admin_uri.as_deref() {
                Some(uri) => Some(mongodb::Client::with_uri_str(uri).await.map_err(|e| {
                    RunError::Database(ProviderError::new(
                        "Unavailable",
                        format!("connecting with --mongodb-admin-uri: {e}"),
                    ))
                })?),
                None => None,
            };
            Arc::new(AtlasDatabase::new(config, data).map_err(RunError::Database)?)
        }
    };
    let client = kube::Client::try_default().await?;
    let storage = Arc::new(
        S3Storage::from_settings(&settings.s3_region, settings.s3_endpoint.as_deref()).await,
    );
    let ctx = Arc::new(Context::new(client, settings, storage, database));
    tracing::info!("watching Tenants");
    controller(ctx)
        .for_each(|result| async move {
            match result {
                Ok((tenant, _)) => tracing::debug!(tenant = %tenant.name, "reconciled"),
                Err(error) => tracing::warn!(%error, "reconcile failed"),
            }
        })
        .await;
    Ok(())
}
