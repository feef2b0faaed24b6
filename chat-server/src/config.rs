//! The server's whole configuration: one clap struct, every setting a flag with an env twin.
//! A malformed value stops the start with clap's message, which names the flag and variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use chat_settings::names;
use chat_settings::rules::{
    bus_namespace, colour, email_domain, group_name, http_url, locale, positive, signing_key,
};
use clap::{Parser, ValueEnum};

mod values;
pub use values::CaFile;

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
        } else if [
            "redis://",
            "rediss://",
            "redis-cluster://",
            "rediss-cluster://",
        ]
        .iter()
        .any(|scheme| s.starts_with(scheme))
        {
            Ok(Self::Redis(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is neither \"local\" nor a redis://, rediss://, redis-cluster:// or \
                 rediss-cluster:// URL"
            ))
        }
    }
}

/// CHAT_ALLOWED_ORIGINS, checked by the settings contract's origin rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginList(pub Vec<String>);

fn origin_list(s: &str) -> Result<OriginList, String> {
    chat_settings::origins::allowed_origins(s).map(OriginList)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// CHAT_AUTO_ASSIGN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AutoAssign {
    /// Conversations wait for an agent to take them or an admin to assign them.
    Off,
    /// Each new conversation goes to the online agent with the fewest open ones (`chat::routing`).
    #[value(name = "round_robin")]
    RoundRobin,
}

/// What the binary does besides serving. Each reads the store from CHAT_STORE and reaches S3
/// with the attachment bucket's settings (CHAT_S3_REGION, CHAT_S3_ENDPOINT, the AWS chain).
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Writes a snapshot of the store into a new folder below --to named after its time
    /// (manifest.json and gzip files), and prints where.
    Backup {
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        to: crate::backup::Location,
    },
    /// Restores a backup (the folder a backup made) into the store, which must be empty unless
    /// --force. Stop every server using the store first.
    Restore {
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        from: crate::backup::Location,
        /// Replace what the store holds.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Debug, Parser)]
#[command(
    name = "chat-server",
    version,
    about = "Atendo chat server: one tenant's visitors and agents over REST and WebSocket"
)]
pub struct Config {
    /// Without one, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to bind.
    #[arg(
        long,
        env = names::LISTEN,
        value_name = names::LISTEN,
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    /// Address of /metrics alone. Unset, /metrics is served on CHAT_LISTEN with everything else;
    /// set (the operator sets it), CHAT_LISTEN no longer answers it, so a public Ingress in front
    /// of CHAT_LISTEN cannot expose it.
    #[arg(long, env = names::METRICS_LISTEN, value_name = names::METRICS_LISTEN)]
    pub metrics_listen: Option<SocketAddr>,

