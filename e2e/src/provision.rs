//! What the controller does outside the rendered objects, done here with the controller's own
//! code: generate the tenant's secret values (in place of render's placeholders), create the
//! bucket through the S3 provider, the database user through the MongoDB provider and the Redis
//! user through the self-managed bus provider.

use std::path::Path;

use atendo_operator::cli::{Cli, Command};
use atendo_operator::context::TenantContext;
use atendo_operator::controller::credentials;
use atendo_operator::controller::mongo_database::MongoDatabase;
use atendo_operator::controller::providers::{
    BucketRequest, BusIdentity, BusUser, Database, DatabaseUser, DedicatedCluster, Storage,
};
use atendo_operator::controller::redis_acl::RedisAcl;
use atendo_operator::controller::s3_storage::S3Storage;
use atendo_operator::resources::{Credentials, secrets};
use atendo_operator::settings::Settings;
use atendo_operator::tenant::{DeletionPolicy, Tenant};
use clap::Parser;
use k8s_openapi::ByteString;

use crate::manifests::Manifests;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the render flags do not parse as the operator's: {0}")]
    Flags(String),
    #[error("{path}: {message}")]
    Tenant { path: String, message: String },
    #[error("render and controller disagree: {0}")]
    Disagree(String),
    #[error("{step}: {source}")]
    Provider {
        step: &'static str,
        source: atendo_operator::controller::providers::ProviderError,
    },
}

/// The operator settings `render` parsed from `args` (everything after `render`).
pub fn settings(args: &[String]) -> Result<Settings, ProvisionError> {
    let argv = ["atendo-operator", "render"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    match Cli::try_parse_from(argv).map_err(|e| ProvisionError::Flags(e.to_string()))? {
        Cli {
            command: Command::Render(render),
        } => Ok(render.settings),
        other => Err(ProvisionError::Flags(format!("parsed as {other:?}"))),
    }
}

pub fn read_tenant(path: &Path) -> Result<Tenant, ProvisionError> {
    let fail = |message: String| ProvisionError::Tenant {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| fail(e.to_string()))
}

/// Puts `real` wherever render wrote a placeholder in a Secret, as the controller's own build
/// would have, and fails if a placeholder of another kind is left.
pub fn fill_secrets(objects: &mut Manifests, real: &Credentials) -> Result<(), ProvisionError> {
    let placeholders = Credentials::placeholders();
    let mut swaps = [
        (
            placeholders.database_password,
            real.database_password.clone(),
        ),
        (placeholders.signing_key, real.signing_key.clone()),
        (placeholders.bus_password, real.bus_password.clone()),
        (placeholders.admin_password, real.admin_password.clone()),
    ];
    // One placeholder can be a prefix of another: the longer must be replaced first.
    swaps.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    for secret in &mut objects.secrets {
        for (key, ByteString(bytes)) in secret.data.iter_mut().flatten() {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            for (placeholder, value) in &swaps {
                text = text.replace(placeholder.as_str(), value);
            }
            if text.contains("PLACEHOLDER") {
                return Err(ProvisionError::Disagree(format!(
                    "Secret {:?} key {key:?} holds a placeholder the controller's Credentials do not generate: {text:?}",
                    secret.metadata.name
                )));
            }
            *bytes = text.into_bytes();
        }
    }
    Ok(())
}

/// Where the stand-in's external systems are, for the providers.
pub struct Providers {
    pub storage: S3Storage,
    /// The client the storage provider uses, for reading back what was stored.
    pub s3: aws_sdk_s3::Client,
    pub database: MongoDatabase,
    pub bus: RedisAcl,
}

impl Providers {
    /// `s3_endpoint` with the static credentials moto accepts (standing in for the operator's
    /// workload identity); `mongo_admin_uri` as `--mongodb-admin-uri`; `redis_admin_url` as
    /// `--redis-admin-url`.
    pub async fn connect(
        s3_endpoint: &str,
        region: &str,
        mongo_admin_uri: &str,
        redis_admin_url: &str,
    ) -> Result<Self, ProvisionError> {
        // The client S3Storage::from_settings builds, with credentials given instead of found.
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                crate::AWS_KEY_ID,
                crate::AWS_SECRET,
                None,
                None,
                "e2e",
            ))
            .endpoint_url(s3_endpoint)
            .force_path_style(true)
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        let storage = S3Storage::new(s3.clone(), region);
        // A dedicated tenant's "own" server is the same one, told apart by appName only (as in
        // the kind e2e): the stand-in runs one database server, not one per tenant.
        let separator = if mongo_admin_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let dedicated = format!("{mongo_admin_uri}{separator}appName={{tenant}}");
        let database = MongoDatabase::connect(mongo_admin_uri)
            .await
            .map_err(|source| ProvisionError::Provider {
                step: "connecting the database provider",
                source,
            })?
            .with_dedicated_template(Some(dedicated));
        let bus =
            RedisAcl::connect(redis_admin_url).map_err(|source| ProvisionError::Provider {
                step: "connecting the bus provider",
                source,
            })?;
        Ok(Providers {
            storage,
            s3,
            database,
            bus,
        })
    }

    /// The controller's apply stage for the external systems: bucket, database user, Redis user.
    /// Checks first that the names agree with what render put in the Secrets and ConfigMap.
    pub async fn provision(
        &self,
        tenant: &Tenant,
        settings: &Settings,
        objects: &mut Manifests,
        real: &Credentials,
    ) -> Result<(), ProvisionError> {
        let mut tc = TenantContext::new(tenant, settings)
            .map_err(|e| ProvisionError::Disagree(e.to_string()))?;
        let rendered = |kind: &str, name: &str, key: &str| -> Option<String> {
            match kind {
                "Secret" => objects
                    .secret(&tc.namespace, name)
                    .ok()?
                    .data
                    .as_ref()?
                    .get(key)
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned()),
                _ => objects
                    .config_map(&tc.namespace, name)
                    .ok()?
                    .data
                    .as_ref()?
                    .get(key)
                    .cloned(),
            }
        };
        let expect = |kind: &str, name: &str, key: &str, want: &str| {
            let got = rendered(kind, name, key);
            if got.as_deref() == Some(want) {
                Ok(())
            } else {
                Err(ProvisionError::Disagree(format!(
                    "{kind} {name} key {key} is {got:?}, the controller provisions {want:?}"
                )))
            }
        };
        expect("ConfigMap", "chat-server", "CHAT_S3_BUCKET", &tc.bucket)?;
        expect("Secret", "chat-database", "username", &tc.database_user)?;
        expect("Secret", "chat-database", "database", &tc.database)?;
        expect("Secret", "chat-admin", "email", &tc.admin_email)?;
        expect("Secret", "chat-credentials", "busUser", &tc.bus_user)?;
        expect(
            "ConfigMap",
            "chat-server",
            "CHAT_BUS_NAMESPACE",
            &tc.bus_namespace,
        )?;
        // A new Tenant starts without a database. Services kept from an earlier run still hold
        // that run's tenant database, whose first admin has another password: drop it with the
        // controller's own cleanup, as deleting a Tenant with deletionPolicy Delete would.
        self.database
            .remove_user(&tc.database_user, &tc.database, DeletionPolicy::Delete)
            .await
            .map_err(|source| ProvisionError::Provider {
                step: "dropping a previous run's tenant database",
                source,
            })?;
        self.storage
            .ensure_bucket(&BucketRequest::new(
                &tc.bucket,
                &tc.name,
                tenant.spec.plan,
                &tc.sizing,
                &tc.allowed_origins,
            ))
            .await
            .map_err(|source| ProvisionError::Provider {
                step: "StorageReady",
                source,
            })?;
        let user = DatabaseUser {
            user: tc.database_user.clone(),
            database: tc.database.clone(),
            password: real.database_password.clone(),
        };
        match tc.dedicated.as_mut() {
            None => self.database.ensure_user(&user).await,
            // What the controller does for spec.database.dedicated: the user on the tenant's own
            // server, then the Secret rebuilt with that server's address (render, which has no
            // provider, leaves its uri out).
            Some(placement) => {
                let cluster = DedicatedCluster {
                    tenant: tc.name.clone(),
                    name: placement.cluster.clone(),
                    instance_size: placement.instance_size.clone(),
                    policy: tenant.spec.deletion_policy,
                };
                self.database
                    .ensure_dedicated(&cluster, &user)
                    .await
                    .map(|found| placement.address = Some(found.address))
            }
        }
        .map_err(|source| ProvisionError::Provider {
            step: "DatabaseReady",
            source,
        })?;
        if tc.dedicated.is_some() {
            let rebuilt = secrets::database(&tc, real);
            let slot = objects
                .secrets
                .iter_mut()
                .find(|s| s.metadata.name == rebuilt.metadata.name)
                .ok_or_else(|| ProvisionError::Disagree("render made no database Secret".into()))?;
            *slot = rebuilt;
        }
        self.bus
            .ensure_user(&BusUser {
                user: tc.bus_user.clone(),
                channel_prefix: format!("{}:", tc.bus_namespace),
                password: real.bus_password.clone(),
            })
            .await
            .map_err(|source| ProvisionError::Provider {
                step: "BusReady",
                source,
            })
    }
}

