//! `meshctl version` against the loopback API server: client, control plane (mesh config and
//! injector image), proxy counts, `--client` offline, an unreachable cluster.

use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};
use testcluster::TestCluster;

fn meshctl_with(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    Command::cargo_bin("meshctl")
        .unwrap()
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn client_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn meshed_pod(name: &str, version: &str, image: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  annotations:
    meshctl.io/status: '{{"version":"{version}","initContainers":["meshctl-init","meshctl-proxy"]}}'
spec:
  initContainers:
  - name: meshctl-proxy
    image: {image}
    restartPolicy: Always
  containers:
  - name: app
    image: nginx
"#
    )
}

#[test]
fn client_only_needs_no_cluster() {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .args([
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "version",
            "--client",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("Client version: {}\n", client_version())
    );
    let json_out = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["version", "--client", "-o", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report, json!({"client": {"version": client_version()}}));
}

#[test]
fn control_plane_and_proxy_versions_from_the_cluster() {
    let cluster = TestCluster::start_blocking();
    let kc = cluster.kubeconfig_path();
    let install = meshctl_with(
        kc,
        &[
            "install",
            "--apply",
            "--set",
            "webhook.image=registry.example:5000/meshctl:v9.9.9",
        ],
    );
    assert!(install.status.success(), "{}", stderr(&install));
    cluster
        .apply_yaml_blocking("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
        .unwrap();
    for (name, version, image) in [
        ("a", "0.1.0", "envoyproxy/envoy:v1.40.0"),
        ("b", "0.1.0", "envoyproxy/envoy:v1.40.0"),
        ("c", "0.0.9", "envoyproxy/envoy:v1.39.0"),
    ] {
        cluster
            .apply_yaml_blocking(&meshed_pod(name, version, image))
            .unwrap();
    }

    let out = meshctl_with(kc, &["version", "--proxy", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["client"]["version"], client_version());
    let image = "registry.example:5000/meshctl:v9.9.9";
    let tag = "v9.9.9";
    assert_eq!(
        report["controlPlane"],
        json!({
            "namespace": "meshctl-system",
            "version": client_version(),
            "injectorImage": image,
            "injectorVersion": tag,
        })
    );
    assert_eq!(
        report["proxies"],
        json!([
            {"version": "0.1.0", "image": "envoyproxy/envoy:v1.40.0", "pods": 2},
            {"version": "0.0.9", "image": "envoyproxy/envoy:v1.39.0", "pods": 1},
        ])
    );

    let text = meshctl_with(kc, &["version", "--proxy"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(
        text.contains(&format!("Control plane version: {}", client_version())),
        "{text}"
    );
    assert!(text.contains(&format!("Injector image: {image}")), "{text}");
    assert!(
        text.contains("0.1.0 (envoyproxy/envoy:v1.40.0): 2 pods"),
        "{text}"
    );
    assert!(
        text.contains("0.0.9 (envoyproxy/envoy:v1.39.0): 1 pod\n"),
        "{text}"
    );
}

#[test]
fn the_mesh_config_version_is_what_the_cluster_says() {
    // A control plane installed by another meshctl version reports that version, not ours.
    let cluster = TestCluster::start_blocking();
    let kc = cluster.kubeconfig_path();
    let install = meshctl_with(kc, &["install", "--apply"]);
    assert!(install.status.success(), "{}", stderr(&install));
    let mut map = cluster
        .get("v1", "ConfigMap", "meshctl-system", "meshctl-config")
        .unwrap();
    let text = map["data"]["mesh.yaml"].as_str().unwrap().replace(
        &format!("version: \"{}\"", client_version()),
        "version: \"0.0.7\"",
    );
    assert!(text.contains("0.0.7"), "mesh.yaml layout changed: {text}");
    map["data"]["mesh.yaml"] = json!(text);
    for key in [
        "resourceVersion",
        "managedFields",
        "uid",
        "creationTimestamp",
    ] {
        map["metadata"].as_object_mut().unwrap().remove(key);
    }
    cluster
        .apply_yaml_blocking(&serde_json::to_string(&map).unwrap())
        .unwrap();
    let out = meshctl_with(kc, &["version", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["controlPlane"]["version"], "0.0.7");
    assert!(report.get("proxies").is_none(), "proxies only with --proxy");
}

#[test]
fn no_control_plane_is_reported_not_failed() {
    let cluster = TestCluster::start_blocking();
    let out = meshctl_with(
        cluster.kubeconfig_path(),
        &["version", "--proxy", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["controlPlane"], Value::Null);
    assert_eq!(report["proxies"], json!([]));
    let text = meshctl_with(cluster.kubeconfig_path(), &["version"]);
    assert!(stdout(&text).contains("Control plane: not installed"));
}

#[test]
fn an_unreachable_cluster_shows_the_client_and_exits_1() {
    let cluster = TestCluster::start_blocking();
    let kubeconfig = cluster.kubeconfig_yaml().to_string();
    cluster.shutdown();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();

    let out = meshctl_with(&path, &["version", "--timeout", "5s"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("Client version: {}\n", client_version())
    );
    assert!(stderr(&out).contains("cannot read the server versions"));

    let json_out = meshctl_with(&path, &["version", "-o", "json", "--timeout", "5s"]);
    assert_eq!(json_out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["client"]["version"], client_version());
    assert!(report["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(report.get("controlPlane").is_none());

    let client = meshctl_with(&path, &["version", "--client"]);
    assert!(client.status.success());
}
