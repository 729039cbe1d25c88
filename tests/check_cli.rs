//! `meshctl check` as a process, without the API harness: usage errors exit 2, an unreachable,
//! hanging or connection-dropping API server gives clear errors and exit 1 within the deadline, in
//! every output format.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

fn meshctl() -> Command {
    let mut cmd = Command::cargo_bin("meshctl").unwrap();
    cmd.env_remove("KUBECONFIG").env("NO_COLOR", "1");
    // A guard against hangs, far above any deadline these tests set.
    cmd.timeout(Duration::from_secs(60));
    cmd
}

fn kubeconfig(dir: &Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\nusers:\n- name: test\n  user:\n    token: abc\n"
        ),
    )
    .unwrap();
    path
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The report on stdout: one JSON document matching docs/check-schema.json.
fn json_of(output: &std::process::Output) -> serde_json::Value {
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    if let Err(e) = support::validate_json_schema(
        "docs/check-schema.json",
        &String::from_utf8_lossy(&output.stdout),
    ) {
        panic!("report does not match the schema: {e}");
    }
    report
}

fn result_of<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["checks"].as_array().unwrap().iter())
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    meshctl()
        .args(["check", "-o", "yaml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "unsupported output format 'yaml'",
        ));
}

#[test]
fn pre_and_proxy_together_is_a_usage_error() {
    meshctl()
        .args(["check", "--pre", "--proxy"])
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn a_bad_wait_or_timeout_is_a_usage_error() {
    meshctl().args(["check", "--wait", "soon"]).assert().code(2);
    meshctl()
        .args(["check", "--wait", "0s"])
        .assert()
        .code(2)
        .stdout("");
    meshctl()
        .args(["check", "--timeout", "0"])
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn a_missing_kubeconfig_fails_the_first_check_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for format in ["table", "short", "json"] {
        let output = meshctl()
            .args(["check", "-o", format, "--kubeconfig"])
            .arg(&missing)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "-o {format}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        match format {
            "json" => {
                let report = json_of(&output);
                assert_eq!(report["success"], false);
                let kubeconfig = result_of(&report, "kubernetes-api.kubeconfig");
                assert_eq!(kubeconfig["result"], "error");
                assert!(kubeconfig["message"].as_str().unwrap().contains("nope"));
                assert_eq!(
                    result_of(&report, "control-plane.namespace")["result"],
                    "skipped"
                );
            }
            _ => {
                assert!(stdout.contains("✖"), "{stdout}");
                assert!(stdout.contains("Status check FAILED"), "{stdout}");
            }
        }
    }
}

#[test]
fn an_unreachable_api_server_is_an_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &format!("https://127.0.0.1:{}", closed_port()));
    let output = meshctl()
        .args([
            "check",
            "--pre",
            "-o",
            "json",
            "--timeout",
            "5s",
            "--kubeconfig",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let reachable = result_of(&report, "kubernetes-api.reachable");
    assert_eq!(reachable["result"], "error");
    assert!(
        reachable["hint"]
            .as_str()
            .unwrap()
            .contains("server address")
    );
    assert_eq!(
        result_of(&report, "kubernetes-api.kubeconfig")["result"],
        "ok"
    );
    assert_eq!(
        result_of(&report, "pre-install.namespace")["result"],
        "skipped"
    );
    assert_eq!(
        result_of(&report, "pre-install.namespace")["message"],
        "prerequisite kubernetes-api.reachable failed"
    );
}

/// A server that accepts connections and then says nothing (or hangs up at once).
fn misbehaving_server(hang_up: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            if hang_up {
                drop(stream);
            } else {
                held.push(stream);
            }
        }
    });
    port
}

#[test]
fn a_hanging_api_server_times_out_within_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let port = misbehaving_server(false);
    let config = kubeconfig(dir.path(), &format!("https://127.0.0.1:{port}"));
    let output = meshctl()
        .args(["check", "-o", "json", "--timeout", "2s", "--kubeconfig"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let reachable = result_of(&report, "kubernetes-api.reachable");
    assert_eq!(reachable["result"], "error");
    assert!(
        reachable["message"].as_str().unwrap().contains("timed out"),
        "{reachable}"
    );
}

#[test]
fn a_hanging_api_server_under_wait_stops_at_the_wait_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let port = misbehaving_server(false);
    let config = kubeconfig(dir.path(), &format!("https://127.0.0.1:{port}"));
    let output = meshctl()
        .args(["check", "-o", "short", "--wait", "3s", "--kubeconfig"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("[kubernetes-api.reachable]"), "{stdout}");
    assert!(stdout.contains("timed out"), "{stdout}");
}

#[test]
fn dropped_connections_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = misbehaving_server(true);
    let config = kubeconfig(dir.path(), &format!("https://127.0.0.1:{port}"));
    let output = meshctl()
        .args(["check", "-o", "json", "--timeout", "5s", "--kubeconfig"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let reachable = result_of(&report, "kubernetes-api.reachable");
    assert_eq!(reachable["result"], "error");
    let message = reachable["message"].as_str().unwrap();
    assert!(
        !message.is_empty() && !message.contains("timed out"),
        "{message}"
    );
}

#[test]
fn off_a_terminal_there_are_no_colours_or_spinner() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let mut cmd = Command::cargo_bin("meshctl").unwrap();
    cmd.env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(60));
    let output = cmd
        .args(["check", "--kubeconfig"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!output.stdout.contains(&0x1b), "colour codes on a pipe");
    // stderr carries no spinner frames (nothing at all: the report says everything).
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
