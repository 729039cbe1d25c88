//! `meshctl check` end to end against the loopback API server (testcluster), through a real
//! kubeconfig: an empty cluster, RBAC denials, a fresh control plane with a real TLS webhook behind
//! a port-forward, pods that become ready under --wait, meshed pods whose port-forwards lead to
//! real Envoys, and API faults.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::{Value, json};
use testcluster::{AccessRule, Fault, FaultKind, TestCluster};

const MESH_NS: &str = "meshctl-system";
const SERVICE_DNS: &str = "meshctl-injector.meshctl-system.svc";

/// Runs `meshctl check ARGS -o json` against the cluster (off the async runtime) and returns the
/// exit code and the parsed report.
async fn check(cluster: &TestCluster, args: &[&str]) -> (i32, Value) {
    let kubeconfig = cluster.kubeconfig_path().to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || run_check(&kubeconfig, &args))
        .await
        .unwrap();
    let code = output.status.code().expect("meshctl was killed (hung?)");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e})\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    validate_schema(&report);
    (code, report)
}

fn run_check(kubeconfig: &std::path::Path, args: &[String]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("meshctl")
        .unwrap()
        .env_remove("KUBECONFIG")
        .arg("check")
        .args(args)
        .args(["-o", "json", "--kubeconfig"])
        .arg(kubeconfig)
        // A hang guard far above any deadline the tests set; a killed process fails the test.
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap()
}

/// Every real report must match the published schema.
fn validate_schema(report: &Value) {
    if let Err(e) = support::validate_json_schema("docs/check-schema.json", &report.to_string()) {
        panic!("report does not match docs/check-schema.json: {e}\n{report:#}");
    }
}

/// Every check with this id (per-pod checks repeat it).
fn all<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["checks"].as_array().unwrap().iter())
        .filter(|c| c["id"] == id)
        .collect()
}

fn one<'a>(report: &'a Value, id: &str) -> &'a Value {
    let found = all(report, id);
    assert_eq!(found.len(), 1, "expected one {id} in {report:#}");
    found[0]
}

fn result(report: &Value, id: &str) -> String {
    one(report, id)["result"].as_str().unwrap().to_string()
}

/// The checks that are not ok, for failure messages.
fn problems(report: &Value) -> Vec<String> {
    report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["checks"].as_array().unwrap().iter())
        .filter(|c| c["result"] != "ok")
        .map(|c| {
            format!(
                "{} [{}] {}: {}",
                c["result"], c["id"], c["description"], c["message"]
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// pre-install

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_passes_on_an_empty_cluster() {
    let cluster = TestCluster::start().await;
    let (code, report) = check(&cluster, &["--pre"]).await;
    assert_eq!(code, 0, "{:#?}", problems(&report));
    assert_eq!(report["success"], true);
    for id in [
        "kubernetes-api.kubeconfig",
        "kubernetes-api.reachable",
        "kubernetes-api.version",
        "pre-install.namespace",
        "pre-install.permissions",
        "pre-install.other-mesh",
    ] {
        assert_eq!(result(&report, id), "ok", "{id}: {report:#}");
    }
    let names: Vec<&str> = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kubernetes-api", "pre-install"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_names_the_denied_permission() {
    let cluster = TestCluster::start().await;
    cluster.set_access_rules(vec![AccessRule::deny(
        "create",
        "clusterrolebindings.rbac.authorization.k8s.io",
    )]);
    let (code, report) = check(&cluster, &["--pre"]).await;
    assert_eq!(code, 1);
    let permissions = one(&report, "pre-install.permissions");
    assert_eq!(permissions["result"], "error");
    let message = permissions["message"].as_str().unwrap();
    assert_eq!(
        message,
        "missing permission: create clusterrolebindings.rbac.authorization.k8s.io (cluster-wide)"
    );
    assert!(permissions["hint"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_flags_a_used_namespace_and_another_mesh() {
    let cluster = TestCluster::start().await;
    cluster
        .apply_yaml(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {MESH_NS}}}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: leftover, namespace: {MESH_NS}}}\ndata: {{a: b}}\n---\n\
             apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n\
             metadata: {{name: istio-sidecar-injector}}\nwebhooks: []\n"
        ))
        .await
        .unwrap();
    let (code, report) = check(&cluster, &["--pre"]).await;
    assert_eq!(code, 1);
    let namespace = one(&report, "pre-install.namespace");
    assert_eq!(namespace["result"], "error");
    assert!(
        namespace["message"]
            .as_str()
            .unwrap()
            .contains("configmap/leftover"),
        "{namespace}"
    );
    let other = one(&report, "pre-install.other-mesh");
    assert_eq!(other["result"], "warning");
    assert!(
        other["message"]
            .as_str()
            .unwrap()
            .contains("istio-sidecar-injector (Istio)")
    );
}

// ---------------------------------------------------------------------------------------------
// A control plane: the objects install creates, and a real TLS webhook behind the injector pod.

/// A CA and a serving certificate for the webhook Service, valid for `days` more days.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki(days: i64) -> Pki {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = |secs: i64| rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(secs as u64);
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.not_before = at(now as i64 - 86400);
    ca_params.not_after = at(now as i64 + 3650 * 86400);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![SERVICE_DNS.to_string()]).unwrap();
    params.not_before = at(now as i64 - 86400 * 2);
    params.not_after = at(now as i64 + days * 86400);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
    .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// A webhook on loopback: HTTPS, answers AdmissionReviews with `allowed` and a patch.
