//! The server's whole configuration: one clap struct, every setting a flag with an env twin.
//! A malformed value stops the start with clap's message, which names the flag and variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use chat_settings::names;
use chat_settings::rules::{bus_namespace, colour, locale, positive, signing_key};
use clap::{Parser, ValueEnum};

pub use chat_settings::Locale;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// `mongodb://` or `mongodb+srv://` URI; the database is the one in the URI's path.
    Mongo { uri: String, database: String },
    /// Directory of the embedded SQLite store.
    Embedded(PathBuf),
}

impl std::str::FromStr for StoreLocation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty; give a mongodb:// URI or a directory".into());
        }
        if let Some(rest) = s
            .strip_prefix("mongodb://")
            .or_else(|| s.strip_prefix("mongodb+srv://"))
        {
            let after_hosts = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
            let database = after_hosts.split('?').next().unwrap_or("");
            if database.is_empty() {
                return Err(
                    "the MongoDB URI names no database; add it as the path, e.g. mongodb://host:27017/tenant_acme"
                        .into(),
                );
            }
            if database.contains(['/', '\\', '.', ' ', '"', '$']) {
                return Err(format!("{database:?} is not a valid MongoDB database name"));
            }
            return Ok(Self::Mongo {
                uri: s.to_string(),
                database: database.to_string(),
            });
        }
        if s.contains("://") {
            return Err(format!(
                "unsupported scheme in {s:?}; expected mongodb://, mongodb+srv:// or a directory path"
            ));
        }
        Ok(Self::Embedded(PathBuf::from(s)))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusLocation {
    Local,
    Redis(String),
}

