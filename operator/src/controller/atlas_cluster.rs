//! A tenant's dedicated Atlas cluster (spec.database.dedicated) through the Admin API v2
//! `clusters` resource, and its user scoped to that cluster alone.
//!
//! Every step reads before it writes, so a reconcile that dies after any call finds what it made
//! and carries on: the cluster's name is derived from the tenant's, and Atlas refuses a second
//! cluster of one name (DUPLICATE_CLUSTER_NAME), which counts as "it exists". Creation takes
//! minutes: while the cluster is CREATING the step answers [`CLUSTER_CREATING`], which the report
//! stage shows on DatabaseReady and re-checks soon rather than treating as a failure.
//!
//! A plan change changes the size the cluster must have: the cluster is resized in place by one
//! PATCH, sent only while it is IDLE at another size. Atlas shows the size asked for at once and
//! is UPDATING until every member has it, so a later reconcile (or one after a crash that lost
//! the PATCH's answer) sees the size already asked for and waits instead of asking again. The
//! tenant's user and address stay as they are: the cluster keeps serving throughout.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::atlas_database::{AtlasDatabase, AtlasError};
use super::providers::{
    CLUSTER_CREATING, CLUSTER_DELETING, DatabaseUser, DedicatedCluster, DedicatedDatabase,
    ProviderError,
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

    /// The PATCH that resizes a cluster to `size`: its own replicationSpecs with every region's
    /// electable (and read-only) instanceSize replaced, so the provider, region, priority and
    /// node counts it has stay as they are (Atlas replaces replicationSpecs as a whole, and the
    /// operator's configured region may have changed since the cluster was made).
    pub fn resize_body(found: &Value, size: &str) -> Value {
        let mut specs = found["replicationSpecs"].clone();
        for spec in specs.as_array_mut().into_iter().flatten() {
            for region in spec["regionConfigs"].as_array_mut().into_iter().flatten() {
                for kind in ["electableSpecs", "readOnlySpecs"] {
                    if region[kind].is_object() {
                        region[kind]["instanceSize"] = json!(size);
                    }
                }
            }
        }
        json!({ "replicationSpecs": specs })
    }

    pub(super) async fn ensure_cluster_and_user(
        &self,
        cluster: &DedicatedCluster,
        user: &DatabaseUser,
    ) -> Result<DedicatedDatabase, ProviderError> {
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
        let srv = found["connectionStrings"]["standardSrv"]
            .as_str()
            .unwrap_or_default();
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
            // A cluster that served before keeps serving while Atlas changes it member by member.
            "UPDATING" | "REPAIRING" if !srv.is_empty() => {}
            other => return Err(creating(cluster, other)),
        }
        let address = DatabaseUrl::parse(srv).map_err(|why| {
            ProviderError::new(
                "AtlasError",
                format!(
                    "Atlas cluster {} is {state} but its connectionStrings.standardSrv {srv:?} {why}",
                    cluster.name
                ),
            )
        })?;
        let wanted = cluster.instance_size.as_str();
        let has = instance_sizes(&found);
        let updating = if has.iter().all(|s| s == wanted) {
            // Asked for already (by this reconcile's predecessor, perhaps one that died before it
            // heard the answer): Atlas is carrying it out, or is busy with a change of its own.
            (state != "IDLE").then(|| {
                format!(
                    "Atlas cluster {} ({wanted}) is {state}; it keeps serving meanwhile",
                    cluster.name
                )
            })
        } else {
            let from = has.first().map_or("an unknown size", String::as_str);
            if state == "IDLE" {
                self.call(
                    Method::PATCH,
                    &self.cluster_path(&cluster.name),
                    Some(&Self::resize_body(&found, wanted)),
                    &[],
                )
                .await?;
                Some(format!(
                    "Atlas cluster {} is being resized from {from} to {wanted}, the plan's size; Atlas changes one member at a time, so the tenant's connection keeps working",
                    cluster.name
                ))
            } else {
                // One change at a time: the resize is asked for once Atlas is done with this one.
                Some(format!(
                    "Atlas cluster {} ({from}) is {state}; it is resized to {wanted} once that is done",
                    cluster.name
                ))
            }
        };
        let protect = cluster.policy == DeletionPolicy::Retain;
        if state == "IDLE" && found["terminationProtectionEnabled"].as_bool() != Some(protect) {
            self.set_protection(&cluster.name, protect).await?;
        }
        self.ensure(user, &cluster.name).await?;
        Ok(DedicatedDatabase { address, updating })
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

/// The instance size of every region's electable members, as Atlas describes the cluster.
fn instance_sizes(found: &Value) -> Vec<String> {
    found["replicationSpecs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|spec| spec["regionConfigs"].as_array().into_iter().flatten())
        .filter_map(|region| region["electableSpecs"]["instanceSize"].as_str())
        .map(String::from)
        .collect()
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
