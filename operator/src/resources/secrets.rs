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
/// On both Secrets: the `atendo.io/rotate-credentials` value these credentials were made for.
pub const ROTATED_FOR_ANNOTATION: &str = "atendo.io/rotated-for";

/// Secret values the builders need and cannot derive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub database_password: String,
    pub signing_key: String,
    /// The rotation request these were generated for, if any.
    pub rotated_for: Option<String>,
}

impl Credentials {
    /// Stand-ins for `render`, which has no cluster to read the real values from.
    pub fn placeholders() -> Self {
        Credentials {
            database_password: "PLACEHOLDER-generated-by-the-operator".into(),
            signing_key: "PLACEHOLDER-generated-by-the-operator-and-kept".into(),
            rotated_for: None,
        }
    }
}

/// The tenant's MongoDB user and the CHAT_STORE connection string built from it.
pub fn database(ctx: &TenantContext, credentials: &Credentials) -> Secret {
    let uri = ctx.settings.database_url.for_user(
        &ctx.database_user,
        &credentials.database_password,
        &ctx.database,
    );
    secret(
        ctx,
        credentials,
        DATABASE,
        [
            (DATABASE_URI_KEY, uri),
            ("username", ctx.database_user.clone()),
            ("password", credentials.database_password.clone()),
            ("database", ctx.database.clone()),
        ],
    )
}

/// CHAT_SIGNING_KEY and CHAT_BUS (a Redis URL may carry a password).
pub fn credentials(ctx: &TenantContext, credentials: &Credentials) -> Secret {
    secret(
        ctx,
        credentials,
        CREDENTIALS,
        [
            (SIGNING_KEY_KEY, credentials.signing_key.clone()),
            (BUS_URL_KEY, ctx.settings.redis_url.clone()),
        ],
    )
}

fn secret<const N: usize>(
    ctx: &TenantContext,
    credentials: &Credentials,
    name: &str,
    data: [(&str, String); N],
) -> Secret {
    let mut metadata = ctx.meta(name, ctx.chat_labels());
    metadata.annotations = credentials
        .rotated_for
        .clone()
        .map(|v| BTreeMap::from([(ROTATED_FOR_ANNOTATION.to_string(), v)]));
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
