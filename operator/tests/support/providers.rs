//! In-memory Storage, Database and BusIdentity providers that record what the controller asked
//! of them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use atendo_operator::controller::providers::{
    BucketRequest, BusIdentity, BusUser, Database, DatabaseUser, ProviderError, Storage,
};
use atendo_operator::tenant::DeletionPolicy;

#[derive(Default)]
pub struct MemoryStorage {
    pub buckets: Mutex<BTreeMap<String, BucketRequest>>,
    /// Names some other account owns.
    pub taken: Mutex<BTreeSet<String>>,
    pub retired: Mutex<Vec<(String, DeletionPolicy)>>,
    pub fail_retire: Mutex<Option<ProviderError>>,
    /// How often ensure_bucket was called.
    pub ensure_calls: Mutex<u32>,
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn ensure_bucket(&self, request: &BucketRequest) -> Result<(), ProviderError> {
        *self.ensure_calls.lock().unwrap() += 1;
        if self.taken.lock().unwrap().contains(&request.bucket) {
            return Err(ProviderError::new(
                "BucketNameTaken",
                format!("bucket {} belongs to another account", request.bucket),
            ));
        }
        self.buckets
            .lock()
            .unwrap()
            .insert(request.bucket.clone(), request.clone());
        Ok(())
    }

    async fn retire_bucket(
        &self,
        bucket: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError> {
        if let Some(e) = self.fail_retire.lock().unwrap().clone() {
            return Err(e);
        }
        self.retired.lock().unwrap().push((bucket.into(), policy));
        if policy == DeletionPolicy::Delete {
            self.buckets.lock().unwrap().remove(bucket);
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryDatabase {
    /// user -> (database, password)
    pub users: Mutex<BTreeMap<String, (String, String)>>,
    pub dropped_databases: Mutex<Vec<String>>,
    pub removed: Mutex<Vec<(String, DeletionPolicy)>>,
    /// How often ensure_user was called.
    pub ensure_calls: Mutex<u32>,
}

#[async_trait]
impl Database for MemoryDatabase {
    async fn ensure_user(&self, user: &DatabaseUser) -> Result<(), ProviderError> {
        *self.ensure_calls.lock().unwrap() += 1;
        self.users.lock().unwrap().insert(
            user.user.clone(),
            (user.database.clone(), user.password.clone()),
        );
        Ok(())
    }

    async fn remove_user(
        &self,
        user: &str,
        database: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError> {
        self.users.lock().unwrap().remove(user);
        self.removed.lock().unwrap().push((user.into(), policy));
        if policy == DeletionPolicy::Delete {
            self.dropped_databases.lock().unwrap().push(database.into());
        }
        Ok(())
    }
}

/// Redis users as the controller left them: user -> (channel prefix, password).
#[derive(Default)]
pub struct MemoryBus {
    pub users: Mutex<BTreeMap<String, (String, String)>>,
    pub removed: Mutex<Vec<String>>,
    /// How often ensure_user was called.
    pub ensure_calls: Mutex<u32>,
    pub fail_ensure: Mutex<Option<ProviderError>>,
}

#[async_trait]
impl BusIdentity for MemoryBus {
    async fn ensure_user(&self, user: &BusUser) -> Result<(), ProviderError> {
        *self.ensure_calls.lock().unwrap() += 1;
        if let Some(e) = self.fail_ensure.lock().unwrap().clone() {
            return Err(e);
        }
        self.users.lock().unwrap().insert(
            user.user.clone(),
            (user.channel_prefix.clone(), user.password.clone()),
        );
        Ok(())
    }

    async fn remove_user(&self, user: &str) -> Result<(), ProviderError> {
        self.users.lock().unwrap().remove(user);
        self.removed.lock().unwrap().push(user.into());
        Ok(())
    }
}
