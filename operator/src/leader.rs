//! Lease-based leader election (coordination.k8s.io/v1 `Lease`) so that, of several replicas,
//! exactly one runs the controller. The lease itself is kept by `kube-lease-manager` (acquire
//! with a non-forced server-side apply that conflicts for the loser, renew before expiry, take
//! over an expired lease, release on shutdown); this module turns its leader/standby signal into
//! starting and stopping the controller.
//!
//! Like client-go's election this has no fencing: a leader cut off from the API server keeps
//! reconciling until it next fails to renew, so two replicas may overlap for up to one lease
//! duration. Every reconcile is idempotent and server-side applied, which makes that harmless.

use std::future::Future;
use std::sync::Arc;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    pub lease_name: String,
    pub namespace: String,
    /// Unique per replica: the pod name.
    pub identity: String,
    /// Seconds a lease stays valid after its last renewal.
    pub duration: u64,
    /// Seconds before expiry the holder renews.
    pub grace: u64,
}

impl LeaderConfig {
    /// client-go's defaults are 15 s with renewal by 10 s; this renews 5 s before expiry.
    pub const DURATION: u64 = 15;
    pub const GRACE: u64 = 5;
}

#[derive(Debug, thiserror::Error)]
#[error("leader election on Lease {namespace}/{lease}: {source}")]
pub struct LeaderError {
    pub namespace: String,
    pub lease: String,
    #[source]
    pub source: LeaseManagerError,
}

/// A running election: `leading` says whether this replica holds the lease now.
pub struct Election {
    pub leading: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
}

impl Election {
    /// Creates the Lease if it is missing and starts campaigning in the background.
    pub async fn start(client: kube::Client, config: &LeaderConfig) -> Result<Self, LeaderError> {
        let error = |source| LeaderError {
            namespace: config.namespace.clone(),
            lease: config.lease_name.clone(),
            source,
        };
        let manager = LeaseManagerBuilder::new(client, &config.lease_name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_field_manager(format!("atendo-operator-lease-{}", config.identity))
            .with_duration(config.duration)
            .with_grace(config.grace)
            .build()
            .await
            .map_err(error)?;
        let (leading, task) = manager.watch().await;
        Ok(Election { leading, task })
    }

    /// Stops campaigning and, if this replica leads, releases the lease so a standby takes over
    /// at once instead of after expiry.
    pub async fn stop(self) {
        drop(self.leading);
        match self.task.await {
            Ok(Ok(_)) => tracing::info!("released the leader lease"),
            Ok(Err(error)) => tracing::warn!(%error, "releasing the leader lease"),
            Err(error) => tracing::warn!(%error, "the lease task ended abnormally"),
        }
    }
}

/// Runs `work` while `leading` is true: started on gaining the lease, dropped (stopped) on losing
/// it, started again on regaining it. Returns when `work` ends or the election ends.
pub async fn while_leading<F, W>(mut leading: watch::Receiver<bool>, metrics: Arc<Metrics>, work: F)
where
    F: Fn() -> W,
    W: Future<Output = ()>,
{
    loop {
        if leading.wait_for(|l| *l).await.is_err() {
            return;
        }
        let gauge = LeaderGauge::set(&metrics);
        tracing::info!("acquired the leader lease; starting the controller");
        let lost = tokio::select! {
            () = work() => false,
            changed = leading.wait_for(|l| !*l) => changed.is_ok(),
        };
        drop(gauge);
        if !lost {
            return;
        }
        tracing::warn!("lost the leader lease; controller stopped until it is regained");
    }
}

/// The leader gauge is 1 exactly while this guard lives, however `while_leading` ends (also when
/// a shutdown drops it mid-way).
struct LeaderGauge<'a>(&'a Metrics);

impl<'a> LeaderGauge<'a> {
    fn set(metrics: &'a Metrics) -> Self {
        metrics.set_leader(true);
        LeaderGauge(metrics)
    }
}

impl Drop for LeaderGauge<'_> {
    fn drop(&mut self) {
        self.0.set_leader(false);
    }
}

/// This replica's name in the Lease: the pod name (downward API `POD_NAME`), else the host name
/// (which is the pod name inside a pod).
pub fn identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("atendo-operator-{}", std::process::id()))
}
