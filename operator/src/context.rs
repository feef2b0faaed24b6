//! Everything the builders derive from one Tenant and the operator settings, computed once.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;

use crate::plan::{Sizing, dedicated_instance_size};
use crate::settings::{DatabaseUrl, Settings};
use crate::tenant::Tenant;
use crate::validation::{FieldError, InvalidTenant, validate};

pub const MANAGER: &str = "atendo-operator";
pub const TENANT_LABEL: &str = "atendo.io/tenant";
pub const PLAN_LABEL: &str = "atendo.io/plan";

#[derive(Clone, Debug)]
pub struct TenantContext<'a> {
    pub tenant: &'a Tenant,
    pub settings: &'a Settings,
    pub name: String,
    pub namespace: String,
    pub host: String,
    pub url: String,
    /// Browser origins allowed to use the chat from other pages: the tenant's own (`url`, where
    /// the console runs) first, then spec.widget.allowedOrigins. The bucket's CORS rule and
    /// CHAT_ALLOWED_ORIGINS are both this list.
    pub allowed_origins: Vec<String>,
    pub bucket: String,
    pub database: String,
    pub database_user: String,
    /// Prefix of the tenant's Redis channels (CHAT_BUS_NAMESPACE); Redis is shared.
    pub bus_namespace: String,
    /// The tenant's own Redis user, allowed only channels under `bus_namespace`.
    pub bus_user: String,
    pub iam_role_arn: Option<String>,
    /// The first admin: spec.adminEmail, else admin@<host>.
    pub admin_email: String,
    pub sizing: Sizing,
    /// The tenant's own database cluster (spec.database.dedicated), None on the shared one.
    pub dedicated: Option<DedicatedPlacement>,
}

// Dedicated database (issue 16).

/// Where a dedicated tenant's database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedicatedPlacement {
    /// [`dedicated_cluster_name`], or the name status.database.cluster recorded.
    pub cluster: String,
    /// The plan's size ([`crate::plan::dedicated_instance_size`]).
    pub instance_size: String,
    /// Its address once the provider reported it (status.database.address).
    pub address: Option<DatabaseUrl>,
}

/// Atlas uses the first 23 characters of a cluster's name in its hostnames, so names are kept
/// to 23: `atendo-<name>` when that fits, else a prefix of the name and a hash of all of it.
/// From the name alone, so a reconcile after a crash finds the cluster an earlier one made.
pub fn dedicated_cluster_name(tenant: &str) -> String {
    const MAX: usize = 23;
    let plain = format!("atendo-{tenant}");
    if plain.len() <= MAX {
        return plain;
    }
    use sha2::{Digest, Sha256};
    let hash = format!("{:x}", Sha256::digest(tenant.as_bytes()));
    let prefix = tenant[..8].trim_end_matches('-');
    format!("atendo-{prefix}-{}", &hash[..7])
}

/// spec.database.dedicated against what provisioning recorded: the recorded placement wins when
/// the field is unset (a Tenant provisioned on the shared cluster before the enterprise default
/// existed stays there), and a field that contradicts it is refused.
fn placement(tenant: &Tenant, plan_default: bool) -> Result<Option<String>, FieldError> {
    let name = tenant.metadata.name.clone().unwrap_or_default();
    let recorded = tenant
        .status
        .as_ref()
        .and_then(|s| s.database.as_ref())
        .map(|d| d.cluster.clone());
    let asked = tenant.spec.database.as_ref().and_then(|d| d.dedicated);
    let dedicated = match (asked, &recorded) {
        (Some(asked), Some(recorded)) if asked != recorded.is_some() => {
            let now = match recorded {
                Some(cluster) => format!("on its own cluster {cluster}"),
                None => "on the shared cluster".into(),
            };
            return Err(FieldError {
                field: "spec.database.dedicated".into(),
                message: format!(
                    "is {asked}, but the tenant's database was provisioned {now}: the operator does not move data between clusters; set it back to {}",
                    recorded.is_some()
                ),
            });
        }
        (Some(asked), _) => asked,
        (None, Some(recorded)) => return Ok(recorded.clone()),
        (None, None) => plan_default,
    };
    Ok(dedicated.then(|| dedicated_cluster_name(&name)))
}

