//! Visitors' contact details: one `find_one_and_update`, atomic on any MongoDB.

use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;

use super::MongoStore;
use super::errors::store_error;
use crate::model::Visitor;
use crate::store::{StoreError, StoreResult, VisitorPatch};

impl MongoStore {
    pub(super) async fn patch_visitor(
        &self,
        id: &str,
        patch: &VisitorPatch,
    ) -> StoreResult<Visitor> {
        let mut set = Document::new();
        if let Some(name) = &patch.name {
            set.insert("name", name);
        }
        if let Some(email) = &patch.email {
            set.insert("email", email);
        }
        let found = if set.is_empty() {
            // `$set` may not be empty: nothing to change, so only read.
            self.visitors.find_one(doc! { "_id": id }).await
        } else {
            self.visitors
                .find_one_and_update(doc! { "_id": id }, doc! { "$set": set })
                .return_document(ReturnDocument::After)
                .await
        }
        .map_err(|e| store_error(&format!("updating visitor {id}"), e))?;
        found
            .map(Visitor::from)
            .ok_or_else(|| StoreError::NotFound(format!("visitor {id}")))
    }
}
