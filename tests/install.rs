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

    let run = meshctl(&["uninstall", "--apply"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("cluster"), "{}", run.stderr);
}
