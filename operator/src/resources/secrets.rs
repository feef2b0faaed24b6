//! The chat-server's Secrets. Their values are inputs: the controller generates them once and
//! keeps them across reconciles (rotation is its decision), `render` passes placeholders.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use crate::context::TenantContext;

pub const DATABASE: &str = "chat-database";
pub const DATABASE_URI_KEY: &str = "uri";
pub const CREDENTIALS: &str = "chat-credentials";
pub const SIGNING_KEY_KEY: &str = "signingKey";
pub const BUS_URL_KEY: &str = "busUrl";
/// The tenant's own Redis user and its password, kept so the next reconcile converges the same.
pub const BUS_USER_KEY: &str = "busUser";
pub const BUS_PASSWORD_KEY: &str = "busPassword";
pub const S3_ACCESS_KEY_ID_KEY: &str = "s3AccessKeyId";
pub const S3_SECRET_ACCESS_KEY_KEY: &str = "s3SecretAccessKey";
/// The SMTP relay's URL with its credentials (--smtp-url), when the operator is given one.
pub const SMTP_URL_KEY: &str = "smtpUrl";
/// The first agent: read by people (`kubectl get secret chat-admin`) as much as by the pods.
pub const ADMIN: &str = "chat-admin";
pub const ADMIN_EMAIL_KEY: &str = "email";
pub const ADMIN_PASSWORD_KEY: &str = "password";
/// Every Secret the operator makes: the only ones its ClusterRole may read, watch or patch
/// (charts/atendo/files/rbac/operator-rules.yaml names them too).
pub const ALL: [&str; 3] = [DATABASE, CREDENTIALS, ADMIN];
/// On both Secrets: the `atendo.io/rotate-credentials` value these credentials were made for.
pub const ROTATED_FOR_ANNOTATION: &str = "atendo.io/rotated-for";

/// Secret values the builders need and cannot derive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub database_password: String,
    /// The tenant's Redis user's password (rotated with the database password).
    pub bus_password: String,
    pub signing_key: String,
    /// The first admin's initial password. Never rotated: the chat-server sets it only when it
    /// creates the admin, so a new value here would no longer be the admin's password.
    pub admin_password: String,
    /// The rotation request these were generated for, if any.
    pub rotated_for: Option<String>,
}

impl Credentials {
    /// Stand-ins for `render`, which has no cluster to read the real values from.
    pub fn placeholders() -> Self {
        Credentials {
            database_password: "PLACEHOLDER-generated-by-the-operator".into(),
            bus_password: "PLACEHOLDER-bus-password-generated-by-the-operator".into(),
            signing_key: "PLACEHOLDER-generated-by-the-operator-and-kept".into(),
            admin_password: "PLACEHOLDER-first-admin-password-generated-once".into(),
            rotated_for: None,
        }
    }
}

/// The tenant's MongoDB user and the CHAT_STORE connection string built from it. A dedicated
/// cluster still being made has no address yet: the Secret then has no `uri`, so the chat-server
/// pods wait (CreateContainerConfigError) instead of connecting anywhere else.
pub fn database(ctx: &TenantContext, credentials: &Credentials) -> Secret {
    let uri = ctx.database_address().map(|address| {
        address.for_user(
            &ctx.database_user,
            &credentials.database_password,
            &ctx.database,
        )
    });
    let mut data = vec![
        ("username", ctx.database_user.clone()),
        ("password", credentials.database_password.clone()),
        ("database", ctx.database.clone()),
    ];
    if let Some(uri) = uri {
        data.insert(0, (DATABASE_URI_KEY, uri));
    }
    secret(ctx, credentials.rotated_for.clone(), DATABASE, data)
}

/// CHAT_SIGNING_KEY, CHAT_BUS (the Redis endpoint signed in as the tenant's own user, never the
/// operator's admin) and, when the operator is given them, the static S3 keys for the
/// chat-servers and CHAT_SMTP_URL (the relay's credentials: a Secret, never the ConfigMap).
pub fn credentials(ctx: &TenantContext, credentials: &Credentials) -> Secret {
    let mut data = vec![
        (SIGNING_KEY_KEY, credentials.signing_key.clone()),
        (
            BUS_URL_KEY,
            ctx.settings
                .redis_url_for(&ctx.bus_user, &credentials.bus_password),
        ),
        (BUS_USER_KEY, ctx.bus_user.clone()),
        (BUS_PASSWORD_KEY, credentials.bus_password.clone()),
    ];
    if let Some(keys) = &ctx.settings.chat_s3_keys() {
        data.push((S3_ACCESS_KEY_ID_KEY, keys.access_key_id.clone()));
        data.push((S3_SECRET_ACCESS_KEY_KEY, keys.secret_access_key.clone()));
    }
    if let Some(url) = &ctx.settings.smtp_url {
        // A Secret made from a file often ends in a line break.
        data.push((SMTP_URL_KEY, url.trim().to_string()));
    }
    secret(ctx, credentials.rotated_for.clone(), CREDENTIALS, data)
}

/// CHAT_ADMIN_PASSWORD, with the email beside it for whoever signs in first. Outside rotation
/// (see [`Credentials::admin_password`]), so it carries no rotated-for annotation.
pub fn admin(ctx: &TenantContext, credentials: &Credentials) -> Secret {
    secret(
        ctx,
        None,
        ADMIN,
        vec![
            (ADMIN_EMAIL_KEY, ctx.admin_email.clone()),
            (ADMIN_PASSWORD_KEY, credentials.admin_password.clone()),
        ],
    )
}

fn secret(
    ctx: &TenantContext,
    rotated_for: Option<String>,
    name: &str,
    data: Vec<(&str, String)>,
) -> Secret {
    let mut metadata = ctx.meta(name, ctx.chat_labels());
    metadata.annotations =
        rotated_for.map(|v| BTreeMap::from([(ROTATED_FOR_ANNOTATION.to_string(), v)]));
    Secret {
        metadata,
        type_: Some("Opaque".into()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}
