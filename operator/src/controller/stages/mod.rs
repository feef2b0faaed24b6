//! The reconcile of a Tenant that is not being deleted, one function per stage:
//! validate → fetch → build → apply → report. Validate and build are pure; fetch only reads;
//! apply is the one stage that writes objects and calls the external systems; report turns what
//! apply saw into the status.

mod announce;
mod apply;
mod external;
mod fetch;
pub(super) mod report;
mod validate;

use kube::runtime::controller::Action;

use super::{Context, Error};
use crate::resources;
use crate::tenant::Tenant;

pub(super) async fn apply_tenant(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let Some(tc) = validate::validate(tenant, ctx).await? else {
        // Only a change to the Tenant can fix it: no retry loop.
        return Ok(Action::await_change());
    };
    let creds = fetch::fetch(tenant, ctx, &tc).await?;
    let objects = resources::build(&tc, &creds);
    // On the heap: the apply stage holds every built object across its awaits, a pod template
    // twice over (Deployment and backup CronJob), and inline in the reconcile future that made
    // debug builds' test threads overflow their 2 MiB stacks.
    let applied = Box::pin(apply::apply(tenant, ctx, &tc, &creds, objects)).await?;
    report::report(tenant, ctx, &tc, applied).await
}
