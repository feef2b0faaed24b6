//! The external systems' part of apply: the bucket, the database user and the Redis user.
//!
//! Each is called only when what it must hold changed since the last success (a fingerprint
//! recorded in `status.applied`), when its condition is not True, or when a new
//! reconcile-requested-at value asks for it: a resync with nothing to do writes nothing there
//! either. A failure does not stop the reconcile: the report stage records it on its condition
//! and then returns it, so the error policy retries.

use crate::context::TenantContext;
use crate::controller::providers::{
    BucketRequest, BusUser, DatabaseUser, DedicatedCluster, ProviderError,
};
use crate::controller::s3_storage;
use crate::controller::status;
use crate::controller::{Context, RECONCILE_REQUESTED_ANNOTATION, annotation, bounded, bus_access};
use crate::resources::Credentials;
use crate::settings::DatabaseUrl;
use crate::tenant::Tenant;

/// One external system's outcome.
pub(super) struct Ensured {
    pub result: Result<(), ProviderError>,
    /// What it must hold, fingerprinted; `status.applied` records it once `result` is Ok.
    pub fingerprint: String,
}

/// The database step's outcome: a dedicated database's address, when the provider gave it, and
/// what is still changing on it.
pub(super) struct EnsuredDatabase {
    pub ensured: Ensured,
    pub address: Option<DatabaseUrl>,
    /// Some while a dedicated cluster is changed in place (reason
    /// [`CLUSTER_UPDATING`](crate::controller::providers::CLUSTER_UPDATING)): the step
    /// serves, but is not settled, so its fingerprint waits and it is looked at again soon.
    pub updating: Option<String>,
}

pub(super) struct External {
    pub storage: Ensured,
    pub database: EnsuredDatabase,
    pub bus: Ensured,
    /// The reconcile-requested-at value this reconcile answers (recorded once all three are Ok).
    pub requested: Option<String>,
}

/// Bucket, then database user, then Redis user, each settled or asked for.
pub(super) async fn ensure(
    tenant: &Tenant,
    ctx: &Context,
    tc: &TenantContext<'_>,
    creds: &Credentials,
) -> External {
    let previous = tenant.status.clone().unwrap_or_default();
    let applied = previous.applied.clone().unwrap_or_default();
    let requested = annotation(tenant, RECONCILE_REQUESTED_ANNOTATION).map(String::from);
    let forced = requested.is_some() && requested != applied.reconcile_requested_at;
    // Nothing to do: not forced, the same fingerprint succeeded last time, and its condition
    // still says so.
    let settled = |kind: &str, recorded: &Option<String>, fingerprint: &str| {
        !forced
            && recorded.as_deref() == Some(fingerprint)
            && previous
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
    // Covers the lifecycle rules too, so an operator upgrade that changes them re-converges
    // every bucket (as the bus's granted commands do below): uploads stopped expiring by age
    // that way, on buckets made before.
    let storage_hash = fingerprint(&format!(
        "{bucket_request:?}|{:?}",
        s3_storage::lifecycle(bucket_request.backup_retention_days)
    ));
    let storage = if settled(status::STORAGE_READY, &applied.storage, &storage_hash) {
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
    let dedicated = tc.dedicated.as_ref().map(|d| DedicatedCluster {
        tenant: tc.name.clone(),
        name: d.cluster.clone(),
        instance_size: d.instance_size.clone(),
        policy: tenant.spec.deletion_policy,
    });
    // Shared tenants keep the fingerprint they had before dedicated clusters existed.
    let database_hash = match &dedicated {
        None => fingerprint(&format!("{user:?}")),
        Some(cluster) => fingerprint(&format!("{user:?}|{cluster:?}")),
    };
    let mut dedicated_found = None;
    let database = if settled(status::DATABASE_READY, &applied.database, &database_hash) {
        Ok(())
    } else if let Some(cluster) = &dedicated {
        // bounded() takes a step without an answer; the address comes back through this slot.
        let found = &mut dedicated_found;
        bounded(ctx, "ensuring the dedicated database", async move {
            *found = Some(ctx.database.ensure_dedicated(cluster, &user).await?);
            Ok(())
        })
        .await
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
    let bus = if settled(status::BUS_READY, &applied.bus, &bus_hash) {
        Ok(())
    } else {
        bounded(
            ctx,
            "ensuring the Redis user",
            ctx.bus.ensure_user(&bus_user),
        )
        .await
    };

    External {
        storage: Ensured {
            result: storage,
            fingerprint: storage_hash,
        },
        database: EnsuredDatabase {
            ensured: Ensured {
                result: database,
                fingerprint: database_hash,
            },
            address: dedicated_found.as_ref().map(|d| d.address.clone()),
            updating: dedicated_found.and_then(|d| d.updating),
        },
        bus: Ensured {
            result: bus,
            fingerprint: bus_hash,
        },
        requested,
    }
}

/// SHA-256 in hex; the database fingerprint covers the password, whose hash of 190 random bits
/// reveals nothing usable.
fn fingerprint(settings: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(settings.as_bytes()))
}