impl std::str::FromStr for BusLocation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "local" {
            Ok(Self::Local)
        } else if s.starts_with("redis://") || s.starts_with("rediss://") {
            Ok(Self::Redis(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is neither \"local\" nor a redis:// or rediss:// URL"
            ))
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Parser)]
#[command(
    name = "chat-server",
    version,
    about = "Atendo chat server: one tenant's visitors and agents over REST and WebSocket"
)]
pub struct Config {
    /// Address to bind.
    #[arg(
        long,
        env = names::LISTEN,
        value_name = names::LISTEN,
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    /// `mongodb://…`/`mongodb+srv://…` (database from the path) or a directory for the embedded store.
    #[arg(
        long,
        env = names::STORE,
        value_name = names::STORE,
        default_value = "./data"
    )]
    pub store: StoreLocation,

    /// `redis://…` for fan-out across replicas, or `local` for a single process.
    #[arg(
        long,
        env = names::BUS,
        value_name = names::BUS,
        default_value = "local"
    )]
    pub bus: BusLocation,

    /// Prefix of every bus channel, so deployments sharing one Redis never see each other.
    #[arg(long, env = names::BUS_NAMESPACE, value_name = names::BUS_NAMESPACE, default_value = "atendo", value_parser = bus_namespace)]
    pub bus_namespace: String,

    /// Email of the admin agent created at start if missing (needs CHAT_ADMIN_PASSWORD).
    #[arg(
        long,
        env = names::ADMIN_EMAIL,
        value_name = names::ADMIN_EMAIL,
        requires = "admin_password"
    )]
    pub admin_email: Option<String>,

    /// Password of the bootstrap admin (needs CHAT_ADMIN_EMAIL).
    #[arg(
        long,
        env = names::ADMIN_PASSWORD,
        value_name = names::ADMIN_PASSWORD,
        requires = "admin_email",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,

    /// Secret for the tokens this server issues (at least 32 bytes). Generated per start when
    /// absent, which logs everyone out at every restart and breaks multi-replica setups.
    #[arg(long, env = names::SIGNING_KEY, value_name = names::SIGNING_KEY, value_parser = signing_key, hide_env_values = true)]
    pub signing_key: Option<String>,

    /// Lifetime of issued tokens, in hours.
    #[arg(long, env = names::TOKEN_TTL_HOURS, value_name = names::TOKEN_TTL_HOURS, default_value = "720", value_parser = positive::<u64>)]
    pub token_ttl_hours: u64,

    /// External base URL (e.g. https://acme.chat.example.com); used in URLs the server hands out.
    #[arg(long, env = names::PUBLIC_URL, value_name = names::PUBLIC_URL)]
    pub public_url: Option<String>,

    #[arg(
        long,
        env = names::LOG_FORMAT,
        value_name = names::LOG_FORMAT,
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// OIDC issuer whose bearer tokens sign agents in (e.g. a Cognito user pool URL).
    #[arg(long, env = names::OIDC_ISSUER, value_name = names::OIDC_ISSUER, requires_all = ["oidc_audience", "oidc_jwks_url"])]
    pub oidc_issuer: Option<String>,
    /// Expected `aud` (or Cognito `client_id`) of OIDC tokens.
    #[arg(
        long,
        env = names::OIDC_AUDIENCE,
        value_name = names::OIDC_AUDIENCE,
        requires = "oidc_issuer"
    )]
    pub oidc_audience: Option<String>,
    /// Where the issuer's signing keys are published.
    #[arg(
        long,
        env = names::OIDC_JWKS_URL,
        value_name = names::OIDC_JWKS_URL,
        requires = "oidc_issuer"
    )]
    pub oidc_jwks_url: Option<String>,

    /// Bucket for attachments; without it files are kept on local disk in CHAT_UPLOAD_DIR.
    #[arg(long, env = names::S3_BUCKET, value_name = names::S3_BUCKET)]
    pub s3_bucket: Option<String>,
    #[arg(
        long,
        env = names::S3_REGION,
        value_name = names::S3_REGION,
        default_value = "us-east-1"
    )]
    pub s3_region: String,
    /// S3-compatible endpoint (MinIO, moto); unset means AWS.
    #[arg(long, env = names::S3_ENDPOINT, value_name = names::S3_ENDPOINT)]
    pub s3_endpoint: Option<String>,
    /// Directory for attachments when no bucket is configured.
    #[arg(
        long,
        env = names::UPLOAD_DIR,
        value_name = names::UPLOAD_DIR,
        default_value = "./data/uploads"
    )]
    pub upload_dir: PathBuf,
    /// Largest attachment, in MiB.
    #[arg(long, env = names::MAX_UPLOAD_MB, value_name = names::MAX_UPLOAD_MB, default_value = "25", value_parser = positive::<u64>)]
    pub max_upload_mb: u64,

    /// Largest message body, in bytes of UTF-8.
    #[arg(long, env = names::MAX_MESSAGE_BYTES, value_name = names::MAX_MESSAGE_BYTES, default_value = "4096", value_parser = positive::<usize>)]
    pub max_message_bytes: usize,
    /// Largest websocket frame/message a client may send, in bytes.
    #[arg(long, env = names::MAX_FRAME_BYTES, value_name = names::MAX_FRAME_BYTES, default_value = "16384", value_parser = positive::<usize>)]
    pub max_frame_bytes: usize,
    /// Frames per second a websocket may send on average.
    #[arg(long, env = names::WS_RATE, value_name = names::WS_RATE, default_value = "20", value_parser = positive::<u32>)]
    pub ws_rate: u32,
    /// Frames a websocket may send in a burst above the average.
    #[arg(long, env = names::WS_BURST, value_name = names::WS_BURST, default_value = "60", value_parser = positive::<u32>)]
    pub ws_burst: u32,
    /// Error frames a connection may provoke in a row before it is closed (close code 4029).
    #[arg(long, env = names::WS_MAX_STRIKES, value_name = names::WS_MAX_STRIKES, default_value = "20", value_parser = positive::<u32>)]
    pub ws_max_strikes: u32,
    /// Events queued for one socket before it is closed as too slow (close code 4008).
    #[arg(long, env = names::WS_OUTBOUND_QUEUE, value_name = names::WS_OUTBOUND_QUEUE, default_value = "256", value_parser = positive::<usize>)]
    pub ws_outbound_queue: usize,
    /// Initial read buffer per websocket, in bytes (tungstenite's default is 128 KiB). Every
    /// socket holds it for life: 4 KiB cost 2.9 KiB of RSS per idle socket (chat-bench idle).
    /// 1 KiB fits the frames clients send; a larger frame grows the buffer to its size.
    #[arg(long, env = names::WS_READ_BUFFER, value_name = names::WS_READ_BUFFER, default_value = "1024", value_parser = positive::<usize>)]
    pub ws_read_buffer: usize,
    /// Visitor sessions one client address may create per minute.
    #[arg(long, env = names::VISITOR_RATE, value_name = names::VISITOR_RATE, default_value = "30", value_parser = positive::<u32>)]
    pub visitor_rate: u32,
    /// Websocket connections one client address may open per minute (a burst of as many, then
    /// refilling evenly); more are refused with 429 before the upgrade.
    #[arg(long, env = names::WS_CONNECT_RATE, value_name = names::WS_CONNECT_RATE, default_value = "120", value_parser = positive::<u32>)]
    pub ws_connect_rate: u32,
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy/ingress).
    #[arg(long, env = names::TRUST_PROXY, value_name = names::TRUST_PROXY, default_value = "false", action = clap::ArgAction::Set)]
    pub trust_proxy: bool,
    /// Product name shown in the widget and console.
    #[arg(
        long,
        env = names::BRAND_PRODUCT_NAME,
        value_name = names::BRAND_PRODUCT_NAME,
        default_value = "Atendo"
    )]
    pub brand_product_name: String,
    /// Primary colour, `#rrggbb`.
    #[arg(long, env = names::BRAND_PRIMARY_COLOR, value_name = names::BRAND_PRIMARY_COLOR, default_value = "#0b5fff", value_parser = colour)]
    pub brand_primary_color: String,
    /// Logo URL (https), shown in the widget header and console.
    #[arg(long, env = names::BRAND_LOGO_URL, value_name = names::BRAND_LOGO_URL)]
    pub brand_logo_url: Option<String>,
    /// A BCP 47 tag (the Tenant's `branding.locale`); region variants pick the language the
    /// screens ship (en-US → en, pt-PT → pt-BR).
    #[arg(
        long,
        env = names::BRAND_LOCALE,
        value_name = names::BRAND_LOCALE,
        value_parser = locale,
        default_value = "en"
    )]
    pub brand_locale: Locale,
    /// First line the widget shows a visitor.
    #[arg(
        long,
        env = names::BRAND_WELCOME_MESSAGE,
        value_name = names::BRAND_WELCOME_MESSAGE
    )]
    pub brand_welcome_message: Option<String>,
    /// Seconds a graceful shutdown waits for in-flight work after telling sockets to reconnect.
    #[arg(long, env = names::SHUTDOWN_GRACE_SECS, value_name = names::SHUTDOWN_GRACE_SECS, default_value = "10", value_parser = positive::<u64>)]
    pub shutdown_grace_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let mut all = vec!["chat-server"];
        all.extend_from_slice(args);
        Config::try_parse_from(all)
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.store, StoreLocation::Embedded("./data".into()));
        assert_eq!(c.bus, BusLocation::Local);
        assert_eq!(c.max_message_bytes, 4096);
    }

    #[test]
    fn mongodb_uri_without_database_is_rejected_naming_the_variable() {
        let err = parse(&["--store", "mongodb://localhost:27017"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHAT_STORE"), "{err}");
        assert!(err.contains("names no database"), "{err}");
    }

    #[test]
    fn mongodb_uri_database_comes_from_the_path() {
        let c = parse(&[
            "--store",
            "mongodb://u:p@h1,h2/tenant_acme?authSource=admin",
        ])
        .unwrap();
        assert!(
            matches!(c.store, StoreLocation::Mongo { ref database, .. } if database == "tenant_acme")
        );
    }

    #[test]
    fn unknown_bus_and_short_signing_key_are_rejected() {
        let err = parse(&["--bus", "kafka://x"]).unwrap_err().to_string();
        assert!(err.contains("CHAT_BUS"), "{err}");
        let err = parse(&["--signing-key", "short"]).unwrap_err().to_string();
        assert!(
            err.contains("CHAT_SIGNING_KEY") && err.contains("at least 32"),
            "{err}"
        );
    }

    #[test]
    fn admin_email_without_password_is_rejected() {
        let err = parse(&["--admin-email", "a@b.c"]).unwrap_err().to_string();
        assert!(err.contains("CHAT_ADMIN_PASSWORD"), "{err}");
    }

    #[test]
    fn branding_values_are_checked() {
        let c = parse(&[
            "--brand-locale",
            "pt-BR",
            "--brand-primary-color",
            "#AABBCC",
        ])
        .unwrap();
        assert_eq!(
            (c.brand_locale, c.brand_primary_color.as_str()),
            (Locale::PtBr, "#aabbcc")
        );
        let err = parse(&["--brand-primary-color", "blue"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHAT_BRAND_PRIMARY_COLOR"), "{err}");
        assert!(parse(&["--brand-locale", "fr"]).is_err());
        // Tenants give BCP 47 tags with a region.
        assert_eq!(
            parse(&["--brand-locale", "en-US"]).unwrap().brand_locale,
            Locale::En
        );
        assert_eq!(
            parse(&["--brand-locale", "pt-PT"]).unwrap().brand_locale,
            Locale::PtBr
        );
    }

    #[test]
    fn every_env_twin_is_a_name_of_the_settings_contract_and_back() {
        use clap::CommandFactory;
        let declared: std::collections::BTreeSet<String> = Config::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        let contract: std::collections::BTreeSet<String> =
            names::ALL.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            declared, contract,
            "chat-settings' names::ALL and the env twins of Config differ"
        );
    }

    #[test]
    fn zero_limits_are_rejected() {
        let err = parse(&["--max-message-bytes", "0"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("greater than zero"), "{err}");
    }
}
