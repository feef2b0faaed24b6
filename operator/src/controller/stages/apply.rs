//! Apply: every built object by server-side apply (or deleted when the build says it must not
//! exist), and the external systems in between: namespace first, then the bucket and the users,
//! then what lives in the namespace.
//!
//! `TenantObjects` is taken apart field by field with no `..`: a field added to it does not
//! compile until it is applied here (and rendered by `TenantObjects::to_yaml`).

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::external::{self, External};
use crate::context::{DedicatedPlacement, TenantContext};
use crate::controller::apply as ssa;
use crate::controller::caches::Cache;
use crate::controller::{Context, Error};
use crate::resources::bus_ca::BUS_CA;
use crate::resources::{CHAT_SERVER, Credentials, TenantObjects, secrets};
use crate::tenant::Tenant;

/// What the report stage needs from apply: the external outcomes and the live objects whose
/// status says whether the tenant serves.
pub(super) struct Applied {
    pub external: External,
    pub deployment: Arc<Deployment>,
    pub ingress: Arc<Ingress>,
}

pub(super) async fn apply(
    tenant: &Tenant,
    ctx: &Context,
    tc: &TenantContext<'_>,
    creds: &Credentials,
    objects: TenantObjects,
) -> Result<Applied, Error> {
    let TenantObjects {
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
    } = objects;
    let caches = &ctx.caches();
    ssa::apply(
        &Api::<Namespace>::all(ctx.client.clone()),
        &caches.namespace,
        namespace,
    )
    .await
    .map_err(|source| Error::Apply {
        what: "namespace",
        source,
    })?;
    let external = external::ensure(tenant, ctx, tc, creds).await;
    // A dedicated database's address may be news of this very reconcile (the cluster just
    // became ready): the Secret then takes it now rather than one reconcile later.
    let database_secret = match (&tc.dedicated, &external.database.address) {
        (Some(placement), Some(address)) if placement.address.as_ref() != Some(address) => {
            let mut now = tc.clone();
            now.dedicated = Some(DedicatedPlacement {
                address: Some(address.clone()),
                ..placement.clone()
            });
            secrets::database(&now, creds)
        }
        _ => database_secret,
    };

    let at = InNamespace {
        client: &ctx.client,
        ns: tc.namespace.as_str(),
    };
    at.put(&caches.resource_quota, "resource quota", resource_quota)
        .await?;
    at.put(&caches.limit_range, "limit range", limit_range)
        .await?;
    at.put(&caches.network_policy, "network policy", network_policy)
        .await?;
    let backup_policy = "backup network policy";
    at.put(
        &caches.backup_network_policy,
        backup_policy,
        backup_network_policy,
    )
    .await?;
    at.put(&caches.service_account, "service account", service_account)
        .await?;
    at.put(&caches.database_secret, "database secret", database_secret)
        .await?;
    at.put(
        &caches.credentials_secret,
        "credentials secret",
        credentials_secret,
    )
    .await?;
    at.put(&caches.admin_secret, "admin secret", admin_secret)
        .await?;
    at.put(&caches.config_map, "config map", config_map).await?;
    // Before the Deployment whose pods mount it; removed only after the Deployment no longer
    // mounts it, so a pod of the new template never waits for a volume that is gone.
    let remove_bus_ca = match bus_ca {
        Some(bus_ca) => {
            at.put(&caches.bus_ca, "bus CA config map", bus_ca).await?;
            false
        }
        None => true,
    };
    let deployment = at.put(&caches.deployment, "deployment", deployment).await?;
    if remove_bus_ca {
        at.remove(&caches.bus_ca, "bus CA config map", BUS_CA)
            .await?;
    }
    at.put(&caches.service, "service", service).await?;
    let ingress = at.put(&caches.ingress, "ingress", ingress).await?;
    match hpa {
        Some(hpa) => {
            at.put(&caches.hpa, "autoscaler", hpa).await?;
        }
        None => at.remove(&caches.hpa, "autoscaler", CHAT_SERVER).await?,
    }
    at.put(&caches.pdb, "disruption budget", pdb).await?;
    // Last: its pods read the Secrets and the ConfigMap applied above.
    at.put(&caches.backup_cron_job, "backup cron job", backup_cron_job)
        .await?;
    Ok(Applied {
        external,
        deployment,
        ingress,
    })
}

/// Where the namespaced objects of one tenant go.
struct InNamespace<'a> {
    client: &'a Client,
    ns: &'a str,
}

impl InNamespace<'_> {
    /// Server-side apply of one object; the live object back.
    async fn put<K>(&self, cache: &Cache<K>, what: &'static str, object: K) -> Result<Arc<K>, Error>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Serialize
            + DeserializeOwned
            + Clone
            + Debug
            + Send
            + Sync,
    {
        ssa::apply(
            &Api::namespaced(self.client.clone(), self.ns),
            cache,
            object,
        )
        .await
        .map_err(|source| Error::Apply { what, source })
    }

    /// Deletes one object if it exists.
    async fn remove<K>(&self, cache: &Cache<K>, what: &'static str, name: &str) -> Result<(), Error>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Serialize
            + DeserializeOwned
            + Clone
            + Debug
            + Send
            + Sync,
    {
        let api = Api::<K>::namespaced(self.client.clone(), self.ns);
        ssa::delete_if_present(&api, cache, Some(self.ns), name)
            .await
            .map_err(|source| Error::Delete { what, source })
    }
}
