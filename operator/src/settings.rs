//! Operator-wide settings: flags with `ATENDO_*` env twins, set by the Helm chart.
//!
//! [`Settings`] is everything the pure builders need, so `render` and `run` share it;
//! [`DatabaseArgs`] and [`BusArgs`] hold the provider credentials only the controller uses.

use std::collections::BTreeMap;

use clap::{Args, ValueEnum};

use crate::ca_bundle::CaBundle;

/// The text `{tenant}` in a template is replaced by the Tenant's name.
pub const TENANT_PLACEHOLDER: &str = "{tenant}";

/// Reconciles at once unless `--max-concurrent-reconciles` says otherwise. Unbounded, 1,000
/// Tenants mean 1,000 reconciles in flight at start-up, each holding its built objects and an API
/// request (an HTTP/1.1 connection each without HTTP/2): memory grew with the Tenant count
/// (136 MiB in the scale bench, 30 MiB at 16) while throughput did not. Kept here, with its flag,
/// so the settings (which the pure builders read) never reach into the controller.
pub const DEFAULT_CONCURRENCY: u16 = 16;

#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// Tenants are served on https://<subdomain>.<base-domain>.
    #[arg(long, env = "ATENDO_BASE_DOMAIN", value_parser = base_domain)]
    pub base_domain: String,

    /// chat-server container image, e.g. registry.example.com/atendo/chat-server:1.4.2.
    #[arg(long, env = "ATENDO_CHAT_IMAGE", value_parser = non_empty)]
    pub chat_image: String,

    /// The Redis endpoint chat-servers connect to (redis:// or rediss://; for a Redis Cluster,
    /// e.g. ElastiCache cluster mode, redis-cluster:// or rediss-cluster://, seeds as
    /// `host:port?node=host2:port2`), without credentials: each tenant gets its own Redis user
    /// (see --redis-provider), allowed only its own channels.
    #[arg(long, env = "ATENDO_REDIS_URL", value_parser = redis_url)]
    pub redis_url: String,

    /// PEM file of the private CA that signed the Redis server's certificate, for a rediss://
    /// --redis-url. Copied into each tenant namespace (ConfigMap chat-bus-ca) and trusted by the
    /// chat-servers instead of the public roots (their CHAT_BUS_CA_FILE). Unset: the public roots,
    /// which is what ElastiCache's in-transit encryption needs.
    #[arg(long, env = "ATENDO_REDIS_CA_FILE", value_parser = crate::ca_bundle::parse)]
    pub redis_ca_file: Option<CaBundle>,

    /// Address tenants' chat-servers reach MongoDB at, without credentials or database, e.g.
    /// mongodb+srv://cluster0.abcde.mongodb.net/?retryWrites=true.
    #[arg(long, env = "ATENDO_DATABASE_URL", value_parser = database_url)]
    pub database_url: DatabaseUrl,

    /// IngressClass of every tenant's Ingress; unset uses the cluster's default class.
    #[arg(long, env = "ATENDO_INGRESS_CLASS")]
    pub ingress_class: Option<String>,

    /// Extra Ingress annotations as a JSON object, e.g. an ALB group name or nginx websocket
    /// timeouts: {"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600"}.
    #[arg(long, env = "ATENDO_INGRESS_ANNOTATIONS", value_parser = annotations, default_value = "{}")]
    pub ingress_annotations: Annotations,

    /// Namespace of the ingress controller; the only namespace whose pods may reach a tenant's.
    #[arg(long, env = "ATENDO_INGRESS_NAMESPACE", default_value = "ingress-nginx", value_parser = dns_label)]
    pub ingress_namespace: String,

    /// Where tenants' chat-servers may connect besides the cluster DNS: the Redis, MongoDB and
    /// S3 endpoints (and an identity provider's keys), as comma-separated CIDR or CIDR:port
    /// entries, e.g. 10.0.0.0/16:6379,10.0.0.0/16:27017,0.0.0.0/0:443. Instance metadata
    /// (169.254.169.254) is never reachable. The default suits kind and EKS alike: private
    /// networks on any port, the internet on 443 (S3, OIDC keys) and 27017 (MongoDB Atlas).
    #[arg(
        long,
        env = "ATENDO_EGRESS_CIDRS",
        value_delimiter = ',',
        value_parser = egress_cidr,
        default_value = DEFAULT_EGRESS
    )]
    pub egress_cidrs: Vec<EgressCidr>,

    /// Namespace of the Prometheus that scrapes the chat-servers: admitted to their metrics port,
    /// and to nothing else. Unset admits no one to it.
    #[arg(long, env = "ATENDO_MONITORING_NAMESPACE", value_parser = dns_label)]
    pub monitoring_namespace: Option<String>,

    /// Proxies in front of every chat-server that append to X-Forwarded-For; the chat-server
    /// takes the client address that many entries from the right (its CHAT_TRUSTED_PROXY_HOPS).
    /// 1 fits each common single-proxy path: an ALB with `ip` targets (appends the peer it saw),
    /// ingress-nginx (replaces the header with its peer, or appends with
    /// compute-full-forwarded-for), and ingress-nginx behind an NLB (L4, adds no entry). 2 when
    /// an L7 load balancer or CDN appends before ingress-nginx does (ALB -> nginx with
    /// use-forwarded-headers and compute-full-forwarded-for). Too high lets clients choose their
    /// address; too low makes every client share the proxy's.
    #[arg(long, env = "ATENDO_TRUSTED_PROXY_HOPS", default_value = "1", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub trusted_proxy_hops: u8,

    /// Let ExternalDNS make each tenant's DNS record (e.g. in Route 53): every tenant Ingress then
    /// carries external-dns.alpha.kubernetes.io/hostname (its host) and .../ttl. Off, the tenant
    /// hosts need a wildcard record for *.<base-domain> made by hand (or, on kind, /etc/hosts).
    #[arg(
        long,
        env = "ATENDO_EXTERNAL_DNS",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub external_dns: bool,

    /// TTL in seconds of the records ExternalDNS makes (--external-dns).
    #[arg(long, env = "ATENDO_EXTERNAL_DNS_TTL", default_value = "300", value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub external_dns_ttl: u32,

    /// TLS Secret the Ingress names, present in every tenant namespace (e.g. a replicated
    /// wildcard certificate). Without it and without --cert-issuer, TLS ends before the Ingress.
    #[arg(long, env = "ATENDO_TLS_SECRET", conflicts_with = "cert_issuer")]
    pub tls_secret: Option<String>,

    /// cert-manager issuer that gets each tenant its own certificate.
    #[arg(long, env = "ATENDO_CERT_ISSUER")]
    pub cert_issuer: Option<String>,

    /// Whether --cert-issuer names a ClusterIssuer or a namespaced Issuer.
    #[arg(
        long,
        env = "ATENDO_CERT_ISSUER_KIND",
        value_enum,
        default_value = "cluster-issuer"
    )]
    pub cert_issuer_kind: IssuerKind,

    #[arg(long, env = "ATENDO_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// S3-compatible endpoint (MinIO, moto); unset means AWS.
    #[arg(long, env = "ATENDO_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Bucket name per tenant; must contain {tenant}.
    #[arg(long, env = "ATENDO_BUCKET_NAME_TEMPLATE", default_value = "atendo-{tenant}-uploads", value_parser = bucket_template)]
    pub bucket_name_template: String,

    /// IAM role for the tenant's ServiceAccount (IRSA on EKS), e.g.
    /// arn:aws:iam::123456789012:role/atendo-{tenant}-chat; unset adds no annotation.
    #[arg(long, env = "ATENDO_IAM_ROLE_ARN_TEMPLATE", value_parser = iam_template)]
    pub iam_role_arn_template: Option<String>,

    /// Static S3 access key the chat-servers sign uploads with, for S3-compatible stores without
    /// IAM (MinIO, kind). Every tenant gets the same key, so it is refused unless
    /// --allow-shared-s3-key says so; on EKS leave it unset and use --iam-role-arn-template,
    /// which gives each tenant a role of its own.
    #[arg(
        long,
        env = "ATENDO_CHAT_S3_ACCESS_KEY_ID",
        requires = "chat_s3_secret_access_key",
        value_parser = non_empty
    )]
    pub chat_s3_access_key_id: Option<String>,

    /// The secret of --chat-s3-access-key-id.
    #[arg(
        long,
        env = "ATENDO_CHAT_S3_SECRET_ACCESS_KEY",
        requires = "chat_s3_access_key_id",
        hide_env_values = true,
        value_parser = non_empty
    )]
    pub chat_s3_secret_access_key: Option<String>,

    /// Accept --chat-s3-access-key-id although it gives isolation away: every tenant's
    /// chat-server holds that one key, so any tenant can read and overwrite the uploads
    /// of every other tenant (its own code or a stolen Secret presigns into any bucket the key
    /// reaches). For a single-tenant or test installation on a store without IAM only.
    #[arg(
        long,
        env = "ATENDO_ALLOW_SHARED_S3_KEY",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub allow_shared_s3_key: bool,

    /// The SMTP relay every tenant's chat-server sends mail through (offline messages, mailed
    /// transcripts, password-reset links): smtp://user:password@host:587 (STARTTLS required;
    /// ?tls=none for a relay on a trusted network) or smtps://user:password@host:465 (TLS from
    /// the first byte). Copied into each tenant's chat-credentials Secret (its CHAT_SMTP_URL),
    /// and the tenants' NetworkPolicy then admits the URL's port to any address (a relay is a
    /// host name no policy can name). Unset, no tenant sends mail. Needs --mail-from. Checked at
    /// start rather than by clap, whose error would repeat the value, password included.
    #[arg(
        long,
        env = "ATENDO_SMTP_URL",
        hide_env_values = true,
        requires = "mail_from"
    )]
    pub smtp_url: Option<String>,

    /// The address every tenant's mail comes from, e.g. no-reply@chat.example.com (with SES, a
    /// verified identity). Each tenant's CHAT_MAIL_FROM shows its own name with it:
    /// "ACME Suporte" <no-reply@chat.example.com> (spec.branding.productName, else displayName).
    #[arg(
        long,
        env = "ATENDO_MAIL_FROM",
        value_parser = mail_address,
        requires = "smtp_url"
    )]
    pub mail_from: Option<String>,
}

