//! Start-up and shutdown: open the store and bus, wire the chat, serve until told to stop.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::health::Dependencies;
use crate::api::origins::AllowedOrigins;
use crate::api::{AppState, WsSettings, app, metrics_app};
use crate::auth::oidc::{OidcPolicy, OidcVerifier};
use crate::auth::passwords::{self, Passwords};
use crate::auth::revocation;
use crate::auth::{Authenticator, tokens::TokenIssuer};
use crate::chat::{self, Chat, Limits};
use crate::config::Config;
use crate::delivery::Delivery;
use crate::delivery::catch_up::CatchUp;
use crate::delivery::hub::Hub;
use crate::delivery::presence::PresenceBoard;
use crate::delivery::publish::Publisher;
use crate::delivery::seal::BusSeal;
use crate::delivery::session::SessionLimits;
use crate::delivery::signed_in::SignedIn;
use crate::http::HttpTimeouts;
use crate::limits::Limiters;
use crate::metrics::Metrics;

/// How long a seq hole may block a subscriber before it is taken to be permanent.
const HOLE_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("CHAT_STORE: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("CHAT_BUS: {0}")]
    Bus(#[from] crate::bus::BusError),
    #[error(
        "CHAT_SIGNING_KEY is required with a Redis bus: replicas sign and verify every bus payload \
         (and each other's tokens) with it; set the same key on every replica"
    )]
    SigningKeyForRedis,
    #[error("CHAT_ADMIN_EMAIL: could not bootstrap the admin: {0}")]
    Admin(String),
    #[error("CHAT_ADMIN_PASSWORD: {0}")]
    AdminPassword(String),
    #[error("CHAT_LISTEN: cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("CHAT_METRICS_LISTEN: cannot bind {addr}: {source}")]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The message names the variable (CHAT_SMTP_URL, CHAT_SMTP_CA_FILE, CHAT_PUBLIC_URL).
    #[error("{0}")]
    Mail(String),
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
}

/// Binds `config.listen` and serves until `shutdown` is cancelled (or SIGTERM/SIGINT when
/// `shutdown` comes from [`signal_shutdown`]).
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    // Here rather than in `serve`: the heap is the process's, and tests run many servers in one.
    tokio::spawn(crate::heap::trim_when_quiet(
        crate::http::accepted,
        shutdown.clone(),
    ));
    serve(config, listener, shutdown).await
}

/// Serves on an already bound listener (tests bind 127.0.0.1:0).
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let (state, extra) = build(&config, shutdown.clone()).await?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(%addr, "chat-server listening");
    let mut router = app(state.clone(), extra);
    match config.metrics_listen {
        None => router = router.merge(metrics_app(state.clone())),
        Some(metrics_addr) => {
            let metrics = TcpListener::bind(metrics_addr).await.map_err(|source| {
                StartError::MetricsBind {
                    addr: metrics_addr,
                    source,
                }
            })?;
            tracing::info!(addr = %metrics.local_addr().map_err(StartError::Serve)?, "metrics listening");
            let stop = shutdown.clone();
            tokio::spawn(
                axum::serve(metrics, metrics_app(state.clone()))
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .into_future(),
            );
        }
    }
    let timeouts = HttpTimeouts {
        header: Duration::from_secs(config.http_header_timeout_secs),
        idle: Duration::from_secs(config.http_idle_timeout_secs),
    };
    crate::http::serve(listener, router, timeouts, shutdown.clone()).await;
    // Sockets were told to reconnect (1012) when `shutdown` fired; let them finish writing.
    state.sessions.close();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    if tokio::time::timeout(grace, state.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = state.sessions.len(),
            "sessions still open after the shutdown grace period"
        );
    }
    tracing::info!("chat-server stopped");
    Ok(())
}