/// New secret values, exactly as the controller generates them for a new tenant.
pub fn generate() -> Credentials {
    credentials::generate(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(data: &str) -> Manifests {
        Manifests::parse(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: ns}}\nstringData: {{}}\ndata: {data}\n"
        ))
        .unwrap()
    }

    fn text(m: &Manifests, key: &str) -> String {
        String::from_utf8(
            m.secret("ns", "s").unwrap().data.as_ref().unwrap()[key]
                .0
                .clone(),
        )
        .unwrap()
    }

    #[test]
    fn both_placeholders_become_the_generated_values_even_inside_a_uri() {
        let p = Credentials::placeholders();
        let b64 = |s: &str| {
            // ByteString serializes to base64, as Secret data is written in YAML.
            serde_json::to_value(ByteString(s.as_bytes().to_vec())).unwrap()
        };
        let uri = format!("mongodb://u:{}@h/db", p.database_password);
        let mut m = secret(
            &serde_json::json!({
                "uri": b64(&uri),
                "password": b64(&p.database_password),
                "signingKey": b64(&p.signing_key),
            })
            .to_string(),
        );
        let real = generate();
        fill_secrets(&mut m, &real).unwrap();
        assert_eq!(
            text(&m, "uri"),
            format!("mongodb://u:{}@h/db", real.database_password)
        );
        assert_eq!(text(&m, "password"), real.database_password);
        // The signing key's placeholder starts with the password's: replaced whole, not in part.
        assert_eq!(text(&m, "signingKey"), real.signing_key);
    }

    #[test]
    fn a_placeholder_the_controller_does_not_generate_fails_naming_the_key() {
        let unknown =
            serde_json::to_value(ByteString(b"PLACEHOLDER-webhook-secret".to_vec())).unwrap();
        let mut m = secret(&serde_json::json!({ "webhookSecret": unknown }).to_string());
        let err = fill_secrets(&mut m, &generate()).unwrap_err().to_string();
        assert!(err.contains("webhookSecret"), "{err}");
    }
}
