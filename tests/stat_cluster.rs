//! The cluster path end to end: a Deployment's three meshed pods on the loopback API server
//! (testcluster), each pod's admin port-forwarded to a real Envoy. `stat` resolves the pods
//! through their ReplicaSet and must get the numbers right; `tap`, `proxy-config` and `version`
//! go the same way.

mod proxy_env;
mod support;

use std::time::Duration;

use proxy_env::{BUCKETS, Envoy, EnvoyOptions, Running};
use serde_json::Value;
use testcluster::TestCluster;

const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {meshctl.io/status: '{"version":"0.1.0"}'}
    spec:
      containers:
      - {name: app, image: web:1}
      - {name: meshctl-proxy, image: envoyproxy/envoy:v1.40.0}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: app, image: api:1}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: app, image: db:1}
      - {name: meshctl-proxy, image: envoyproxy/envoy:v1.40.0}
"#;

struct Setup {
    cluster: TestCluster,
    envoys: Vec<Envoy>,
    web_pods: Vec<String>,
}

impl Setup {
    fn kubeconfig(&self) -> String {
        self.cluster.kubeconfig_path().display().to_string()
    }
}

/// The cluster with web's three pods reaching three Envoys; db's pod reaches nothing.
async fn setup() -> Option<Setup> {
    let binary = support::envoy()?;
    let cluster = TestCluster::start().await;
    cluster.apply_yaml(MANIFESTS).await.unwrap();
    let mut web_pods = Vec::new();
    for _ in 0..500 {
        let pods = cluster.list("v1", "Pod", Some("shop"));
        let running = |p: &&Value| p["status"]["phase"] == "Running";
        web_pods = pods
            .iter()
            .filter(running)
            .filter(|p| p["metadata"]["labels"]["app"] == "web")
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        if web_pods.len() == 3 && pods.iter().filter(running).count() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(web_pods.len(), 3, "pods never ran");
    web_pods.sort();
    let app = proxy_env::start_app().await;
    let mut envoys = Vec::new();
    for pod in &web_pods {
        let envoy = Envoy::start(&binary, app, EnvoyOptions::default()).await;
        cluster.register_port_forward("shop", pod, 15000, envoy.admin);
        envoys.push(envoy);
    }
    Some(Setup {
        cluster,
        envoys,
        web_pods,
    })
}

fn one_bucket_around(truth_ms: f64) -> (f64, f64) {
    let index = BUCKETS.iter().position(|b| truth_ms <= *b).unwrap();
    let low = if index >= 2 { BUCKETS[index - 2] } else { 0.0 };
    (low, BUCKETS[(index + 1).min(BUCKETS.len() - 1)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_deployment_through_port_forward_is_accurate() {
    let Some(s) = setup().await else { return };
    let kubeconfig = s.kubeconfig();
    let window = Duration::from_secs(10);
    let mut stat = Running::spawn(&[
        "stat",
        "deploy/web",
        "-n",
        "shop",
        "--kubeconfig",
        &kubeconfig,
        "-t",
        "10s",
        "-o",
        "json",
        "-v",
    ]);
    stat.wait_for_stderr("first samples taken from 3 proxies");
    // 150 requests over the three pods: 120 at 12 ms, 30 at 60 ms; 15 of them 500.
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..150usize {
        let addr = s.envoys[i % 3].listener;
        let delay = if i < 120 { 12 } else { 60 };
        let status = if i % 10 == 9 { 500 } else { 200 };
        tasks.push(tokio::spawn(async move {
            proxy_env::get(addr, &format!("/delay/{delay}/status/{status}"))
                .await
                .unwrap()
                .0
        }));
        if tasks.len() >= 10 {
            for t in tasks.drain(..) {
                t.await.unwrap();
            }
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    assert!(
        took < window - Duration::from_secs(5),
        "load took {took:?}: no stats flush left inside the window"
    );
    let (code, stdout, stderr) = stat.finish();
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let w = &doc["workloads"][0];
    assert_eq!(
        (
            w["namespace"].as_str(),
            w["kind"].as_str(),
            w["name"].as_str()
        ),
        (Some("shop"), Some("deploy"), Some("web"))
    );
    assert_eq!(
        (
            w["meshed"].as_u64(),
            w["running"].as_u64(),
            w["sampled"].as_u64()
        ),
        (Some(3), Some(3), Some(3)),
        "{w}"
    );
    assert_eq!(w["requests"], 150, "{w}");
    assert_eq!(w["errors"], 15, "{w}");
    assert_eq!(w["success"], 0.9, "{w}");
    let rps = w["rps"].as_f64().unwrap();
    assert!((rps - 15.0).abs() <= 1.5, "{w}");
    for (key, truth) in [("latencyMsP50", 12.0), ("latencyMsP99", 60.0)] {
        let (low, high) = one_bucket_around(truth);
        let got = w[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {w}"));
        assert!(
            (low..=high).contains(&got),
            "{key} {got}: allowed {low}..={high}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_every_workload_reports_unmeshed_and_unreachable_pods() {
    let Some(s) = setup().await else { return };
    let kubeconfig = s.kubeconfig();
    let out = Running::spawn(&[
        "stat",
        "deploy,sts",
        "-n",
        "shop",
        "--kubeconfig",
        &kubeconfig,
        "-t",
        "1s",
    ]);
    let (code, stdout, stderr) = out.finish();
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
            .clone()
    };
    assert_eq!(row("deploy/web")[1], "3/3");
    assert_eq!(
        row("deploy/api")[1..],
        ["0/1", "-", "-", "-", "-", "-", "-"]
    );
    assert_eq!(row("sts/db")[1], "1/1");
    // db-0's proxy is unreachable: named on stderr, not silently dropped.
    assert!(stderr.contains("warning: pod shop/db-0"), "{stderr}");
    assert!(stderr.contains("No traffic found"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_deployment_taps_every_pod() {
    let Some(s) = setup().await else { return };
    let kubeconfig = s.kubeconfig();
    let mut tap = Running::spawn(&[
        "tap",
        "deploy/web",
        "-n",
        "shop",
        "--kubeconfig",
        &kubeconfig,
        "-o",
        "json",
        "--max",
        "3",
    ]);
    for _ in 0..3 {
        tap.wait_for_stderr("tapping");
    }
    for (i, envoy) in s.envoys.iter().enumerate() {
        proxy_env::get(envoy.listener, &format!("/via/{i}"))
            .await
            .unwrap();
    }
    let (code, stdout, stderr) = tap.finish();
    assert_eq!(code, 0, "{stderr}");
    let mut seen: Vec<(String, String)> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "request")
        .map(|e| {
            (
                e["pod"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, String)> = s
        .web_pods
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), format!("/via/{i}")))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_config_and_version_through_the_cluster() {
    let Some(s) = setup().await else { return };
    let kubeconfig = s.kubeconfig();
    let pod = s.web_pods[0].clone();
    let (code, stdout, stderr) = Running::spawn(&[
        "pc",
        "clusters",
        &pod,
        "-n",
        "shop",
        "--kubeconfig",
        &kubeconfig,
    ])
    .finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("app ")), "{stdout}");

    let (code, _, stderr) = Running::spawn(&[
        "pc",
        "clusters",
        "nosuchpod",
        "-n",
        "shop",
        "--kubeconfig",
        &kubeconfig,
    ])
    .finish();
    assert_eq!(code, 1);
    assert!(stderr.contains("nosuchpod"), "{stderr}");

    let (code, stdout, stderr) = Running::spawn(&[
        "version",
        "--proxy",
        "--kubeconfig",
        &kubeconfig,
        "-o",
        "json",
    ])
    .finish();
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    // No control plane in this cluster: `controlPlane` is null (docs/install.md, meshctl version).
    assert_eq!(doc["controlPlane"], Value::Null);
    let proxies = doc["proxies"].as_array().unwrap();
    let web = proxies
        .iter()
        .find(|p| p["version"] == "0.1.0")
        .expect("web's proxies");
    assert_eq!(web["pods"], 3);
    assert_eq!(web["image"], "envoyproxy/envoy:v1.40.0");
    let db = proxies
        .iter()
        .find(|p| p["version"] == "unknown")
        .expect("db's proxy");
    assert_eq!(db["pods"], 1);
}
