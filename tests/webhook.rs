//! The injector webhook over real TLS on loopback: a generated CA and serving certificate, a
//! real AdmissionReview, the response's shape; health endpoints; graceful shutdown, in process
//! and through the binary (SIGTERM).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use assert_cmd::cargo::CommandCargoExt;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use meshctl::config::MeshConfig;
use meshctl::inject::InjectOptions;
use meshctl::webhook::{admission, server, tls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

const UID: &str = "9d5c1f0e-5a7e-4a5e-8f7a-2f1d3c4b5a6e";

fn provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn options() -> InjectOptions {
    InjectOptions {
        config: MeshConfig::default(),
        native_sidecar: true,
        mesh_namespace: "meshctl-system".into(),
        overrides: Default::default(),
    }
}

fn review_body(pod: Value, dry_run: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": UID,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": pod,
            "oldObject": null,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    }))
    .unwrap()
}

fn web_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "web-7d4b9c-", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
    })
}

/// A TLS client trusting only `ca_pem`, talking HTTP/1.1 to `addr` as `localhost`.
struct Client {
    connector: TlsConnector,
    addr: std::net::SocketAddr,
}

impl Client {
    fn new(ca_pem: &str, addr: std::net::SocketAddr) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Client {
            connector: TlsConnector::from(Arc::new(config)),
            addr,
        }
    }

    async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let stream = self
            .connector
            .connect(name, tcp)
            .await
            .expect("TLS handshake");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }
}

struct Running {
    client: Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start() -> Running {
    provider();
    let ca = tls::generate_ca().unwrap();
    let serving = tls::issue_serving_cert(&ca, &["localhost".to_string()]).unwrap();
    let config = tls::server_config(
        "test",
        serving.cert_pem.as_bytes(),
        serving.key_pem.as_bytes(),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(server::WebhookState {
        options: options(),
        ready: AtomicBool::new(false),
        log_reviews: false,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, config, state, async {
        let _ = stopped.await;
    }));
    Running {
        client: Client::new(&ca.cert_pem, addr),
        stop,
        task,
    }
}

#[tokio::test]
async fn admission_review_over_tls_gets_a_well_formed_answer() {
    let running = start().await;
    let (status, body) = running
        .client
        .send("POST", "/inject", review_body(web_pod(), false))
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let review: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    let response = &review["response"];
    assert_eq!(response["uid"], UID);
    assert_eq!(response["allowed"], true);
    if let Some(patch) = response.get("patch") {
        // The engine injected: a base64 JSON patch that applies to the pod and adds the proxy.
        assert_eq!(response["patchType"], "JSONPatch");
        let bytes = admission::base64_decode(patch.as_str().unwrap()).unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
        let mut pod = web_pod();
        json_patch::patch(&mut pod, &patch).unwrap();
        assert!(pod.to_string().contains(meshctl::config::PROXY_CONTAINER));
    } else {
        // The engine failed (e.g. not built yet): the pod is allowed unpatched with a warning.
        assert!(response.get("patchType").is_none());
        let warning = response["warnings"][0].as_str().unwrap();
        assert!(warning.contains("without a sidecar"), "{warning}");
    }
    running.stop.send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test]
async fn opted_out_pod_and_dry_run_are_allowed_without_patch() {
    let running = start().await;
    let mut pod = web_pod();
    pod["metadata"]["annotations"] = json!({"meshctl.io/inject": "disabled"});
    let (status, body) = running
        .client
        .send("POST", "/inject", review_body(pod, true))
        .await;
    assert_eq!(status, 200);
    let review: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(review["response"]["uid"], UID);
    assert_eq!(review["response"]["allowed"], true);
    assert!(review["response"].get("patch").is_none());
    assert!(review["response"].get("warnings").is_none());
    running.stop.send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test]
async fn health_endpoints_and_bad_requests() {
    let running = start().await;
    assert_eq!(running.client.send("GET", "/healthz", vec![]).await.0, 200);
    assert_eq!(running.client.send("GET", "/readyz", vec![]).await.0, 200);
    assert_eq!(
        running
            .client
            .send("POST", "/inject", b"{".to_vec())
            .await
            .0,
        400
    );
    assert_eq!(running.client.send("GET", "/inject", vec![]).await.0, 405);
    assert_eq!(running.client.send("GET", "/nope", vec![]).await.0, 404);
    running.stop.send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test]
async fn an_untrusted_client_cannot_complete_the_handshake() {
    let running = start().await;
    let other_ca = tls::generate_ca().unwrap();
    let stranger = Client::new(&other_ca.cert_pem, running.client.addr);
    let tcp = TcpStream::connect(stranger.addr).await.unwrap();
    let result = stranger
        .connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(
        result.is_err(),
        "a certificate from another CA must be rejected"
    );
    running.stop.send(()).unwrap();
    running.task.await.unwrap();
}

#[test]
fn binary_serves_with_files_and_stops_on_sigterm() {
    provider();
    let dir = tempfile::tempdir().unwrap();
    let ca = tls::generate_ca().unwrap();
    let serving = tls::issue_serving_cert(&ca, &["localhost".to_string()]).unwrap();
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    let config = dir.path().join("mesh.yaml");
    std::fs::write(&cert, &serving.cert_pem).unwrap();
    std::fs::write(&key, &serving.key_pem).unwrap();
    std::fs::write(&config, MeshConfig::default().to_yaml()).unwrap();

    let mut child = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["webhook", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--config")
        .arg(&config)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line
        .split("https://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .parse()
        .unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(&ca.cert_pem, addr);
    let (status, body) =
        runtime.block_on(client.send("POST", "/inject", review_body(web_pod(), false)));
    assert_eq!(status, 200);
    let review: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(review["response"]["uid"], UID);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {line}{rest}");
    assert!(rest.contains("stopped"), "{rest}");
}
