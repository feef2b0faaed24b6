//! The indexes every collection needs, created at start (a no-op when they exist).

use mongodb::IndexModel;
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;

use super::MongoStore;
use super::errors::store_error;
use crate::store::StoreResult;

fn index(keys: Document, name: &str, unique: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_string())
        .unique(unique.then_some(true))
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

impl MongoStore {
    pub(super) async fn create_indexes(&self) -> StoreResult<()> {
        let only_with_client_msg_id = IndexOptions::builder()
            .name("client_msg_id_unique".to_string())
            .unique(true)
            .partial_filter_expression(doc! { "client_msg_id": { "$exists": true } })
            .build();
        let message_indexes = [
            // Allocates seqs (see the module comment) and serves messages_after.
            index(doc! { "conversation_id": 1, "seq": 1 }, "seq_unique", true),
            // Search (see `search`): one word's messages, newest first.
            index(doc! { "words": 1, "_id": -1 }, "search", false),
            IndexModel::builder()
                .keys(doc! { "conversation_id": 1, "client_msg_id": 1 })
                .options(only_with_client_msg_id)
                .build(),
        ];
        // Every list filter ends in "newest first", so each index ends in _id descending.
        let conversation_indexes = [
            index(doc! { "status": 1, "_id": -1 }, "status_newest", false),
            index(doc! { "assignee": 1, "_id": -1 }, "assignee_newest", false),
            index(doc! { "visitor.id": 1, "_id": -1 }, "visitor_newest", false),
            index(doc! { "labels": 1, "_id": -1 }, "label_newest", false),
            index(doc! { "team_id": 1, "_id": -1 }, "team_newest", false),
            // Routing: the open, unassigned queue oldest first, and the load per assignee.
            index(
                doc! { "status": 1, "assignee": 1, "_id": 1 },
                "routing",
                false,
            ),
            // Retention: resolved conversations by last update, oldest first.
            index(
                doc! { "status": 1, "updated_at": 1, "_id": 1 },
                "retention",
                false,
            ),
            // Reports: the conversations created in a range.
            index(doc! { "created_at": 1 }, "created", false),
        ];
        let what = |collection: &str| format!("creating the indexes of {collection}");
        self.messages
            .create_indexes(message_indexes)
            .await
            .map_err(|e| store_error(&what("messages"), e))?;
        self.conversations
            .create_indexes(conversation_indexes)
            .await
            .map_err(|e| store_error(&what("conversations"), e))?;
        let only_linked = IndexOptions::builder()
            .name("oidc_unique".to_string())
            .unique(true)
            .partial_filter_expression(doc! { "oidc": { "$exists": true } })
            .build();
        let agent_indexes = [
            index(doc! { "email_key": 1 }, "email_unique", true),
            IndexModel::builder()
                .keys(doc! { "oidc.iss": 1, "oidc.sub": 1 })
                .options(only_linked)
                .build(),
        ];
        self.agents
            .create_indexes(agent_indexes)
            .await
            .map_err(|e| store_error(&what("agents"), e))?;
        self.attachments
            .create_index(index(doc! { "conversation_id": 1 }, "conversation", false))
            .await
            .map_err(|e| store_error(&what("attachments"), e))?;
        self.teams
            .create_indexes([
                index(doc! { "name_key": 1 }, "name_unique", true),
                index(doc! { "agent_ids": 1 }, "member", false),
            ])
            .await
            .map_err(|e| store_error(&what("teams"), e))?;
        self.canned
            .create_index(index(doc! { "shortcut_key": 1 }, "shortcut_unique", true))
            .await
            .map_err(|e| store_error(&what("canned responses"), e))?;
        // Polled every second by every replica (`revocations_since`); the TTL index drops a
        // record once no token it covers can be valid any more.
        let expired = IndexOptions::builder()
            .name("expiry".to_string())
            .expire_after(std::time::Duration::ZERO)
            .build();
        let revocation_indexes = [
            index(doc! { "at": 1 }, "written", false),
            IndexModel::builder()
                .keys(doc! { "expires_at": 1 })
                .options(expired)
                .build(),
        ];
        self.revocations
            .create_indexes(revocation_indexes)
            .await
            .map_err(|e| store_error(&what("revocations"), e))?;
        // Every replica polls for due pending mails; erasing a conversation removes its mails.
        self.outbox
            .create_indexes([
                index(doc! { "state": 1, "due_at": 1 }, "due", false),
                index(doc! { "conversation_id": 1 }, "conversation", false),
            ])
            .await
            .map_err(|e| store_error(&what("outbox"), e))?;
        // Expired reset tokens go by themselves (taking one checks the expiry too).
        let expired = IndexOptions::builder()
            .name("expiry".to_string())
            .expire_after(std::time::Duration::ZERO)
            .build();
        self.password_resets
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(expired)
                    .build(),
            )
            .await
            .map_err(|e| store_error(&what("password resets"), e))?;
        // Every replica polls for due sweeps (`due_blob_sweeps`).
        self.blob_sweeps()
            .create_index(index(doc! { "due_at": 1, "_id": 1 }, "due", false))
            .await
            .map_err(|e| store_error(&what("blob sweeps"), e))?;
        self.create_webhook_indexes().await?;
        Ok(())
    }
}
