//! Real Envoys on loopback for the diagnostics tests: a test bootstrap shaped like the sidecar's
//! inbound side (http_connection_manager `stat_prefix: inbound`, tap filter `config_id: inbound`,
//! fine low latency buckets, 5 s stats flush), an app server with chosen delays and statuses, and
//! a tiny HTTP client for load.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The bucket bounds (ms) of `downstream_rq_time`: the real sidecar's.
pub const BUCKETS: &[f64] = &meshctl::bootstrap::RQ_TIME_BUCKETS_MS;

/// A running Envoy, killed on drop.
pub struct Envoy {
    child: Child,
    pub admin: SocketAddr,
    pub listener: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
pub struct EnvoyOptions {
    /// `stats_flush_on_admin: true` instead of a periodic 5 s flush.
    pub flush_on_admin: bool,
}

fn bootstrap(app: SocketAddr, options: &EnvoyOptions) -> String {
    let buckets: Vec<String> = BUCKETS.iter().map(|b| b.to_string()).collect();
    let flush = if options.flush_on_admin {
        "stats_flush_on_admin: true"
    } else {
        "stats_flush_interval: 5s"
    };
    format!(
        r#"node: {{ id: test-sidecar, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
{flush}
stats_config:
  histogram_bucket_settings:
  - match: {{ suffix: downstream_rq_time }}
    buckets: [{buckets}]
static_resources:
  listeners:
  - name: virtualInbound
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound
          route_config:
            name: inbound
            virtual_hosts:
            - name: inbound
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: app, timeout: 0s }}
          http_filters:
          - name: envoy.filters.http.tap
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.tap.v3.Tap
              common_config:
                admin_config:
                  config_id: inbound
              record_headers_received_time: true
              record_downstream_connection: true
              record_upstream_connection: true
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
              suppress_envoy_headers: true
  clusters:
  - name: app
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: app
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {{ socket_address: {{ address: {ip}, port_value: {port} }} }}
"#,
        buckets = buckets.join(", "),
        ip = app.ip(),
        port = app.port(),
    )
}

impl Envoy {
    /// Starts Envoy in front of `app` and waits until it is live.
    pub async fn start(binary: &Path, app: SocketAddr, options: EnvoyOptions) -> Envoy {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("envoy.yaml");
        std::fs::write(&config, bootstrap(app, &options)).expect("write bootstrap");
        let admin_file = dir.path().join("admin-address");
        let log = std::fs::File::create(dir.path().join("envoy.log")).expect("log file");
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .args(["--disable-hot-restart", "--concurrency", "1", "-l", "error"])
            .arg("--admin-address-path")
            .arg(&admin_file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start envoy");
        let mut envoy = Envoy {
            child,
            admin: "127.0.0.1:0".parse().unwrap(),
            listener: "127.0.0.1:0".parse().unwrap(),
            _dir: dir,
        };
        let log_path: PathBuf = envoy._dir.path().join("envoy.log");
        for _ in 0..300 {
            if let Some(status) = envoy.child.try_wait().expect("wait") {
                panic!(
                    "envoy exited with {status}: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if let Ok(text) = std::fs::read_to_string(&admin_file)
                && let Ok(addr) = text.trim().parse::<SocketAddr>()
            {
                envoy.admin = addr;
                let admin = meshctl::proxy::admin::AdminEndpoint::Tcp(addr.to_string());
                if let Ok(body) = admin.get("/listeners?format=json").await {
                    let doc: serde_json::Value =
                        serde_json::from_slice(&body).expect("listeners json");
                    let sock = &doc["listener_statuses"][0]["local_address"]["socket_address"];
                    if let (Some(ip), Some(port)) =
                        (sock["address"].as_str(), sock["port_value"].as_u64())
                        && port != 0
                    {
                        envoy.listener = format!("{ip}:{port}").parse().expect("listener address");
                        if admin.get("/ready").await.is_ok() {
                            return envoy;
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "envoy did not become ready: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    pub fn admin_addr(&self) -> String {
        self.admin.to_string()
    }
}

/// An app server: `/delay/MS/status/CODE` answers CODE after MS milliseconds; anything else 200.
pub async fn start_app() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind app");
    let addr = listener.local_addr().expect("app addr");
    let router = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        let parts: Vec<&str> = uri.path().split('/').collect();
        let (mut delay, mut status) = (0u64, 200u16);
        if let ["", "delay", ms, "status", code, ..] = parts.as_slice() {
            delay = ms.parse().unwrap_or(0);
            status = code.parse().unwrap_or(200);
        }
        tokio::time::sleep(Duration::from_millis(delay)).await;
        (
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK),
            "ok\n",
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// One HTTP/1.1 request on a fresh connection; returns the status and body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" || method == "PUT" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

pub async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    request(addr, "GET", path, &[]).await
}

/// The meshctl binary under test.
pub fn meshctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_meshctl"))
}

/// A meshctl process whose stderr is watched line by line.
pub struct Running {
    pub child: Child,
    stderr: std::sync::mpsc::Receiver<String>,
    pub stderr_seen: Vec<String>,
}

impl Running {
    pub fn spawn(args: &[&str]) -> Running {
        let mut child = Command::new(meshctl())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn meshctl");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            stderr: rx,
            stderr_seen: Vec::new(),
        }
    }

    /// Waits (up to a generous bound, only to not hang forever) for a stderr line containing `needle`.
    pub fn wait_for_stderr(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr_seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("never saw '{needle}' on stderr: {:?}", self.stderr_seen);
    }

    /// Sends SIGINT (what Ctrl-C sends).
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
    }

    /// Waits for exit; returns the exit code, stdout and the rest of stderr.
    pub fn finish(mut self) -> (i32, String, String) {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            use std::io::Read;
            out.read_to_string(&mut stdout).expect("read stdout");
        }
        let status = self.child.wait().expect("wait meshctl");
        let mut stderr = self.stderr_seen.join("\n");
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            stderr.push('\n');
            stderr.push_str(&line);
        }
        (status.code().unwrap_or(-1), stdout, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
