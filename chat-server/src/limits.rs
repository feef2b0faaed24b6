//! Rate limits against abuse, keyed by client address, account or token principal. Each refusal
//! says how long to wait (`Retry-After`) and is counted in `chat_rate_limited_total{limit=…}`.
//!
//! The limiters live for the process and remember one entry per key seen; a task forgets the
//! idle ones every minute so a stream of new keys cannot grow memory for long.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::Error;
use crate::metrics::Metrics;

/// Longest account key kept: longer "emails" cannot belong to an account (254 bytes at most),
/// and a key is held in memory until it goes idle.
const MAX_ACCOUNT_KEY: usize = 254;

pub struct Limiters {
    /// Visitor sessions created per client address.
    pub visitor: DefaultKeyedRateLimiter<IpAddr>,
    /// Websocket upgrades per client address.
    pub ws_connect: DefaultKeyedRateLimiter<IpAddr>,
    /// Login attempts per client address, checked before any password work.
    pub login_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Login attempts per account (normalised email), whatever address they come from.
    pub login_account: DefaultKeyedRateLimiter<String>,
    /// Password-reset requests per client address (the login rate).
    pub reset_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Password-reset requests per email, known or not: a burst of 3, then one per 5 minutes, so
    /// nobody can flood an inbox.
    pub reset_account: DefaultKeyedRateLimiter<String>,
    /// Writes per token principal: REST posts (conversations, messages, upload grants) and
    /// every websocket frame of all that principal's sockets share one budget.
    pub principal: DefaultKeyedRateLimiter<String>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// A burst of `n`, refilled evenly over a minute.
fn per_minute(n: u32) -> Quota {
    Quota::per_minute(nz(n))
}

impl Limiters {
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Self {
        Self {
            visitor: RateLimiter::keyed(per_minute(config.visitor_rate)),
            ws_connect: RateLimiter::keyed(per_minute(config.ws_connect_rate)),
            login_address: RateLimiter::keyed(per_minute(config.login_address_rate)),
            login_account: RateLimiter::keyed(per_minute(config.login_account_rate)),
            reset_address: RateLimiter::keyed(per_minute(config.login_address_rate)),
            reset_account: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(300))
                    .unwrap_or(per_minute(1))
                    .allow_burst(nz(3)),
            ),
            principal: RateLimiter::keyed(
                Quota::per_second(nz(config.ws_rate)).allow_burst(nz(config.ws_burst)),
            ),
            metrics,
        }
    }

    /// Takes one cell from `limiter` for `key`, or refuses with 429 `rate_limited`, the wait and
    /// `message`, counting the refusal under `label`.
    pub fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        label: &'static str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        limiter.check_key(key).map_err(|not_until| {
            self.metrics.limited(label);
            let wait = not_until.wait_time_from(limiter.clock().now());
            Error::limited(message()).retry_after(wait)
        })
    }

    /// Both login limits, the address first: an attempt refused for its address spends nothing
    /// of the account's budget.
    pub fn check_login(&self, address: IpAddr, email: &str) -> Result<(), Error> {
        self.check(&self.login_address, &address, "login_address", || {
            format!("too many sign-in attempts from {address}; wait, then try again")
        })?;
        self.check(
            &self.login_account,
            &account_key(email),
            "login_account",
            || "too many sign-in attempts for this account; wait, then try again".into(),
        )
    }

    /// Both password-reset limits, the address first, the same for every email (no oracle).
    pub fn check_reset(&self, address: IpAddr, email: &str) -> Result<(), Error> {
        self.check(&self.reset_address, &address, "reset_address", || {
            format!("too many password resets from {address}; wait, then try again")
        })?;
        self.check(
            &self.reset_account,
            &account_key(email),
            "reset_account",
            || "too many password resets for this email; wait, then try again".into(),
        )
    }

    /// One write (or websocket frame) by `principal_id`, counted under `label` when refused.
    pub fn check_principal(
        &self,
        principal_id: &str,
        label: &'static str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        self.check(&self.principal, &principal_id.to_string(), label, message)
    }

    fn retain_recent(&self) {
        self.visitor.retain_recent();
        self.ws_connect.retain_recent();
        self.login_address.retain_recent();
        self.login_account.retain_recent();
        self.reset_address.retain_recent();
        self.reset_account.retain_recent();
        self.principal.retain_recent();
    }

    /// Forgets idle keys every minute until `stop`.
    pub fn spawn_cleanup(self: &Arc<Self>, stop: CancellationToken) {
        let limiters = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => limiters.retain_recent(),
                }
            }
        });
    }
}

/// The account a login names: emails differing only in case or surrounding space share one
/// budget, so guessing cannot be spread over spellings of one address.
pub fn account_key(email: &str) -> String {
    let mut key = email.trim().to_lowercase();
    if key.len() > MAX_ACCOUNT_KEY {
        let mut end = MAX_ACCOUNT_KEY;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::account_key;

    #[test]
    fn spellings_of_one_email_share_an_account_key() {
        assert_eq!(account_key("  Admin@Example.COM "), "admin@example.com");
        assert_eq!(account_key(&"é".repeat(300)).len(), 254);
    }
}
