//! `meshctl install` / `uninstall` through the real binary: goldens per profile, determinism,
//! kubernetes-validate --strict on 1.33 and 1.37, values handling and exit codes, output forms.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// The configurations the goldens and validation cover: (golden name, arguments).
const VARIANTS: &[(&str, &[&str])] = &[
    ("default", &[]),
    ("minimal", &["--profile", "minimal"]),
    ("ha", &["--profile", "ha"]),
    ("cert-manager", &["--set", "webhook.certManager=true"]),
];

/// Kubernetes versions the manifests must validate against: oldest and newest supported.
const KUBERNETES_VERSIONS: &[&str] = &["1.33.0", "1.37.0"];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn meshctl(args: &[&str]) -> Run {
    let output = Command::cargo_bin("meshctl")
        .expect("meshctl binary")
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run meshctl");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> String {
    let run = meshctl(args);
    assert_eq!(run.code, 0, "meshctl {args:?} failed: {}", run.stderr);
    run.stdout
}

#[test]
fn goldens_per_profile() {
    for (name, args) in VARIANTS {
        let mut full = vec!["install"];
        full.extend_from_slice(args);
        support::assert_golden(&format!("install/{name}.yaml"), &ok(&full));
    }
    support::assert_golden("install/uninstall.yaml", &ok(&["uninstall"]));
}

#[test]
fn two_renders_are_byte_identical() {
    for (_, args) in VARIANTS {
        let mut full = vec!["install"];
        full.extend_from_slice(args);
        assert_eq!(
            ok(&full),
            ok(&full),
            "render of {args:?} is not deterministic"
        );
    }
}

fn validate_dir(dir: &Path, variant: &str, validator: &Path) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // cert-manager's CRDs are not in kubernetes-validate's schemas: it would only warn about
    // them and pass. Those objects are checked by the unit tests instead; every other file must
    // validate for real.
    let (skipped, files): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| {
        f.file_name()
            .unwrap()
            .to_string_lossy()
            .contains("certificate")
    });
    if variant == "cert-manager" {
        assert_eq!(
            skipped.len(),
            1,
            "cert-manager variant must render a certificate file"
        );
    } else {
        assert!(skipped.is_empty());
    }
    for version in KUBERNETES_VERSIONS {
        let output = Command::new(validator)
            .args(["-k", version, "--strict"])
            .args(&files)
            .output()
            .expect("run kubernetes-validate");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "{variant} fails kubernetes-validate -k {version}:\n{report}"
        );
        assert!(
            !report.contains("Couldn't find schema") && !report.contains("WARN"),
            "{variant}: objects went unvalidated on {version}:\n{report}"
        );
        let passed = report.matches(" passed for resource ").count();
        let objects: usize = files
            .iter()
            .map(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .matches("\napiVersion: ")
                    .count()
            })
            .sum();
        assert_eq!(passed, objects, "{variant} on {version}:\n{report}");
    }
}

#[test]
fn every_profile_passes_kubernetes_validate_strict() {
    let Some(validator) = support::kubernetes_validate() else {
        return;
    };
    for (name, args) in VARIANTS {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap();
        let mut full = vec!["install", "--output-dir", dir_arg];
        full.extend_from_slice(args);
        ok(&full);
        validate_dir(dir.path(), name, &validator);
    }
}

#[test]
fn output_dir_holds_the_same_objects_as_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let run = meshctl(&[
        "install",
        "--profile",
        "ha",
        "--output-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "stdout must stay empty with --output-dir"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "00-namespace.yaml",
            "01-rbac.yaml",
            "02-config.yaml",
            "04-injector.yaml",
            "05-webhook.yaml"
        ]
    );
    let joined: String = names
        .iter()
        .map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap())
        .collect();
    assert_eq!(joined, ok(&["install", "--profile", "ha"]));

    // Switching cert-manager on adds the certificate file; switching it off removes it again.
    let dir_arg = dir.path().to_str().unwrap();
    let cert_file = dir.path().join("03-certificate.yaml");
    ok(&[
        "install",
        "--output-dir",
        dir_arg,
        "--set",
        "webhook.certManager=true",
    ]);
    assert!(cert_file.exists());
    ok(&["install", "--output-dir", dir_arg]);
    assert!(!cert_file.exists(), "stale component file left behind");
}

