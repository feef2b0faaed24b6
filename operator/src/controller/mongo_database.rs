//! Tenant database users through an admin connection (`--database-provider mongodb`): kind and
//! self-managed MongoDB. Users live in the admin database, as Atlas keeps them, with readWrite on
//! the tenant's database only; connection strings therefore say authSource=admin.

use async_trait::async_trait;
use mongodb::bson::{Document, doc};

use super::providers::{
    DEDICATED_UNAVAILABLE, Database, DatabaseUser, DedicatedCluster, DedicatedDatabase,
    ProviderError,
};
use crate::settings::{DatabaseUrl, Settings};
use crate::tenant::DeletionPolicy;

/// MongoDB's UserNotFound.
const USER_NOT_FOUND: i32 = 11;

pub struct MongoDatabase {
    client: mongodb::Client,
    /// --mongodb-dedicated-admin-uri-template: where dedicated tenants' servers are.
    dedicated_template: Option<String>,
}

impl MongoDatabase {
    pub fn new(client: mongodb::Client) -> Self {
        MongoDatabase {
            client,
            dedicated_template: None,
        }
    }

    /// Dedicated tenants (spec.database.dedicated) get their user on the server this admin URI
    /// template names ({tenant} replaced); without one they are refused.
    pub fn with_dedicated_template(mut self, template: Option<String>) -> Self {
        self.dedicated_template = template;
        self
    }

    /// The admin connection to a dedicated tenant's server, and the address its chat-servers
    /// use (the same server, without the admin's credentials).
    async fn dedicated_server(
        &self,
        cluster: &DedicatedCluster,
    ) -> Result<(MongoDatabase, DatabaseUrl), ProviderError> {
        let template = self.dedicated_template.as_deref().ok_or_else(|| {
            ProviderError::new(
                DEDICATED_UNAVAILABLE,
                format!(
                    "spec.database.dedicated asks for a database server of the tenant's own, and the self-managed provider has none to offer: configure --mongodb-dedicated-admin-uri-template (ATENDO_MONGODB_DEDICATED_ADMIN_URI_TEMPLATE, chart value database.mongodb.dedicatedAdminUriTemplate), or create the Tenant with spec.database.dedicated: false (server {} is not made by the operator)",
                    cluster.name
                ),
            )
        })?;
        let uri = Settings::expand(template, &cluster.tenant);
        let address = DatabaseUrl::parse_admin(&uri).map_err(|why| {
            ProviderError::new(
                "Misconfigured",
                format!(
                    "--mongodb-dedicated-admin-uri-template for {}: {why}",
                    cluster.tenant
                ),
            )
        })?;
        let server = MongoDatabase::connect(&uri).await.map_err(|e| {
            ProviderError::new(
                e.reason.as_str(),
                e.message.replace(
                    "--mongodb-admin-uri",
                    "--mongodb-dedicated-admin-uri-template",
                ),
            )
        })?;
        Ok((server, address))
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

    async fn ensure_dedicated(
        &self,
        cluster: &DedicatedCluster,
        user: &DatabaseUser,
    ) -> Result<DedicatedDatabase, ProviderError> {
        // Servers the platform team runs have no size the operator could change.
        let (server, address) = self.dedicated_server(cluster).await?;
        server.ensure_user(user).await?;
        Ok(DedicatedDatabase::settled(address))
    }

    async fn retire_dedicated(
        &self,
        cluster: &DedicatedCluster,
        user: &str,
        database: &str,
    ) -> Result<(), ProviderError> {
        let (server, _) = self.dedicated_server(cluster).await?;
        server.remove_user(user, database, cluster.policy).await
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
