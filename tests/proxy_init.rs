//! `meshctl proxy-init` as a command: dry-run output (goldens for the rules), flag validation,
//! and clear failures when iptables is missing or refuses. None of these need root.

mod support;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn meshctl() -> Command {
    let mut cmd = Command::cargo_bin("meshctl").unwrap();
    for var in [
        "POD_NAME",
        "POD_NAMESPACE",
        "POD_IP",
        "POD_IPS",
        "MESHCTL_WORKLOAD_KIND",
        "MESHCTL_WORKLOAD_NAME",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn pod_env(cmd: &mut Command, ips: &str) {
    cmd.env("POD_NAME", "web-0")
        .env("POD_NAMESPACE", "shop")
        .env("POD_IP", ips.split(',').next().unwrap())
        .env("POD_IPS", ips)
        .env("MESHCTL_WORKLOAD_KIND", "StatefulSet")
        .env("MESHCTL_WORKLOAD_NAME", "web");
}

/// The injector's full flag set.
const INJECTOR_FLAGS: &[&str] = &[
    "--proxy-uid",
    "1337",
    "--proxy-gid",
    "1337",
    "--outbound-port",
    "15001",
    "--inbound-port",
    "15006",
    "--admin-port",
    "15000",
    "--metrics-port",
    "15090",
    "--skip-inbound-ports",
    "22,8000-8100",
    "--skip-outbound-ports",
    "5432",
    "--skip-outbound-cidrs",
    "10.96.0.0/12,fd00:96::/108,169.254.169.254",
    "--opaque-ports",
    "25,3306",
    "--log-level",
    "info",
    "--concurrency",
    "2",
    "--retries",
    "2",
    "--request-timeout",
    "30s",
    "--drain-time",
    "10s",
    "--bootstrap-out",
    "/etc/meshctl/envoy.yaml",
];

fn dry_run(ips: &str, extra: &[&str]) -> String {
    let mut cmd = meshctl();
    pod_env(&mut cmd, ips);
    let out = cmd
        .arg("proxy-init")
        .arg("--dry-run")
        .args(INJECTOR_FLAGS)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `iptables-restore` sections of a text dry run (everything before the bootstrap).
fn rules_part(text: &str) -> &str {
    let end = text.find("# Envoy bootstrap").expect("bootstrap section");
    &text[..end]
}

#[test]
fn dry_run_rules_goldens() {
    support::assert_golden(
        "netfilter/ipv4.rules",
        rules_part(&dry_run("10.1.2.3", &[])),
    );
    support::assert_golden(
        "netfilter/dual-stack.rules",
        rules_part(&dry_run("10.1.2.3,fd00:10::3", &[])),
    );
    let mut cmd = meshctl();
    let out = cmd.args(["proxy-init", "--dry-run"]).output().unwrap();
    assert!(out.status.success());
    support::assert_golden(
        "netfilter/defaults.rules",
        rules_part(&String::from_utf8(out.stdout).unwrap()),
    );
}

#[test]
fn dry_run_prints_the_bootstrap_proxy_init_would_write() {
    let text = dry_run("10.1.2.3", &[]);
    let start = text
        .find("# Envoy bootstrap (/etc/meshctl/envoy.yaml)\n")
        .unwrap();
    let bootstrap = &text[start..];
    assert!(bootstrap.contains("id: sidecar~10.1.2.3~web-0.shop~shop.svc.cluster.local"));
    assert!(bootstrap.contains("cluster: web.shop"));
    assert!(bootstrap.contains("inbound-opaque-3306"));
    assert!(bootstrap.contains("timeout: 30s"));
    assert!(bootstrap.contains("# Envoy command line: envoy -c /etc/meshctl/envoy.yaml --disable-hot-restart --concurrency 2 --log-level info --drain-time-s 10"));
}

#[test]
fn dry_run_json() {
    let mut cmd = meshctl();
    pod_env(&mut cmd, "10.1.2.3");
    let out = cmd
        .args(["proxy-init", "--dry-run", "-o", "json"])
        .args(INJECTOR_FLAGS)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["iptables"]
            .as_str()
            .unwrap()
            .contains("-j REDIRECT --to-ports 15006")
    );
    assert!(v["ip6tables"].is_null());
    assert_eq!(v["bootstrap"]["node"]["cluster"], "web.shop");
    assert_eq!(v["envoyArgs"][0], "-c");

    meshctl()
        .args(["proxy-init", "--dry-run", "-o", "yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported output format 'yaml'"));
}

#[test]
fn bad_flags_are_usage_errors_naming_the_flag() {
    for (args, message) in [
        (
            vec!["--skip-inbound-ports", "80,http"],
            "invalid port 'http' in --skip-inbound-ports",
        ),
        (
            vec!["--skip-outbound-cidrs", "10.0.0.0/40"],
            "invalid CIDR '10.0.0.0/40' in --skip-outbound-cidrs",
        ),
        (vec!["--opaque-ports", "3306-3310"], "--opaque-ports"),
        (vec!["--retries", "two"], "invalid --retries 'two'"),
        (
            vec!["--request-timeout", "soon"],
            "invalid --request-timeout",
        ),
        (vec!["--log-level", "loud"], "invalid --log-level 'loud'"),
        (
            vec!["--iptables-backend", "ebpf"],
            "unknown iptables backend 'ebpf'",
        ),
        (
            vec!["--inbound-port", "15001"],
            "--inbound-port and --outbound-port are both 15001",
        ),
        (
            vec!["--concurrency", "0"],
            "--concurrency must be at least 1",
        ),
        (
            vec!["--pod-ips", "10.0.0.1,not-an-ip"],
            "invalid IP address 'not-an-ip' in --pod-ips",
        ),
    ] {
        meshctl()
            .args(["proxy-init", "--dry-run"])
            .args(&args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
}

fn fake_tool(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn missing_iptables_fails_clearly_after_writing_nothing_but_the_bootstrap() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let out = dir.path().join("envoy.yaml");
    meshctl()
        .env("PATH", &empty)
        .args(["proxy-init", "--bootstrap-out"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "iptables-nft-restore not found (nft backend)",
        ));
}

#[test]
fn refusing_iptables_fails_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_tool(&bin, "iptables-nft-save", "exit 0");
    fake_tool(
        &bin,
        "iptables-nft-restore",
        "case \"$1\" in --version) echo 'iptables-restore v1.8.9 (nf_tables)';; \
         *) while read -r l; do :; done; echo 'iptables-restore: Permission denied (you must be root)' >&2; exit 4;; esac",
    );
    let out = dir.path().join("envoy.yaml");
    meshctl()
        .env("PATH", &bin)
        .args(["proxy-init", "--iptables-backend", "nft", "--bootstrap-out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "iptables-nft-restore refused the IPv4 rules (nothing was changed): \
             iptables-restore: Permission denied (you must be root)",
        ));
}

#[test]
fn applies_through_the_tools_and_writes_a_readable_bootstrap() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let captured = dir.path().join("restore-input");
    fake_tool(&bin, "iptables-nft-save", "exit 0");
    fake_tool(
        &bin,
        "iptables-nft-restore",
        &format!(
            "case \"$1\" in --version) echo 'iptables-restore v1.8.9 (nf_tables)';; \
             *) echo \"args: $*\" > {0}; while IFS= read -r l; do echo \"$l\"; done >> {0};; esac",
            captured.display()
        ),
    );
    let out = dir.path().join("sub/envoy.yaml");
    let mut cmd = meshctl();
    pod_env(&mut cmd, "10.1.2.3");
    cmd.env("PATH", &bin)
        .args(["proxy-init", "--bootstrap-out"])
        .arg(&out)
        .args(["--opaque-ports", "3306"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains(
            "applied 9 IPv4 nat rules in MESHCTL_* chains (nft backend)",
        ));

    let input = std::fs::read_to_string(&captured).unwrap();
    assert!(input.starts_with("args: --noflush\n*nat\n"), "{input}");
    assert!(input.contains("-A PREROUTING -p tcp -j MESHCTL_INBOUND\n"));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("inbound-opaque-3306"));
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o644
    );
}