/// Settings that parse but must not be used together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "--chat-s3-access-key-id (ATENDO_CHAT_S3_ACCESS_KEY_ID) gives every tenant's chat-server the same S3 key, \
         so any tenant could read and overwrite every other tenant's uploads (and do whatever else the key may). On AWS use \
         --iam-role-arn-template (a role per tenant; see docs/iam/chat-server-policy.json). If one \
         shared key is really meant (one tenant, or a test store without IAM), also set \
         --allow-shared-s3-key (ATENDO_ALLOW_SHARED_S3_KEY=true)"
    )]
    SharedS3Key,
    #[error(
        "--redis-ca-file ({0}) is set but --redis-url is not rediss:// (or rediss-cluster://): \
         the chat-servers would refuse to start (a CA applies to TLS only); use TLS or unset \
         --redis-ca-file"
    )]
    CaWithoutTls(String),
    /// Never repeats the URL: it holds the relay's password.
    #[error("--smtp-url (ATENDO_SMTP_URL) {0}")]
    SmtpUrl(String),
}

pub const DEFAULT_EGRESS: &str =
    "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,0.0.0.0/0:443,0.0.0.0/0:27017";

/// Cloud instance metadata (AWS, GCP, Azure): its credentials are the node's, never a tenant's.
pub const INSTANCE_METADATA: &str = "169.254.169.254/32";

