//! Samples many proxies over a window with bounded concurrency and a per-proxy timeout. Each
//! proxy is sampled twice, `window` apart on its own clock, so a slow pod does not skew the others'
//! rates; the concurrency bound applies to the requests, not to the wait between them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::admin::{AdminEndpoint, AdminError};
use super::stats::{self, StatKeys, StatsError, StatsSnapshot, Traffic};

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("{target}: {source}")]
    Stats {
        target: String,
        #[source]
        source: StatsError,
    },
    #[error("{target}: no answer within {timeout:?}")]
    Timeout { target: String, timeout: Duration },
}

#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub window: Duration,
    pub per_proxy_timeout: Duration,
    pub concurrency: usize,
    pub keys: StatKeys,
}

impl SampleOptions {
    pub fn new(window: Duration, keys: StatKeys) -> Self {
        SampleOptions {
            window,
            per_proxy_timeout: Duration::from_secs(10),
            concurrency: 32,
            keys,
        }
    }
}

/// Reads one proxy's stats once.
pub async fn snapshot(
    endpoint: &AdminEndpoint,
    keys: &StatKeys,
    timeout: Duration,
) -> Result<StatsSnapshot, SampleError> {
    let target = endpoint.describe();
    let bytes = tokio::time::timeout(timeout, endpoint.get_flushed(&keys.stats_path()))
        .await
        .map_err(|_| SampleError::Timeout {
            target: target.clone(),
            timeout,
        })??;
    stats::parse_stats_json(&bytes).map_err(|source| SampleError::Stats { target, source })
}

async fn snapshot_bounded(
    endpoint: &AdminEndpoint,
    options: &SampleOptions,
    permits: &Semaphore,
) -> Result<(StatsSnapshot, Instant), SampleError> {
    // The semaphore is never closed; a failure to acquire cannot happen, but stays an error path.
    let _permit = permits.acquire().await.ok();
    let snap = snapshot(endpoint, &options.keys, options.per_proxy_timeout).await?;
    Ok((snap, Instant::now()))
}

/// The first samples of a window, taken; `close` takes the second ones.
pub struct OpenWindow {
    endpoints: Vec<AdminEndpoint>,
    options: SampleOptions,
    permits: Arc<Semaphore>,
    first: Vec<Result<(StatsSnapshot, Instant), SampleError>>,
}

impl OpenWindow {
    /// Takes every endpoint's first sample (concurrently, bounded).
    pub async fn open(endpoints: &[AdminEndpoint], options: &SampleOptions) -> Self {
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let tasks: Vec<_> = endpoints
            .iter()
            .cloned()
            .map(|endpoint| {
                let permits = permits.clone();
                let options = options.clone();
                tokio::spawn(async move { snapshot_bounded(&endpoint, &options, &permits).await })
            })
            .collect();
        let first = join_all(tasks, endpoints).await;
        OpenWindow {
            endpoints: endpoints.to_vec(),
            options: options.clone(),
            permits,
            first,
        }
    }

    /// Waits until each endpoint's window is over, samples it again, and returns its traffic;
    /// one result per endpoint, in order.
    pub async fn close(self) -> Vec<Result<Traffic, SampleError>> {
        let tasks: Vec<_> = self
            .endpoints
            .iter()
            .cloned()
            .zip(self.first)
            .map(|(endpoint, first)| {
                let permits = self.permits.clone();
                let options = self.options.clone();
                tokio::spawn(async move {
                    let (before, t0) = first?;
                    tokio::time::sleep_until((t0 + options.window).into()).await;
                    let (after, t1) = snapshot_bounded(&endpoint, &options, &permits).await?;
                    let seconds = (t1 - t0).as_secs_f64();
                    Ok(stats::traffic(&options.keys, &before, &after, seconds))
                })
            })
            .collect();
        join_all(tasks, &self.endpoints).await
    }
}

async fn join_all<T>(
    tasks: Vec<tokio::task::JoinHandle<Result<T, SampleError>>>,
    endpoints: &[AdminEndpoint],
) -> Vec<Result<T, SampleError>> {
    let mut results = Vec::with_capacity(tasks.len());
    for (task, endpoint) in tasks.into_iter().zip(endpoints) {
        results.push(match task.await {
            Ok(result) => result,
            Err(join) => Err(SampleError::Admin(AdminError::Connect {
                target: endpoint.describe(),
                message: format!("sampling task failed: {join}"),
            })),
        });
    }
    results
}

/// Samples every endpoint twice, `window` apart; one result per endpoint, in order.
pub async fn sample_window(
    endpoints: &[AdminEndpoint],
    options: &SampleOptions,
) -> Vec<Result<Traffic, SampleError>> {
    OpenWindow::open(endpoints, options).await.close().await
}

/// One workload to report on: its pods' proxies, and how many of its pods run / are meshed.
#[derive(Debug, Clone)]
pub struct WorkloadTarget {
    pub namespace: String,
    /// Short kind as shown (`deploy`, `pod`, `ns`...).
    pub kind: String,
    pub name: String,
    pub running: usize,
    pub meshed: usize,
    /// `(pod name, its admin)` for every meshed running pod.
    pub proxies: Vec<(String, AdminEndpoint)>,
}

/// A pod whose proxy could not be sampled.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodFailure {
    pub namespace: String,
    pub pod: String,
    pub error: String,
}

/// One row of `stat`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStat {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// Meshed pods among the running ones.
    pub meshed: usize,
    pub running: usize,
    /// Proxies whose two samples succeeded (the metrics cover these).
    pub sampled: usize,
    #[serde(flatten)]
    pub metrics: stats::GoldenMetrics,
}

/// Golden metrics for every workload, sampled over one shared window.
pub async fn stat_workloads(
    targets: &[WorkloadTarget],
    options: &SampleOptions,
) -> (Vec<WorkloadStat>, Vec<PodFailure>) {
    let endpoints = endpoints_of(targets);
    let results = sample_window(&endpoints, options).await;
    summarise(targets, results)
}

/// Endpoints of all targets, in the order `summarise` expects their results.
pub fn endpoints_of(targets: &[WorkloadTarget]) -> Vec<AdminEndpoint> {
    targets
        .iter()
        .flat_map(|t| t.proxies.iter().map(|(_, e)| e.clone()))
        .collect()
}

/// Turns per-proxy results (in `endpoints_of` order) into one row per workload plus failures.
pub fn summarise(
    targets: &[WorkloadTarget],
    results: Vec<Result<Traffic, SampleError>>,
) -> (Vec<WorkloadStat>, Vec<PodFailure>) {
    let mut results = results.into_iter();
    let mut rows = Vec::with_capacity(targets.len());
    let mut failures = Vec::new();
    for target in targets {
        let mut traffic = Vec::new();
        for (pod, _) in &target.proxies {
            match results.next() {
                Some(Ok(t)) => traffic.push(t),
                Some(Err(e)) => failures.push(PodFailure {
                    namespace: target.namespace.clone(),
                    pod: pod.clone(),
                    error: e.to_string(),
                }),
                None => {}
            }
        }
        rows.push(WorkloadStat {
            namespace: target.namespace.clone(),
            kind: target.kind.clone(),
            name: target.name.clone(),
            meshed: target.meshed,
            running: target.running,
            sampled: traffic.len(),
            metrics: if traffic.is_empty() {
                stats::GoldenMetrics::default()
            } else {
                stats::aggregate(&traffic)
            },
        });
    }
    (rows, failures)
}
