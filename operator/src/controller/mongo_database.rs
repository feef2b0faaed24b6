//! Tenant database users through an admin connection (`--database-provider mongodb`): kind and
//! self-managed MongoDB. Users live in the admin database, as Atlas keeps them, with readWrite on
//! the tenant's database only; connection strings therefore say authSource=admin.

use async_trait::async_trait;
use mongodb::bson::{Document, doc};

use super::providers::{Database, DatabaseUser, ProviderError};
use crate::tenant::DeletionPolicy;

/// MongoDB's UserNotFound.
const USER_NOT_FOUND: i32 = 11;

pub struct MongoDatabase {
    client: mongodb::Client,
}

impl MongoDatabase {
    pub fn new(client: mongodb::Client) -> Self {
        MongoDatabase { client }
    }

    pub async fn connect(admin_uri: &str) -> Result<Self, ProviderError> {
        let client = mongodb::Client::with_uri_str(admin_uri)
            .await
            .map_err(|e| failure("connecting with --mongodb-admin-uri", &e))?;
        Ok(MongoDatabase::new(client))
    }

    async fn admin(&self, command: Document) -> Result<Document, mongodb::error::Error> {
        self.client.database("admin").run_command(command).await
    }
}

#[async_trait]
impl Database for MongoDatabase {
    async fn ensure_user(&self, user: &DatabaseUser) -> Result<(), ProviderError> {
        let roles = vec![doc! { "role": "readWrite", "db": &user.database }];
        let info = self
            .admin(doc! { "usersInfo": { "user": &user.user, "db": "admin" } })
            .await
            .map_err(|e| failure(&format!("looking up user {}", user.user), &e))?;
        let exists = info.get_array("users").is_ok_and(|users| !users.is_empty());
        // updateUser sets the password every time: MongoDB never reveals the stored one, and
        // this is how a rotated password reaches the database.
        let command = if exists {
            doc! { "updateUser": &user.user, "pwd": &user.password, "roles": roles }
        } else {
            doc! { "createUser": &user.user, "pwd": &user.password, "roles": roles }
        };
        self.admin(command)
            .await
            .map_err(|e| failure(&format!("writing user {}", user.user), &e))?;
        Ok(())
    }

    async fn remove_user(
        &self,
        user: &str,
        database: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError> {
        match self.admin(doc! { "dropUser": user }).await {
            Ok(_) => {}
            Err(e) if code(&e) == Some(USER_NOT_FOUND) => {}
            Err(e) => return Err(failure(&format!("dropping user {user}"), &e)),
        }
        if policy == DeletionPolicy::Delete {
            self.client
                .database(database)
                .drop()
                .await
                .map_err(|e| failure(&format!("dropping database {database}"), &e))?;
        }
        Ok(())
    }
}

fn code(e: &mongodb::error::Error) -> Option<i32> {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

/// Refusals (auth, permissions) are the operator's configuration; the rest is transient.
fn failure(what: &str, e: &mongodb::error::Error) -> ProviderError {
    let reason = match code(e) {
        Some(13) | Some(18) => "AccessDenied",
        Some(_) => "DatabaseError",
        None => "Unavailable",
    };
    ProviderError::new(reason, format!("{what}: {e}"))
}