#[test]
fn json_output_is_one_list_of_the_same_objects() {
    let text = ok(&["install", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let yaml = ok(&["install"]);
    assert_eq!(items.len(), yaml.matches("\n---\n").count() + 1);
    assert_eq!(items[0]["kind"], "Namespace");
    assert_eq!(
        items.last().unwrap()["kind"],
        "MutatingWebhookConfiguration"
    );
}

#[test]
fn set_is_typed_and_reaches_the_manifests() {
    let text = ok(&[
        "install",
        "-o",
        "json",
        "--set",
        "webhook.replicas=3",
        "--set",
        "webhook.failurePolicy=Fail",
        "--set",
        "proxy.logLevel=debug",
    ]);
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = list["items"].as_array().unwrap();
    let deploy = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["spec"]["replicas"], 3, "replicas must be a number");
    let mwc = items
        .iter()
        .find(|i| i["kind"] == "MutatingWebhookConfiguration")
        .unwrap();
    assert_eq!(mwc["webhooks"][0]["failurePolicy"], "Fail");
    let cm = items.iter().find(|i| i["kind"] == "ConfigMap").unwrap();
    assert!(
        cm["data"]["mesh.yaml"]
            .as_str()
            .unwrap()
            .contains("logLevel: debug")
    );
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let run = meshctl(&["install", "--set", "webhook.replica=2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("'webhook.replica'"), "{}", run.stderr);
    assert!(run.stderr.contains("'webhook.replicas'"), "{}", run.stderr);

    let run = meshctl(&["install", "--set", "webhook.replicas=many"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("webhook.replicas"), "{}", run.stderr);

    let run = meshctl(&["install", "--set", "noequals"]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    let run = meshctl(&["install", "--profile", "huge"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("minimal"), "{}", run.stderr);

    let run = meshctl(&["install", "-o", "xml"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn values_files_apply_in_order_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&a, "webhook:\n  replicas: 4\n  timeoutSeconds: 5\n").unwrap();
    std::fs::write(&b, "webhook:\n  replicas: 6\n").unwrap();
    std::fs::write(&bad, "proxy:\n  imagePulPolicy: Always\n").unwrap();
    let values = ok(&[
        "install",
        "--show-values",
        "-o",
        "json",
        "-f",
        a.to_str().unwrap(),
        "-f",
        b.to_str().unwrap(),
    ]);
    let values: serde_json::Value = serde_json::from_str(&values).unwrap();
    assert_eq!(values["webhook"]["replicas"], 6);
    assert_eq!(values["webhook"]["timeoutSeconds"], 5);
    assert_eq!(values["proxy"]["uid"], 1337);

    let run = meshctl(&["install", "-f", bad.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("bad.yaml"), "{}", run.stderr);
    assert!(
        run.stderr.contains("'proxy.imagePullPolicy'"),
        "{}",
        run.stderr
    );

    let run = meshctl(&["install", "-f", "/nonexistent/values.yaml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("/nonexistent/values.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn show_values_prints_the_effective_values() {
    let text = ok(&["install", "--show-values", "--profile", "ha"]);
    assert!(text.contains("replicas: 2"), "{text}");
    assert!(text.contains("image: envoyproxy/envoy:v1.40.0"), "{text}");
}

#[test]
fn mesh_namespace_flag_moves_everything() {
    let text = ok(&["install", "--mesh-namespace", "mesh"]);
    assert!(text.contains("namespace: mesh\n"));
    assert!(!text.contains("meshctl-system"));
    let run = meshctl(&["install", "--mesh-namespace", "Bad_Name"]);
    assert_eq!(run.code, 2);
}

#[test]
fn closed_stdout_is_not_a_crash() {
    let mut child = Command::cargo_bin("meshctl")
        .unwrap()
        .arg("install")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing and close the pipe, like `| head -0`: the write hits EPIPE.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn uninstall_lists_cluster_objects_in_reverse_order() {
    let text = ok(&["uninstall"]);
    let first_kind = text.lines().find(|l| l.starts_with("kind: ")).unwrap();
    assert_eq!(first_kind, "kind: MutatingWebhookConfiguration");
    let last_kind = text
        .lines()
        .rev()
        .find(|l| l.starts_with("kind: "))
        .unwrap();
    assert_eq!(last_kind, "kind: Namespace");
    assert!(!text.contains("spec:"));
    let with_cm = ok(&["uninstall", "--set", "webhook.certManager=true"]);
    assert!(with_cm.contains("kind: Certificate"));
    assert!(!with_cm.contains("kind: ClusterRole"));
}

#[test]
fn apply_without_a_reachable_cluster_fails_cleanly() {
    for command in ["install", "uninstall"] {
        let run = meshctl(&[
            command,
            "--apply",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr.contains("/nonexistent/kubeconfig"),
            "{}",
            run.stderr
        );
    }
    // --dry-run and --wait only make sense with --apply.
    assert_eq!(meshctl(&["install", "--wait"]).code, 2);
}

/// The ConfigMap install renders is what `meshctl inject --config FILE` reads offline: a value
/// set at install time reaches the injected pod.
#[test]
fn rendered_config_map_drives_offline_inject() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    ok(&[
        "install",
        "--output-dir",
        dir_arg,
        "--set",
        "proxy.image=registry.example.com/envoy:v1.40.0-custom",
    ]);
    let pod = dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  \
         containers:\n  - name: web\n    image: nginx\n",
    )
    .unwrap();
    let config = dir.path().join("02-config.yaml");
    let injected = ok(&[
        "inject",
        "--config",
        config.to_str().unwrap(),
        pod.to_str().unwrap(),
    ]);
    assert!(
        injected.contains("registry.example.com/envoy:v1.40.0-custom"),
        "{injected}"
    );
}

// ---- End to end against the loopback API server (crates/testcluster), through a kubeconfig ----

fn with_kubeconfig<'a>(cluster: &'a testcluster::TestCluster, args: &[&'a str]) -> Vec<&'a str> {
    let mut full = args.to_vec();
    full.extend(["--kubeconfig", cluster.kubeconfig_path().to_str().unwrap()]);
    full
}

#[test]
fn apply_creates_everything_in_order_and_is_idempotent() {
    let cluster = testcluster::TestCluster::start_blocking();
    let first = ok(&with_kubeconfig(
        &cluster,
        &["install", "--apply", "--wait"],
    ));
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"namespace/meshctl-system created"),
        "{first}"
    );
    assert_eq!(
        lines.last(),
        Some(&"mutatingwebhookconfiguration.admissionregistration.k8s.io/meshctl-injector created"),
        "{first}"
    );
    assert_eq!(lines.len(), ok(&["install"]).matches("\n---\n").count() + 1);
    assert!(lines.iter().all(|l| l.ends_with(" created")), "{first}");

    // What landed is what was rendered, applied by field manager meshctl.
    let deploy = cluster
        .get(
            "apps/v1",
            "Deployment",
            "meshctl-system",
            "meshctl-injector",
        )
        .expect("injector deployment");
    assert_eq!(deploy["spec"]["replicas"], 1);
    let managers = deploy["metadata"]["managedFields"].to_string();
    assert!(managers.contains("\"manager\":\"meshctl\""), "{managers}");
    assert!(
        cluster
            .get("v1", "ConfigMap", "meshctl-system", "meshctl-config")
            .is_some()
    );
    // Server-side apply requests only, in dependency order (the webhook configuration last).
    let applies: Vec<String> = cluster
        .request_log()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.resource.clone())
        .collect();
    assert_eq!(applies.first().map(String::as_str), Some("namespaces"));
    assert_eq!(
        applies.last().map(String::as_str),
        Some("mutatingwebhookconfigurations")
    );

    // A second run changes nothing.
    let second = ok(&with_kubeconfig(&cluster, &["install", "--apply"]));
    assert!(
        second.lines().all(|l| l.ends_with(" unchanged")),
        "second apply must report every object unchanged:\n{second}"
    );

    // A server dry run of a change reports it and persists nothing.
    let dry = ok(&with_kubeconfig(
        &cluster,
        &[
            "install",
            "--apply",
            "--dry-run=server",
            "--set",
            "webhook.replicas=3",
        ],
    ));
    assert!(
        dry.contains("deployment.apps/meshctl-injector configured (server dry run)"),
        "{dry}"
    );
    let deploy = cluster
        .get(
            "apps/v1",
            "Deployment",
            "meshctl-system",
            "meshctl-injector",
        )
        .unwrap();
    assert_eq!(deploy["spec"]["replicas"], 1, "dry run persisted a change");

    // -o json reports the same outcomes for machines.
    let json_out = ok(&with_kubeconfig(
        &cluster,
        &["install", "--apply", "-o", "json"],
    ));
    let outcomes: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    assert!(
        outcomes
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["action"] == "unchanged")
    );
}

#[test]
fn uninstall_refuses_while_injected_pods_remain_then_deletes_in_reverse() {
    let cluster = testcluster::TestCluster::start_blocking();
    ok(&with_kubeconfig(&cluster, &["install", "--apply"]));
    cluster
        .apply_yaml_blocking(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\n\
             kind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  annotations:\n    \
             meshctl.io/status: '{}'\nspec:\n  containers:\n  - name: web\n    image: nginx\n  \
             - name: meshctl-proxy\n    image: envoyproxy/envoy:v1.40.0\n",
        )
        .unwrap();

    let run = meshctl(&with_kubeconfig(&cluster, &["uninstall", "--apply"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("shop/web"), "{}", run.stderr);
    assert!(
        cluster
            .get("v1", "Namespace", "", "meshctl-system")
            .is_some(),
        "nothing may be deleted while refusing"
    );

    let out = ok(&with_kubeconfig(
        &cluster,
        &["uninstall", "--apply", "--force"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"mutatingwebhookconfiguration.admissionregistration.k8s.io/meshctl-injector deleted"),
        "{out}"
    );
    assert_eq!(
        lines.last(),
        Some(&"namespace/meshctl-system deleted"),
        "{out}"
    );
    assert!(
        cluster
            .get("v1", "Namespace", "", "meshctl-system")
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
}

#[test]
fn a_failed_apply_names_the_object_and_reports_what_was_done() {
    use testcluster::{Fault, FaultKind};
    let cluster = testcluster::TestCluster::start_blocking();
    cluster.inject_fault(
        Fault::new(FaultKind::Status(500))
            .verb("patch")
            .resource("deployments"),
    );
    let run = meshctl(&with_kubeconfig(&cluster, &["install", "--apply"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing on stdout after a failure");
    assert!(
        run.stderr.contains("deployment.apps/meshctl-injector"),
        "{}",
        run.stderr
    );
    // What landed before the failure is reported.
    assert!(
        run.stderr.contains("configmap/meshctl-config created"),
        "{}",
        run.stderr
    );
    // Nothing after the failed object was applied: the webhook configuration comes last.
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
}

#[test]
fn wait_is_bounded_by_timeout() {
    let cluster = testcluster::TestCluster::builder()
        .ready_delay(std::time::Duration::from_secs(3600))
        .start_blocking()
        .unwrap();
    let run = meshctl(&with_kubeconfig(
        &cluster,
        &["install", "--apply", "--wait", "--timeout", "1s"],
    ));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(
        run.stderr.contains("deployment.apps/meshctl-injector"),
        "{}",
        run.stderr
    );
}
