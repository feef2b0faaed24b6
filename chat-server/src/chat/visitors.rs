//! A visitor's own contact details (`PATCH /api/v1/visitors/me`): the name and email the widget's
//! offline form asks for, and the address a transcript is mailed to.

use super::{Chat, validate};
use crate::auth::Principal;
use crate::error::Error;
use crate::model::Visitor;
use crate::store::VisitorPatch;

impl Chat {
    /// Sets the calling visitor's name and/or email (a field left out stays) and returns it.
    pub async fn update_visitor(
        &self,
        by: &Principal,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<Visitor, Error> {
        let Principal::Visitor { id, .. } = by else {
            return Err(Error::forbidden("only a visitor has visitor details"));
        };
        let name = validate::optional_name(name)?;
        let email = email.map(|e| validate::email(&e)).transpose()?;
        Ok(self
            .store
            .update_visitor(id, &VisitorPatch { name, email })
            .await?)
    }
}
