//! `meshctl uninstall --apply` end to end against the loopback API server: reverse order, waits
//! until gone (namespace finalization included), refuses while injected pods remain.

use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use testcluster::TestCluster;

fn meshctl(cluster: &TestCluster, args: &[&str]) -> Output {
    Command::cargo_bin("meshctl")
        .unwrap()
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn install(cluster: &TestCluster) {
    let out = meshctl(cluster, &["install", "--apply"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        cluster
            .get("v1", "Namespace", "", "meshctl-system")
            .is_some()
    );
}

const INJECTED_POD: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations:
    meshctl.io/status: '{"version":"0.1.0","initContainers":["meshctl-init","meshctl-proxy"]}'
spec:
  containers:
  - name: app
    image: nginx
"#;

fn installed_objects_gone(cluster: &TestCluster) {
    assert!(
        cluster
            .get("v1", "Namespace", "", "meshctl-system")
            .is_none(),
        "the mesh namespace must be gone (finalized), not terminating"
    );
    assert!(
        cluster
            .get(
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfiguration",
                "",
                "meshctl-injector"
            )
            .is_none()
    );
    assert!(
        cluster
            .get(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "",
                "meshctl-injector"
            )
            .is_none()
    );
    assert!(
        cluster
            .get(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "",
                "meshctl-injector"
            )
            .is_none()
    );
    assert!(cluster.list("v1", "Pod", Some("meshctl-system")).is_empty());
}

#[test]
fn uninstall_deletes_in_reverse_order_and_waits_until_gone() {
    let cluster = TestCluster::start_blocking();
    install(&cluster);
    let out = meshctl(&cluster, &["uninstall", "--apply"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = err.lines().filter(|l| l.ends_with(" deleted")).collect();
    assert_eq!(
        lines.first().copied(),
        Some("mutatingwebhookconfiguration.admissionregistration.k8s.io/meshctl-injector deleted"),
        "{err}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("namespace/meshctl-system deleted"),
        "{err}"
    );
    let position = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    assert!(position("deployment.apps/") < position("serviceaccount/"));
    assert!(position("clusterrolebinding.") < position("clusterrole."));
    installed_objects_gone(&cluster);

    // Nothing left: a second run reports every object as not found and succeeds.
    let again = meshctl(&cluster, &["uninstall", "--apply", "-o", "json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    let objects = report.as_array().unwrap();
    assert_eq!(objects.len(), lines.len());
    assert!(objects.iter().all(|o| o["action"] == "absent"), "{report}");
}

#[test]
fn uninstall_refuses_while_injected_pods_remain() {
    let cluster = TestCluster::start_blocking();
    install(&cluster);
    cluster.apply_yaml_blocking(INJECTED_POD).unwrap();
    let out = meshctl(&cluster, &["uninstall", "--apply"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("shop/web"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(out.stdout.is_empty());
    // Nothing was deleted.
    assert!(
        cluster
            .get(
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfiguration",
                "",
                "meshctl-injector"
            )
            .is_some()
    );
    assert!(
        !cluster.request_log().iter().any(|r| r.method == "DELETE"),
        "a refused uninstall must not delete anything"
    );
}

#[test]
fn force_uninstalls_over_injected_pods_and_lists_them() {
    let cluster = TestCluster::start_blocking();
    install(&cluster);
    cluster.apply_yaml_blocking(INJECTED_POD).unwrap();
    let out = meshctl(&cluster, &["uninstall", "--apply", "--force", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("shop/web"), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["action"] == "deleted")
    );
    installed_objects_gone(&cluster);
    // The workload itself is not ours to delete.
    assert!(cluster.get("v1", "Pod", "shop", "web").is_some());
}

#[test]
fn a_pod_with_the_proxy_container_counts_as_injected() {
    let cluster = TestCluster::start_blocking();
    cluster
        .apply_yaml_blocking(
            r#"
apiVersion: v1
kind: Pod
metadata:
  name: legacy
  namespace: default
spec:
  containers:
  - name: app
    image: nginx
  - name: meshctl-proxy
    image: envoyproxy/envoy:v1.40.0
"#,
        )
        .unwrap();
    let out = meshctl(&cluster, &["uninstall", "--apply"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("default/legacy"), "{}", stderr(&out));
}
