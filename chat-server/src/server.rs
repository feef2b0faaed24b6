//! Start-up and shutdown: open the store and bus, wire the chat, serve until told to stop.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::origins::AllowedOrigins;
use crate::api::{AppState, WsSettings, app, metrics_app};
use crate::auth::{Authenticator, oidc::OidcVerifier, tokens::TokenIssuer};
use crate::chat::{Chat, Limits};
use crate::config::Config;
use crate::delivery::hub::Hub;
use crate::delivery::publish::Publisher;
use crate::delivery::seal::BusSeal;
use crate::delivery::session::SessionLimits;
use crate::metrics::Metrics;

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
    let router = router.into_make_service_with_connect_info::<SocketAddr>();
    let stop = shutdown.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .map_err(StartError::Serve)?;
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
    let bus = crate::bus::connect(&config.bus, &config.bus_namespace, inbound_tx).await?;
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
        (Some(i), Some(a), Some(j)) => Some(OidcVerifier::new(i.clone(), a.clone(), j.clone())),
        _ => None,
    };
    let origins = match &config.allowed_origins {
        Some(list) => AllowedOrigins::only(
            &list.0,
            config.public_url.as_deref().and_then(crate::web::origin_of),
        ),
        None => AllowedOrigins::any(),
    };
    let uploads = crate::uploads::from_config(config, &secret, origins.cors()).await;
    let blobs = uploads.store;
    let extra = uploads.routes.merge(crate::web::router(config));
    let auth = Authenticator::new(
        TokenIssuer::new(&secret, config.token_ttl_hours),
        oidc,
        store.clone(),
    );
    let limits = Limits {
        max_message_bytes: config.max_message_bytes,
        max_upload_bytes: config.max_upload_mb.saturating_mul(1024 * 1024),
        hole_grace: Duration::from_secs(3),
    };
    let chat = Arc::new(Chat::new(
        store,
        Publisher::new(bus, seal, metrics.clone()),
        hub,
        auth,
        blobs,
        limits,
        metrics,
    ));
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password)
        && chat
            .bootstrap_admin(email, password)
            .await
            .map_err(|e| StartError::Admin(e.message))?
    {
        tracing::info!(%email, "created the bootstrap admin");
    }
    let per_minute = NonZeroU32::new(config.visitor_rate).unwrap_or(NonZeroU32::MIN);
    let state = AppState {
        chat,
        ws: WsSettings {
            session: SessionLimits {
                outbound_queue: config.ws_outbound_queue,
                rate_per_sec: config.ws_rate,
                burst: config.ws_burst,
                max_strikes: config.ws_max_strikes,
            },
            read_buffer: config.ws_read_buffer,
            max_frame_bytes: config.max_frame_bytes,
        },
        visitor_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        ws_connect_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(
            NonZeroU32::new(config.ws_connect_rate).unwrap_or(NonZeroU32::MIN),
        ))),
        trust_proxy: config.trust_proxy,
        origins,
        shutdown,
        sessions: TaskTracker::new(),
    };
    let limiter = state.visitor_limiter.clone();
    let ws_limiter = state.ws_connect_limiter.clone();
    let stop = state.shutdown.clone();
    tokio::spawn(async move {
        // The keyed limiter keeps one entry per address it has seen; forget idle ones.
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    limiter.retain_recent();
                    ws_limiter.retain_recent();
                }
            }
        }
    });
    Ok((state, Some(extra)))
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
