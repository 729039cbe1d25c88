//! Live mode against the loopback API server: `meshctl inject deployment/web -n shop` patches the
//! workload with the same engine as files, with the cluster's mesh config, optimistic concurrency
//! (a conflicting write is retried), `--dry-run`, `-l`, `--all`, namespaces and uninject.

use assert_cmd::Command;
use serde_json::Value;
use testcluster::{Fault, FaultKind, TestCluster};

const SEED: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Namespace
metadata:
  name: meshctl-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
  labels: {app: db}
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: postgres
        image: postgres
"#;

fn config_map(image: &str) -> String {
    let mut config = meshctl::config::MeshConfig::default();
    config.proxy.image = image.to_string();
    let body = config.to_yaml();
    let indented: String = body.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: meshctl-config\n  namespace: meshctl-system\ndata:\n  mesh.yaml: |\n{indented}"
    )
}

fn meshctl(cluster: &TestCluster, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn live_inject_uninject_round_trip() {
    let cluster = TestCluster::start_blocking();
    cluster.apply_yaml_blocking(SEED).unwrap();

    // Without the mesh config, inject says what is missing.
    let (code, _, err) = meshctl(&cluster, &["inject", "deployment/web", "-n", "shop"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("meshctl-config"), "{err}");

    cluster
        .apply_yaml_blocking(&config_map("envoyproxy/envoy:v1.40.0"))
        .unwrap();
    let original = cluster.get("apps/v1", "Deployment", "shop", "web").unwrap();

    // --dry-run prints the guarded patch and changes nothing.
    let (code, out, err) = meshctl(
        &cluster,
        &["inject", "deployment/web", "-n", "shop", "--dry-run"],
    );
    assert_eq!(code, 0, "{err}");
    let patches: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(patches[0]["patch"][0]["op"], "test");
    assert_eq!(patches[0]["patch"][0]["path"], "/metadata/resourceVersion");
    assert_eq!(
        cluster.get("apps/v1", "Deployment", "shop", "web").unwrap()["spec"],
        original["spec"]
    );

    // A conflicting write on the first attempt: meshctl reads again and retries.
    cluster.inject_fault(Fault {
        times: Some(1),
        ..Fault::new(FaultKind::Status(409)).verb("patch")
    });
    let (code, _, err) = meshctl(&cluster, &["inject", "deployment/web", "-n", "shop"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "deployment/web injected\n");
    let live = cluster.get("apps/v1", "Deployment", "shop", "web").unwrap();
    let spec = &live["spec"]["template"]["spec"];
    assert_eq!(
        names(&spec["initContainers"]),
        vec!["meshctl-init", "meshctl-proxy"]
    );
    assert_eq!(
        spec["initContainers"][1]["image"],
        "envoyproxy/envoy:v1.40.0"
    );
    assert_eq!(spec["initContainers"][0]["env"][4]["value"], "Deployment");

    // Same engine, same result: again changes nothing.
    let (code, _, err) = meshctl(&cluster, &["inject", "deployment/web", "-n", "shop"]);
    assert_eq!((code, err.as_str()), (0, "deployment/web unchanged\n"));

    // A new mesh config replaces the sidecar.
    cluster
        .apply_yaml_blocking(&config_map("envoyproxy/envoy:v1.41.0"))
        .unwrap();
    let (code, _, err) = meshctl(&cluster, &["inject", "deploy", "web", "-n", "shop"]);
    assert_eq!((code, err.as_str()), (0, "deployment/web injected\n"));
    let live = cluster.get("apps/v1", "Deployment", "shop", "web").unwrap();
    let spec = &live["spec"]["template"]["spec"];
    assert_eq!(
        spec["initContainers"][1]["image"],
        "envoyproxy/envoy:v1.41.0"
    );
    assert_eq!(names(&spec["initContainers"]).len(), 2);

    // Uninject restores the pod template.
    let (code, _, err) = meshctl(&cluster, &["uninject", "deployment/web", "-n", "shop"]);
    assert_eq!((code, err.as_str()), (0, "deployment/web uninjected\n"));
    let live = cluster.get("apps/v1", "Deployment", "shop", "web").unwrap();
    assert_eq!(live["spec"]["template"], original["spec"]["template"]);
}

#[test]
fn live_selectors_all_and_namespaces() {
    let cluster = TestCluster::start_blocking();
    cluster.apply_yaml_blocking(SEED).unwrap();
    cluster
        .apply_yaml_blocking(&config_map("envoyproxy/envoy:v1.40.0"))
        .unwrap();

    let (code, _, err) = meshctl(
        &cluster,
        &["inject", "statefulsets", "-l", "app=db", "-n", "shop"],
    );
    assert_eq!((code, err.as_str()), (0, "statefulset/db injected\n"));

    let (code, _, err) = meshctl(&cluster, &["inject", "--all", "-n", "shop"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "deployment/web injected\nstatefulset/db unchanged\n");

    let (code, _, err) = meshctl(&cluster, &["inject", "namespace/shop"]);
    assert_eq!((code, err.as_str()), (0, "namespace/shop injected\n"));
    let ns = cluster.get("v1", "Namespace", "", "shop").unwrap();
    assert_eq!(ns["metadata"]["labels"]["meshctl.io/inject"], "enabled");
    let (code, _, err) = meshctl(&cluster, &["uninject", "ns/shop"]);
    assert_eq!((code, err.as_str()), (0, "namespace/shop uninjected\n"));
    let ns = cluster.get("v1", "Namespace", "", "shop").unwrap();
    assert!(ns["metadata"]["labels"].get("meshctl.io/inject").is_none());

    // Pods cannot take new containers: a usage error that says what to do instead.
    let (code, _, err) = meshctl(&cluster, &["inject", "pod/x", "-n", "shop"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("inject the workload"), "{err}");
    let (code, _, err) = meshctl(&cluster, &["inject", "deployment/nope", "-n", "shop"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("deployment/nope"), "{err}");
}
