//! The sidecar bootstrap: goldens for each variant, and every variant accepted by a real Envoy
//! (`envoy --mode validate`).

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use meshctl::bootstrap::{self, BootstrapSettings, LogLevel, PodIdentity, RetrySettings};

fn identity(ips: &[&str]) -> PodIdentity {
    PodIdentity {
        pod_name: "web-7d9f8c-x2x9q".into(),
        namespace: "shop".into(),
        pod_ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        workload_kind: "Deployment".into(),
        workload_name: "web".into(),
    }
}

/// Every shape the renderer can produce: defaults, opaque ports, retries, timeouts, dual stack.
fn variants() -> Vec<(&'static str, BootstrapSettings)> {
    let base = BootstrapSettings {
        identity: identity(&["10.1.2.3"]),
        ..BootstrapSettings::default()
    };
    vec![
        ("default", base.clone()),
        (
            "opaque-one-port",
            BootstrapSettings {
                opaque_ports: BTreeSet::from([3306]),
                ..base.clone()
            },
        ),
        (
            "full",
            BootstrapSettings {
                opaque_ports: BTreeSet::from([25, 587, 3306, 5432]),
                retries: RetrySettings {
                    attempts: 3,
                    per_try_timeout: Some(Duration::from_millis(1500)),
                },
                request_timeout: Some(Duration::from_secs(30)),
                log_level: LogLevel::Debug,
                concurrency: 1,
                drain_time: Duration::from_secs(20),
                ..base.clone()
            },
        ),
        (
            "dual-stack",
            BootstrapSettings {
                identity: identity(&["10.1.2.3", "fd00:10::3"]),
                opaque_ports: BTreeSet::from([25]),
                retries: RetrySettings {
                    attempts: 2,
                    per_try_timeout: None,
                },
                ..base.clone()
            },
        ),
        (
            "no-identity",
            BootstrapSettings {
                identity: PodIdentity::default(),
                ..base
            },
        ),
    ]
}

#[test]
fn bootstrap_goldens() {
    for (name, settings) in variants() {
        support::assert_golden(
            &format!("bootstrap/{name}.yaml"),
            &bootstrap::render(&settings),
        );
    }
    let (_, full) = &variants()[2];
    support::assert_golden("bootstrap/full.json", &bootstrap::render_json(full));
}

#[test]
fn every_variant_passes_envoy_validate() {
    let Some(envoy) = support::envoy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, settings) in variants() {
        for (ext, text) in [
            ("yaml", bootstrap::render(&settings)),
            ("json", bootstrap::render_json(&settings)),
        ] {
            let path = dir.path().join(format!("{name}.{ext}"));
            std::fs::write(&path, text).unwrap();
            let out = Command::new(&envoy)
                .args([
                    "--mode",
                    "validate",
                    "--disable-hot-restart",
                    "-l",
                    "warning",
                    "-c",
                ])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "envoy rejected the {name}.{ext} bootstrap:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
