//! `meshctl inject` / `uninject` over every real manifest in ../shared/corpus: goldens of stdout and
//! the stderr report, the round trip uninject(inject(x)) == x and idempotence byte for byte, and the
//! injected output accepted by `kubernetes-validate --strict` for Kubernetes 1.33 and 1.37.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(support::corpus())
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus has 15 manifests");
    files
}

fn meshctl(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::cargo_bin("meshctl").expect("binary");
    cmd.args(args).env("NO_COLOR", "1");
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes.to_vec());
    }
    cmd.output().expect("run meshctl")
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Replaces the absolute corpus path in messages so goldens do not depend on the checkout.
fn portable(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr).replace(&format!("{}/", support::corpus().display()), "corpus/")
}

#[test]
fn inject_corpus_goldens_round_trip_and_idempotence() {
    for file in corpus_files() {
        let name = name_of(&file);
        let original = std::fs::read(&file).unwrap();
        let out = meshctl(&["inject", file.to_str().unwrap()], None);
        assert!(out.status.success(), "{name}: {}", portable(&out.stderr));
        let injected = String::from_utf8(out.stdout.clone()).unwrap();
        support::assert_golden(&format!("inject/{name}"), &injected);
        support::assert_golden(&format!("inject/{name}.stderr"), &portable(&out.stderr));
        let report = portable(&out.stderr);
        assert!(
            report.contains(" injected") || report.contains(" skipped: hostNetwork"),
            "{name}: neither injected nor skipped:\n{report}"
        );
        assert_eq!(
            injected.as_bytes() == original.as_slice(),
            !report.contains(" injected"),
            "{name}: output changed iff something was injected"
        );

        // Injecting the injected output changes nothing.
        let again = meshctl(&["inject", "-"], Some(injected.as_bytes()));
        assert!(
            again.status.success(),
            "{name}: {}",
            portable(&again.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&again.stdout),
            injected,
            "{name}: inject is not idempotent"
        );
        assert!(
            !portable(&again.stderr).contains(" injected"),
            "{name}: second inject reported changes:\n{}",
            portable(&again.stderr)
        );

        // Uninject gives back the original bytes.
        let back = meshctl(&["uninject", "-"], Some(injected.as_bytes()));
        assert!(back.status.success(), "{name}: {}", portable(&back.stderr));
        assert!(
            back.stdout == original,
            "{name}: uninject(inject(x)) != x\n{}",
            String::from_utf8_lossy(&back.stdout)
        );
        support::assert_golden(
            &format!("inject/{name}.uninject.stderr"),
            &portable(&back.stderr),
        );
    }
}

/// `kubernetes-validate` skips `kind: List`; validate its items as documents of their own.
fn expand_lists(text: &str) -> String {
    let docs = meshctl::inject::text::parse(text).expect("injected output parses");
    let mut out = Vec::new();
    for doc in docs {
        let value = meshctl::inject::text::to_value(&doc.root).expect("value");
        if value.get("kind").and_then(|k| k.as_str()) == Some("List") {
            for item in value["items"].as_array().unwrap() {
                out.push(serde_json::to_string_pretty(item).unwrap());
            }
        } else if !value.is_null() {
            out.push(serde_json::to_string_pretty(&value).unwrap());
        }
    }
    out.join("\n---\n") + "\n"
}

#[test]
fn injected_corpus_passes_kubernetes_validate_strict() {
    let Some(validate) = support::kubernetes_validate() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for file in corpus_files() {
        let out = meshctl(&["inject", file.to_str().unwrap()], None);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        // Both the text as written (what `kubectl apply` reads) and the typed data model are checked.
        let path = dir.path().join(name_of(&file));
        std::fs::write(&path, &text).unwrap();
        paths.push(path.clone());
        let expanded = dir.path().join(format!("{}.expanded.yaml", name_of(&file)));
        std::fs::write(&expanded, expand_lists(&text)).unwrap();
        paths.push(expanded);
    }
    for version in ["1.33.0", "1.37.0"] {
        let out = std::process::Command::new(&validate)
            .args(["-k", version, "--strict"])
            .args(&paths)
            .output()
            .expect("run kubernetes-validate");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !report.contains("ERROR"),
            "kubernetes-validate {version} rejected injected output:\n{report}"
        );
        // It really looked at the injected workloads.
        assert!(
            report.contains("deployment/list-deployment-test")
                && report.contains("replicationcontroller/mock"),
            "{report}"
        );
    }
}