impl<'a> TenantContext<'a> {
    /// Validates the Tenant, then the names the settings derive from it.
    pub fn new(tenant: &'a Tenant, settings: &'a Settings) -> Result<Self, InvalidTenant> {
        validate(tenant)?;
        let name = tenant.metadata.name.clone().unwrap_or_default();
        let host = format!("{}.{}", tenant.subdomain(), settings.base_domain);
        let bucket = Settings::expand(&settings.bucket_name_template, &name);
        let mut errors = vec![];
        if host.len() > 253 {
            errors.push(FieldError {
                field: "spec.subdomain".into(),
                message: format!(
                    "gives the host {host:?}, longer than the 253 characters DNS allows"
                ),
            });
        }
        if let Err(why) = check_bucket_name(&bucket) {
            errors.push(FieldError {
                field: "metadata.name".into(),
                message: format!(
                    "gives the bucket name {bucket:?} (from --bucket-name-template), which S3 refuses: {why}"
                ),
            });
        }
        let admin_email = tenant
            .spec
            .admin_email
            .clone()
            .unwrap_or_else(|| format!("admin@{host}"));
        if admin_email.len() > 254 {
            errors.push(FieldError {
                field: "spec.adminEmail".into(),
                message: format!(
                    "defaults to {admin_email:?}, longer than the 254 characters an email address may have; set spec.adminEmail"
                ),
            });
        }
        let dedicated = match placement(tenant, tenant.spec.wants_dedicated_database()) {
            Ok(Some(cluster)) => match dedicated_instance_size(tenant.spec.plan) {
                Some(size) => Some(DedicatedPlacement {
                    address: tenant
                        .status
                        .as_ref()
                        .and_then(|s| s.database.as_ref())
                        .filter(|d| d.cluster.as_deref() == Some(cluster.as_str()))
                        .and_then(|d| d.address.as_deref())
                        .and_then(|a| DatabaseUrl::parse(a).ok()),
                    cluster,
                    instance_size: size.into(),
                }),
                None => {
                    errors.push(FieldError {
                        field: "spec.database.dedicated".into(),
                        message: format!(
                            "the {} plan has no dedicated database cluster (professional and enterprise do); the tenant's is {cluster}",
                            tenant.spec.plan.as_str()
                        ),
                    });
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if !errors.is_empty() {
            return Err(InvalidTenant { name, errors });
        }
        let url = format!("https://{host}");
        let mut allowed_origins = vec![url.clone()];
        for origin in tenant.spec.widget.iter().flat_map(|w| &w.allowed_origins) {
            if !allowed_origins.contains(origin) {
                allowed_origins.push(origin.clone());
            }
        }
        Ok(TenantContext {
            tenant,
            settings,
            namespace: format!("tenant-{name}"),
            url,
            allowed_origins,
            host,
            bucket,
            database: format!("tenant_{}", name.replace('-', "_")),
            database_user: format!("chat-{name}"),
            bus_namespace: format!("tenant-{name}"),
            bus_user: bus_user(&name),
            iam_role_arn: settings
                .iam_role_arn_template
                .as_deref()
                .map(|t| Settings::expand(t, &name)),
            sizing: Sizing::resolve(&tenant.spec),
            admin_email,
            dedicated,
            name,
        })
    }

    /// Where the tenant's chat-servers reach its database: the shared --database-url, or its
    /// dedicated cluster's address; None while a dedicated cluster has no address yet.
    pub fn database_address(&self) -> Option<&DatabaseUrl> {
        match &self.dedicated {
            None => Some(&self.settings.database_url),
            Some(d) => d.address.as_ref(),
        }
    }

    /// Labels on every object the operator makes for this tenant.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/part-of".into(), "atendo".into()),
            ("app.kubernetes.io/managed-by".into(), MANAGER.into()),
            (TENANT_LABEL.into(), self.name.clone()),
            (PLAN_LABEL.into(), self.tenant.spec.plan.as_str().into()),
        ])
    }

    /// The chat-server's pods; never includes the plan, so a plan change keeps the selector.
    pub fn selector_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), "chat-server".into()),
            ("app.kubernetes.io/instance".into(), self.name.clone()),
        ])
    }

    /// Labels of the chat-server's objects and pods.
    pub fn chat_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels();
        labels.extend(self.selector_labels());
        labels
    }

    /// Metadata of an object in the tenant namespace, owned by the Tenant so that deleting the
    /// Tenant (after the finalizer) garbage-collects it. A Tenant read from a file has no uid and
    /// so no owner reference.
    pub fn meta(&self, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.namespace.clone()),
            labels: Some(labels),
            owner_references: self.owner_reference().map(|r| vec![r]),
            ..ObjectMeta::default()
        }
    }

    pub fn owner_reference(&self) -> Option<OwnerReference> {
        self.tenant.controller_owner_ref(&())
    }
}

/// The tenant's Redis user. The same as the channel prefix without the colon, so a Redis operator
/// reading `ACL LIST` sees at once which channels a user owns. From the name alone (neither spec
/// nor settings), so deletion finds it even when the Tenant no longer validates.
pub fn bus_user(name: &str) -> String {
    format!("tenant-{name}")
}

/// S3's naming rules for general-purpose buckets.
fn check_bucket_name(name: &str) -> Result<(), &'static str> {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return Err("it must be 3 to 63 characters long");
    }
    if !b.iter().all(|&c| alnum(c) || c == b'-' || c == b'.') {
        return Err("it may contain only lowercase letters, digits, '-' and '.'");
    }
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err("it must start and end with a letter or digit");
    }
    if name.contains("..")
        || name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok())
    {
        return Err("it must not contain '..' or look like an IP address");
    }
    Ok(())
}
