//! What deletion removes outside the cluster, read from what provisioning recorded rather than
//! re-derived from the spec and settings: a Tenant that was provisioned and later stopped
//! validating (an operator upgrade with stricter rules, a --bucket-name-template that now gives a
//! name S3 refuses) still owns its bucket and users, and skipping them would leak them. Pure, so
//! every case is unit-tested.

use crate::context::{self, TenantContext};
use crate::settings::Settings;
use crate::tenant::Tenant;

/// The external things one Tenant's deletion must remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    pub bucket: String,
    pub database: String,
    pub database_user: String,
    pub bus_user: String,
    /// The tenant's dedicated database cluster, if it has one.
    pub cluster: Option<String>,
}

/// The recorded names (status.bucket, status.database, status.bus), falling back to the derived ones only
/// for what the status does not hold yet (a reconcile that created something and stopped before
/// writing its status). None when the Tenant was never provisioned and does not validate now:
/// then nothing outside was ever created for it.
pub fn targets(tenant: &Tenant, settings: &Settings) -> Option<Targets> {
    let derived = TenantContext::new(tenant, settings).ok();
    let status = tenant.status.as_ref();
    let bucket = status
        .and_then(|s| s.bucket.clone())
        .or_else(|| derived.as_ref().map(|tc| tc.bucket.clone()))?;
    let (database, database_user, cluster) = status
        .and_then(|s| s.database.as_ref())
        .map(|d| (d.name.clone(), d.user.clone(), d.cluster.clone()))
        .or_else(|| {
            derived.as_ref().map(|tc| {
                (
                    tc.database.clone(),
                    tc.database_user.clone(),
                    tc.dedicated.as_ref().map(|d| d.cluster.clone()),
                )
            })
        })?;
    // Derivable from the name alone, so never a reason to skip cleanup.
    let bus_user = status
        .and_then(|s| s.bus.as_ref())
        .map(|b| b.user.clone())
        .unwrap_or_else(|| context::bus_user(&tenant.metadata.name.clone().unwrap_or_default()));
    Some(Targets {
        bucket,
        database,
        database_user,
        bus_user,
        cluster,
    })
}
