//! Validate: the Tenant and the operator's settings into a [`TenantContext`], or `InvalidSpec`
//! on Ready naming every bad field.

use super::report::write_ready_only;
use crate::context::TenantContext;
use crate::controller::status::{self, Step};
use crate::controller::{Context, Error};
use crate::tenant::Tenant;

/// None once the Tenant is reported invalid (the only error is failing to say so).
pub(super) async fn validate<'a>(
    tenant: &'a Tenant,
    ctx: &'a Context,
) -> Result<Option<TenantContext<'a>>, Error> {
    match TenantContext::new(tenant, &ctx.settings) {
        Ok(tc) => Ok(Some(tc)),
        Err(invalid) => {
            let message = invalid
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            write_ready_only(
                tenant,
                ctx,
                Step::failed(status::READY, "InvalidSpec", message),
            )
            .await?;
            Ok(None)
        }
    }
}
