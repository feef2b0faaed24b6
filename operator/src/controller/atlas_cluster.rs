//! A tenant's dedicated Atlas cluster (spec.database.dedicated) through the Admin API v2
//! `clusters` resource, and its user scoped to that cluster alone.
//!
//! Every step reads before it writes, so a reconcile that dies after any call finds what it made
//! and carries on: the cluster's name is derived from the tenant's, and Atlas refuses a second
//! cluster of one name (DUPLICATE_CLUSTER_NAME), which counts as "it exists". Creation takes
//! minutes: while the cluster is CREATING (or UPDATING, REPAIRING) the step answers
//! [`CLUSTER_CREATING`], which the report stage shows on DatabaseReady and re-checks soon rather
//! than treating as a failure.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::atlas_database::{AtlasDatabase, AtlasError};
use super::providers::{
    CLUSTER_CREATING, CLUSTER_DELETING, DatabaseUser, DedicatedCluster, ProviderError,
};
use crate::settings::DatabaseUrl;
use crate::tenant::DeletionPolicy;

/// Atlas's answer to a second cluster of the same name.
const DUPLICATE_CLUSTER_NAME: &str = "DUPLICATE_CLUSTER_NAME";
/// Electable members of a dedicated replica set: Atlas's smallest highly available shape.
const NODE_COUNT: u32 = 3;

impl AtlasDatabase {
    fn clusters_path(&self) -> String {
        format!("/api/atlas/v2/groups/{}/clusters", self.config.project_id)
    }

    fn cluster_path(&self, name: &str) -> String {
        // Cluster names are letters, digits and '-' (see context::dedicated_cluster_name).
        format!("{}/{name}", self.clusters_path())
    }

    /// The cluster as Atlas describes it, or None when there is none of that name.
    async fn cluster(&self, name: &str) -> Result<Option<Value>, AtlasError> {
        let (status, body) = self
            .call_json(
                Method::GET,
                &self.cluster_path(name),
                None,
                &[StatusCode::NOT_FOUND],
            )
            .await?;
        Ok((status != StatusCode::NOT_FOUND).then_some(body))
    }

    /// The Admin API's createCluster body: one replica set of the plan's size in the configured
    /// provider and region, protected from termination when the Tenant retains its data.
    pub fn create_cluster_body(&self, cluster: &DedicatedCluster) -> Value {
        json!({
            "name": cluster.name,
            "clusterType": "REPLICASET",
            "replicationSpecs": [{
                "numShards": 1,
                "regionConfigs": [{
                    "providerName": self.config.dedicated_provider,
                    "regionName": self.config.dedicated_region,
                    "priority": 7,
                    "electableSpecs": {
                        "instanceSize": cluster.instance_size,
                        "nodeCount": NODE_COUNT,
                    },
                }],
            }],
            "terminationProtectionEnabled": cluster.policy == DeletionPolicy::Retain,
            "tags": [{ "key": "atendo.io/tenant", "value": cluster.tenant }],
        })
    }

    async fn set_protection(&self, name: &str, on: bool) -> Result<(), AtlasError> {
        self.call(
            Method::PATCH,
            &self.cluster_path(name),
            Some(&json!({ "terminationProtectionEnabled": on })),
            &[],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn ensure_cluster_and_user(
        &self,
        cluster: &DedicatedCluster,
        user: &DatabaseUser,
    ) -> Result<DatabaseUrl, ProviderError> {
        let Some(found) = self.cluster(&cluster.name).await? else {
            let body = self.create_cluster_body(cluster);
            match self
                .call(Method::POST, &self.clusters_path(), Some(&body), &[])
                .await
            {
                Ok(_) => {}
                // Made by an earlier reconcile whose GET came before Atlas listed it.
                Err(AtlasError::Status { code: Some(c), .. }) if c == DUPLICATE_CLUSTER_NAME => {}
                Err(e) => return Err(e.into()),
            }
            return Err(creating(cluster, "CREATING"));
        };
        let state = found["stateName"].as_str().unwrap_or("UNKNOWN");
        match state {
            "IDLE" => {}
            "DELETING" | "DELETED" => {
                return Err(ProviderError::new(
                    CLUSTER_DELETING,
                    format!(
                        "Atlas cluster {} is being terminated, though the Tenant still uses it (it was deleted outside the operator); once it is gone a new, empty one is made",
                        cluster.name
                    ),
                ));
            }
            other => return Err(creating(cluster, other)),
        }
        let protect = cluster.policy == DeletionPolicy::Retain;
        if found["terminationProtectionEnabled"].as_bool() != Some(protect) {
            self.set_protection(&cluster.name, protect).await?;
        }
        self.ensure(user, &cluster.name).await?;
        let srv = found["connectionStrings"]["standardSrv"]
            .as_str()
            .unwrap_or_default();
        DatabaseUrl::parse(srv).map_err(|why| {
            ProviderError::new(
                "AtlasError",
                format!(
                    "Atlas cluster {} is IDLE but its connectionStrings.standardSrv {srv:?} {why}",
                    cluster.name
                ),
            )
        })
    }

    pub(super) async fn retire_cluster(
        &self,
        cluster: &DedicatedCluster,
        user: &str,
    ) -> Result<(), ProviderError> {
        self.remove_only_user(user).await?;
        let Some(found) = self.cluster(&cluster.name).await? else {
            return Ok(());
        };
        let protected = found["terminationProtectionEnabled"].as_bool() == Some(true);
        match cluster.policy {
            DeletionPolicy::Retain => {
                if !protected {
                    self.set_protection(&cluster.name, true).await?;
                }
                Ok(())
            }
            DeletionPolicy::Delete => {
                if found["stateName"].as_str() != Some("DELETING") {
                    if protected {
                        self.set_protection(&cluster.name, false).await?;
                    }
                    self.call(
                        Method::DELETE,
                        &self.cluster_path(&cluster.name),
                        None,
                        &[StatusCode::NOT_FOUND],
                    )
                    .await?;
                }
                Err(ProviderError::new(
                    CLUSTER_DELETING,
                    format!(
                        "Atlas cluster {} is being terminated; deletion finishes once it is gone",
                        cluster.name
                    ),
                ))
            }
        }
    }
}

fn creating(cluster: &DedicatedCluster, state: &str) -> ProviderError {
    ProviderError::new(
        CLUSTER_CREATING,
        format!(
            "Atlas cluster {} ({}) is {state}; the tenant's user and connection string follow once it is IDLE",
            cluster.name, cluster.instance_size
        ),
    )
}