    /// `mongodb://…`/`mongodb+srv://…` (database from the path) or a directory for the embedded store.
    #[arg(
        long,
        env = names::STORE,
        value_name = names::STORE,
        default_value = "./data"
    )]
    pub store: StoreLocation,

    /// `redis://…` (or `rediss://…` for TLS) for fan-out across replicas, `redis-cluster://…`
    /// (`rediss-cluster://…`) for a Redis Cluster with sharded pub/sub, or `local` for a single
    /// process.
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

    /// PEM file with the private CA that signed the Redis server's certificate (`rediss://`
    /// only). Replaces the public roots that are trusted without it. Read at start: a missing
    /// or malformed file stops the server.
    #[arg(long, env = names::BUS_CA_FILE, value_name = names::BUS_CA_FILE, value_parser = values::parse_ca_file)]
    pub bus_ca_file: Option<CaFile>,

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

    /// Browser origins that may use this server besides CHAT_PUBLIC_URL's (the widget's sites),
    /// comma-separated, `https://*.example.com` for subdomains; unset = any origin. The API's
    /// CORS, the websocket upgrade and the local attachment routes follow it.
    #[arg(long, env = names::ALLOWED_ORIGINS, value_name = names::ALLOWED_ORIGINS, value_parser = origin_list)]
    pub allowed_origins: Option<OriginList>,

    #[arg(
        long,
        env = names::LOG_FORMAT,
        value_name = names::LOG_FORMAT,
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// OIDC issuer whose bearer tokens sign agents in (e.g. a Cognito user pool URL). The console
    /// then offers "Sign in with …" (authorization code + PKCE) against it.
    #[arg(long, env = names::OIDC_ISSUER, value_name = names::OIDC_ISSUER, requires_all = ["oidc_audience", "oidc_jwks_url"], value_parser = http_url)]
    pub oidc_issuer: Option<String>,
    /// Expected `aud` (or Cognito `client_id`) of OIDC tokens; also the console's OAuth client id
    /// (a public client: an ID token's `aud` is the client it was issued to).
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
    /// Email domains whose OIDC users may sign in, comma-separated (`acme.com,acme.com.br`; exact
    /// match, so list subdomains too). Others get 403. Unset: every verified email.
    #[arg(long, env = names::OIDC_ALLOWED_DOMAINS, value_name = names::OIDC_ALLOWED_DOMAINS, value_delimiter = ',', value_parser = email_domain, requires = "oidc_issuer")]
    pub oidc_allowed_domains: Vec<String>,
    /// Group (in the token's `cognito:groups` or `groups` claim) whose members are admins;
    /// every other OIDC user is an agent. Unset: the role stored with the account.
    #[arg(long, env = names::OIDC_ADMIN_GROUP, value_name = names::OIDC_ADMIN_GROUP, value_parser = group_name, requires = "oidc_issuer")]
    pub oidc_admin_group: Option<String>,
    /// Name on the console's "Sign in with …" button. Unset: the issuer's host name.
    #[arg(long, env = names::OIDC_DISPLAY_NAME, value_name = names::OIDC_DISPLAY_NAME, requires = "oidc_issuer")]
    pub oidc_display_name: Option<String>,
    /// The issuer's token endpoint, when it is on another origin than the issuer (Cognito's
    /// hosted domain, Google): the console exchanges its code there, and the console's CSP admits
    /// that origin. Unset: the discovery document's, which must then be on the issuer's origin.
    #[arg(long, env = names::OIDC_TOKEN_ENDPOINT, value_name = names::OIDC_TOKEN_ENDPOINT, requires = "oidc_issuer", value_parser = http_url)]
    pub oidc_token_endpoint: Option<String>,

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
    /// Seconds a presigned upload or download URL stays valid (15 minutes; S3 allows at most
    /// 7 days). Tests shorten it (hidden).
    #[arg(long, env = names::UPLOAD_URL_SECS, value_name = names::UPLOAD_URL_SECS, default_value = "900", value_parser = clap::value_parser!(u64).range(1..=604_800), hide = true)]
    pub upload_url_secs: u64,

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
    /// socket holds it for life: 4 KiB cost 2.9 KiB of RSS per idle socket, 1 KiB about 0.5 KiB
    /// more than 512 (chat-bench idle). It is also the most one read takes from the socket: 512
    /// holds a typical `send` frame whole, and a 4 KiB message takes eight reads, which only
    /// the sender's socket pays.
    #[arg(long, env = names::WS_READ_BUFFER, value_name = names::WS_READ_BUFFER, default_value = "512", value_parser = positive::<usize>)]
    pub ws_read_buffer: usize,
    /// Visitor sessions one client address may create per minute.
    #[arg(long, env = names::VISITOR_RATE, value_name = names::VISITOR_RATE, default_value = "30", value_parser = positive::<u32>)]
    pub visitor_rate: u32,
    /// Websocket connections one client address may open per minute (a burst of as many, then
    /// refilling evenly); more are refused with 429 before the upgrade.
    #[arg(long, env = names::WS_CONNECT_RATE, value_name = names::WS_CONNECT_RATE, default_value = "120", value_parser = positive::<u32>)]
    pub ws_connect_rate: u32,
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

    // ---- Abuse limits (issue 12, item 4) ----
    /// How many proxies in front of the server append to X-Forwarded-For (ALB, ingress-nginx):
    /// the client address is the entry this many from the right, the address the outermost
    /// trusted proxy saw. 0 uses the socket peer and ignores the header. Entries further left
    /// are client-supplied and never used.
    #[arg(long, env = names::TRUSTED_PROXY_HOPS, value_name = names::TRUSTED_PROXY_HOPS, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub trusted_proxy_hops: Option<u8>,
    /// Deprecated: `true` means CHAT_TRUSTED_PROXY_HOPS=1 (it used to take the first,
    /// client-supplied entry). Ignored when CHAT_TRUSTED_PROXY_HOPS is set.
    #[arg(long, env = names::TRUST_PROXY, value_name = names::TRUST_PROXY, action = clap::ArgAction::Set, hide = true)]
    pub trust_proxy: Option<bool>,
    /// Sign-in attempts one client address may make per minute (a burst of as many, then
    /// refilling evenly); more get 429 with Retry-After before any password is checked.
    #[arg(long, env = names::LOGIN_ADDRESS_RATE, value_name = names::LOGIN_ADDRESS_RATE, default_value = "20", value_parser = positive::<u32>)]
    pub login_address_rate: u32,
    /// Sign-in attempts per account (email, case-insensitive) per minute, from any address.
    #[arg(long, env = names::LOGIN_ACCOUNT_RATE, value_name = names::LOGIN_ACCOUNT_RATE, default_value = "5", value_parser = positive::<u32>)]
    pub login_account_rate: u32,
    /// Password hashes (argon2id, ~19 MiB each) computed at once; unset = one per CPU, at most
    /// 4. Callers beyond it wait up to 3 s, then get 503 `busy`.
    #[arg(long, env = names::PASSWORD_HASH_CONCURRENCY, value_name = names::PASSWORD_HASH_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub password_hash_concurrency: Option<u16>,
    /// Conversations one visitor socket may subscribe to at once.
    #[arg(long, env = names::WS_MAX_SUBSCRIPTIONS_VISITOR, value_name = names::WS_MAX_SUBSCRIPTIONS_VISITOR, default_value = "20", value_parser = positive::<usize>)]
    pub ws_max_subscriptions_visitor: usize,
    /// Conversations one agent socket may subscribe to at once.
    #[arg(long, env = names::WS_MAX_SUBSCRIPTIONS_AGENT, value_name = names::WS_MAX_SUBSCRIPTIONS_AGENT, default_value = "500", value_parser = positive::<usize>)]
    pub ws_max_subscriptions_agent: usize,
    /// A websocket that sends nothing (not even a ping) for this many seconds is closed with
    /// 1001; the widget and console ping every 25 s.
    #[arg(long, env = names::WS_IDLE_TIMEOUT_SECS, value_name = names::WS_IDLE_TIMEOUT_SECS, default_value = "90", value_parser = positive::<u64>)]
    pub ws_idle_timeout_secs: u64,
    /// Seconds a client may take to send a request's headers once it started one.
    #[arg(long, env = names::HTTP_HEADER_TIMEOUT_SECS, value_name = names::HTTP_HEADER_TIMEOUT_SECS, default_value = "10", value_parser = positive::<u64>)]
    pub http_header_timeout_secs: u64,
    /// Seconds a kept-alive HTTP connection may wait for its next request. Keep it above the
    /// ingress's own idle timeout (ALB and ingress-nginx: 60 s), so the proxy, not the server,
    /// closes idle connections and never sends on one being closed.
    #[arg(long, env = names::HTTP_IDLE_TIMEOUT_SECS, value_name = names::HTTP_IDLE_TIMEOUT_SECS, default_value = "75", value_parser = positive::<u64>)]
    pub http_idle_timeout_secs: u64,
    /// Conversations one visitor may have open or pending at once; one more is refused with 409
    /// `too_many_open_conversations` (the widget keeps one).
    #[arg(long, env = names::VISITOR_MAX_OPEN_CONVERSATIONS, value_name = names::VISITOR_MAX_OPEN_CONVERSATIONS, default_value = "5", value_parser = positive::<u32>)]
    pub visitor_max_open_conversations: u32,
    /// Seconds a REST request (body included) may take before it is answered 503 `timeout`;
    /// websockets are not cut by it.
    #[arg(long, env = names::HTTP_REQUEST_TIMEOUT_SECS, value_name = names::HTTP_REQUEST_TIMEOUT_SECS, default_value = "30", value_parser = positive::<u64>)]
    pub http_request_timeout_secs: u64,

    // ---- The agent workspace (issue 13) ----
    /// `round_robin`: a new conversation goes at once to the online, enabled agent (of its team,
    /// when it has one) with the fewest open conversations below CHAT_AGENT_CAPACITY, ties in
    /// turn; with none free it waits, and is assigned when one comes online or frees a slot.
    /// `off`: conversations wait for an agent or an admin to assign them.
    #[arg(long, env = names::AUTO_ASSIGN, value_name = names::AUTO_ASSIGN, value_enum, default_value = "off")]
    pub auto_assign: AutoAssign,
    /// Open conversations automatic assignment gives one agent at most (an agent or admin may
    /// still assign more by hand).
    #[arg(long, env = names::AGENT_CAPACITY, value_name = names::AGENT_CAPACITY, default_value = "10", value_parser = positive::<u32>)]
    pub agent_capacity: u32,
    /// Seconds between this replica's announcements of the agents it has sockets for; a replica
    /// not heard from for three of them counts as gone, with its agents' presence. Hidden: a
    /// knob for tests, capped so that a dead replica's agents go offline within the contract's
    /// 60 s (3 × 19 s + the 1 s sweep).
    #[arg(long, env = names::PRESENCE_HEARTBEAT_SECS, value_name = names::PRESENCE_HEARTBEAT_SECS, default_value = "15", value_parser = clap::value_parser!(u64).range(1..=19), hide = true)]
    pub presence_heartbeat_secs: u64,

    // ---- Mail (issue 13's password resets, issue 14) ----
    /// `smtp://user:pass@host:587` (STARTTLS required; `?tls=none` for a relay on a trusted
    /// network) or `smtps://user:pass@host:465` (implicit TLS). Unset, no mail is sent and
    /// password reset answers 503 `mail_not_configured`. Needs CHAT_MAIL_FROM and
    /// CHAT_PUBLIC_URL (for the links in mails). Checked at start rather than by clap, whose
    /// error would repeat the value, password included.
    #[arg(long, env = names::SMTP_URL, value_name = names::SMTP_URL, requires_all = ["mail_from", "public_url"], hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of every mail, e.g. `ACME Suporte <suporte@acme.com>`.
    #[arg(long, env = names::MAIL_FROM, value_name = names::MAIL_FROM, value_parser = values::mail_from, requires = "smtp_url")]
    pub mail_from: Option<lettre::message::Mailbox>,
    /// PEM file with the private CA that signed the SMTP server's certificate; replaces the
    /// public roots for mail. Read at start: a missing or malformed file stops the server.
    #[arg(long, env = names::SMTP_CA_FILE, value_name = names::SMTP_CA_FILE, value_parser = values::parse_ca_file, requires = "smtp_url")]
    pub smtp_ca_file: Option<CaFile>,
    #[arg(long, env = names::MAIL_RETRY_BASE_SECS, value_name = names::MAIL_RETRY_BASE_SECS, default_value = "5", value_parser = positive::<u64>, hide = true)]
    pub mail_retry_base_secs: u64,
    #[arg(long, env = names::MAIL_LEASE_SECS, value_name = names::MAIL_LEASE_SECS, default_value = "60", value_parser = positive::<u64>, hide = true)]
    pub mail_lease_secs: u64,
    #[arg(long, env = names::PASSWORD_RESET_TTL_SECS, value_name = names::PASSWORD_RESET_TTL_SECS, default_value = "1800", value_parser = positive::<u64>, hide = true)]
    pub password_reset_ttl_secs: u64,

    // ---- Webhooks ----
    /// `true` lets webhook endpoints be on loopback, private (RFC 1918, ULA), link-local or
    /// other non-public addresses; by default those are refused (400 `webhook_url_forbidden`)
    /// when an endpoint is made and at every delivery, against SSRF.
    #[arg(long, env = names::WEBHOOK_ALLOW_PRIVATE, value_name = names::WEBHOOK_ALLOW_PRIVATE, default_value = "false", action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// At most 10 s: the contract's first retry comes within 10 s.
    #[arg(long, env = names::WEBHOOK_RETRY_BASE_MS, value_name = names::WEBHOOK_RETRY_BASE_MS, default_value = "5000", value_parser = clap::value_parser!(u64).range(1..=10_000), hide = true)]
    pub webhook_retry_base_ms: u64,
    #[arg(long, env = names::WEBHOOK_RETRY_FOR_SECS, value_name = names::WEBHOOK_RETRY_FOR_SECS, default_value = "86400", value_parser = positive::<u64>, hide = true)]
    pub webhook_retry_for_secs: u64,
    /// More than the 10 s request timeout, or a slow attempt's delivery could be claimed again.
    #[arg(long, env = names::WEBHOOK_LEASE_SECS, value_name = names::WEBHOOK_LEASE_SECS, default_value = "30", value_parser = clap::value_parser!(u64).range(11..), hide = true)]
    pub webhook_lease_secs: u64,
    /// Days each endpoint's delivery log is kept; older attempts, and settled deliveries stored
    /// before then, are removed hourly. Pending deliveries stay until they settle.
    #[arg(long, env = names::WEBHOOK_LOG_DAYS, value_name = names::WEBHOOK_LOG_DAYS, default_value = "30", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub webhook_log_days: u32,
    // ---- When no one is there (issue 14) ----
    /// When the desk is staffed, in the tenant's time zone: JSON
    /// `{"timezone":"America/Sao_Paulo","weekly":[{"day":"mon","from":"09:00","to":"18:00"}],
    /// "holidays":["2026-12-25"]}` (`to` may be `24:00`; past midnight is two entries). Unset:
    /// always. Outside them (or with no agent online) the widget takes a message for later and
    /// the conversation starts `pending`.
    #[arg(long, env = names::BUSINESS_HOURS, value_name = names::BUSINESS_HOURS, value_parser = chat_settings::business_hours::business_hours)]
    pub business_hours: Option<chat_settings::business_hours::BusinessHours>,
    // ---- Data rights ----
    /// Days a resolved conversation is kept after its last change; then it is erased with its
    /// messages and attachments (files in the bucket too), checked daily and shortly after
    /// start. 0 keeps everything.
    #[arg(long, env = names::RETENTION_DAYS, value_name = names::RETENTION_DAYS, default_value = "0")]
    pub retention_days: u32,
    /// Seconds between retention sweeps (a day; a knob for tests, hidden).
    #[arg(long, env = names::RETENTION_SWEEP_SECS, value_name = names::RETENTION_SWEEP_SECS, default_value = "86400", value_parser = positive::<u64>, hide = true)]
    pub retention_sweep_secs: u64,
}