/// One `--egress-cidrs` entry: an address block, and the one TCP port allowed there (all when
/// None).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressCidr {
    pub cidr: String,
    pub port: Option<u16>,
    /// Whether the block holds [`INSTANCE_METADATA`], which the policy must then except.
    pub holds_metadata: bool,
}

/// A static S3 key pair for the chat-servers (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticS3Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Settings {
    /// `template` with the Tenant's name in place of `{tenant}`.
    pub fn expand(template: &str, tenant: &str) -> String {
        template.replace(TENANT_PLACEHOLDER, tenant)
    }

    /// The tenant's CHAT_BUS: --redis-url signed in as `user`. Percent-encoded like the
    /// database URL, though the operator's own names and passwords never need it.
    pub fn redis_url_for(&self, user: &str, password: &str) -> String {
        let (scheme, rest) = self
            .redis_url
            .split_once("://")
            .expect("--redis-url was checked to have a scheme");
        format!(
            "{scheme}://{}:{}@{rest}",
            percent_encode(user),
            percent_encode(password)
        )
    }

    /// Refuses what parses but breaks tenant isolation (a shared static S3 key nobody accepted)
    /// or would stop every tenant's chat-server (a Redis CA without TLS).
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.chat_s3_access_key_id.is_some() && !self.allow_shared_s3_key {
            return Err(SettingsError::SharedS3Key);
        }
        if let Some(ca) = &self.redis_ca_file
            && !(self.redis_url.starts_with("rediss://")
                || self.redis_url.starts_with("rediss-cluster://"))
        {
            return Err(SettingsError::CaWithoutTls(ca.path().display().to_string()));
        }
        if let Some(url) = &self.smtp_url {
            smtp_port(url).map_err(SettingsError::SmtpUrl)?;
        }
        Ok(())
    }

    /// The port of --smtp-url, which the tenants' pods must reach: None without mail (or with a
    /// URL [`check`](Self::check) refuses).
    pub fn smtp_port(&self) -> Option<u16> {
        smtp_port(self.smtp_url.as_deref()?).ok()
    }

    /// The tenant's CHAT_MAIL_FROM: `name` (its product name) as the display name of
    /// --mail-from, so each tenant's visitors see whose mail it is; None without mail.
    pub fn mail_from_for(&self, name: &str) -> Option<String> {
        self.smtp_url.as_ref()?;
        let address = self.mail_from.as_ref()?;
        Some(format!("{} <{address}>", quoted_display_name(name)))
    }

    pub fn chat_s3_keys(&self) -> Option<StaticS3Keys> {
        Some(StaticS3Keys {
            access_key_id: self.chat_s3_access_key_id.clone()?,
            secret_access_key: self.chat_s3_secret_access_key.clone()?,
        })
    }

    /// These settings with every secret value replaced by a placeholder, for `render`: the S3
    /// keys, and the passwords in the Redis and SMTP URLs (the hosts stay, so a reviewer sees
    /// where the tenants' bus and mail go).
    pub fn redacted(&self) -> Settings {
        let placeholder = |v: &Option<String>| v.as_ref().map(|_| SETTINGS_PLACEHOLDER.to_string());
        Settings {
            chat_s3_access_key_id: placeholder(&self.chat_s3_access_key_id),
            chat_s3_secret_access_key: placeholder(&self.chat_s3_secret_access_key),
            redis_url: redact_url_password(&self.redis_url)
                .unwrap_or_else(|| self.redis_url.clone()),
            smtp_url: self
                .smtp_url
                .as_ref()
                .map(|url| redact_url_password(url).unwrap_or_else(|| url.clone())),
            ..self.clone()
        }
    }
}

