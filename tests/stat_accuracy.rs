//! Accuracy of `stat` against three real Envoys ("pods" of one workload) in front of an app with
//! known delays and statuses: SUCCESS exact, RPS within 10 %, p50/p95/p99 within one histogram
//! bucket of the truth.

mod proxy_env;
mod support;

use std::time::Duration;

use meshctl::proxy::admin::AdminEndpoint;
use meshctl::proxy::collect::{self, OpenWindow, SampleOptions, WorkloadTarget};
use meshctl::proxy::stats::StatKeys;
use proxy_env::{BUCKETS, Envoy, EnvoyOptions};

/// The load: (delay ms, count). Delays sit mid-bucket so whole-millisecond recording and a little
/// scheduling noise keep each request in its bucket.
const LOAD: &[(u64, usize)] = &[(12, 180), (35, 114), (120, 6)];
/// Every 10th request answers 503.
const ERROR_EVERY: usize = 10;

/// The range "within one bucket of the truth": from the lower edge of the bucket below the truth's
/// bucket to the upper edge of the bucket above it.
fn one_bucket_around(truth_ms: f64) -> (f64, f64) {
    let index = BUCKETS
        .iter()
        .position(|b| truth_ms <= *b)
        .expect("truth inside buckets");
    let low = if index >= 2 { BUCKETS[index - 2] } else { 0.0 };
    let high = BUCKETS[(index + 1).min(BUCKETS.len() - 1)];
    (low, high)
}

fn truth_quantile(q: f64) -> f64 {
    let mut all: Vec<u64> = LOAD
        .iter()
        .flat_map(|(delay, count)| std::iter::repeat_n(*delay, *count))
        .collect();
    all.sort_unstable();
    let rank = ((q * all.len() as f64).ceil() as usize).clamp(1, all.len());
    all[rank - 1] as f64
}

async fn accuracy(flush_on_admin: bool) {
    let Some(binary) = support::envoy() else {
        return;
    };
    let app = proxy_env::start_app().await;
    let mut envoys = Vec::new();
    for _ in 0..3 {
        envoys.push(Envoy::start(&binary, app, EnvoyOptions { flush_on_admin }).await);
    }
    let target = WorkloadTarget {
        namespace: "default".into(),
        kind: "deploy".into(),
        name: "web".into(),
        running: 3,
        meshed: 3,
        proxies: envoys
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("web-{i}"), AdminEndpoint::Tcp(e.admin_addr())))
            .collect(),
    };
    let window = Duration::from_secs(10);
    let options = SampleOptions::new(window, StatKeys::inbound());
    let targets = vec![target];
    let open = OpenWindow::open(&collect::endpoints_of(&targets), &options).await;

    // Send the load, spread over the three proxies, 10 at a time.
    let mut plan: Vec<(u64, u16)> = Vec::new();
    for (delay, count) in LOAD {
        for _ in 0..*count {
            let status = if (plan.len() + 1).is_multiple_of(ERROR_EVERY) {
                503
            } else {
                200
            };
            plan.push((*delay, status));
        }
    }
    let total = plan.len();
    let errors = plan.iter().filter(|(_, s)| *s == 503).count();
    let started = std::time::Instant::now();
    let listeners: Vec<_> = envoys.iter().map(|e| e.listener).collect();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(10));
    let mut tasks = Vec::new();
    for (i, (delay, status)) in plan.into_iter().enumerate() {
        let addr = listeners[i % listeners.len()];
        let semaphore = semaphore.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await.unwrap();
            let (got, _) = proxy_env::get(addr, &format!("/delay/{delay}/status/{status}"))
                .await
                .expect("request through envoy");
            assert_eq!(got, status);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let load_took = started.elapsed();
    // Histograms move at the stats flush; the window must leave one flush after the load.
    assert!(
        flush_on_admin || load_took < window - Duration::from_secs(5),
        "load took {load_took:?}: too slow to leave a stats flush inside the {window:?} window"
    );

    let results = open.close().await;
    let (rows, failures) = collect::summarise(&targets, results);
    assert!(failures.is_empty(), "{failures:?}");
    let m = &rows[0].metrics;
    eprintln!("{m:?}");
    assert_eq!(rows[0].sampled, 3);
    assert_eq!(m.requests, total as u64);
    assert_eq!(m.errors, errors as u64);
    let success = m.success.expect("success");
    assert!(
        (success - (1.0 - errors as f64 / total as f64)).abs() < 1e-12,
        "{success}"
    );

    let truth_rps = total as f64 / window.as_secs_f64();
    let rps = m.rps.expect("rps");
    assert!(
        (rps - truth_rps).abs() <= 0.1 * truth_rps,
        "rps {rps} vs {truth_rps}"
    );

    for (q, got) in [
        (0.50, m.latency_ms_p50),
        (0.95, m.latency_ms_p95),
        (0.99, m.latency_ms_p99),
    ] {
        let truth = truth_quantile(q);
        let (low, high) = one_bucket_around(truth);
        let got = got.unwrap_or_else(|| panic!("p{q} missing"));
        assert!(
            (low..=high).contains(&got),
            "p{}: {got} ms, truth {truth} ms, allowed {low}..={high}",
            q * 100.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pods_periodic_flush() {
    accuracy(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pods_flush_on_admin() {
    accuracy(true).await;
}

#[test]
fn truth_helpers() {
    assert_eq!(truth_quantile(0.5), 12.0);
    assert_eq!(truth_quantile(0.95), 35.0);
    assert_eq!(truth_quantile(0.99), 120.0);
    assert_eq!(one_bucket_around(12.0), (7.0, 20.0));
}
