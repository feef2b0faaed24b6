//! The OIDC issuer's signing keys, cached and re-fetched when a token names a key id not in the
//! cache (the issuer rotated its keys).
//!
//! The download happens outside the lock on the key set: a token signed with a known key is
//! answered at once even while a refresh waits on a slow issuer (a lock held across the fetch
//! stalled every OIDC request for up to its 5 s timeout). Refreshes take turns on a separate gate,
//! and a caller that waited there while another refreshed uses that result instead of fetching
//! again, so a burst of tokens with a new key id costs one download. After each download (good or
//! bad) there are no more for `cooldown`, so a flood of forged key ids cannot hammer the issuer;
//! during an outage the callers in that window hear "unavailable", not "unknown key".
//!
//! Errors carry what the caller may be told; the URL and the transport error are only logged.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;

pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("OIDC token signed with unknown key id {0}")]
    Unknown(String),
    #[error("the issuer's key {0} cannot verify tokens")]
    Unusable(String),
    /// Deliberately vague: callers are unauthenticated.
    #[error("single sign-on is unavailable right now; try again shortly")]
    Unavailable,
}

struct Snapshot {
    keys: Arc<JwkSet>,
    /// Bumped by every successful download, so a waiter can tell that one happened.
    generation: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            keys: Arc::new(JwkSet { keys: vec![] }),
            generation: 0,
        }
    }
}

#[derive(Default)]
struct Gate {
    last_attempt: Option<Instant>,
    last_failed: bool,
}

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    cooldown: Duration,
    current: RwLock<Snapshot>,
    gate: tokio::sync::Mutex<Gate>,
}

impl JwksCache {
    pub fn new(url: String, cooldown: Duration) -> Self {
        Self {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a default reqwest client builds"),
            cooldown,
            current: RwLock::default(),
            gate: tokio::sync::Mutex::default(),
        }
    }

    fn snapshot(&self) -> (Arc<JwkSet>, u64) {
        let s = self.current.read().unwrap_or_else(PoisonError::into_inner);
        (s.keys.clone(), s.generation)
    }

    pub async fn key(&self, kid: &str) -> Result<DecodingKey, KeyError> {
        let (keys, generation) = self.snapshot();
        if let Some(found) = decoding_key(&keys, kid) {
            return found;
        }
        self.refresh(generation).await?;
        let (keys, _) = self.snapshot();
        decoding_key(&keys, kid).unwrap_or_else(|| Err(KeyError::Unknown(kid.to_string())))
    }

    /// Downloads the key set unless one was downloaded since the caller looked (`seen`), or the
    /// cooldown says not yet.
    async fn refresh(&self, seen: u64) -> Result<(), KeyError> {
        let mut gate = self.gate.lock().await;
        if self.snapshot().1 != seen {
            return Ok(());
        }
        if gate
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.cooldown)
        {
            return if gate.last_failed {
                Err(KeyError::Unavailable)
            } else {
                Ok(())
            };
        }
        gate.last_attempt = Some(Instant::now());
        match self.download().await {
            Ok(keys) => {
                gate.last_failed = false;
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                current.keys = Arc::new(keys);
                current.generation += 1;
                Ok(())
            }
            Err(detail) => {
                gate.last_failed = true;
                tracing::warn!(url = %self.url, error = %detail, "could not fetch the OIDC signing keys");
                Err(KeyError::Unavailable)
            }
        }
    }

    async fn download(&self) -> Result<JwkSet, reqwest::Error> {
        self.http
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}

fn decoding_key(keys: &JwkSet, kid: &str) -> Option<Result<DecodingKey, KeyError>> {
    keys.find(kid).map(|jwk| {
        DecodingKey::from_jwk(jwk).map_err(|e| {
            tracing::warn!(kid, error = %e, "the OIDC issuer published a key this server cannot use");
            KeyError::Unusable(kid.to_string())
        })
    })
}

#[cfg(test)]
mod tests {
    //! Against a real HTTP server on 127.0.0.1 whose answers the test controls.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::get;
    use serde_json::Value;

    use super::*;

    const JWKS: &str = include_str!("../../tests/fixtures/oidc-jwks.json");
    const KID: &str = "test-key-1";

    /// Serves the fixture key set; requests after the first `fast` ones wait `delay`.
    /// Returns the URL and the request counter.
    async fn issuer(fast: usize, delay: Duration) -> (String, Arc<AtomicUsize>) {
        let jwks: Value = serde_json::from_str(JWKS).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || {
                let (jwks, seen) = (jwks.clone(), seen.clone());
                async move {
                    if seen.fetch_add(1, Ordering::SeqCst) >= fast {
                        tokio::time::sleep(delay).await;
                    }
                    axum::Json(jwks)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/jwks"), count)
    }

    #[tokio::test]
    async fn a_known_key_is_answered_at_once_while_a_refresh_waits_on_a_slow_issuer() {
        let (url, _) = issuer(1, Duration::from_secs(3)).await;
        let cache = Arc::new(JwksCache::new(url, Duration::ZERO));
        cache.key(KID).await.unwrap();

        let stuck = cache.clone();
        let refresh = tokio::spawn(async move { stuck.key("rotated-key").await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !refresh.is_finished(),
            "the refresh is waiting on the issuer"
        );
        let started = Instant::now();
        cache.key(KID).await.unwrap();
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(100),
            "a known key waited {waited:?} for someone else's refresh"
        );
        assert_eq!(
            refresh.await.unwrap().err(),
            Some(KeyError::Unknown("rotated-key".into()))
        );
    }

    #[tokio::test]
    async fn concurrent_lookups_of_a_new_key_id_share_one_download() {
        let (url, count) = issuer(0, Duration::from_millis(300)).await;
        let cache = Arc::new(JwksCache::new(url, Duration::ZERO));
        let lookups: Vec<_> = (0..20)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.key(KID).await.map(|_| ()) })
            })
            .collect();
        for l in lookups {
            l.await.unwrap().unwrap();
        }
        assert_eq!(count.load(Ordering::SeqCst), 1, "downloads for 20 lookups");
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_unavailable_without_saying_where() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        drop(listener);
        let err = JwksCache::new(url, Duration::ZERO).key(KID).await.err();
        assert_eq!(err, Some(KeyError::Unavailable));
        let text = err.unwrap().to_string();
        assert!(
            !text.contains("127.0.0.1") && !text.contains("jwks"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_failing_issuer_is_asked_once_per_cooldown_and_callers_hear_unavailable() {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let cache = JwksCache::new(url, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(cache.key(KID).await.err(), Some(KeyError::Unavailable));
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn after_the_cooldown_a_rotated_key_is_fetched() {
        let (url, count) = issuer(usize::MAX, Duration::ZERO).await;
        let cache = JwksCache::new(url, Duration::from_millis(300));
        cache.key(KID).await.unwrap();
        assert_eq!(
            cache.key("next-key").await.err(),
            Some(KeyError::Unknown("next-key".into()))
        );
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "cooldown: no second download"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(cache.key("next-key").await.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 2, "after it: one more");
    }
}