/// An RFC 5322 quoted-string: `\` and `"` escaped, line breaks and other control characters
/// (which would end the header) made spaces. Non-ASCII stays: the chat-server's mail library
/// encodes it (RFC 2047) when it writes the header.
fn quoted_display_name(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => quoted.push(' '),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The port of an SMTP URL as the chat-server reads it (chat-server/src/mail/mod.rs): smtps://
/// defaults to 465, smtp:// to 587; a path, or a query other than smtp://'s tls=none|required,
/// is refused as the chat-server refuses it. The error never repeats the URL.
pub fn smtp_port(url: &str) -> Result<u16, String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or(
        "is not a URL; expected smtp://user:password@host:587 or smtps://user:password@host:465",
    )?;
    let scheme = scheme.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "smtps" => 465,
        "smtp" => 587,
        _ => {
            return Err(format!(
                "has the scheme {scheme:?}; expected smtp:// (STARTTLS) or smtps:// (TLS)"
            ));
        }
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host_port = rest[..authority_end]
        .rsplit_once('@')
        .map_or(&rest[..authority_end], |(_, h)| h);
    // An IPv6 address is bracketed: its colons are not the port's.
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (host_port, None),
    };
    if host.trim_matches(['[', ']']).is_empty() {
        return Err("names no host".into());
    }
    // What the chat-server refuses at start, refused here first so every tenant's pods start.
    let tail = rest[authority_end..].split('#').next().unwrap_or("");
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    if !path.is_empty() && path != "/" {
        return Err("has a path; expected smtp://user:password@host:port".into());
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if scheme != "smtp" || !matches!(pair, "tls=none" | "tls=required") {
            return Err(
                "has a query parameter the chat-server does not take: smtp:// accepts only \
                 tls=required (the default) or tls=none, smtps:// none"
                    .into(),
            );
        }
    }
    match port {
        None | Some("") => Ok(default),
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| "has a port that is not a number from 1 to 65535".to_string()),
    }
}

/// A bare mail address (`local@domain`), as --mail-from takes it: the display name is each
/// tenant's.
fn mail_address(s: &str) -> Result<String, String> {
    let s = s.trim();
    let valid = s.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !local.contains(|c: char| {
                c.is_whitespace() || c.is_control() || "<>\"(),;:@[]\\".contains(c)
            })
            && domain.split('.').count() >= 2
            && domain
                .split('.')
                .all(|label| crate::validation::is_dns_label(&label.to_ascii_lowercase()))
    });
    if valid {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a bare mail address such as no-reply@chat.example.com (each tenant's \
             name is put in front of it)"
        ))
    }
}

/// What `render` prints in place of a secret the operator settings hold.
pub const SETTINGS_PLACEHOLDER: &str = "PLACEHOLDER-from-the-operator-settings";

/// `url` with the password of its userinfo (or the whole userinfo when it has no `:`, as in
/// `rediss://token@host`) replaced by [`SETTINGS_PLACEHOLDER`]; None when it has no userinfo or
/// the password already is a placeholder.
pub fn redact_url_password(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host) = authority.rsplit_once('@')?;
    let user = match userinfo.split_once(':') {
        Some((user, password)) if !password.starts_with("PLACEHOLDER") => format!("{user}:"),
        Some(_) => return None,
        None if userinfo.starts_with("PLACEHOLDER") => return None,
        None => String::new(),
    };
    Some(format!(
        "{scheme}://{user}{SETTINGS_PLACEHOLDER}@{host}{tail}"
    ))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IssuerKind {
    ClusterIssuer,
    Issuer,
}

