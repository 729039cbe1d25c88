//! `stat`, `tap` and `proxy-config` against the real sidecar: `meshctl proxy-init`'s bootstrap and
//! iptables, Envoy as uid 1337 in a "pod" network namespace, traffic from a "client" namespace
//! (the data-plane lab). meshctl runs inside the pod namespace and reaches the admin at
//! 127.0.0.1:15000, as a port-forward would.

mod support;

// The data-plane lab, shared with tests/dataplane_e2e.rs (not all of it is used here).
#[allow(dead_code)]
#[path = "dataplane_e2e/harness.rs"]
mod harness;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::{CLIENT_IP, Lab, POD_IP};
use serde_json::Value;

fn lab() -> Option<Lab> {
    let mut lab = Lab::new()?;
    let pod = lab.pod_ns.clone();
    lab.start_app(&pod, &["--http", "8080"]);
    lab.proxy_init_ok(&[]);
    lab.start_envoy();
    Some(lab)
}

/// meshctl in the pod namespace, stderr lines forwarded to a channel.
fn spawn_in_pod(lab: &Lab, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = lab
        .in_ns(&lab.pod_ns)
        .arg(env!("CARGO_BIN_EXE_meshctl"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn meshctl");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }
    panic!("never saw '{needle}': {seen:?}");
}

fn finish(mut child: Child, rx: &mpsc::Receiver<String>) -> (i32, String, String) {
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let stderr: Vec<String> = rx.try_iter().collect();
    (code, stdout, stderr.join("\n"))
}

#[test]
fn stat_counts_the_sidecars_inbound_traffic() {
    let Some(lab) = lab() else { return };
    let client = lab.client_ns.clone();
    let window = Duration::from_secs(10);
    let (child, rx) = spawn_in_pod(
        &lab,
        &[
            "stat",
            "deploy/web",
            "--admin-addr",
            "127.0.0.1:15000",
            "-t",
            "10s",
            "-o",
            "json",
            "-v",
        ],
    );
    wait_for(&rx, "first samples taken");
    let started = Instant::now();
    // 16 requests: 4 of them 503 (the first 4 to a flaky path), the rest 200.
    for i in 0..16 {
        let url = if i < 8 {
            format!("http://{POD_IP}:8080/flaky/a?fail=4")
        } else {
            format!("http://{POD_IP}:8080/ok/{i}")
        };
        let r = lab.http(&client, "GET", &url, &[]);
        assert!(r["status"] == 200 || r["status"] == 503, "{r}");
    }
    let load_took = started.elapsed();
    assert!(
        load_took < window - Duration::from_secs(5),
        "load took {load_took:?}: no stats flush left inside the window"
    );
    let (code, stdout, stderr) = finish(child, &rx);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let w = &doc["workloads"][0];
    assert_eq!(w["requests"], 16, "{w}");
    assert_eq!(w["errors"], 4, "{w}");
    assert_eq!(w["success"], 0.75, "{w}");
    let rps = w["rps"].as_f64().unwrap();
    assert!((rps - 1.6).abs() <= 0.16, "{w}");
    // The sidecar's own bucket settings and flush: percentiles exist and are small (local app).
    let p50 = w["latencyMsP50"]
        .as_f64()
        .expect("p50 from the sidecar's histograms");
    assert!(p50 < 250.0, "{w}");
    assert!(w["readBytesPerSecond"].as_f64().unwrap() > 0.0, "{w}");
}

/// The filter `stat` sends selects every stat it reads from the real sidecar, the listener's
/// connection gauge and the tcp_proxy byte counters included.
#[test]
fn stats_filter_selects_the_sidecars_stats() {
    let Some(lab) = lab() else { return };
    let client = lab.client_ns.clone();
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:8080/x"), &[]);
    assert_eq!(r["status"], 200, "{r}");
    let path = meshctl::proxy::stats::StatKeys::inbound().stats_path();
    let r = lab.http(
        &lab.pod_ns.clone(),
        "GET",
        &format!("http://127.0.0.1:15000{path}"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    let names: Vec<&str> = body["stats"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for wanted in [
        "http.inbound.downstream_rq_total",
        "http.inbound.downstream_rq_5xx",
        "http.inbound.downstream_cx_rx_bytes_total",
        "listener.0.0.0.0_15006.downstream_cx_active",
        "tcp.inbound_tcp.downstream_cx_rx_bytes_total",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("worker_") || n.ends_with("rq_timeout")),
        "{names:?}"
    );
    let histograms = body["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s["histograms"].as_array())
        .unwrap();
    assert_eq!(histograms.len(), 1, "{histograms:?}");
    assert_eq!(histograms[0]["name"], "http.inbound.downstream_rq_time");
    assert_eq!(
        histograms[0]["buckets"].as_array().unwrap().len(),
        meshctl::bootstrap::RQ_TIME_BUCKETS_MS.len()
    );
}

#[test]
fn tap_shows_the_real_peer_addresses() {
    let Some(lab) = lab() else { return };
    let client = lab.client_ns.clone();
    let (child, rx) = spawn_in_pod(
        &lab,
        &[
            "tap",
            "--admin-addr",
            "127.0.0.1:15000",
            "-o",
            "json",
            "--max",
            "1",
        ],
    );
    wait_for(&rx, "tapping");
    let r = lab.http(
        &client,
        "POST",
        &format!("http://{POD_IP}:8080/orders?id=7"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
    let (code, stdout, stderr) = finish(child, &rx);
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{stdout}");
    assert_eq!(events[0]["method"], "POST");
    assert_eq!(events[0]["path"], "/orders?id=7");
    assert_eq!(events[0]["destination"], format!("{POD_IP}:8080"));
    assert!(
        events[0]["source"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{CLIENT_IP}:")),
        "{}",
        events[0]
    );
    assert_eq!(events[1]["status"], 200);
}

#[test]
fn proxy_config_reads_the_sidecar() {
    let Some(lab) = lab() else { return };
    let (child, rx) = spawn_in_pod(
        &lab,
        &["pc", "listeners", "--admin-addr", "127.0.0.1:15000"],
    );
    let (code, stdout, stderr) = finish(child, &rx);
    assert_eq!(code, 0, "{stderr}");
    let inbound: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("virtualInbound "))
        .expect("inbound listener")
        .split_whitespace()
        .collect();
    assert_eq!(inbound[1], "0.0.0.0:15006", "{stdout}");
    let (child, rx) = spawn_in_pod(
        &lab,
        &["pc", "bootstrap", "--admin-addr", "127.0.0.1:15000"],
    );
    let (code, stdout, _) = finish(child, &rx);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("admin.address         127.0.0.1:15000"),
        "{stdout}"
    );
}
