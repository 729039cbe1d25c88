//! `meshctl tap` against a real Envoy: requests sent during a tap appear with the right method,
//! path and status; filters filter; a second concurrent tap gets a clear message; Ctrl-C detaches.

mod proxy_env;
mod support;

use proxy_env::{Envoy, EnvoyOptions, Running};
use serde_json::Value;

async fn envoy() -> Option<Envoy> {
    let binary = support::envoy()?;
    let app = proxy_env::start_app().await;
    Some(Envoy::start(&binary, app, EnvoyOptions::default()).await)
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_appear_with_method_path_and_status() {
    let Some(envoy) = envoy().await else { return };
    let admin = envoy.admin_addr();
    let mut tap = Running::spawn(&["tap", "--admin-addr", &admin, "-o", "json", "--max", "3"]);
    tap.wait_for_stderr("tapping");
    let sent = [
        ("GET", "/hello?x=1", 200),
        ("POST", "/delay/5/status/503", 503),
        ("GET", "/delay/0/status/404", 404),
    ];
    for (method, path, status) in sent {
        let (got, _) = proxy_env::request(envoy.listener, method, path, &[])
            .await
            .unwrap();
        assert_eq!(got, status);
    }
    let (code, stdout, stderr) = tap.finish();
    assert_eq!(code, 0, "{stderr}");
    let events = json_lines(&stdout);
    assert_eq!(events.len(), 6, "{stdout}");
    for (i, (method, path, status)) in sent.iter().enumerate() {
        let request = &events[2 * i];
        let response = &events[2 * i + 1];
        assert_eq!(request["type"], "request");
        assert_eq!(request["id"], i as u64 + 1);
        assert_eq!(request["method"], *method);
        assert_eq!(request["path"], *path);
        assert_eq!(request["authority"], "test.local");
        assert_eq!(request["direction"], "inbound");
        assert!(
            request["source"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:")
        );
        assert_eq!(request["destination"], envoy.listener.to_string());
        assert_eq!(response["type"], "response");
        assert_eq!(response["id"], i as u64 + 1);
        assert_eq!(response["status"], *status);
        assert!(response["latencyMs"].as_f64().unwrap() >= 0.0);
    }
    // The 5 ms request took at least 5 ms between request and response headers.
    assert!(
        events[3]["latencyMs"].as_f64().unwrap() >= 5.0,
        "{}",
        events[3]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_has_req_and_rsp_lines() {
    let Some(envoy) = envoy().await else { return };
    let admin = envoy.admin_addr();
    let mut tap = Running::spawn(&["tap", "--admin-addr", &admin, "--max", "1"]);
    tap.wait_for_stderr("tapping");
    proxy_env::get(envoy.listener, "/text").await.unwrap();
    let (code, stdout, _) = tap.finish();
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("req id=1 "), "{}", lines[0]);
    assert!(
        lines[0].contains(":method=GET :authority=test.local :path=/text"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("rsp id=1 "), "{}", lines[1]);
    assert!(lines[1].contains(":status=200 latency="), "{}", lines[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_filter() {
    let Some(envoy) = envoy().await else { return };
    let admin = envoy.admin_addr();
    let mut tap = Running::spawn(&[
        "tap",
        "--admin-addr",
        &admin,
        "-o",
        "json",
        "--max",
        "1",
        "--method",
        "POST",
        "--path",
        "/keep",
        "--header",
        "x-team=blue",
    ]);
    tap.wait_for_stderr("tapping");
    let l = envoy.listener;
    // Each of these misses one filter.
    proxy_env::request(l, "GET", "/keep/a", &[("x-team", "blue")])
        .await
        .unwrap();
    proxy_env::request(l, "POST", "/drop", &[("x-team", "blue")])
        .await
        .unwrap();
    proxy_env::request(l, "POST", "/keep/b", &[("x-team", "red")])
        .await
        .unwrap();
    // This one passes all three.
    proxy_env::request(l, "POST", "/keep/c", &[("x-team", "blue")])
        .await
        .unwrap();
    let (code, stdout, stderr) = tap.finish();
    assert_eq!(code, 0, "{stderr}");
    let events = json_lines(&stdout);
    assert_eq!(events.len(), 2, "{stdout}");
    assert_eq!(events[0]["path"], "/keep/c");
    assert_eq!(events[0]["method"], "POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_tap_gets_a_clear_message_and_ctrl_c_detaches() {
    let Some(envoy) = envoy().await else { return };
    let admin = envoy.admin_addr();
    let mut first = Running::spawn(&["tap", "--admin-addr", &admin]);
    first.wait_for_stderr("tapping");

    let second = Running::spawn(&["tap", "--admin-addr", &admin]);
    let (code, stdout, stderr) = second.finish();
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("another tap session is attached to this proxy"),
        "{stderr}"
    );

    // Ctrl-C ends the first cleanly, and the proxy accepts a new tap afterwards.
    first.interrupt();
    let (code, _, stderr) = first.finish();
    assert_eq!(code, 0, "{stderr}");
    let mut third = Running::spawn(&["tap", "--admin-addr", &admin, "--max", "1"]);
    third.wait_for_stderr("tapping");
    proxy_env::get(envoy.listener, "/after").await.unwrap();
    let (code, stdout, _) = third.finish();
    assert_eq!(code, 0);
    assert!(stdout.contains(":path=/after"), "{stdout}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = std::process::Command::new(proxy_env::meshctl())
        .args([
            "tap",
            "--admin-addr",
            "127.0.0.1:1",
            "--direction",
            "sideways",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(proxy_env::meshctl())
        .args(["tap", "--admin-addr", "127.0.0.1:1", "-o", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