async fn start_webhook(server: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let answer = json!({
                            "apiVersion": "admission.k8s.io/v1",
                            "kind": "AdmissionReview",
                            "response": {
                                "uid": review["request"]["uid"],
                                "allowed": true,
                                "patchType": "JSONPatch",
                                "patch": "W10="
                            }
                        });
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(answer.to_string()),
                        )))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// What `meshctl install` renders (default profile), with the caBundle the injector would patch
/// in at start-up already set to `ca_pem`.
fn control_plane_yaml(ca_pem: Option<&str>) -> String {
    let sources = meshctl::render::values::ValueSources {
        profile: "default".to_string(),
        ..Default::default()
    };
    let (_, values) = meshctl::render::values::resolve(&sources).unwrap();
    let components = meshctl::render::render(&values, MESH_NS).unwrap();
    let mut documents = Vec::new();
    for mut object in components.into_iter().flat_map(|c| c.objects) {
        if let Some(ca_pem) = ca_pem
            && object["kind"] == "MutatingWebhookConfiguration"
        {
            let ca_bundle =
                serde_json::to_value(k8s_openapi::ByteString(ca_pem.as_bytes().to_vec())).unwrap();
            for webhook in object["webhooks"].as_array_mut().unwrap() {
                webhook["clientConfig"]["caBundle"] = ca_bundle.clone();
            }
        }
        documents.push(object.to_string());
    }
    documents.join("\n---\n")
}

