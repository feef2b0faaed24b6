//! Pure builders, one file per owned kind: Tenant + settings (+ secret values) in, objects out.
//! No client here; the controller applies what these return and `render` prints it.

pub mod backup_cron_job;
pub mod bus_ca;
pub mod config_map;
pub mod deployment;
pub mod hpa;
pub mod ingress;
pub mod limit_range;
pub mod namespace;
pub mod network_policy;
pub mod pdb;
pub mod pod;
pub mod resource_quota;
pub mod secrets;
pub mod service;
pub mod service_account;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::context::TenantContext;
pub use secrets::Credentials;

/// Name of the chat-server's Deployment and of every object that belongs to it alone.
pub const CHAT_SERVER: &str = "chat-server";

/// Every object the operator applies for one tenant, in apply order.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantObjects {
    pub namespace: Namespace,
    pub resource_quota: ResourceQuota,
    pub limit_range: LimitRange,
    pub network_policy: NetworkPolicy,
    /// The backup pods' own policy: the chat-server's egress, no ingress.
    pub backup_network_policy: NetworkPolicy,
    pub service_account: ServiceAccount,
    pub database_secret: Secret,
    pub credentials_secret: Secret,
    pub admin_secret: Secret,
    pub config_map: ConfigMap,
    /// The Redis CA the pods trust (`--redis-ca-file`); None without one: the controller then
    /// deletes an existing one.
    pub bus_ca: Option<ConfigMap>,
    pub deployment: Deployment,
    pub service: Service,
    pub ingress: Ingress,
    /// None when suspended or not autoscaled: the controller deletes an existing one.
    pub hpa: Option<HorizontalPodAutoscaler>,
    pub pdb: PodDisruptionBudget,
    /// Always there; `suspend: true` while the Tenant is suspended.
    pub backup_cron_job: CronJob,
}

pub fn build(ctx: &TenantContext, credentials: &Credentials) -> TenantObjects {
    let config_map = config_map::build(ctx);
    let bus_ca = bus_ca::build(ctx);
    let database_secret = secrets::database(ctx, credentials);
    let credentials_secret = secrets::credentials(ctx, credentials);
    let admin_secret = secrets::admin(ctx, credentials);
    let hash = config_hash(
        &[Some(&config_map), bus_ca.as_ref()],
        &[&database_secret, &credentials_secret, &admin_secret],
    );
    TenantObjects {
        namespace: namespace::build(ctx),
        resource_quota: resource_quota::build(ctx),
        limit_range: limit_range::build(ctx),
        network_policy: network_policy::build(ctx),
        backup_network_policy: network_policy::backup(ctx),
        service_account: service_account::build(ctx),
        deployment: deployment::build(ctx, &hash),
        service: service::build(ctx),
        ingress: ingress::build(ctx),
        hpa: hpa::build(ctx),
        pdb: pdb::build(ctx),
        backup_cron_job: backup_cron_job::build(ctx),
        database_secret,
        credentials_secret,
        admin_secret,
        config_map,
        bus_ca,
    }
}

impl TenantObjects {
    /// Multi-document YAML, one object per document, in apply order. Taken apart field by field
    /// with no `..`, like the controller's apply stage: a new field does not compile until it is
    /// rendered here too.
    pub fn to_yaml(&self) -> Result<String, serde_yaml_ng::Error> {
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
        } = self;
        let mut docs = vec![
            yaml(namespace)?,
            yaml(resource_quota)?,
            yaml(limit_range)?,
            yaml(network_policy)?,
            yaml(backup_network_policy)?,
            yaml(service_account)?,
            yaml(database_secret)?,
            yaml(credentials_secret)?,
            yaml(admin_secret)?,
            yaml(config_map)?,
        ];
        if let Some(bus_ca) = bus_ca {
            docs.push(yaml(bus_ca)?);
        }
        docs.extend([yaml(deployment)?, yaml(service)?, yaml(ingress)?]);
        if let Some(hpa) = hpa {
            docs.push(yaml(hpa)?);
        }
        docs.extend([yaml(pdb)?, yaml(backup_cron_job)?]);
        Ok(docs.join("---\n"))
    }
}

fn yaml(object: &impl Serialize) -> Result<String, serde_yaml_ng::Error> {
    serde_yaml_ng::to_string(object)
}

/// SHA-256 over the pods' configuration. BTreeMaps serialise in key order, so equal data always
/// gives the same hash and a no-op reconcile leaves the pod template untouched. An absent
/// ConfigMap (None) adds nothing, so a tenant without the optional ones keeps the hash it had
/// before they existed, and its pods do not roll on an operator upgrade.
pub fn config_hash(config_maps: &[Option<&ConfigMap>], secrets: &[&Secret]) -> String {
    let mut hasher = Sha256::new();
    for config_map in config_maps.iter().flatten() {
        hasher.update(serde_json::to_vec(&config_map.data).expect("string maps serialise"));
    }
    for secret in secrets {
        hasher.update(serde_json::to_vec(&secret.data).expect("byte maps serialise"));
    }
    format!("{:x}", hasher.finalize())
}

/// Millicores as Kubernetes writes them: whole cores without a suffix.
pub fn cpu(millicores: u32) -> Quantity {
    if millicores.is_multiple_of(1000) {
        Quantity((millicores / 1000).to_string())
    } else {
        Quantity(format!("{millicores}m"))
    }
}

/// MiB as Kubernetes writes them: whole GiB as Gi.
pub fn memory(mib: u32) -> Quantity {
    if mib.is_multiple_of(1024) {
        Quantity(format!("{}Gi", mib / 1024))
    } else {
        Quantity(format!("{mib}Mi"))
    }
}
