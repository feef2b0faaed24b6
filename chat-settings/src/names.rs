//! Every environment variable the chat-server reads. The chat-server's clap `Config` names each
//! flag's env twin with these constants, and its test checks that [`ALL`] is exactly the set
//! clap declares, so a setting cannot be added to one side only.

/// Generates one constant per variable and [`ALL`], so the list cannot miss a constant.
macro_rules! names {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = $value;)*
        /// Every name above, in declaration order.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

names! {
    /// Address to bind.
    LISTEN = "CHAT_LISTEN";
    /// Address of the Prometheus `/metrics` listener (not routed by the Ingress).
    METRICS_LISTEN = "CHAT_METRICS_LISTEN";
    /// `mongodb://…` URI or a directory for the embedded store.
    STORE = "CHAT_STORE";
    /// `redis://…`, `rediss://…`, `redis-cluster://…`, `rediss-cluster://…` or `local`.
    BUS = "CHAT_BUS";
    /// Prefix of every bus channel.
    BUS_NAMESPACE = "CHAT_BUS_NAMESPACE";
    /// PEM bundle of the CA that signed the Redis server's certificate (`rediss://`,
    /// `rediss-cluster://`).
    BUS_CA_FILE = "CHAT_BUS_CA_FILE";
    /// Email of the bootstrap admin.
    ADMIN_EMAIL = "CHAT_ADMIN_EMAIL";
    /// Password of the bootstrap admin.
    ADMIN_PASSWORD = "CHAT_ADMIN_PASSWORD";
    /// Key of the tokens the server issues.
    SIGNING_KEY = "CHAT_SIGNING_KEY";
    /// Lifetime of issued tokens, hours.
    TOKEN_TTL_HOURS = "CHAT_TOKEN_TTL_HOURS";
    /// External base URL.
    PUBLIC_URL = "CHAT_PUBLIC_URL";
    /// Browser origins besides the public URL's that may use the server (the widget's sites).
    ALLOWED_ORIGINS = "CHAT_ALLOWED_ORIGINS";
    /// `text` or `json`.
    LOG_FORMAT = "CHAT_LOG_FORMAT";
    /// OIDC issuer for agent sign-in.
    OIDC_ISSUER = "CHAT_OIDC_ISSUER";
    /// Expected audience of OIDC tokens.
    OIDC_AUDIENCE = "CHAT_OIDC_AUDIENCE";
    /// Where the issuer publishes its keys.
    OIDC_JWKS_URL = "CHAT_OIDC_JWKS_URL";
    /// Email domains OIDC sign-in accepts.
    OIDC_ALLOWED_DOMAINS = "CHAT_OIDC_ALLOWED_DOMAINS";
    /// OIDC group whose members sign in as admins.
    OIDC_ADMIN_GROUP = "CHAT_OIDC_ADMIN_GROUP";
    /// Name on the console's "Sign in with …" button.
    OIDC_DISPLAY_NAME = "CHAT_OIDC_DISPLAY_NAME";
    /// The issuer's token endpoint, when it is not on the issuer's origin (Cognito, Google).
    OIDC_TOKEN_ENDPOINT = "CHAT_OIDC_TOKEN_ENDPOINT";
    /// Bucket for attachments.
    S3_BUCKET = "CHAT_S3_BUCKET";
    /// Region of the bucket.
    S3_REGION = "CHAT_S3_REGION";
    /// S3-compatible endpoint; unset means AWS.
    S3_ENDPOINT = "CHAT_S3_ENDPOINT";
    /// Directory for attachments without a bucket.
    UPLOAD_DIR = "CHAT_UPLOAD_DIR";
    /// Largest attachment, MiB.
    MAX_UPLOAD_MB = "CHAT_MAX_UPLOAD_MB";
    /// Seconds an upload or download URL stays valid (900; tests shorten it).
    UPLOAD_URL_SECS = "CHAT_UPLOAD_URL_SECS";
    /// Largest message body, bytes.
    MAX_MESSAGE_BYTES = "CHAT_MAX_MESSAGE_BYTES";
    /// Largest websocket frame a client may send, bytes.
    MAX_FRAME_BYTES = "CHAT_MAX_FRAME_BYTES";
    /// Frames per second a websocket may send on average.
    WS_RATE = "CHAT_WS_RATE";
    /// Frames a websocket may send in a burst.
    WS_BURST = "CHAT_WS_BURST";
    /// Error frames in a row before close 4029.
    WS_MAX_STRIKES = "CHAT_WS_MAX_STRIKES";
    /// Events queued per socket before close 4008.
    WS_OUTBOUND_QUEUE = "CHAT_WS_OUTBOUND_QUEUE";
    /// Initial read buffer per websocket, bytes.
    WS_READ_BUFFER = "CHAT_WS_READ_BUFFER";
    /// Visitor sessions per client address per minute.
    VISITOR_RATE = "CHAT_VISITOR_RATE";
    /// Websocket connections per client address per minute.
    WS_CONNECT_RATE = "CHAT_WS_CONNECT_RATE";
    /// Proxies that append to X-Forwarded-For; the client address is that many entries from the right.
    TRUSTED_PROXY_HOPS = "CHAT_TRUSTED_PROXY_HOPS";
    /// Deprecated alias: `true` means one trusted proxy hop.
    TRUST_PROXY = "CHAT_TRUST_PROXY";
    /// Product name in the widget and console.
    BRAND_PRODUCT_NAME = "CHAT_BRAND_PRODUCT_NAME";
    /// Primary colour, `#rrggbb`.
    BRAND_PRIMARY_COLOR = "CHAT_BRAND_PRIMARY_COLOR";
    /// Logo URL (https).
    BRAND_LOGO_URL = "CHAT_BRAND_LOGO_URL";
    /// Language of the screens (a BCP 47 tag).
    BRAND_LOCALE = "CHAT_BRAND_LOCALE";
    /// First line the widget shows.
    BRAND_WELCOME_MESSAGE = "CHAT_BRAND_WELCOME_MESSAGE";
    /// Seconds a graceful shutdown waits.
    SHUTDOWN_GRACE_SECS = "CHAT_SHUTDOWN_GRACE_SECS";
    /// Sign-in attempts per client address per minute.
    LOGIN_ADDRESS_RATE = "CHAT_LOGIN_ADDRESS_RATE";
    /// Sign-in attempts per account per minute.
    LOGIN_ACCOUNT_RATE = "CHAT_LOGIN_ACCOUNT_RATE";
    /// Password hashes computed at once.
    PASSWORD_HASH_CONCURRENCY = "CHAT_PASSWORD_HASH_CONCURRENCY";
    /// Conversations one visitor socket may subscribe to.
    WS_MAX_SUBSCRIPTIONS_VISITOR = "CHAT_WS_MAX_SUBSCRIPTIONS_VISITOR";
    /// Conversations one agent socket may subscribe to.
    WS_MAX_SUBSCRIPTIONS_AGENT = "CHAT_WS_MAX_SUBSCRIPTIONS_AGENT";
    /// Seconds of silence before a websocket is closed.
    WS_IDLE_TIMEOUT_SECS = "CHAT_WS_IDLE_TIMEOUT_SECS";
    /// Seconds a client may take to send a request's headers.
    HTTP_HEADER_TIMEOUT_SECS = "CHAT_HTTP_HEADER_TIMEOUT_SECS";
    /// Seconds a kept-alive HTTP connection waits for its next request.
    HTTP_IDLE_TIMEOUT_SECS = "CHAT_HTTP_IDLE_TIMEOUT_SECS";
    /// Conversations one visitor may have open at once.
    VISITOR_MAX_OPEN_CONVERSATIONS = "CHAT_VISITOR_MAX_OPEN_CONVERSATIONS";
    /// Seconds a REST request may take.
    HTTP_REQUEST_TIMEOUT_SECS = "CHAT_HTTP_REQUEST_TIMEOUT_SECS";
    /// `off` or `round_robin`: how new conversations find an agent.
    AUTO_ASSIGN = "CHAT_AUTO_ASSIGN";
    /// Open conversations automatic assignment gives one agent at most.
    AGENT_CAPACITY = "CHAT_AGENT_CAPACITY";
    /// Seconds between a replica's presence announcements (a tuning and test knob, hidden).
    PRESENCE_HEARTBEAT_SECS = "CHAT_PRESENCE_HEARTBEAT_SECS";
    /// `smtp://user:pass@host:port` (STARTTLS) or `smtps://…` (TLS); unset = no mail.
    SMTP_URL = "CHAT_SMTP_URL";
    /// The sender of every mail (`Name <addr@host>`).
    MAIL_FROM = "CHAT_MAIL_FROM";
    /// PEM bundle of a private CA that signed the SMTP server's certificate.
    SMTP_CA_FILE = "CHAT_SMTP_CA_FILE";
    /// Seconds before a failed mail's first retry (doubling after; tests shorten it).
    MAIL_RETRY_BASE_SECS = "CHAT_MAIL_RETRY_BASE_SECS";
    /// Seconds a replica's claim on a mail lasts (tests shorten it).
    MAIL_LEASE_SECS = "CHAT_MAIL_LEASE_SECS";
    /// Seconds a password-reset link stays valid (30 minutes; tests shorten it).
    PASSWORD_RESET_TTL_SECS = "CHAT_PASSWORD_RESET_TTL_SECS";
    /// `true`: webhook endpoints may be on loopback, private or link-local addresses.
    WEBHOOK_ALLOW_PRIVATE = "CHAT_WEBHOOK_ALLOW_PRIVATE";
    /// Milliseconds before a failed webhook delivery's first retry (doubling after; tests
    /// shorten it).
    WEBHOOK_RETRY_BASE_MS = "CHAT_WEBHOOK_RETRY_BASE_MS";
    /// Seconds a failed webhook delivery is retried before it is marked failed (tests shorten
    /// it).
    WEBHOOK_RETRY_FOR_SECS = "CHAT_WEBHOOK_RETRY_FOR_SECS";
    /// Seconds a replica's claim on a webhook delivery lasts (tests shorten it).
    WEBHOOK_LEASE_SECS = "CHAT_WEBHOOK_LEASE_SECS";
    /// Days the webhook delivery log (and settled deliveries) are kept (30).
    WEBHOOK_LOG_DAYS = "CHAT_WEBHOOK_LOG_DAYS";
    /// When the desk is staffed: JSON `{"timezone","weekly":[{"day","from","to"}],"holidays"}`
    /// (`business_hours`); unset = always open.
    BUSINESS_HOURS = "CHAT_BUSINESS_HOURS";
    /// Days a resolved conversation is kept after its last change (0 = forever).
    RETENTION_DAYS = "CHAT_RETENTION_DAYS";
    /// Seconds between retention sweeps (a day; tests shorten it).
    RETENTION_SWEEP_SECS = "CHAT_RETENTION_SWEEP_SECS";
}

/// The AWS SDK's own variables, which the chat-server's S3 client reads (not `CHAT_*`, not in
/// [`ALL`]): the operator sets them when it hands chat-servers static S3 keys.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";

#[cfg(test)]
mod tests {
    #[test]
    fn every_name_is_a_distinct_chat_variable() {
        let mut seen = std::collections::BTreeSet::new();
        for name in super::ALL {
            assert!(name.starts_with("CHAT_"), "{name}");
            assert!(seen.insert(name), "{name} is listed twice");
        }
    }
}
