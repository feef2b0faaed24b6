//! `render`: every object the operator would apply for a Tenant file, without a cluster, so a
//! platform team can review a change before merging it.

use crate::context::TenantContext;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use crate::resources::{self, Credentials, TenantObjects, deployment};
use crate::settings::redact_url_password;
use crate::settings::{Settings, SettingsError};
use crate::tenant::Tenant;
use crate::validation::InvalidTenant;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not a Tenant: {0}")]
    Parse(#[source] serde_yaml_ng::Error),
    #[error("expected apiVersion atendo.io/v1alpha1 and kind Tenant, found {api_version} {kind}")]
    WrongKind { api_version: String, kind: String },
    #[error(transparent)]
    Invalid(#[from] InvalidTenant),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("writing YAML: {0}")]
    Serialize(#[source] serde_yaml_ng::Error),
}

/// Multi-document YAML of every object for the Tenant in `tenant_yaml`, Secret values replaced
/// by placeholders. Applies the same validation as the CRD and the controller.
pub fn render(tenant_yaml: &str, settings: &Settings) -> Result<String, RenderError> {
    settings.check()?;
    let value: serde_json::Value =
        serde_yaml_ng::from_str(tenant_yaml).map_err(RenderError::Parse)?;
    let field = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or("(none)");
    if field("apiVersion") != "atendo.io/v1alpha1" || field("kind") != "Tenant" {
        return Err(RenderError::WrongKind {
            api_version: field("apiVersion").into(),
            kind: field("kind").into(),
        });
    }
    let tenant: Tenant = serde_yaml_ng::from_str(tenant_yaml).map_err(RenderError::Parse)?;
    let settings = settings.redacted();
    let ctx = TenantContext::new(&tenant, &settings)?;
    let mut objects = resources::build(&ctx, &Credentials::placeholders());
    redact_secrets(&ctx, &mut objects);
    let yaml = objects.to_yaml().map_err(RenderError::Serialize)?;
    Ok(format!(
        "# Rendered by atendo-operator for Tenant {:?}: {}\n# Secret values are placeholders; the operator generates the real ones in the cluster.\n{yaml}",
        ctx.name, ctx.url
    ))
}

/// The second line of defence behind [`Settings::redacted`], for whatever secret a future
/// setting or builder puts in a Secret without a placeholder: in every Secret value, a URL's
/// password becomes a placeholder. The pods' config hash is then taken over the redacted values,
/// so nothing in the output depends on a secret.
fn redact_secrets(ctx: &TenantContext, objects: &mut TenantObjects) {
    // Every field named, no `..`: a new object is sorted into "may hold a secret" or not before
    // this compiles.
    let TenantObjects {
        namespace: _,
        resource_quota: _,
        limit_range: _,
        network_policy: _,
        backup_network_policy: _,
        service_account: _,
        database_secret,
        credentials_secret,
        admin_secret,
        config_map,
        bus_ca,
        deployment: pods,
        service: _,
        ingress: _,
        hpa: _,
        pdb: _,
        // Reads its secrets by reference (secretKeyRef), holds none.
        backup_cron_job: _,
    } = objects;
    for secret in [
        &mut *database_secret,
        &mut *credentials_secret,
        &mut *admin_secret,
    ] {
        redact_secret(secret);
    }
    let hash = resources::config_hash(
        &[Some(&*config_map), bus_ca.as_ref()],
        &[database_secret, credentials_secret, admin_secret],
    );
    *pods = deployment::build(ctx, &hash);
}

fn redact_secret(secret: &mut Secret) {
    for ByteString(value) in secret.data.iter_mut().flat_map(|d| d.values_mut()) {
        if let Some(redacted) = std::str::from_utf8(value)
            .ok()
            .and_then(redact_url_password)
        {
            *value = redacted.into_bytes();
        }
    }
}
