//! `meshctl stat --admin-addr` end to end against a real Envoy: output formats, no traffic,
//! unreachable proxies.

mod proxy_env;
mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use proxy_env::{Envoy, EnvoyOptions};

fn meshctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(proxy_env::meshctl())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_traffic_shows_dashes() {
    let Some(binary) = support::envoy() else {
        return;
    };
    let app = proxy_env::start_app().await;
    let envoy = Envoy::start(&binary, app, EnvoyOptions::default()).await;
    let admin = envoy.admin_addr();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        meshctl(&["stat", "deploy/web", "--admin-addr", &admin, "-t", "1s"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("No traffic found"), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME",
            "MESHED",
            "SUCCESS",
            "RPS",
            "LATENCY_P50",
            "LATENCY_P95",
            "LATENCY_P99",
            "TCP_CONN"
        ]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["deploy/web", "1/1", "-", "-", "-", "-", "-", "0"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_under_steady_load() {
    let Some(binary) = support::envoy() else {
        return;
    };
    let app = proxy_env::start_app().await;
    let envoy = Envoy::start(
        &binary,
        app,
        EnvoyOptions {
            flush_on_admin: true,
        },
    )
    .await;
    // Steady load for the whole window: every 4th request fails.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let listener = envoy.listener;
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let status = if n.is_multiple_of(4) { 500 } else { 200 };
                let _ = proxy_env::get(listener, &format!("/delay/2/status/{status}")).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let admin = envoy.admin_addr();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        meshctl(&[
            "stat",
            "deploy/web",
            "--admin-addr",
            &admin,
            "-t",
            "2s",
            "-o",
            "json",
        ])
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["direction"], "inbound");
    assert_eq!(doc["windowSeconds"], 2.0);
    assert_eq!(doc["failures"].as_array().unwrap().len(), 0);
    let w = &doc["workloads"][0];
    assert_eq!(w["kind"], "deploy");
    assert_eq!(w["name"], "web");
    assert_eq!(w["sampled"], 1);
    let requests = w["requests"].as_u64().unwrap();
    let errors = w["errors"].as_u64().unwrap();
    assert!(requests >= 8, "{w}");
    // Every 4th fails: within a window the share is 1/4 give or take one request at each edge.
    let share = errors as f64 / requests as f64;
    assert!((share - 0.25).abs() <= 2.0 / requests as f64, "{w}");
    assert!((w["success"].as_f64().unwrap() - (1.0 - share)).abs() < 1e-9);
    assert!(w["rps"].as_f64().unwrap() > 0.0);
    // 2 ms delays: p50 lands in the (2, 3] or (3, 5] bucket at worst.
    let p50 = w["latencyMsP50"].as_f64().unwrap();
    assert!((1.0..=5.0).contains(&p50), "{w}");
    for key in [
        "latencyMsP95",
        "latencyMsP99",
        "tcpConnections",
        "readBytesPerSecond",
        "writeBytesPerSecond",
    ] {
        assert!(w.get(key).is_some(), "{key} missing: {w}");
    }
}

#[test]
fn unreachable_proxy_is_reported_and_fails() {
    let (code, stdout, stderr) = meshctl(&[
        "stat",
        "deploy/web",
        "--admin-addr",
        "127.0.0.1:1",
        "-t",
        "1s",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(stdout.contains("deploy/web"), "{stdout}");
}

#[test]
fn usage_errors() {
    let (code, _, _) = meshctl(&[
        "stat",
        "deploy/web",
        "--admin-addr",
        "127.0.0.1:1",
        "-o",
        "yaml",
    ]);
    assert_eq!(code, 2);
    let (code, _, stderr) = meshctl(&["stat", "widget/web", "--admin-addr", "127.0.0.1:1"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = meshctl(&[
        "stat",
        "deploy/a",
        "deploy/b",
        "--admin-addr",
        "127.0.0.1:1",
    ]);
    assert_eq!(code, 2);
}
