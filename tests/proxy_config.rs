//! `meshctl proxy-config` against a saved sidecar config dump (goldens) and a real Envoy.

mod proxy_env;
mod support;

use std::process::Command;

use proxy_env::{Envoy, EnvoyOptions};

const DUMP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/proxy/config_dump.json"
);

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

#[test]
fn saved_dump_summaries() {
    for section in ["listeners", "clusters", "routes", "endpoints", "bootstrap"] {
        let (code, stdout, stderr) = meshctl(&["proxy-config", section, "--file", DUMP]);
        assert_eq!(code, 0, "{section}: {stderr}");
        support::assert_golden(&format!("proxy-config/{section}.txt"), &stdout);
    }
}

#[test]
fn saved_dump_raw_sections() {
    let (code, stdout, _) = meshctl(&["pc", "clusters", "--file", DUMP, "-o", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc["@type"],
        "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"
    );
    assert_eq!(doc["static_clusters"].as_array().unwrap().len(), 4);
    let (code, stdout, _) = meshctl(&["pc", "listeners", "--file", DUMP, "-o", "yaml"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("name: virtualInbound"), "{stdout}");
}

#[test]
fn bad_input_is_reported() {
    let (code, _, stderr) = meshctl(&["pc", "secrets", "--file", DUMP]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown section 'secrets'"));
    let (code, _, stderr) = meshctl(&["pc", "clusters", "--file", "/nonexistent/dump.json"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/dump.json"), "{stderr}");
    let stats = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/proxy/stats-sidecar.json"
    );
    let (code, _, stderr) = meshctl(&["pc", "clusters", "--file", stats]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not an Envoy config dump"), "{stderr}");
    let (code, _, _) = meshctl(&["pc", "clusters", "--file", DUMP, "-o", "wide"]);
    assert_eq!(code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_envoy() {
    let Some(binary) = support::envoy() else {
        return;
    };
    let app = proxy_env::start_app().await;
    let envoy = Envoy::start(&binary, app, EnvoyOptions::default()).await;
    let admin = envoy.admin_addr();
    let admin = admin.as_str();

    let (code, stdout, stderr) = meshctl(&["pc", "listeners", "--admin-addr", admin]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("virtualInbound ")),
        "{stdout}"
    );

    let (_, stdout, _) = meshctl(&["pc", "clusters", "--admin-addr", admin]);
    let app_row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("app "))
        .expect("app cluster")
        .split_whitespace()
        .collect();
    assert_eq!(app_row, ["app", "STATIC", "ROUND_ROBIN", "1s", "1"]);

    let (_, stdout, _) = meshctl(&["pc", "endpoints", "--admin-addr", admin]);
    assert!(stdout.contains(&app.to_string()), "{stdout}");

    let (_, stdout, _) = meshctl(&["pc", "routes", "--admin-addr", admin]);
    assert!(stdout.contains("cluster app"), "{stdout}");

    let (_, stdout, _) = meshctl(&["pc", "bootstrap", "--admin-addr", admin]);
    assert!(stdout.contains("test-sidecar"), "{stdout}");

    // log: set every logger, then read back.
    let (code, _, stderr) = meshctl(&["pc", "log", "--admin-addr", admin, "--level", "debug"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = meshctl(&["pc", "log", "--admin-addr", admin, "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let loggers = doc["loggers"].as_object().unwrap();
    assert!(loggers.len() > 10);
    assert!(loggers.values().all(|l| l == "debug"), "{loggers:?}");
    let (_, _, _) = meshctl(&["pc", "log", "--admin-addr", admin, "--level", "admin:error"]);
    let (_, stdout, _) = meshctl(&["pc", "log", "--admin-addr", admin, "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["loggers"]["admin"], "error");
    assert_eq!(doc["loggers"]["tap"], "debug");

    let (code, _, stderr) = meshctl(&["pc", "log", "--admin-addr", admin, "--level", "loud"]);
    assert_eq!(code, 2, "{stderr}");
}
