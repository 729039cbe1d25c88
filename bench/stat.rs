//! Benchmark: `stat` over 200 pods, each a small fake admin replaying a real
//! Envoy's `/stats` answer, reached through the test harness's pods/portforward (WebSocket, TLS,
//! the real kube-rs client). Prints wall time and peak memory; the target is <= 2 s beyond the
//! window. Run with:
//!
//!     cargo bench --bench stat

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use meshctl::proxy::admin::AdminEndpoint;
use meshctl::proxy::collect::{self, SampleOptions, WorkloadTarget};
use meshctl::proxy::stats::StatKeys;
use serde_json::Value;
use testcluster::portforward::PortTargets;
use tokio::net::TcpListener;

const PODS: usize = 200;
const FIXTURE: &str = include_str!("../tests/fixtures/proxy/stats-inbound.json");

/// Multiplies every counter and bucket count by `n`, so each answer shows more traffic.
fn scaled(doc: &Value, n: u64) -> Value {
    match doc {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v.as_u64()) {
                        ("value" | "cumulative", Some(x)) => Value::from(x * n),
                        _ => scaled(v, n),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| scaled(v, n)).collect()),
        other => other.clone(),
    }
}

/// One fake admin: any GET gets the fixture, scaled by how many answers it gave.
async fn fake_admin(doc: Arc<Value>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let router = axum::Router::new().fallback(move || {
        let doc = doc.clone();
        let calls = calls.clone();
        async move {
            let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
            scaled(&doc, n).to_string()
        }
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A TLS API server that only serves pods/portforward, routing each pod's port 15000 to its fake.
async fn api_server(targets: HashMap<String, SocketAddr>) -> (SocketAddr, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let targets = Arc::new(targets);
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let targets = targets.clone();
        async move {
            let pod = req
                .uri()
                .path()
                .split('/')
                .skip_while(|s| *s != "pods")
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let target = targets[&pod];
            testcluster::portforward::handle(req, PortTargets::new().with(15000, target)).await
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = hyper_util::service::TowerToHyperService::new(router);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let service = service.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, ca.der().to_vec())
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(stat_over_200_pods());
}

async fn stat_over_200_pods() {
    let doc = Arc::new(serde_json::from_str::<Value>(FIXTURE).unwrap());
    let mut targets = HashMap::new();
    for i in 0..PODS {
        targets.insert(format!("web-{i}"), fake_admin(doc.clone()).await);
    }
    let (server, ca) = api_server(targets).await;
    let mut config = kube::Config::new(format!("https://{server}").parse().unwrap());
    config.root_cert = Some(vec![ca]);
    let client = kube::Client::try_from(config).unwrap();
    let target = WorkloadTarget {
        namespace: "shop".into(),
        kind: "deploy".into(),
        name: "web".into(),
        running: PODS,
        meshed: PODS,
        proxies: (0..PODS)
            .map(|i| {
                let pod = format!("web-{i}");
                let endpoint = AdminEndpoint::PortForward {
                    client: client.clone(),
                    namespace: "shop".into(),
                    pod: pod.clone(),
                    port: 15000,
                };
                (pod, endpoint)
            })
            .collect(),
    };
    let window = Duration::from_secs(1);
    let options = SampleOptions::new(window, StatKeys::inbound());
    let before_kib = peak_rss_kib();
    let started = Instant::now();
    let (rows, failures) = collect::stat_workloads(&[target], &options).await;
    let wall = started.elapsed();
    assert!(
        failures.is_empty(),
        "{:?}",
        &failures[..failures.len().min(3)]
    );
    assert_eq!(rows[0].sampled, PODS);
    assert!(rows[0].metrics.requests > 0);
    println!(
        "stat over {PODS} pods via port-forward: wall {wall:?} (window {window:?}, overhead {:?}); \
         peak RSS {} KiB (process, incl. {PODS} fake admins and the API server; {} KiB before)",
        wall.saturating_sub(window),
        peak_rss_kib(),
        before_kib
    );
}
