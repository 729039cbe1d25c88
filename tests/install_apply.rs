//! `meshctl install --apply` end to end against the loopback API server, through a real
//! kubeconfig: dependency order, idempotence, `--dry-run=server`, `--wait`, `-o json`, failures.

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use testcluster::{Fault, FaultKind, TestCluster};

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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The objects `meshctl install` renders, as (kind, namespace, name), in rendered order.
fn rendered(extra: &[&str]) -> Vec<(String, String, String)> {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["install", "-o", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_string(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn api_version(kind: &str) -> &'static str {
    match kind {
        "Namespace" | "ServiceAccount" | "ConfigMap" | "Service" | "Secret" => "v1",
        "Deployment" => "apps/v1",
        "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => {
            "rbac.authorization.k8s.io/v1"
        }
        "MutatingWebhookConfiguration" => "admissionregistration.k8s.io/v1",
        "PodDisruptionBudget" => "policy/v1",
        other => panic!("unexpected kind {other}"),
    }
}

/// The per-object result lines (`kind/name action`): the whole of stdout.
fn object_lines(out: &str) -> Vec<String> {
    out.lines().map(str::to_string).collect()
}

#[test]
fn apply_creates_everything_in_order_and_a_second_run_changes_nothing() {
    let cluster = TestCluster::start_blocking();
    let objects = rendered(&[]);

    let first = meshctl(&cluster, &["install", "--apply"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let err = stdout(&first);
    let lines = object_lines(&err);
    assert_eq!(lines.len(), objects.len(), "{err}");
    assert!(lines.iter().all(|l| l.ends_with(" created")), "{err}");
    assert_eq!(lines[0], "namespace/meshctl-system created");
    assert_eq!(
        lines.last().unwrap(),
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/meshctl-injector created"
    );
    // Dependency order: RBAC and config before the Deployment.
    let position = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    assert!(position("serviceaccount/") < position("deployment.apps/"));
    assert!(position("configmap/meshctl-config") < position("deployment.apps/"));
    assert!(position("clusterrole.") < position("clusterrolebinding."));

    for (kind, ns, name) in &objects {
        let stored = cluster
            .get(api_version(kind), kind, ns, name)
            .unwrap_or_else(|| panic!("{kind} {ns}/{name} was not created"));
        let managers: Vec<&str> = stored["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["operation"] == "Apply")
            .map(|f| f["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["meshctl"], "{kind} {name}");
    }
    let applies = cluster
        .request_log()
        .iter()
        .filter(|r| r.method == "PATCH")
        .filter(|r| {
            r.content_type
                .as_deref()
                .unwrap_or("")
                .contains("apply-patch")
        })
        .count();
    assert_eq!(applies, objects.len());

    let second = meshctl(&cluster, &["install", "--apply"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let err = stdout(&second);
    let lines = object_lines(&err);
    assert_eq!(lines.len(), objects.len(), "{err}");
    assert!(
        lines.iter().all(|l| l.ends_with(" unchanged")),
        "second run changed something:\n{err}"
    );
}

#[test]
fn changed_values_report_configured() {
    let cluster = TestCluster::start_blocking();
    let first = meshctl(&cluster, &["install", "--apply"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = meshctl(
        &cluster,
        &["install", "--apply", "--set", "proxy.logLevel=debug"],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let err = stdout(&second);
    assert!(err.contains("configmap/meshctl-config configured"), "{err}");
    assert!(err.contains("namespace/meshctl-system unchanged"), "{err}");
    let config = cluster
        .get("v1", "ConfigMap", "meshctl-system", "meshctl-config")
        .unwrap();
    assert!(
        config["data"]["mesh.yaml"]
            .as_str()
            .unwrap()
            .contains("debug"),
        "{config}"
    );
}

#[test]
fn server_dry_run_persists_nothing() {
    let cluster = TestCluster::start_blocking();
    let out = meshctl(&cluster, &["install", "--apply", "--dry-run=server"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stdout(&out);
    assert!(
        err.contains("namespace/meshctl-system created (server dry run)"),
        "{err}"
    );
    for (kind, ns, name) in rendered(&[]) {
        assert!(
            cluster.get(api_version(&kind), &kind, &ns, &name).is_none(),
            "dry run persisted {kind} {ns}/{name}"
        );
    }
    let patches: Vec<_> = cluster
        .request_log()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert!(!patches.is_empty());
    assert!(
        patches
            .iter()
            .all(|r| r.query_param("dryRun").as_deref() == Some("All")),
        "every apply must carry dryRun=All"
    );
    // The namespace does not exist, so its contents cannot be validated: said so, not hidden.
    assert!(
        err.contains("configmap/meshctl-config created (server dry run) (not validated"),
        "{err}"
    );
}

#[test]
fn server_dry_run_over_an_install_validates_and_changes_nothing() {
    let cluster = TestCluster::start_blocking();
    let first = meshctl(&cluster, &["install", "--apply"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = cluster
        .get("v1", "ConfigMap", "meshctl-system", "meshctl-config")
        .unwrap();
    let out = meshctl(
        &cluster,
        &[
            "install",
            "--apply",
            "--dry-run=server",
            "--set",
            "proxy.logLevel=debug",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stdout(&out);
    assert!(
        err.contains("configmap/meshctl-config configured (server dry run)\n"),
        "{err}"
    );
    assert!(
        err.contains("service/meshctl-injector unchanged (server dry run)\n"),
        "{err}"
    );
    let after = cluster
        .get("v1", "ConfigMap", "meshctl-system", "meshctl-config")
        .unwrap();
    assert_eq!(before, after, "a dry run changed the stored ConfigMap");
}

#[test]
fn json_output_lists_every_object_and_action() {
    let cluster = TestCluster::start_blocking();
    let objects = rendered(&[]);
    let out = meshctl(&cluster, &["install", "--apply", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = report.as_array().unwrap();
    assert_eq!(listed.len(), objects.len());
    assert_eq!(
        listed[0],
        serde_json::json!({"object": "namespace/meshctl-system", "kind": "Namespace",
            "name": "meshctl-system", "namespace": null, "action": "created",
            "dryRun": false, "note": null})
    );
    assert!(listed.iter().all(|o| o["action"] == "created"));

    let again = meshctl(&cluster, &["install", "--apply", "-o", "json"]);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(
        report
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["action"] == "unchanged")
    );
}

#[test]
fn wait_reports_the_rollout() {
    let cluster = TestCluster::start_blocking();
    let out = meshctl(
        &cluster,
        &["install", "--apply", "--wait", "--timeout", "60s"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("deployment.apps/meshctl-injector: rolled out"),
        "{err}"
    );
    assert!(err.contains("control plane ready"), "{err}");
    let deployment = cluster
        .get(
            "apps/v1",
            "Deployment",
            "meshctl-system",
            "meshctl-injector",
        )
        .unwrap();
    assert_eq!(deployment["status"]["availableReplicas"], 1);
}

#[test]
fn wait_gives_up_at_the_timeout_and_says_on_what() {
    let cluster = TestCluster::builder()
        .ready_delay(Duration::from_secs(3600))
        .start_blocking()
        .unwrap();
    let out = meshctl(
        &cluster,
        &["install", "--apply", "--wait", "--timeout", "2s"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("deployment.apps/meshctl-injector"), "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_rejected_object_is_named_with_the_reason_and_exits_1() {
    let cluster = TestCluster::start_blocking();
    cluster.inject_fault(
        Fault::new(FaultKind::Status(500))
            .verb("patch")
            .resource("configmaps"),
    );
    let out = meshctl(&cluster, &["install", "--apply", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout after a failure");
    let err = stderr(&out);
    assert!(err.contains("configmap/meshctl-config"), "{err}");
    assert!(err.contains("500"), "{err}");
    // Applied up to the failure, nothing after it.
    assert!(
        cluster
            .get("v1", "Namespace", "", "meshctl-system")
            .is_some()
    );
    assert!(
        cluster
            .get(
                "apps/v1",
                "Deployment",
                "meshctl-system",
                "meshctl-injector"
            )
            .is_none()
    );
}

#[test]
fn an_unreachable_cluster_fails_with_exit_1() {
    let cluster = TestCluster::start_blocking();
    let kubeconfig = cluster.kubeconfig_yaml().to_string();
    let addr = cluster.addr();
    cluster.shutdown();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .arg("--kubeconfig")
        .arg(&path)
        .args(["install", "--apply", "--timeout", "5s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("install failed"), "{err}");
    assert!(out.stdout.is_empty());
    let _ = addr;
}
