//! A "pod" and a "client" network namespace joined by a veth pair, with the real
//! `meshctl proxy-init` and a real Envoy running as uid 1337 in the pod. Everything a lab creates
//! (namespaces, processes) is removed in Drop, also when a test panics.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;

pub const POD_IP: &str = "10.77.0.2";
pub const CLIENT_IP: &str = "10.77.0.1";
/// A second address of the client namespace (for CIDR skip lists).
pub const CLIENT_IP2: &str = "10.77.0.3";

pub const POD_IP6: &str = "fd00:77::2";
pub const CLIENT_IP6: &str = "fd00:77::1";

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    pub pod_ns: String,
    pub client_ns: String,
    pub dir: tempfile::TempDir,
    envoy: PathBuf,
    children: Vec<(String, Child)>,
}

fn script(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dataplane_e2e")
        .join(name)
        .display()
        .to_string()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) {
    run_ok(Command::new("ip").args(args));
}

impl Lab {
    /// A fresh pod + client namespace pair, or None (after saying why) when this machine can't
    /// run the data-plane tests; under CI that is a failure instead.
    pub fn new() -> Option<Lab> {
        if !support::can_use_netns() {
            return None;
        }
        let envoy = support::envoy()?;
        if support::which("python3").is_none() {
            support::skip_or_fail("python3 is needed by the data-plane tests");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}{n}", std::process::id() % 100_000);
        let dir = tempfile::tempdir().unwrap();
        // Envoy runs as uid 1337 and must read the bootstrap written here.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let lab = Lab {
            pod_ns: format!("meshctl-t{id}-pod"),
            client_ns: format!("meshctl-t{id}-cli"),
            dir,
            envoy,
            children: Vec::new(),
        };
        let (veth_pod, veth_cli) = (format!("mc{id}p"), format!("mc{id}c"));
        ip(&["netns", "add", &lab.pod_ns]);
        ip(&["netns", "add", &lab.client_ns]);
        ip(&[
            "link", "add", &veth_pod, "type", "veth", "peer", "name", &veth_cli,
        ]);
        ip(&["link", "set", &veth_pod, "netns", &lab.pod_ns]);
        ip(&["link", "set", &veth_cli, "netns", &lab.client_ns]);
        for (ns, dev, addrs) in [
            (&lab.pod_ns, &veth_pod, vec![POD_IP]),
            (&lab.client_ns, &veth_cli, vec![CLIENT_IP, CLIENT_IP2]),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            for addr in addrs {
                ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            }
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        Some(lab)
    }