#[test]
fn errors_leave_stdout_empty_and_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a-good.yaml");
    std::fs::write(
        &good,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ok\nspec:\n  containers:\n  - name: app\n    image: nginx\n",
    )
    .unwrap();
    let bad = dir.path().join("b-bad.yaml");
    std::fs::write(&bad, "kind: Service\n---\nkind: Pod\nmetadata: {name: x\n").unwrap();
    let out = meshctl(&["inject", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout must stay empty on error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("b-bad.yaml: document 2"), "{err}");
    assert!(err.contains("line"), "{err}");

    let istio = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: meshed\nspec:\n  containers:\n  - name: app\n    image: nginx\n  - name: istio-proxy\n    image: istio/proxyv2\n";
    let out = meshctl(&["inject", "-"], Some(istio.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("<stdin>: document 1 (pod/meshed): refusing to inject"),
        "{err}"
    );

    let out = meshctl(&["inject", "-o", "xml", good.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let out = meshctl(
        &[
            "inject",
            "--proxy-cpu-limit",
            "lots",
            good.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn reports_skips_json_reports_and_output_formats() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: host\nspec:\n  hostNetwork: true\n  containers:\n  - name: app\n    image: nginx\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: opted-out\n  annotations:\n    meshctl.io/inject: disabled\nspec:\n  containers:\n  - name: app\n    image: nginx\n";
    let out = meshctl(&["inject", "-"], Some(text.as_bytes()));
    assert!(out.status.success());
    assert_eq!(out.stdout, text.as_bytes(), "skipped pods are untouched");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pod/host skipped: hostNetwork is enabled\npod/opted-out skipped: meshctl.io/inject: disabled\n"
    );
    let out = meshctl(&["inject", "--report", "json", "-"], Some(text.as_bytes()));
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(report[0]["result"], "skipped");
    assert_eq!(report[1]["reason"], "meshctl.io/inject: disabled");
    assert_eq!(report[1]["document"], 2);

    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: app\n    image: nginx\n";
    let out = meshctl(&["inject", "-o", "json", "-"], Some(pod.as_bytes()));
    assert!(out.status.success());
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["spec"]["initContainers"][1]["name"], "meshctl-proxy");
    let out = meshctl(
        &["inject", "--native-sidecar=false", "-o", "json", "-"],
        Some(pod.as_bytes()),
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["spec"]["containers"][1]["name"], "meshctl-proxy");
}

#[test]
fn edge_layouts_round_trip() {
    let cases = [
        // Helm-style null collections: filled on inject, put back (as `key:`) on uninject.
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm\nspec:\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n      annotations:\n    spec:\n      initContainers:\n      containers:\n      - name: app\n        image: nginx\n      volumes:\n",
        // Flow style, `--- # comment`, `...`, 4-space indentation, block scalars, no final newline.
        "# lead\n--- # first\napiVersion: v1\nkind: Pod\nmetadata: {name: flowy, labels: {app: x}}\nspec:\n    containers: [{name: app, image: nginx}]\n    volumes: []\n...\n---\napiVersion: v1\nkind: Pod\nmetadata:\n    name: indented\nspec:\n    containers:\n        - name: app\n          image: nginx\n          command:\n            - sh\n            - |\n              echo hi\n\n    # trailing comment\n---\n",
        "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: crlf\r\nspec:\r\n  containers:\r\n  - name: app\r\n    image: nginx",
        "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}\n{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s\"}}\n",
    ];
    for case in cases {
        let out = meshctl(&["inject", "-"], Some(case.as_bytes()));
        assert!(out.status.success(), "{}", portable(&out.stderr));
        let injected = out.stdout;
        assert_ne!(injected.as_slice(), case.as_bytes());
        let again = meshctl(&["inject", "-"], Some(&injected));
        assert!(again.stdout == injected, "not idempotent:\n{case}");
        let back = meshctl(&["uninject", "-"], Some(&injected));
        assert_eq!(String::from_utf8_lossy(&back.stdout), case);
    }
}

#[test]
fn config_file_annotations_and_flags_layer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = meshctl::config::MeshConfig::default();
    config.proxy.image = "registry.local/envoy:from-config".to_string();
    config.proxy.resources.cpu_limit = "3".to_string();
    let body: String = config
        .to_yaml()
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let path = dir.path().join("mesh.yaml");
    std::fs::write(
        &path,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: meshctl-config\ndata:\n  mesh.yaml: |\n{body}"),
    )
    .unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    config.meshctl.io/proxy-cpu-limit: 500m\n    config.meshctl.io/skip-outbound-ports: \"5432\"\nspec:\n  containers:\n  - name: app\n    image: nginx\n";
    let out = meshctl(
        &[
            "inject",
            "--config",
            path.to_str().unwrap(),
            "--skip-outbound-ports",
            "6379",
            "-o",
            "json",
            "-",
        ],
        Some(pod.as_bytes()),
    );
    assert!(out.status.success(), "{}", portable(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let proxy = &value["spec"]["initContainers"][1];
    assert_eq!(proxy["image"], "registry.local/envoy:from-config");
    assert_eq!(
        proxy["resources"]["limits"]["cpu"], "500m",
        "annotation beats config"
    );
    let args: Vec<&str> = value["spec"]["initContainers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&"--skip-outbound-ports=6379"),
        "flag beats annotation: {args:?}"
    );

    // JSON in, YAML out.
    let json_pod = serde_json::to_string(&serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}
    }))
    .unwrap();
    let out = meshctl(&["inject", "-o", "yaml", "-"], Some(json_pod.as_bytes()));
    assert!(out.status.success());
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(yaml.starts_with("apiVersion: v1\nkind: Pod\n"), "{yaml}");
    let docs = meshctl::inject::text::parse(&yaml).unwrap();
    let back = meshctl::inject::text::to_value(&docs[0].root).unwrap();
    assert_eq!(back["spec"]["initContainers"][1]["name"], "meshctl-proxy");
    assert_eq!(
        back["spec"]["initContainers"][1]["ports"][0]["containerPort"],
        15090
    );
}
