//! The controller's external systems, behind traits so the reconcile pipeline is tested with
//! in-memory implementations and each real provider (S3; Atlas or MongoDB; self-managed Redis or
//! ElastiCache) gets its own suite.

use async_trait::async_trait;

use crate::plan::Sizing;
use crate::settings::DatabaseUrl;
use crate::tenant::{DeletionPolicy, Plan};

/// A provider failure, with the condition reason it surfaces as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// CamelCase condition reason, e.g. BucketNameTaken, Unavailable, RateLimited.
    pub reason: String,
    pub message: String,
}

impl ProviderError {
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        ProviderError {
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// Throttling and outages pass by themselves; every other reason needs someone to act.
    pub fn is_transient(&self) -> bool {
        matches!(self.reason.as_str(), "Unavailable" | "RateLimited")
    }

    /// Not a failure: the provider is still making it (a dedicated cluster being created), and
    /// the next look after a short wait may find it done.
    pub fn is_pending(&self) -> bool {
        self.reason == CLUSTER_CREATING
    }
}

// Dedicated databases (spec.database.dedicated, issue 16).

/// Reason while a dedicated cluster is created or changed (Atlas CREATING, UPDATING, REPAIRING).
pub const CLUSTER_CREATING: &str = "ClusterCreating";
/// Reason while a dedicated cluster that already serves is changed in place (Atlas UPDATING, e.g.
/// resized after a plan change). Not a failure: DatabaseReady stays True, because Atlas changes
/// a replica set one member at a time and the tenant's connection keeps working throughout.
pub const CLUSTER_UPDATING: &str = "ClusterUpdating";
/// Reason while a dedicated cluster is terminated; deletion waits for it.
pub const CLUSTER_DELETING: &str = "ClusterDeleting";
/// Reason when the provider cannot give a tenant a database of its own.
pub const DEDICATED_UNAVAILABLE: &str = "DedicatedUnavailable";

/// The tenant's own database cluster, as the Tenant and the operator's settings ask for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedicatedCluster {
    /// The tenant's name ({tenant} in a self-managed template).
    pub tenant: String,
    /// Deterministic from the tenant's name ([`crate::context::dedicated_cluster_name`]), so a
    /// crash after creating it finds it again instead of making a second.
    pub name: String,
    /// The plan's size ([`crate::plan::dedicated_instance_size`]).
    pub instance_size: String,
    /// Retain keeps the cluster protected from termination.
    pub policy: DeletionPolicy,
}

/// A dedicated cluster that serves: its address, and what is still changing on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedicatedDatabase {
    /// The cluster's address without credentials.
    pub address: DatabaseUrl,
    /// Some(what) while the cluster is being changed in place (resized to the plan's size);
    /// the step reports [`CLUSTER_UPDATING`] and looks again soon rather than settling.
    pub updating: Option<String>,
}

impl DedicatedDatabase {
    /// A cluster with nothing in progress.
    pub fn settled(address: DatabaseUrl) -> Self {
        DedicatedDatabase {
            address,
            updating: None,
        }
    }
}

/// What a tenant's bucket must look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRequest {
    pub bucket: String,
    pub tenant: String,
    pub plan: Plan,
    /// Days each backup (under `backups/`) is kept: the plan's.
    pub backup_retention_days: i32,
    /// The browser origins CORS admits: the tenant's own (the console) and the customer sites
    /// that embed the widget (spec.widget.allowedOrigins), which upload and download directly.
    pub origins: Vec<String>,
}

impl BucketRequest {
    pub fn new(
        bucket: &str,
        tenant: &str,
        plan: Plan,
        sizing: &Sizing,
        origins: &[String],
    ) -> Self {
        BucketRequest {
            bucket: bucket.into(),
            tenant: tenant.into(),
            plan,
            backup_retention_days: sizing.backups.retention_days,
            origins: origins.to_vec(),
        }
    }
}

/// The tenant's database user: readWrite on its own database only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseUser {
    pub user: String,
    pub database: String,
    pub password: String,
}

#[async_trait]
pub trait Storage: Send + Sync {
    /// Creates the bucket if missing and converges every setting; idempotent.
    async fn ensure_bucket(&self, request: &BucketRequest) -> Result<(), ProviderError>;
    /// Retain: tag the bucket as retained and keep its objects. Delete: empty every version and
    /// delete it. A missing bucket is success.
    async fn retire_bucket(
        &self,
        bucket: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError>;
}

#[async_trait]
pub trait Database: Send + Sync {
    /// Creates the user or sets its password and role; idempotent.
    async fn ensure_user(&self, user: &DatabaseUser) -> Result<(), ProviderError>;
    /// Drops the user (and, with Delete, the database). Missing ones are success.
    async fn remove_user(
        &self,
        user: &str,
        database: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError>;

    /// The tenant's own cluster and its user there: creates what is missing and converges it.
    /// Ok with the cluster's address (without credentials) once it serves, and what is still
    /// changing on it (a resize to the plan's size); Err [`CLUSTER_CREATING`] (see
    /// [`ProviderError::is_pending`]) while it is being made. Providers that cannot make one
    /// refuse with [`DEDICATED_UNAVAILABLE`].
    async fn ensure_dedicated(
        &self,
        cluster: &DedicatedCluster,
        _user: &DatabaseUser,
    ) -> Result<DedicatedDatabase, ProviderError> {
        Err(ProviderError::new(
            DEDICATED_UNAVAILABLE,
            format!(
                "spec.database.dedicated asks for a database cluster of its own ({}), which this database provider cannot make; set spec.database.dedicated: false at creation",
                cluster.name
            ),
        ))
    }

    /// Deletion of a dedicated tenant: removes its user, then Retain keeps the cluster (protected
    /// from termination) and Delete terminates it, Err [`CLUSTER_DELETING`] until it is gone.
    /// A missing cluster or user is success.
    async fn retire_dedicated(
        &self,
        cluster: &DedicatedCluster,
        _user: &str,
        _database: &str,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::new(
            DEDICATED_UNAVAILABLE,
            format!(
                "Tenant {} has a dedicated database cluster ({}), which this database provider cannot retire",
                cluster.tenant, cluster.name
            ),
        ))
    }
}

/// The tenant's Redis identity: user `tenant-<name>`, allowed only the channels under its prefix
/// and only the commands in [`super::bus_access::BUS_COMMANDS`], with no key access at all.
#[derive(Clone, PartialEq, Eq)]
pub struct BusUser {
    pub user: String,
    /// CHAT_BUS_NAMESPACE plus ':'; the user may use channels matching `<prefix>*` only.
    pub channel_prefix: String,
    pub password: String,
}

/// Without the password: a `{:?}` of a request must be safe to log.
impl std::fmt::Debug for BusUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusUser")
            .field("user", &self.user)
            .field("channel_prefix", &self.channel_prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait BusIdentity: Send + Sync {
    /// Creates the user or converges it: exactly this password (a rotated one replaces the old),
    /// exactly these channels and commands; idempotent.
    async fn ensure_user(&self, user: &BusUser) -> Result<(), ProviderError>;
    /// Removes the user; its open connections end with it. A missing user is success.
    async fn remove_user(&self, user: &str) -> Result<(), ProviderError>;
}