/// How the tenant's database user is managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatabaseProvider {
    /// MongoDB Atlas Admin API v2 (databaseUsers).
    Atlas,
    /// createUser/updateUser/dropUser over an admin connection (kind, self-managed MongoDB).
    Mongodb,
}

/// Database provider credentials: used by the controller, never by `render`.
#[derive(Clone, Debug, Args)]
pub struct DatabaseArgs {
    /// No default: clap's required_if_eq ignores defaults, and choosing is the chart's job anyway.
    #[arg(long, env = "ATENDO_DATABASE_PROVIDER", value_enum)]
    pub database_provider: DatabaseProvider,

    /// Admin connection for the mongodb provider (needs userAdminAnyDatabase, dropDatabase).
    #[arg(
        long,
        env = "ATENDO_MONGODB_ADMIN_URI",
        hide_env_values = true,
        required_if_eq("database_provider", "mongodb")
    )]
    pub mongodb_admin_uri: Option<String>,

    #[arg(
        long,
        env = "ATENDO_ATLAS_API_URL",
        default_value = "https://cloud.mongodb.com"
    )]
    pub atlas_api_url: String,

    #[arg(
        long,
        env = "ATENDO_ATLAS_PROJECT_ID",
        required_if_eq("database_provider", "atlas")
    )]
    pub atlas_project_id: Option<String>,

    /// Cluster the tenant users are scoped to.
    #[arg(
        long,
        env = "ATENDO_ATLAS_CLUSTER",
        required_if_eq("database_provider", "atlas")
    )]
    pub atlas_cluster: Option<String>,

    #[arg(
        long,
        env = "ATENDO_ATLAS_PUBLIC_KEY",
        required_if_eq("database_provider", "atlas")
    )]
    pub atlas_public_key: Option<String>,

    #[arg(
        long,
        env = "ATENDO_ATLAS_PRIVATE_KEY",
        hide_env_values = true,
        required_if_eq("database_provider", "atlas")
    )]
    pub atlas_private_key: Option<String>,

    // Dedicated databases (spec.database.dedicated, issue 16).
    /// Cloud provider of each tenant's dedicated Atlas cluster (Atlas providerName).
    #[arg(long, env = "ATENDO_ATLAS_DEDICATED_PROVIDER", default_value = "AWS", value_parser = atlas_word)]
    pub atlas_dedicated_provider: String,

    /// Region of each tenant's dedicated Atlas cluster, as Atlas spells it (regionName), e.g.
    /// US_EAST_1 or SA_EAST_1. The instance size comes from the plan (M10 professional, M30
    /// enterprise).
    #[arg(long, env = "ATENDO_ATLAS_DEDICATED_REGION", default_value = "US_EAST_1", value_parser = atlas_word)]
    pub atlas_dedicated_region: String,

    /// With --database-provider mongodb: the admin connection of a tenant's dedicated server, with
    /// {tenant} standing for the Tenant's name, e.g.
    /// mongodb://admin:PASSWORD@mongo-{tenant}.databases.svc:27017/. The operator creates the
    /// tenant's user there as it does on the shared server, and the tenant's CHAT_STORE points at
    /// that server (credentials stripped). Unset, a Tenant with spec.database.dedicated is refused
    /// (DatabaseReady False, DedicatedUnavailable): the operator does not run database servers.
    #[arg(
        long,
        env = "ATENDO_MONGODB_DEDICATED_ADMIN_URI_TEMPLATE",
        hide_env_values = true,
        value_parser = dedicated_admin_template
    )]
    pub mongodb_dedicated_admin_uri_template: Option<String>,
}

/// An Atlas enum value such as AWS or US_EAST_1.
fn atlas_word(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} must be an Atlas name in capitals, e.g. AWS or US_EAST_1"
        ))
    }
}

/// A MongoDB URI with {tenant} in it (and nothing else in braces).
fn dedicated_admin_template(s: &str) -> Result<String, String> {
    if !s.contains(TENANT_PLACEHOLDER) {
        return Err(format!(
            "must contain {TENANT_PLACEHOLDER}, or every dedicated tenant would share one server"
        ));
    }
    let expanded = Settings::expand(s, "tenant");
    if s.replace(TENANT_PLACEHOLDER, "").contains(['{', '}']) {
        return Err(format!("has a placeholder other than {TENANT_PLACEHOLDER}"));
    }
    DatabaseUrl::parse_admin(&expanded).map(|_| s.to_string())
}