/// Everything the router needs, from the configuration.
pub async fn build(
    config: &Config,
    shutdown: CancellationToken,
) -> Result<(AppState, Option<axum::Router>), StartError> {
    let metrics = Arc::new(Metrics::new());
    let secret = match &config.signing_key {
        Some(k) => k.as_bytes().to_vec(),
        // A random key would make every replica refuse the others' bus payloads: messages
        // would cross replicas only when a later one revealed the gap.
        None if matches!(config.bus, crate::config::BusLocation::Redis(_)) => {
            return Err(StartError::SigningKeyForRedis);
        }
        None => {
            tracing::warn!(
                "CHAT_SIGNING_KEY is not set: using a random key, so tokens die with this process"
            );
            let mut key = vec![0u8; 48];
            rand::Rng::fill(&mut rand::rng(), &mut key[..]);
            key
        }
    };
    let store = crate::store::open(&config.store).await?;
    let (inbound_tx, inbound_rx) = mpsc::channel(65_536);
    let bus = crate::bus::connect(
        &config.bus,
        config.bus_ca_file.as_ref(),
        &config.bus_namespace,
        inbound_tx,
    )
    .await?;
    let seal = BusSeal::new(&secret);
    let hub = Hub::start(
        bus.clone(),
        inbound_rx,
        seal.clone(),
        metrics.clone(),
        shutdown.clone(),
    );
    let oidc = match (
        &config.oidc_issuer,
        &config.oidc_audience,
        &config.oidc_jwks_url,
    ) {
        (Some(i), Some(a), Some(j)) => Some(OidcVerifier::new(
            i.clone(),
            a.clone(),
            j.clone(),
            OidcPolicy {
                allowed_domains: config.oidc_allowed_domains.clone(),
                admin_group: config.oidc_admin_group.clone(),
            },
        )),
        _ => None,
    };
    let origins = match &config.allowed_origins {
        Some(list) => AllowedOrigins::only(
            &list.0,
            config.public_url.as_deref().and_then(crate::web::origin_of),
        ),
        None => AllowedOrigins::any(),
    };
    let uploads = crate::uploads::from_config(config, &secret, origins.cors());
    let blobs = uploads.store;
    let extra = uploads.routes.merge(crate::web::router(config));
    let mut auth = Authenticator::new(
        TokenIssuer::new(&secret, config.token_ttl_hours),
        oidc,
        store.clone(),
    );
    if let Some(n) = config.password_hash_concurrency {
        auth.passwords = Passwords::new(usize::from(n), passwords::DEFAULT_WAIT);
    }
    if let Some(trust) = config.trust_proxy {
        tracing::warn!(
            hops = config.proxy_hops(),
            "CHAT_TRUST_PROXY={trust} is deprecated: set CHAT_TRUSTED_PROXY_HOPS (the number of \
             proxies that append to X-Forwarded-For) instead"
        );
    }
    let limiters = Arc::new(Limiters::new(config, metrics.clone()));
    limiters.spawn_cleanup(shutdown.clone());
    let limits = Limits {
        max_message_bytes: config.max_message_bytes,
        max_upload_bytes: config.max_upload_mb.saturating_mul(1024 * 1024),
        max_open_conversations: config.visitor_max_open_conversations,
    };
    let publisher = Publisher::new(bus.clone(), seal, metrics.clone());
    let signed_in = Arc::new(SignedIn::default());
    // Sockets learn of the shutdown through their alarms, which cost nothing to watch, rather
    // than each watching the token.
    tokio::spawn({
        let sockets = signed_in.clone();
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            sockets.shut_down();
        }
    });
    // Before serving: a token revoked while this replica was down must already be refused.
    let closes = signed_in.clone();
    revocation::watch(
        store.clone(),
        auth.revoked.clone(),
        move |r| {
            closes.sign_out(r);
        },
        shutdown.clone(),
    )
    .await
    .map_err(|e| StartError::Store(crate::store::StoreError::Unavailable(e.message)))?;
    let delivery = Arc::new(Delivery {
        hub: hub.clone(),
        publisher: publisher.clone(),
        catch_up: CatchUp::from_store(store.clone(), metrics.clone()),
        metrics: metrics.clone(),
        signed_in: signed_in.clone(),
    });
    let dependencies = Dependencies {
        store: store.clone(),
        bus,
    };
    let presence = PresenceBoard::start(
        hub,
        publisher.clone(),
        Duration::from_secs(config.presence_heartbeat_secs),
        shutdown.clone(),
    );
    let reset_mail = start_mail(config, &store, shutdown.clone())?;
    let webhooks = crate::webhooks::Webhooks::new(
        store.clone(),
        crate::webhooks::WebhookSettings {
            allow_private: config.webhook_allow_private,
            retry_base: Duration::from_millis(config.webhook_retry_base_ms),
            retry_for: Duration::from_secs(config.webhook_retry_for_secs),
            lease: Duration::from_secs(config.webhook_lease_secs),
            keep_log: Duration::from_secs(u64::from(config.webhook_log_days) * 86_400),
            ..Default::default()
        },
    );
    webhooks.spawn(metrics.clone(), shutdown.clone());
    let chat = Arc::new(Chat::new(chat::Parts {
        store,
        publisher,
        auth,
        blobs,
        limits,
        metrics,
        signed_in,
        presence,
        routing: chat::Routing::new(
            config.auto_assign == crate::config::AutoAssign::RoundRobin,
            config.agent_capacity,
        ),
        reset_mail,
        webhooks,
        hours: config.business_hours.clone(),
    }));
    tokio::spawn(chat.clone().route_in_background(shutdown.clone()));
    tokio::spawn(chat.clone().open_waiting_in_background(shutdown.clone()));
    tokio::spawn(
        chat.clone()
            .sweep_late_uploads_in_background(shutdown.clone()),
    );
    tokio::spawn(chat.clone().retain_in_background(
        chat::RetentionSettings {
            days: config.retention_days,
            every: Duration::from_secs(config.retention_sweep_secs),
        },
        shutdown.clone(),
    ));
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password)
        && chat
            .bootstrap_admin(email, password)
            .await
            .map_err(|e| match e.code {
                "weak_password" => StartError::AdminPassword(e.message),
                _ => StartError::Admin(e.message),
            })?
    {
        tracing::info!(%email, "created the bootstrap admin");
    }
    let state = AppState {
        chat,
        delivery,
        dependencies,
        ws: WsSettings {
            session: Arc::new(SessionLimits {
                outbound_queue: config.ws_outbound_queue,
                max_strikes: config.ws_max_strikes,
                limiters: limiters.clone(),
                max_subscriptions_visitor: config.ws_max_subscriptions_visitor,
                max_subscriptions_agent: config.ws_max_subscriptions_agent,
                idle_timeout: Duration::from_secs(config.ws_idle_timeout_secs),
                hole_grace: HOLE_GRACE,
            }),
            read_buffer: config.ws_read_buffer,
            max_frame_bytes: config.max_frame_bytes,
        },
        limits: limiters,
        proxy_hops: config.proxy_hops(),
        request_timeout: Duration::from_secs(config.http_request_timeout_secs),
        origins,
        shutdown,
        sessions: TaskTracker::new(),
    };
    Ok((state, Some(extra)))
}

