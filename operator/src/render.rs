//! `render`: every object the operator would apply for a Tenant file, without a cluster, so a
//! platform team can review a change before merging it.

use crate::context::TenantContext;
use crate::resources::{self, Credentials};
use crate::settings::Settings;
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
    #[error("writing YAML: {0}")]
    Serialize(#[source] serde_yaml_ng::Error),
}

/// Multi-document YAML of every object for the Tenant in `tenant_yaml`, Secret values replaced
/// by placeholders. Applies the same validation as the CRD and the controller.
pub fn render(tenant_yaml: &str, settings: &Settings) -> Result<String, RenderError> {
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
    let objects = resources::build(&ctx, &Credentials::placeholders());
    let yaml = objects.to_yaml().map_err(RenderError::Serialize)?;
    Ok(format!(
        "# Rendered by atendo-operator for Tenant {:?}: {}\n# Secret values are placeholders; the operator generates the real ones in the cluster.\n{yaml}",
        ctx.name, ctx.url
    ))
}
