//! Everything the builders derive from one Tenant and the operator settings, computed once.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;

use crate::plan::Sizing;
use crate::settings::Settings;
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
            name,
        })
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