/// Where tenants' Redis users are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RedisProvider {
    /// ACL SETUSER/DELUSER through --redis-admin-url (Redis 6.2+ you run yourself, kind).
    SelfManaged,
    /// ElastiCache RBAC: one user per tenant in --elasticache-user-group-id, through the AWS API
    /// (IRSA on EKS).
    Elasticache,
}

/// Bus provider credentials: used by the controller, never by `render`.
#[derive(Clone, Debug, Args)]
pub struct BusArgs {
    /// No default, like --database-provider: choosing is the chart's job.
    #[arg(long, env = "ATENDO_REDIS_PROVIDER", value_enum)]
    pub redis_provider: RedisProvider,

    /// Admin connection for the self-managed provider, e.g. redis://atendo-admin:PASSWORD@host:6379
    /// (needs ACL SETUSER and ACL DELUSER). Only the operator holds it; tenants never see it.
    #[arg(
        long,
        env = "ATENDO_REDIS_ADMIN_URL",
        hide_env_values = true,
        value_parser = redis_admin_url,
        required_if_eq("redis_provider", "self-managed")
    )]
    pub redis_admin_url: Option<String>,

    /// The ElastiCache RBAC user group attached to the replication group, e.g. atendo-tenants:
    /// the operator adds each tenant's user to it (and never touches another group).
    #[arg(
        long,
        env = "ATENDO_ELASTICACHE_USER_GROUP_ID",
        value_parser = elasticache_id,
        required_if_eq("redis_provider", "elasticache")
    )]
    pub elasticache_user_group_id: Option<String>,

    /// Region of the ElastiCache cache; unset takes the AWS default chain's (AWS_REGION).
    #[arg(long, env = "ATENDO_ELASTICACHE_REGION", value_parser = non_empty)]
    pub elasticache_region: Option<String>,

    /// ElastiCache API endpoint (a VPC interface endpoint, or a stand-in); unset means AWS.
    #[arg(long, env = "ATENDO_ELASTICACHE_ENDPOINT", value_parser = http_url)]
    pub elasticache_endpoint: Option<String>,
}

/// How the controller process runs: probes, metrics and leader election.
#[derive(Clone, Debug, Args)]
pub struct RuntimeArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "ATENDO_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,

    /// Only the holder of a coordination.k8s.io Lease runs the controller (for several replicas).
    #[arg(
        long,
        env = "ATENDO_LEADER_ELECTION",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub leader_election: bool,

    /// Name of the Lease replicas compete for.
    #[arg(long, env = "ATENDO_LEASE_NAME", default_value = "atendo-operator", value_parser = dns_label)]
    pub lease_name: String,

    /// Namespace of the Lease; defaults to the pod's own (POD_NAMESPACE), else atendo-system.
    #[arg(long, env = "ATENDO_LEASE_NAMESPACE", value_parser = dns_label)]
    pub lease_namespace: Option<String>,

    /// Tenants reconciled at once. Each holds an API connection and its built objects; raise it
    /// when a slow API server makes a large fleet take long to converge.
    #[arg(
        long,
        env = "ATENDO_MAX_CONCURRENT_RECONCILES",
        default_value_t = DEFAULT_CONCURRENCY,
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    pub max_concurrent_reconciles: u16,
}

impl RuntimeArgs {
    pub const DEFAULT_LEASE_NAMESPACE: &str = "atendo-system";

    /// `--lease-namespace`, else POD_NAMESPACE (downward API), else atendo-system.
    pub fn lease_namespace(&self, pod_namespace: Option<String>) -> String {
        self.lease_namespace
            .clone()
            .or(pod_namespace.filter(|n| !n.is_empty()))
            .unwrap_or_else(|| Self::DEFAULT_LEASE_NAMESPACE.into())
    }
}

pub type Annotations = BTreeMap<String, String>;

/// `--database-url` split where the tenant's credentials and database go in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// `mongodb://` or `mongodb+srv://`.
    pub scheme: String,
    pub hosts: String,
    /// Query string without the `?`, possibly empty.
    pub options: String,
}

impl DatabaseUrl {
    /// The chat-server's CHAT_STORE: this address with a user, password and database. Users are
    /// created in the admin database (as Atlas does), so authSource defaults to admin.
    pub fn for_user(&self, user: &str, password: &str, database: &str) -> String {
        let mut options = self.options.clone();
        if !options.split('&').any(|o| o.starts_with("authSource=")) {
            if !options.is_empty() {
                options.push('&');
            }
            options.push_str("authSource=admin");
        }
        format!(
            "{}{}:{}@{}/{database}?{options}",
            self.scheme,
            percent_encode(user),
            percent_encode(password),
            self.hosts
        )
    }
}