/// The names of the pods in a namespace once there are `count`.
async fn pods_in(cluster: &TestCluster, namespace: &str, count: usize) -> Vec<String> {
    for _ in 0..500 {
        let pods = cluster.list("v1", "Pod", Some(namespace));
        if pods.len() >= count {
            return pods
                .iter()
                .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {count} pods appeared in {namespace}");
}

/// Installs the control plane with a webhook whose certificate has `days` left; returns the
/// injector pod's name.
async fn install(cluster: &TestCluster, days: i64) -> String {
    let pki = pki(days);
    let addr = start_webhook(pki.server.clone()).await;
    cluster
        .apply_yaml(&control_plane_yaml(Some(&pki.ca_pem)))
        .await
        .unwrap();
    let pod = pods_in(cluster, MESH_NS, 1).await.remove(0);
    cluster.register_port_forward(MESH_NS, &pod, 8443, addr);
    settled(cluster, &pod).await;
    pod
}

/// Waits until the harness's controllers report the injector pod ready and the Deployment
/// available, so checks run without --wait see a settled control plane.
async fn settled(cluster: &TestCluster, pod: &str) {
    let ready = cluster
        .wait_for("v1", "Pod", MESH_NS, pod, Duration::from_secs(30), |p| {
            p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .await;
    assert!(ready.is_some(), "injector pod {pod} never became ready");
    let available = cluster
        .wait_for(
            "apps/v1",
            "Deployment",
            MESH_NS,
            "meshctl-injector",
            Duration::from_secs(30),
            |d| {
                d["status"]["availableReplicas"].as_i64() == Some(1)
                    && d["status"]["updatedReplicas"].as_i64() == Some(1)
            },
        )
        .await;
    assert!(
        available.is_some(),
        "the injector deployment never became available"
    );
}

const CONTROL_PLANE_IDS: &[&str] = &[
    "control-plane.namespace",
    "control-plane.config",
    "control-plane.version",
    "control-plane.injector-rollout",
    "control-plane.injector-pods",
    "control-plane.webhook-config",
    "control-plane.webhook-certificate",
    "control-plane.webhook-admission",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_with_ready_pods_passes() {
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    let (code, report) = check(&cluster, &["--wait", "20s"]).await;
    assert_eq!(code, 0, "{:#?}", problems(&report));
    for id in CONTROL_PLANE_IDS {
        assert_eq!(result(&report, id), "ok", "{id}: {report:#}");
    }
    let cert = one(&report, "control-plane.webhook-certificate");
    assert!(
        cert["message"].as_str().unwrap().contains(SERVICE_DNS),
        "{cert}"
    );
}

/// The real `meshctl webhook`, run against the test cluster: it makes its CA, patches the caBundle
/// and serves on loopback. Killed on drop.
struct RealWebhook {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for RealWebhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_real_webhook(kubeconfig: &std::path::Path) -> RealWebhook {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("meshctl"))
        .args([
            "webhook",
            "--listen",
            "127.0.0.1:0",
            "--mesh-namespace",
            MESH_NS,
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let addr = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("meshctl webhook exited before serving: {seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.split("https://").nth(1) {
            break rest
                .split('/')
                .next()
                .unwrap()
                .parse::<SocketAddr>()
                .unwrap();
        }
    };
    // Keep draining stderr so the webhook never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while stderr.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    RealWebhook { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_webhook_from_a_fresh_install_passes_every_check() {
    let cluster = TestCluster::start().await;
    cluster.apply_yaml(&control_plane_yaml(None)).await.unwrap();
    let pod = pods_in(&cluster, MESH_NS, 1).await.remove(0);
    let kubeconfig = cluster.kubeconfig_path().to_path_buf();
    let webhook = tokio::task::spawn_blocking(move || start_real_webhook(&kubeconfig))
        .await
        .unwrap();
    cluster.register_port_forward(MESH_NS, &pod, 8443, webhook.addr);

    // The webhook patches the caBundle shortly after it starts: --wait covers that.
    let (code, report) = check(&cluster, &["--wait", "30s"]).await;
    assert_eq!(code, 0, "{:#?}", problems(&report));
    for id in CONTROL_PLANE_IDS {
        assert_eq!(result(&report, id), "ok", "{id}: {report:#}");
    }
    assert_eq!(
        one(&report, "control-plane.webhook-admission")["message"],
        "allowed a sample pod with a patch"
    );
    drop(webhook);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_expiring_soon_warns_and_fail_on_warning_fails() {
    let cluster = TestCluster::start().await;
    install(&cluster, 10).await;
    let (code, report) = check(&cluster, &["--wait", "20s"]).await;
    assert_eq!(code, 0, "{:#?}", problems(&report));
    let cert = one(&report, "control-plane.webhook-certificate");
    assert_eq!(cert["result"], "warning", "{cert}");
    assert!(cert["message"].as_str().unwrap().contains("within 30 days"));
    let (code, report) = check(&cluster, &["--fail-on-warning"]).await;
    assert_eq!(code, 1);
    assert_eq!(report["success"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_bundle_from_another_ca_is_an_error() {
    let cluster = TestCluster::start().await;
    let served = pki(365);
    let other = pki(365);
    let addr = start_webhook(served.server.clone()).await;
    cluster
        .apply_yaml(&control_plane_yaml(Some(&other.ca_pem)))
        .await
        .unwrap();
    let pod = pods_in(&cluster, MESH_NS, 1).await.remove(0);
    cluster.register_port_forward(MESH_NS, &pod, 8443, addr);
    settled(&cluster, &pod).await;
    let (code, report) = check(&cluster, &[]).await;
    assert_eq!(code, 1);
    let cert = one(&report, "control-plane.webhook-certificate");
    assert_eq!(cert["result"], "error");
    assert!(
        cert["message"]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{cert}"
    );
    assert_eq!(
        result(&report, "control-plane.webhook-admission"),
        "skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unready_pods_fail_then_pass_under_wait_once_ready() {
    let cluster = TestCluster::start().await;
    let pod = install(&cluster, 365).await;
    cluster.set_pod_ready(MESH_NS, &pod, false);

    let (code, report) = check(&cluster, &[]).await;
    assert_eq!(code, 1);
    let pods = one(&report, "control-plane.injector-pods");
    assert_eq!(pods["result"], "error");
    assert!(pods["message"].as_str().unwrap().contains(&pod), "{pods}");
    assert_eq!(
        result(&report, "control-plane.webhook-certificate"),
        "skipped"
    );

    // Under --wait, make the pod ready only once the check has seen it unready.
    cluster.clear_request_log();
    let kubeconfig = cluster.kubeconfig_path().to_path_buf();
    let waiting = tokio::task::spawn_blocking(move || {
        run_check(&kubeconfig, &["--wait".to_string(), "60s".to_string()])
    });
    let mut seen = false;
    for _ in 0..3000 {
        seen = cluster
            .request_log()
            .iter()
            .any(|r| r.method == "GET" && r.path == format!("/api/v1/namespaces/{MESH_NS}/pods"));
        if seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "the check never listed the injector pods");
    cluster.set_pod_ready(MESH_NS, &pod, true);
    let output = waiting.await.unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{:#?}", problems(&report));
    assert_eq!(result(&report, "control-plane.injector-pods"), "ok");
    let pod_lists = cluster
        .request_log()
        .iter()
        .filter(|r| r.method == "GET" && r.path == format!("/api/v1/namespaces/{MESH_NS}/pods"))
        .count();
    assert!(
        pod_lists >= 2,
        "the pods check was retried ({pod_lists} lists)"
    );
}

// ---------------------------------------------------------------------------------------------
// API faults

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_clear_errors() {
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    cluster.inject_fault(Fault::new(FaultKind::Status(500)).resource("configmaps"));
    let (code, report) = check(&cluster, &[]).await;
    assert_eq!(code, 1);
    let config = one(&report, "control-plane.config");
    assert_eq!(config["result"], "error");
    assert!(
        config["message"].as_str().unwrap().contains("500"),
        "{config}"
    );
    assert_eq!(result(&report, "control-plane.version"), "skipped");
    // Unrelated checks still ran.
    assert_eq!(result(&report, "control-plane.injector-pods"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_and_throttled_answers_are_errors() {
    let cluster = TestCluster::start().await;
    cluster.inject_fault(Fault::new(FaultKind::Status(503)).resource("namespaces"));
    cluster.inject_fault(
        Fault::new(FaultKind::RetryAfter(1)).resource("mutatingwebhookconfigurations"),
    );
    let (code, report) = check(&cluster, &["--timeout", "5s"]).await;
    assert_eq!(code, 1);
    let namespace = one(&report, "control-plane.namespace");
    assert_eq!(namespace["result"], "error");
    assert!(
        namespace["message"].as_str().unwrap().contains("503"),
        "{namespace}"
    );
    let webhook = one(&report, "control-plane.webhook-config");
    assert_eq!(webhook["result"], "error");
    assert!(
        webhook["message"].as_str().unwrap().contains("429"),
        "{webhook}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_pass_under_wait() {
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    cluster.inject_fault(
        Fault::new(FaultKind::Status(503))
            .resource("configmaps")
            .times(2),
    );
    let (code, report) = check(&cluster, &["--wait", "30s"]).await;
    assert_eq!(code, 0, "{:#?}", problems(&report));
    assert_eq!(result(&report, "control-plane.config"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_api_call_times_out_without_hanging_the_command() {
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    cluster.inject_fault(
        Fault::new(FaultKind::Delay(Duration::from_secs(600))).resource("deployments"),
    );
    let (code, report) = check(&cluster, &["--timeout", "2s"]).await;
    assert_eq!(code, 1);
    let rollout = one(&report, "control-plane.injector-rollout");
    assert_eq!(rollout["result"], "error");
    assert!(
        rollout["message"].as_str().unwrap().contains("timed out"),
        "{rollout}"
    );
    // Under --wait the same hang ends at the wait deadline.
    let (code, report) = check(&cluster, &["--wait", "3s"]).await;
    assert_eq!(code, 1);
    assert_eq!(result(&report, "control-plane.injector-rollout"), "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_clear_errors() {
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    cluster.inject_fault(Fault::new(FaultKind::Drop).resource("services"));
    let (code, report) = check(&cluster, &["--timeout", "5s"]).await;
    assert_eq!(code, 1);
    let cert = one(&report, "control-plane.webhook-certificate");
    assert_eq!(cert["result"], "error");
    let message = cert["message"].as_str().unwrap();
    assert!(
        message.contains("service meshctl-system/meshctl-injector"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// data plane: meshed pods whose port-forwards lead to real Envoys

struct Envoy {
    child: std::process::Child,
    admin: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real Envoy with only its admin, on an ephemeral loopback port; waits until it is LIVE.
async fn start_envoy(binary: &std::path::Path, base_id: u32) -> Envoy {
    let dir = tempfile::tempdir().unwrap();
    let address_file = dir.path().join("admin-address");
    let child = std::process::Command::new(binary)
        .args([
            "--config-yaml",
            "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}",
            "--disable-hot-restart",
            "--base-id",
            &base_id.to_string(),
            "-l",
            "error",
            "--admin-address-path",
        ])
        .arg(&address_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start envoy");
    let mut envoy = Envoy {
        child,
        admin: "127.0.0.1:1".parse().unwrap(),
        _dir: dir,
    };
    for _ in 0..1500 {
        if let Ok(text) = std::fs::read_to_string(&address_file)
            && let Ok(addr) = text.trim().parse()
        {
            envoy.admin = addr;
            if admin_call(addr, "GET", "/ready")
                .await
                .is_some_and(|(s, _)| s == 200)
            {
                return envoy;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("envoy did not come up");
}

async fn admin_call(addr: SocketAddr, method: &str, path: &str) -> Option<(u16, String)> {
    let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .ok()?;
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

fn meshed_pod_yaml(namespace: &str, name: &str) -> String {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace,
            "annotations": {"meshctl.io/status": json!({"version": meshctl::VERSION, "initContainers": ["meshctl-init", "meshctl-proxy"]}).to_string()}
        },
        "spec": {
            "initContainers": [
                {"name": "meshctl-init", "image": meshctl::config::meshctl_image(), "args": ["proxy-init"]},
                {"name": "meshctl-proxy", "image": "envoyproxy/envoy:v1.40.0", "restartPolicy": "Always"}
            ],
            "containers": [{"name": "app", "image": "nginx:1.27"}]
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_checks_reach_real_envoys_and_catch_a_draining_one() {
    let Some(binary) = support::envoy() else {
        return;
    };
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    let live = start_envoy(&binary, 41).await;
    let draining = start_envoy(&binary, 42).await;
    let (status, body) = admin_call(draining.admin, "POST", "/healthcheck/fail")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    cluster
        .apply_yaml(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop, labels: {{meshctl.io/inject: enabled}}}}\n---\n{}\n---\n{}\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {{name: bare, namespace: shop}}\nspec: {{containers: [{{name: app, image: nginx:1.27}}]}}\n",
            meshed_pod_yaml("shop", "web-live"),
            meshed_pod_yaml("shop", "web-draining"),
        ))
        .await
        .unwrap();
    pods_in(&cluster, "shop", 3).await;
    cluster.register_port_forward("shop", "web-live", 15000, live.admin);
    cluster.register_port_forward("shop", "web-draining", 15000, draining.admin);

    let (code, report) = check(&cluster, &["--proxy", "-n", "shop", "--wait", "5s"]).await;
    assert_eq!(code, 1, "{:#?}", problems(&report));
    assert_eq!(result(&report, "data-plane.meshed-pods"), "ok");
    assert!(
        one(&report, "data-plane.meshed-pods")["message"]
            .as_str()
            .unwrap()
            .starts_with("2 meshed pods")
    );

    let by_pod = |id: &str, pod: &str| -> Value {
        all(&report, id)
            .into_iter()
            .find(|c| {
                c["description"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("shop/{pod}:"))
            })
            .unwrap_or_else(|| panic!("no {id} for {pod} in {report:#}"))
            .clone()
    };
    for id in [
        "data-plane.sidecar-ready",
        "data-plane.admin-reachable",
        "data-plane.proxy-version",
        "data-plane.injected-version",
    ] {
        for pod in ["web-live", "web-draining"] {
            assert_eq!(by_pod(id, pod)["result"], "ok", "{id} {pod}: {report:#}");
        }
    }
    assert_eq!(by_pod("data-plane.proxy-live", "web-live")["result"], "ok");
    let drained = by_pod("data-plane.proxy-live", "web-draining");
    assert_eq!(drained["result"], "error");
    assert_eq!(drained["message"], "/ready is DRAINING (HTTP 503)");
    assert!(
        drained["hint"]
            .as_str()
            .unwrap()
            .contains("kubectl -n shop logs web-draining -c meshctl-proxy")
    );

    let coverage = one(&report, "data-plane.injection-coverage");
    assert_eq!(coverage["result"], "warning");
    assert!(
        coverage["message"].as_str().unwrap().contains("shop/bare"),
        "{coverage}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unready_sidecar_fails_and_skips_its_admin_checks() {
    let cluster = TestCluster::start().await;
    install(&cluster, 365).await;
    cluster
        .apply_yaml(
            &json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "classic", "namespace": "default",
                    "annotations": {"meshctl.io/status": json!({"version": meshctl::VERSION}).to_string()}},
                "spec": {"containers": [
                    {"name": "app", "image": "nginx:1.27"},
                    {"name": "meshctl-proxy", "image": "envoyproxy/envoy:v1.40.0"}
                ]}
            })
            .to_string(),
        )
        .await
        .unwrap();
    pods_in(&cluster, "default", 1).await;
    cluster.set_pod_ready("default", "classic", false);

    // Every namespace: no -n.
    let (code, report) = check(&cluster, &["--proxy"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        one(&report, "data-plane.meshed-pods")["message"],
        "1 meshed pod in any namespace"
    );
    let sidecar = one(&report, "data-plane.sidecar-ready");
    assert_eq!(sidecar["result"], "error");
    assert_eq!(sidecar["description"], "default/classic: sidecar ready");
    assert!(
        sidecar["message"]
            .as_str()
            .unwrap()
            .contains("meshctl-proxy not ready"),
        "{sidecar}"
    );
    assert_eq!(result(&report, "data-plane.admin-reachable"), "skipped");
    assert_eq!(result(&report, "data-plane.proxy-live"), "skipped");
    assert_eq!(result(&report, "data-plane.proxy-version"), "skipped");
    assert_eq!(result(&report, "data-plane.injected-version"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_accepts_an_existing_but_empty_mesh_namespace() {
    let cluster = TestCluster::start().await;
    cluster
        .apply_yaml(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {MESH_NS}}}\n"
        ))
        .await
        .unwrap();
    let (code, report) = check(&cluster, &["--pre"]).await;
    assert_eq!(code, 0, "{:#?}", problems(&report));
    assert_eq!(
        one(&report, "pre-install.namespace")["message"],
        format!("{MESH_NS} exists and is empty")
    );
}