impl Config {
    /// X-Forwarded-For entries to trust, from CHAT_TRUSTED_PROXY_HOPS or the deprecated
    /// CHAT_TRUST_PROXY.
    pub fn proxy_hops(&self) -> u8 {
        self.trusted_proxy_hops
            .unwrap_or(u8::from(self.trust_proxy == Some(true)))
    }
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
        // The first webhook retry after 5 s, as `WebhookSettings::default()` has it.
        assert_eq!(c.webhook_retry_base_ms, 5_000);
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
    fn an_unreadable_bus_ca_file_is_rejected_naming_the_variable_and_the_file() {
        let err = parse(&["--bus-ca-file", "/nonexistent/redis-ca.pem"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CHAT_BUS_CA_FILE") && err.contains("/nonexistent/redis-ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn mail_settings_are_checked_naming_the_variable() {
        let err = parse(&[
            "--smtp-url",
            "smtp://u:secret@h:25",
            "--public-url",
            "https://a.b",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("CHAT_MAIL_FROM"), "{err}");
        let err = parse(&["--smtp-url", "smtp://h", "--mail-from", "not an address"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHAT_MAIL_FROM"), "{err}");
        let ok = parse(&[
            "--smtp-url",
            "smtps://u:p@h",
            "--mail-from",
            "ACME <s@acme.test>",
            "--public-url",
            "https://acme.test",
        ])
        .unwrap();
        assert_eq!(ok.password_reset_ttl_secs, 1800);
    }

    #[test]
    fn business_hours_are_parsed_at_start_naming_the_variable_and_the_bad_part() {
        assert_eq!(
            parse(&[]).unwrap().business_hours,
            None,
            "unset: always open"
        );
        let ok = r#"{"timezone":"America/Sao_Paulo","weekly":[{"day":"mon","from":"09:00","to":"18:00"}],"holidays":["2026-12-25"]}"#;
        assert!(
            parse(&["--business-hours", ok])
                .unwrap()
                .business_hours
                .is_some()
        );
        let err = parse(&[
            "--business-hours",
            r#"{"timezone":"Mars/Olympus","weekly":[]}"#,
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("CHAT_BUSINESS_HOURS") && err.contains("Mars/Olympus"),
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
    fn proxy_hops_come_from_their_setting_or_the_deprecated_trust_flag() {
        assert_eq!(parse(&[]).unwrap().proxy_hops(), 0);
        assert_eq!(parse(&["--trust-proxy=true"]).unwrap().proxy_hops(), 1);
        assert_eq!(parse(&["--trust-proxy=false"]).unwrap().proxy_hops(), 0);
        let both = parse(&["--trust-proxy=true", "--trusted-proxy-hops=2"]).unwrap();
        assert_eq!(both.proxy_hops(), 2, "the new setting wins");
        let err = parse(&["--trusted-proxy-hops=11"]).unwrap_err().to_string();
        assert!(err.contains("CHAT_TRUSTED_PROXY_HOPS"), "{err}");
    }

    #[test]
    fn abuse_limits_have_safe_defaults_and_refuse_nonsense() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.login_address_rate, c.login_account_rate), (20, 5));
        assert_eq!(c.password_hash_concurrency, None);
        assert_eq!(
            (c.ws_max_subscriptions_visitor, c.ws_max_subscriptions_agent),
            (20, 500)
        );
        assert_eq!(
            (
                c.ws_idle_timeout_secs,
                c.http_header_timeout_secs,
                c.http_idle_timeout_secs,
                c.http_request_timeout_secs
            ),
            (90, 10, 75, 30)
        );
        for (flag, var) in [
            ("--login-account-rate=0", "CHAT_LOGIN_ACCOUNT_RATE"),
            (
                "--password-hash-concurrency=0",
                "CHAT_PASSWORD_HASH_CONCURRENCY",
            ),
            ("--ws-idle-timeout-secs=0", "CHAT_WS_IDLE_TIMEOUT_SECS"),
            (
                "--http-header-timeout-secs=x",
                "CHAT_HTTP_HEADER_TIMEOUT_SECS",
            ),
        ] {
            let err = parse(&[flag]).unwrap_err().to_string();
            assert!(err.contains(var), "{flag}: {err}");
        }
    }

    #[test]
    fn zero_limits_are_rejected() {
        let err = parse(&["--max-message-bytes", "0"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("greater than zero"), "{err}");
    }

    #[test]
    fn automatic_assignment_is_off_by_default_and_refuses_nonsense_naming_the_variable() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.auto_assign, c.agent_capacity), (AutoAssign::Off, 10));
        let c = parse(&["--auto-assign=round_robin", "--agent-capacity=3"]).unwrap();
        assert_eq!(
            (c.auto_assign, c.agent_capacity),
            (AutoAssign::RoundRobin, 3)
        );
        for (args, name) in [
            (["--auto-assign", "random"], "CHAT_AUTO_ASSIGN"),
            (["--agent-capacity", "0"], "CHAT_AGENT_CAPACITY"),
            (["--agent-capacity", "ten"], "CHAT_AGENT_CAPACITY"),
            (
                ["--presence-heartbeat-secs", "20"],
                "CHAT_PRESENCE_HEARTBEAT_SECS",
            ),
        ] {
            let err = parse(&args).unwrap_err().to_string();
            assert!(err.contains(name), "{args:?}: {err}");
        }
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
}