// Dedicated databases (issue 16): addresses that come from a provider, not from the flags.
impl DatabaseUrl {
    /// An address without credentials or database, as --database-url takes it.
    pub fn parse(s: &str) -> Result<DatabaseUrl, String> {
        database_url(s)
    }

    /// An admin connection string: its credentials and database (if any) are dropped, which
    /// gives the address tenants reach the same server at.
    pub fn parse_admin(s: &str) -> Result<DatabaseUrl, String> {
        let (scheme, rest) = ["mongodb+srv://", "mongodb://"]
            .into_iter()
            .find_map(|p| s.strip_prefix(p).map(|r| (p, r)))
            .ok_or("must start with mongodb:// or mongodb+srv://")?;
        let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let options = tail.split_once('?').map_or("", |(_, o)| o);
        // authSource names where the admin signs in, not where tenants' users live.
        let options: Vec<&str> = options
            .split('&')
            .filter(|o| !o.is_empty() && !o.starts_with("authSource="))
            .collect();
        let base = format!("{scheme}{hosts}/?{}", options.join("&"));
        database_url(base.trim_end_matches("/?"))
    }

    /// The address as a string, e.g. mongodb+srv://cluster0.abcde.mongodb.net/?retryWrites=true.
    pub fn address(&self) -> String {
        if self.options.is_empty() {
            format!("{}{}", self.scheme, self.hosts)
        } else {
            format!("{}{}/?{}", self.scheme, self.hosts, self.options)
        }
    }
}

/// RFC 3986 userinfo encoding, which MongoDB requires for `:/?#[]@%` in credentials.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.trim().to_string())
    }
}

/// ElastiCache's identifier rule: a letter, then letters, digits and single hyphens, not ending in
/// one, at most 40 characters.
fn elasticache_id(s: &str) -> Result<String, String> {
    let ok = s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not an ElastiCache user group id (a letter, then letters, digits and single \
             hyphens, not ending in '-', at most 40 characters)"
        ))
    }
}

fn http_url(s: &str) -> Result<String, String> {
    if (s.starts_with("https://") || s.starts_with("http://")) && s.len() > "https://".len() {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an http(s):// URL"))
    }
}

fn base_domain(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
    if s.len() <= 200
        && s.split('.').count() >= 2
        && s.split('.').all(crate::validation::is_dns_label)
    {
        Ok(s)
    } else {
        Err(format!(
            "{s:?} is not a domain name such as chat.example.com (dot-separated DNS labels, at most 200 characters)"
        ))
    }
}

fn dns_label(s: &str) -> Result<String, String> {
    if crate::validation::is_dns_label(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a valid namespace name (a DNS label)"))
    }
}

fn redis_url(s: &str) -> Result<String, String> {
    let rest = redis_admin_url(s)?;
    let authority = rest.split_once("://").map_or("", |(_, r)| r);
    let authority = authority.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(
            "must not contain credentials: each tenant gets its own Redis user, and the operator's \
             admin credential goes in --redis-admin-url"
                .into(),
        );
    }
    if authority.is_empty() {
        return Err("names no host".into());
    }
    Ok(rest)
}

/// The schemes the chat-server's bus takes (`-cluster`: Redis Cluster, sharded pub/sub).
const REDIS_SCHEMES: [&str; 4] = [
    "redis://",
    "rediss://",
    "redis-cluster://",
    "rediss-cluster://",
];

fn redis_admin_url(s: &str) -> Result<String, String> {
    if REDIS_SCHEMES.iter().any(|scheme| s.starts_with(scheme)) {
        Ok(s.to_string())
    } else {
        Err(
            "must start with redis://, rediss://, or for a Redis Cluster redis-cluster:// or \
             rediss-cluster://"
                .into(),
        )
    }
}

