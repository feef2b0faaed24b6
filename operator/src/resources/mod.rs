//! Pure builders, one file per owned kind: Tenant + settings (+ secret values) in, objects out.
//! No client here; the controller applies what these return and `render` prints it.

pub mod bus_ca;
pub mod config_map;
pub mod deployment;
pub mod hpa;
pub mod ingress;
pub mod limit_range;
pub mod namespace;
pub mod network_policy;
pub mod pdb;
pub mod resource_quota;
pub mod secrets;
pub mod service;
pub mod service_account;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
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
        service_account: service_account::build(ctx),
        deployment: deployment::build(ctx, &hash),
        service: service::build(ctx),
        ingress: ingress::build(ctx),
        hpa: hpa::build(ctx),
        pdb: pdb::build(ctx),
        database_secret,
        credentials_secret,
        admin_secret,
        config_map,
        bus_ca,
    }
}

impl TenantObjects {
    /// Multi-document YAML, one object per document, in apply order.
    pub fn to_yaml(&self) -> Result<String, serde_yaml_ng::Error> {
        let mut docs = vec![
            yaml(&self.namespace)?,
            yaml(&self.resource_quota)?,
            yaml(&self.limit_range)?,
            yaml(&self.network_policy)?,
            yaml(&self.service_account)?,
            yaml(&self.database_secret)?,
            yaml(&self.credentials_secret)?,
            yaml(&self.admin_secret)?,
            yaml(&self.config_map)?,
        ];
        if let Some(bus_ca) = &self.bus_ca {
            docs.push(yaml(bus_ca)?);
        }
        docs.extend([
            yaml(&self.deployment)?,
            yaml(&self.service)?,
            yaml(&self.ingress)?,
        ]);
        if let Some(hpa) = &self.hpa {
            docs.push(yaml(hpa)?);
        }
        docs.push(yaml(&self.pdb)?);
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