    /// Gives both namespaces an IPv6 address too (dual stack).
    pub fn add_ipv6(&self) {
        for (ns, addr) in [(&self.pod_ns, POD_IP6), (&self.client_ns, CLIENT_IP6)] {
            let dev = self.veth_in(ns);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/64"),
                "dev",
                &dev,
                "nodad",
            ]);
        }
    }

    fn veth_in(&self, ns: &str) -> String {
        let out = run_ok(Command::new("ip").args(["-n", ns, "-o", "link", "show", "type", "veth"]));
        let text = String::from_utf8_lossy(&out.stdout);
        let name = text.split(':').nth(1).unwrap_or_default().trim();
        name.split('@').next().unwrap_or_default().to_string()
    }

    pub fn in_ns(&self, ns: &str) -> Command {
        // By absolute path: a test may give the command a PATH without `ip` on it.
        let mut cmd = Command::new(support::which("ip").unwrap_or_else(|| "ip".into()));
        cmd.args(["netns", "exec", ns]);
        cmd
    }

    /// Starts the test app (tests/dataplane_e2e/app.py) in `ns` and waits until it listens.
    pub fn start_app(&mut self, ns: &str, args: &[&str]) {
        let mut cmd = self.in_ns(ns);
        cmd.arg("python3")
            .arg(script("app.py"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start app.py");
        let stdout = child.stdout.take().unwrap();
        self.children.push((format!("app in {ns}"), child));
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "app.py did not start in {ns}");
    }

    /// Runs the real `meshctl proxy-init` in the pod namespace, as the injector would.
    pub fn proxy_init(&self, extra: &[&str]) -> Output {
        let mut cmd = self.in_ns(&self.pod_ns);
        cmd.arg(env!("CARGO_BIN_EXE_meshctl"))
            .arg("proxy-init")
            .args([
                "--proxy-uid",
                "1337",
                "--proxy-gid",
                "1337",
                "--concurrency",
                "1",
                "--bootstrap-out",
            ])
            .arg(self.bootstrap_path())
            .args(extra)
            .env("POD_NAME", "web-0")
            .env("POD_NAMESPACE", "shop")
            .env("POD_IP", POD_IP)
            .env("POD_IPS", POD_IP)
            .env("MESHCTL_WORKLOAD_KIND", "Deployment")
            .env("MESHCTL_WORKLOAD_NAME", "web");
        run(&mut cmd)
    }

    pub fn proxy_init_ok(&self, extra: &[&str]) {
        let out = self.proxy_init(extra);
        assert!(
            out.status.success(),
            "proxy-init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn bootstrap_path(&self) -> PathBuf {
        self.dir.path().join("envoy.yaml")
    }

    fn envoy_log(&self) -> PathBuf {
        self.dir.path().join("envoy.log")
    }

    /// Starts Envoy as uid/gid 1337 with the bootstrap proxy-init wrote, with the command line
    /// `bootstrap::envoy_args` gives the proxy container, and waits for `GET /ready` on :15090.
    pub fn start_envoy(&mut self) {
        let settings = meshctl::bootstrap::BootstrapSettings {
            concurrency: 1,
            ..Default::default()
        };
        let args =
            meshctl::bootstrap::envoy_args(&settings, &self.bootstrap_path().display().to_string());
        let log = std::fs::File::create(self.envoy_log()).unwrap();
        let mut cmd = self.in_ns(&self.pod_ns);
        cmd.args([
            "setpriv",
            "--reuid",
            "1337",
            "--regid",
            "1337",
            "--clear-groups",
        ])
        .arg(&self.envoy)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
        let child = cmd.spawn().expect("start envoy");
        self.children.push(("envoy".to_string(), child));

        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.http(
                &self.pod_ns.clone(),
                "GET",
                "http://127.0.0.1:15090/ready",
                &[],
            );
            if r["status"] == 200 {
                return;
            }
            if Instant::now() > deadline {
                panic!("envoy never became ready:\n{}", self.envoy_log_text());
            }
            if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == "envoy")
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("envoy exited ({status}):\n{}", self.envoy_log_text());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends SIGTERM to Envoy (as the kubelet does once the app containers exited) and returns its
    /// exit status; panics if it is still running after a generous deadline.
    pub fn terminate_envoy(&mut self) -> std::process::ExitStatus {
        let (_, child) = self
            .children
            .iter_mut()
            .find(|(n, _)| n == "envoy")
            .expect("envoy started");
        // Through python3 (already required) rather than a `kill` binary slim images may lack.
        run_ok(Command::new("python3").args([
            "-c",
            "import os, signal, sys; os.kill(int(sys.argv[1]), signal.SIGTERM)",
            &child.id().to_string(),
        ]));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "envoy ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn envoy_log_text(&self) -> String {
        std::fs::read_to_string(self.envoy_log()).unwrap_or_default()
    }

    fn netclient(&self, ns: &str, args: &[&str]) -> Value {
        let out = run_ok(
            self.in_ns(ns)
                .arg("python3")
                .arg(script("netclient.py"))
                .args(args),
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "netclient output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// One HTTP request from inside `ns`: `{status, headers: [[k, v]], body}` or `{error}`.
    pub fn http(&self, ns: &str, method: &str, url: &str, extra: &[&str]) -> Value {
        let mut args = vec!["http", method, url];
        args.extend_from_slice(extra);
        self.netclient(ns, &args)
    }

    /// A WebSocket upgrade from inside `ns`, then `data` echoed: `{status, echoed}`.
    pub fn upgrade(&self, ns: &str, url: &str, data: &str) -> Value {
        self.netclient(ns, &["upgrade", url, data])
    }

    /// One HTTP/2 prior-knowledge GET from inside `ns`: `{status, body}` or `{error}`.
    pub fn h2c(&self, ns: &str, url: &str) -> Value {
        self.netclient(ns, &["h2c", url])
    }

    pub fn tcp(&self, ns: &str, host: &str, port: u16, data: &str) -> Value {
        self.netclient(ns, &["tcp", host, &port.to_string(), data])
    }

    pub fn banner(&self, ns: &str, host: &str, port: u16) -> Value {
        self.netclient(ns, &["banner", host, &port.to_string()])
    }

    /// A counter or gauge from the pod's Envoy admin (0 when it doesn't exist yet).
    pub fn stat(&self, name: &str) -> u64 {
        let url = format!(
            "http://127.0.0.1:15000/stats?format=json&filter=%5E{}%24",
            name.replace('.', "%5C.")
        );
        let r = self.http(&self.pod_ns.clone(), "GET", &url, &[]);
        assert_eq!(r["status"], 200, "stats query failed: {r}");
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        body["stats"]
            .as_array()
            .and_then(|stats| stats.iter().find(|s| s["name"] == name))
            .and_then(|s| s["value"].as_u64())
            .unwrap_or(0)
    }

    /// The pod's nat table as `iptables-save` prints it, minus the timestamped comments.
    pub fn nat_rules(&self, tool: &str) -> String {
        let out = run_ok(self.in_ns(&self.pod_ns).args([tool, "-t", "nat"]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    pub fn run_in_pod(&self, args: &[&str]) -> Output {
        run_ok(self.in_ns(&self.pod_ns).args(args))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The header values named `name` in a netclient HTTP result.
pub fn header<'a>(response: &'a Value, name: &str) -> Vec<&'a str> {
    response["headers"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .filter(|h| h[0] == name)
                .filter_map(|h| h[1].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// The JSON body of a netclient HTTP result.
pub fn json_body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {response}"))
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.pod_ns, &self.client_ns] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}