fn egress_cidr(s: &str) -> Result<EgressCidr, String> {
    let s = s.trim();
    // The port follows the prefix length, so an IPv6 block's own colons never look like one.
    let (cidr, port) = match s.rsplit_once(':') {
        Some((cidr, port)) if cidr.contains('/') && !port.contains('/') => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{s:?}: {port:?} is not a port (1-65535)"))?;
            (cidr, Some(port))
        }
        _ => (s, None),
    };
    let bad = || format!("{s:?} is not CIDR or CIDR:port, e.g. 10.0.0.0/16 or 0.0.0.0/0:443");
    let (address, length) = cidr.split_once('/').ok_or_else(bad)?;
    let address: std::net::IpAddr = address.parse().map_err(|_| bad())?;
    let length: u8 = length.parse().map_err(|_| bad())?;
    let holds_metadata = match address {
        std::net::IpAddr::V4(v4) => {
            if length > 32 {
                return Err(bad());
            }
            let mask = u32::MAX.checked_shl(32 - u32::from(length)).unwrap_or(0);
            let network = u32::from(v4) & mask;
            if network != u32::from(v4) {
                let network = std::net::Ipv4Addr::from(network);
                return Err(format!(
                    "{s:?} has host bits set: did you mean {network}/{length}?"
                ));
            }
            u32::from(std::net::Ipv4Addr::new(169, 254, 169, 254)) & mask == network
        }
        std::net::IpAddr::V6(_) if length > 128 => return Err(bad()),
        std::net::IpAddr::V6(_) => false,
    };
    if cidr == INSTANCE_METADATA {
        return Err(format!(
            "{s:?}: instance metadata is never reachable from tenants (its credentials are the node's)"
        ));
    }
    Ok(EgressCidr {
        cidr: cidr.to_string(),
        port,
        holds_metadata,
    })
}

fn database_url(s: &str) -> Result<DatabaseUrl, String> {
    let (scheme, rest) = ["mongodb+srv://", "mongodb://"]
        .into_iter()
        .find_map(|p| s.strip_prefix(p).map(|r| (p, r)))
        .ok_or("must start with mongodb:// or mongodb+srv://")?;
    let (hosts, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (database, options) = tail.split_once('?').unwrap_or((tail, ""));
    if hosts.contains('@') {
        return Err("must not contain credentials; the operator adds each tenant's own".into());
    }
    if hosts.is_empty() {
        return Err("names no host".into());
    }
    if !database.is_empty() {
        return Err(format!(
            "must not name a database ({database:?}); each tenant gets its own"
        ));
    }
    Ok(DatabaseUrl {
        scheme: scheme.to_string(),
        hosts: hosts.to_string(),
        options: options.to_string(),
    })
}

fn annotations(s: &str) -> Result<Annotations, String> {
    serde_json::from_str(s).map_err(|e| {
        format!("must be a JSON object of string values, e.g. {{\"key\":\"value\"}}: {e}")
    })
}

fn bucket_template(s: &str) -> Result<String, String> {
    if !s.contains(TENANT_PLACEHOLDER) {
        return Err(format!(
            "must contain {TENANT_PLACEHOLDER}, or every tenant would share one bucket"
        ));
    }
    iam_template(s)
}

fn iam_template(s: &str) -> Result<String, String> {
    let rest = s.replace(TENANT_PLACEHOLDER, "");
    if rest.contains(['{', '}']) {
        Err(format!(
            "{s:?} has a placeholder other than {TENANT_PLACEHOLDER}"
        ))
    } else {
        Ok(s.to_string())
    }
}

// --- Provisioning notices (issue 16 §3) ---

/// Where "tenant ready" notices go: one per Ready transition, besides the Kubernetes Events.
/// Neither set: none are sent. Used by the controller only, never by `render`.
#[derive(Clone, Debug, Default, Args)]
pub struct NoticeArgs {
    /// SNS topic to publish each notice to, e.g. arn:aws:sns:eu-west-1:123456789012:tenant-ready
    /// (the operator's role needs sns:Publish on it; docs/iam/operator-notices-policy.json).
    #[arg(long, env = "ATENDO_NOTICE_SNS_TOPIC_ARN", value_parser = sns_topic_arn, conflicts_with = "notice_cloudevents_url")]
    pub notice_sns_topic_arn: Option<String>,

    /// SNS-compatible endpoint (moto, LocalStack); unset means AWS in the topic's region.
    #[arg(
        long,
        env = "ATENDO_NOTICE_SNS_ENDPOINT",
        requires = "notice_sns_topic_arn"
    )]
    pub notice_sns_endpoint: Option<String>,

    /// HTTP(S) endpoint that receives each notice as a CloudEvent (structured mode, POST).
    #[arg(long, env = "ATENDO_NOTICE_CLOUDEVENTS_URL", value_parser = http_url)]
    pub notice_cloudevents_url: Option<String>,

    /// The CloudEvents `source` attribute, e.g. naming the cluster: /clusters/prod-eu/atendo-operator.
    #[arg(long, env = "ATENDO_NOTICE_SOURCE", default_value = "/atendo-operator", value_parser = non_empty)]
    pub notice_source: String,
}

fn sns_topic_arn(s: &str) -> Result<String, String> {
    match crate::notices::sns::region_of(s) {
        Some(_) => Ok(s.to_string()),
        None => Err("must be an SNS topic ARN: arn:aws:sns:REGION:ACCOUNT:NAME".into()),
    }
}