/// With CHAT_SMTP_URL: the outbox's sender, running until `shutdown`, and what password resets
/// need. Without it: `None`, and nothing is ever put in the outbox.
fn start_mail(
    config: &Config,
    store: &Arc<dyn crate::store::Store>,
    shutdown: CancellationToken,
) -> Result<Option<chat::ResetMail>, StartError> {
    let (Some(url), Some(from)) = (&config.smtp_url, &config.mail_from) else {
        tracing::info!("CHAT_SMTP_URL is not set: no mail is sent, and password reset is off");
        return Ok(None);
    };
    let url = crate::mail::SmtpUrl::parse(url)
        .map_err(|e| StartError::Mail(format!("CHAT_SMTP_URL: {e}")))?;
    let public_url = config
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| {
            StartError::Mail(
                "CHAT_PUBLIC_URL: an http(s):// URL is needed with CHAT_SMTP_URL, for the links \
                 in mails"
                    .into(),
            )
        })?;
    let transport =
        crate::mail::transport::Transport::new(&url, from.clone(), config.smtp_ca_file.as_ref())
            .map_err(StartError::Mail)?;
    let mailer = crate::mail::Mailer::new(store.clone());
    let settings = crate::mail::MailerSettings {
        retry_base: Duration::from_secs(config.mail_retry_base_secs),
        lease: Duration::from_secs(config.mail_lease_secs),
        ..Default::default()
    };
    mailer.spawn(transport, settings, shutdown);
    tracing::info!(host = %url.host, port = url.port, tls = ?url.tls, "mail is on");
    Ok(Some(chat::ResetMail {
        mailer,
        public_url,
        ttl: Duration::from_secs(config.password_reset_ttl_secs),
        product_name: config.brand_product_name.clone(),
    }))
}

/// A token cancelled by the first SIGTERM or SIGINT.
pub fn signal_shutdown() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("install SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested: no new connections; sockets told to reconnect");
        t.cancel();
    });
    token
}
