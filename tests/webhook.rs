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
    assert!(response.get("warnings").is_none(), "{response}");
    // A base64 JSON patch that applies to the pod and adds the proxy and its init container.
    assert_eq!(response["patchType"], "JSONPatch");
    let pod = apply_patch(web_pod(), response);
    let init: Vec<&str> = pod["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        init,
        [
            meshctl::config::INIT_CONTAINER,
            meshctl::config::PROXY_CONTAINER
        ]
    );
    assert_eq!(pod["spec"]["containers"][0]["name"], "web");
    running.stop.send(()).unwrap();
    running.task.await.unwrap();
}

fn apply_patch(mut pod: Value, response: &Value) -> Value {
    let bytes = admission::base64_decode(response["patch"].as_str().expect("a patch")).unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
    json_patch::patch(&mut pod, &patch).unwrap();
    pod
}

#[tokio::test]
async fn a_refused_pod_is_allowed_unpatched_with_a_warning() {
    let running = start().await;
    let mut pod = web_pod();
    pod["spec"]["hostNetwork"] = json!(true);
    let (status, body) = running
        .client
        .send("POST", "/inject", review_body(pod, false))
        .await;
    assert_eq!(status, 200);
    let review: Value = serde_json::from_slice(&body).unwrap();
    let response = &review["response"];
    assert_eq!(response["allowed"], true);
    assert!(response.get("patch").is_none() && response.get("patchType").is_none());
    let warning = response["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("without a sidecar") && warning.contains("hostNetwork"),
        "{warning}"
    );
    running.stop.send(()).unwrap();
    running.task.await.unwrap();
}

/// The pod the ReplicaSet controller would create from a Deployment's template.
fn pod_from_deployment(deployment: &Value, namespace: &str) -> Value {
    let name = deployment["metadata"]["name"].as_str().unwrap();
    let template = &deployment["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["pod-template-hash"] = json!("5d4f8c7b9");
    let mut metadata = json!({
        "generateName": format!("{name}-5d4f8c7b9-"),
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{name}-5d4f8c7b9"),
            "uid": "0b0e7a4c-1111-4222-8333-944455556666", "controller": true,
            "blockOwnerDeletion": true
        }]
    });
    if let Some(annotations) = template["metadata"].get("annotations") {
        metadata["annotations"] = annotations.clone();
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]})
}

/// Issue 4: `meshctl inject` and the webhook are one engine, so a Deployment injected by the CLI
/// and a pod of that Deployment injected at admission get the same pod spec and annotations.
#[tokio::test]
async fn cli_inject_and_webhook_give_the_same_pod() {
    let running = start().await;
    // MESHCTL_CORPUS overrides the location (worktrees that are not beside ../shared).
    let corpus = std::env::var_os("MESHCTL_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(support::corpus_dir);
    if !corpus.is_dir() {
        support::skip_or_fail(&format!("corpus not found at {}", corpus.display()));
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    files.sort();
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let Ok(docs) = serde_saphyr::from_multiple::<Option<Value>>(&text) else {
            continue;
        };
        for deployment in docs.into_iter().flatten() {
            if deployment["kind"] != "Deployment" {
                continue;
            }
            let namespace = deployment["metadata"]["namespace"]
                .as_str()
                .unwrap_or("shop")
                .to_string();
            let input = dir.path().join("deployment.json");
            std::fs::write(&input, deployment.to_string()).unwrap();
            let cli = Command::cargo_bin("meshctl")
                .unwrap()
                .args(["inject", "-o", "json", "-n", &namespace])
                .arg(&input)
                .output()
                .unwrap();
            let pod = pod_from_deployment(&deployment, &namespace);
            let (status, body) = running
                .client
                .send("POST", "/inject", review_body(pod.clone(), false))
                .await;
            assert_eq!(status, 200);
            let review: Value = serde_json::from_slice(&body).unwrap();
            let response = &review["response"];
            let what = format!("{} {}", file.display(), deployment["metadata"]["name"]);
            if !cli.status.success() {
                // Refused by the engine (e.g. hostNetwork): the webhook admits it unpatched.
                assert!(response.get("patch").is_none(), "{what}");
                assert!(response.get("warnings").is_some(), "{what}");
                continue;
            }
            let injected: Value = serde_json::from_slice(&cli.stdout)
                .unwrap_or_else(|e| panic!("{what}: CLI output is not JSON: {e}"));
            let cli_template = &injected["spec"]["template"];
            // Skipped by both (no patch, CLI output untouched) compares equal too.
            let webhook_pod = if response.get("patch").is_some() {
                apply_patch(pod, response)
            } else {
                pod
            };
            assert_eq!(
                webhook_pod["spec"], cli_template["spec"],
                "{what}: pod specs differ"
            );
            assert_eq!(
                webhook_pod["metadata"]["annotations"], cli_template["metadata"]["annotations"],
                "{what}: annotations differ"
            );
            compared += 1;
        }
    }
    assert!(compared >= 5, "only {compared} deployments compared");
    eprintln!("compared {compared} deployments");
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

    let child = Command::cargo_bin("meshctl")
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
    let mut child = ChildGuard(Some(child));
    let mut stderr = BufReader::new(child.child().stderr.take().unwrap());
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

    let status = child.terminate();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {line}{rest}");
    assert!(rest.contains("stopped"), "{rest}");
}

/// Kills the child if the test fails before stopping it (no stray webhook processes).
struct ChildGuard(Option<std::process::Child>);

impl ChildGuard {
    fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().unwrap()
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().unwrap();
        sigterm(child.id());
        child.wait().unwrap()
    }
}

/// SIGTERM without a libc binding: `kill(1)` where installed, else Python (which the test
/// prerequisites install anyway).
fn sigterm(pid: u32) {
    let pid = pid.to_string();
    let status = match Command::new("kill").args(["-TERM", &pid]).status() {
        Ok(status) => status,
        Err(_) => Command::new("python3")
            .args([
                "-c",
                "import os, signal, sys; os.kill(int(sys.argv[1]), signal.SIGTERM)",
                &pid,
            ])
            .status()
            .expect("neither kill nor python3 to send SIGTERM"),
    };
    assert!(status.success(), "could not send SIGTERM to {pid}");
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---- Self-signed mode against a fake API server: the calls made, and that RBAC allows them ----

mod fake_api {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use serde_json::{Value, json};

    #[derive(Default)]
    pub struct Cluster {
        pub secret: Option<Value>,
        pub webhook_config: Value,
        /// `verb resource/name` for every request, in order.
        pub calls: Vec<String>,
        /// Simulates another replica creating the CA Secret between our get and create.
        pub lose_create_race_with: Option<Value>,
    }

    pub type Shared = Arc<Mutex<Cluster>>;

    fn status(code: u16, reason: &str) -> Response {
        let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": reason, "reason": reason, "code": code});
        (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
    }

    async fn get_secret(
        State(c): State<Shared>,
        Path((_ns, name)): Path<(String, String)>,
    ) -> Response {
        let mut c = c.lock().unwrap();
        c.calls.push(format!("get secrets/{name}"));
        match &c.secret {
            Some(s) => axum::Json(s.clone()).into_response(),
            None => status(404, "NotFound"),
        }
    }

    async fn create_secret(
        State(c): State<Shared>,
        Path(_ns): Path<String>,
        body: Bytes,
    ) -> Response {
        let mut c = c.lock().unwrap();
        let secret: Value = serde_json::from_slice(&body).unwrap();
        c.calls.push(format!(
            "create secrets/{}",
            secret["metadata"]["name"].as_str().unwrap()
        ));
        if let Some(theirs) = c.lose_create_race_with.take() {
            c.secret = Some(theirs);
            return status(409, "AlreadyExists");
        }
        if c.secret.is_some() {
            return status(409, "AlreadyExists");
        }
        c.secret = Some(secret.clone());
        (StatusCode::CREATED, axum::Json(secret)).into_response()
    }

    async fn get_config(State(c): State<Shared>, Path(name): Path<String>) -> Response {
        let mut c = c.lock().unwrap();
        c.calls
            .push(format!("get mutatingwebhookconfigurations/{name}"));
        if c.webhook_config["metadata"]["name"] == name.as_str() {
            axum::Json(c.webhook_config.clone()).into_response()
        } else {
            status(404, "NotFound")
        }
    }

    async fn patch_config(
        State(c): State<Shared>,
        Path(name): Path<String>,
        body: Bytes,
    ) -> Response {
        let mut c = c.lock().unwrap();
        c.calls
            .push(format!("patch mutatingwebhookconfigurations/{name}"));
        let patch: json_patch::Patch = serde_json::from_slice(&body).unwrap();
        let mut updated = c.webhook_config.clone();
        if json_patch::patch(&mut updated, &patch).is_err() {
            return status(422, "Invalid");
        }
        c.webhook_config = updated.clone();
        axum::Json(updated).into_response()
    }

    /// Serves on loopback; returns the URL.
    pub async fn start(cluster: Shared) -> String {
        let app = Router::new()
            .route("/api/v1/namespaces/{ns}/secrets/{name}", get(get_secret))
            .route(
                "/api/v1/namespaces/{ns}/secrets",
                axum::routing::post(create_secret),
            )
            .route(
                "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}",
                get(get_config).patch(patch_config),
            )
            .with_state(cluster);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }
}

fn rendered_default() -> Vec<Value> {
    let (_, values) = meshctl::render::values::resolve(&meshctl::render::ValueSources {
        profile: "default".into(),
        ..Default::default()
    })
    .unwrap();
    meshctl::render::render(&values, "meshctl-system")
        .unwrap()
        .into_iter()
        .flat_map(|c| c.objects)
        .collect()
}

/// Whether the rendered Role/ClusterRole allow `verb` on `resource/name`.
fn rbac_allows(objects: &[Value], verb: &str, resource: &str, name: &str) -> bool {
    objects
        .iter()
        .filter(|o| o["kind"] == "Role" || o["kind"] == "ClusterRole")
        .flat_map(|o| o["rules"].as_array().unwrap().iter())
        .any(|rule| {
            let has = |field: &str, value: &str| {
                rule[field]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == value))
            };
            // `create` cannot be limited by name in RBAC, so such a rule has no resourceNames.
            let name_ok = rule.get("resourceNames").is_none() || has("resourceNames", name);
            has("verbs", verb) && has("resources", resource) && name_ok
        })
}

async fn fake_cluster(race: bool) -> (fake_api::Shared, kube::Client, Vec<Value>, String) {
    provider();
    let objects = rendered_default();
    let config = objects
        .iter()
        .find(|o| o["kind"] == "MutatingWebhookConfiguration")
        .unwrap()
        .clone();
    let shared = Arc::new(std::sync::Mutex::new(fake_api::Cluster {
        webhook_config: config,
        ..Default::default()
    }));
    if race {
        let theirs = tls::generate_ca().unwrap();
        shared.lock().unwrap().lose_create_race_with = Some(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "meshctl-injector-ca", "namespace": "meshctl-system"},
            "data": {"ca.crt": admission::base64(theirs.cert_pem.as_bytes()),
                     "ca.key": admission::base64(theirs.key_pem.as_bytes())}
        }));
    }
    let url = fake_api::start(shared.clone()).await;
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    (shared, client, objects, url)
}

#[tokio::test]
async fn self_signed_mode_makes_only_the_calls_rbac_allows() {
    use meshctl::webhook::cabundle;
    let (shared, client, objects, _) = fake_cluster(false).await;
    let ns = "meshctl-system";
    let ca = cabundle::load_or_create_ca(&client, ns).await.unwrap();
    // A second replica reads the same CA.
    assert_eq!(cabundle::load_or_create_ca(&client, ns).await.unwrap(), ca);
    let name = "meshctl-injector";
    assert!(
        cabundle::patch_ca_bundle(&client, name, name, ns, &ca.cert_pem)
            .await
            .unwrap()
    );
    // Idempotent: the second check finds the bundle in place and does not patch.
    assert!(
        !cabundle::patch_ca_bundle(&client, name, name, ns, &ca.cert_pem)
            .await
            .unwrap()
    );

    let cluster = shared.lock().unwrap();
    let bundle = cluster.webhook_config["webhooks"][0]["clientConfig"]["caBundle"]
        .as_str()
        .unwrap();
    assert_eq!(
        admission::base64_decode(bundle).unwrap(),
        ca.cert_pem.as_bytes()
    );
    assert_eq!(
        cluster.calls,
        [
            "get secrets/meshctl-injector-ca",
            "create secrets/meshctl-injector-ca",
            "get secrets/meshctl-injector-ca",
            "get mutatingwebhookconfigurations/meshctl-injector",
            "patch mutatingwebhookconfigurations/meshctl-injector",
            "get mutatingwebhookconfigurations/meshctl-injector",
        ]
    );
    for call in &cluster.calls {
        let (verb, target) = call.split_once(' ').unwrap();
        let (resource, object) = target.split_once('/').unwrap();
        assert!(
            rbac_allows(&objects, verb, resource, object),
            "rendered RBAC does not allow {call}"
        );
    }
}

#[tokio::test]
async fn replicas_racing_to_create_the_ca_end_up_sharing_one() {
    use meshctl::webhook::cabundle;
    let (shared, client, _, _) = fake_cluster(true).await;
    let ca = cabundle::load_or_create_ca(&client, "meshctl-system")
        .await
        .unwrap();
    let cluster = shared.lock().unwrap();
    let stored = cluster.secret.as_ref().unwrap();
    let stored_cert = admission::base64_decode(stored["data"]["ca.crt"].as_str().unwrap()).unwrap();
    assert_eq!(
        ca.cert_pem.as_bytes(),
        stored_cert,
        "must use the winner's CA"
    );
    assert_eq!(
        cluster.calls,
        [
            "get secrets/meshctl-injector-ca",
            "create secrets/meshctl-injector-ca",
            "get secrets/meshctl-injector-ca",
        ]
    );
}

#[tokio::test]
async fn a_missing_webhook_configuration_is_a_clear_error() {
    use meshctl::webhook::cabundle;
    let (_, client, _, _) = fake_cluster(false).await;
    let ca = tls::generate_ca().unwrap();
    let err = cabundle::patch_ca_bundle(
        &client,
        "other",
        "meshctl-injector",
        "meshctl-system",
        &ca.cert_pem,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("other") && err.contains("get"), "{err}");
}

/// The binary in self-signed mode, end to end against the fake API server through a real
/// kubeconfig: it creates the CA Secret, serves with a certificate from that CA, and sets the
/// caBundle so that a client trusting exactly that bundle (as the API server does) gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_in_self_signed_mode_sets_up_its_own_trust() {
    let (shared, _, _, url) = fake_cluster(false).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             users:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    \
             cluster: fake\n    user: nobody\ncurrent-context: fake\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("mesh.yaml");
    std::fs::write(&config, MeshConfig::default().to_yaml()).unwrap();

    let child = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["webhook", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(Some(child));
    // stderr lines, read on a thread (the child is a plain process).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stderr = child.child().stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut addr = None;
    let mut bundle_set = false;
    let mut seen = Vec::new();
    // Read until it serves and reports the caBundle set (each step is a line on stderr).
    while let Ok(Some(line)) =
        tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv()).await
    {
        if let Some(rest) = line.split("https://").nth(1) {
            addr = rest.split('/').next().map(|a| a.parse().unwrap());
        }
        bundle_set |= line.contains("caBundle of meshctl-injector set");
        seen.push(line);
        if addr.is_some() && bundle_set {
            break;
        }
    }
    let addr: std::net::SocketAddr = addr.unwrap_or_else(|| panic!("never served: {seen:?}"));
    assert!(bundle_set, "caBundle never set: {seen:?}");

    let bundle = {
        let cluster = shared.lock().unwrap();
        let b64 = cluster.webhook_config["webhooks"][0]["clientConfig"]["caBundle"]
            .as_str()
            .unwrap()
            .to_string();
        String::from_utf8(admission::base64_decode(&b64).unwrap()).unwrap()
    };
    // The API server connects to meshctl-injector.meshctl-system.svc; here the client connects
    // to the loopback address and presents that name.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bundle.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls_config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("meshctl-injector.meshctl-system.svc").unwrap();
    TlsConnector::from(Arc::new(tls_config))
        .connect(name, tcp)
        .await
        .expect("the caBundle must trust the webhook's certificate for its Service name");

    let status = tokio::task::spawn_blocking(move || child.terminate())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "{seen:?}");
}

// ---- End to end with the loopback API server (crates/testcluster) ----

/// Starts `meshctl webhook` in self-signed mode against `kubeconfig`; returns the guard, the
/// address it serves on, and every stderr line seen until the caBundle was set.
async fn start_self_signed_webhook(
    kubeconfig: &std::path::Path,
    config: &std::path::Path,
) -> (ChildGuard, std::net::SocketAddr, Vec<String>) {
    let child = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["webhook", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(kubeconfig)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(Some(child));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stderr = child.child().stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut addr = None;
    let mut bundle_set = false;
    let mut seen = Vec::new();
    while let Ok(Some(line)) =
        tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv()).await
    {
        if let Some(rest) = line.split("https://").nth(1) {
            addr = rest.split('/').next().map(|a| a.parse().unwrap());
        }
        bundle_set |= line.contains("caBundle of meshctl-injector set");
        seen.push(line);
        if addr.is_some() && bundle_set {
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("never served: {seen:?}"));
    assert!(bundle_set, "caBundle never set: {seen:?}");
    (child, addr, seen)
}

/// install --apply into the loopback API server, the real webhook binary provisioning its trust
/// through that API server (CA Secret, caBundle patch under the rendered configuration), and the
/// API server's own admission client calling it as kube-apiserver would: TLS verified against
/// the caBundle for the Service name, selectors evaluated, the JSON patch applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_webhook_injects_pods_called_by_the_api_server() {
    use testcluster::admission::{
        AdmissionContext, AdmissionInput, CallOutcome, GroupVersionResource, run_mutating_webhooks,
    };
    provider();
    let cluster = testcluster::TestCluster::start().await;
    let kubeconfig = cluster.kubeconfig_path().to_path_buf();
    let install = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["install", "--apply", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    // The injector reads the mesh config the install stored.
    let config_map = cluster
        .get("v1", "ConfigMap", "meshctl-system", "meshctl-config")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mesh.yaml");
    std::fs::write(&config, config_map["data"]["mesh.yaml"].as_str().unwrap()).unwrap();

    let (webhook, addr, _) = start_self_signed_webhook(&kubeconfig, &config).await;
    assert!(
        cluster
            .get("v1", "Secret", "meshctl-system", "meshctl-injector-ca")
            .is_some(),
        "the shared CA Secret must exist"
    );
    let webhook_config = cluster
        .get(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "",
            "meshctl-injector",
        )
        .unwrap();
    assert!(webhook_config["webhooks"][0]["clientConfig"]["caBundle"].is_string());
    // A re-apply keeps the caBundle the injector set (another field manager owns it).
    let again = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["install", "--apply", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert!(again.status.success());
    let after = cluster
        .get(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "",
            "meshctl-injector",
        )
        .unwrap();
    assert_eq!(
        after["webhooks"][0]["clientConfig"]["caBundle"],
        webhook_config["webhooks"][0]["clientConfig"]["caBundle"]
    );

    let namespaces: std::collections::HashMap<&str, Value> = [
        ("shop", json!({"meshctl.io/inject": "enabled", "kubernetes.io/metadata.name": "shop"})),
        ("plain", json!({"kubernetes.io/metadata.name": "plain"})),
        ("kube-system", json!({"meshctl.io/inject": "enabled", "kubernetes.io/metadata.name": "kube-system"})),
    ]
    .into_iter()
    .map(|(name, labels)| {
        (name, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}))
    })
    .collect();
    let ctx = AdmissionContext::new()
        .with_namespaces(move |name| namespaces.get(name).cloned())
        .with_service_resolver(move |ns, name, port| {
            (ns == "meshctl-system" && name == "meshctl-injector" && port == 443).then_some(addr)
        });
    let configs = vec![after];
    let pods = GroupVersionResource::new("", "v1", "pods");

    let injected = run_mutating_webhooks(
        &ctx,
        &configs,
        AdmissionInput::create(pods.clone(), "shop", web_pod()),
    )
    .await
    .expect("admission must succeed");
    let init: Vec<&str> = injected["spec"]["initContainers"]
        .as_array()
        .expect("injected init containers")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(init, ["meshctl-init", "meshctl-proxy"]);
    let calls = ctx.log().calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].outcome, CallOutcome::Allowed { patched: true });

    // Not labelled, kube-system, and opted-out pods never reach the injector.
    let mut disabled = web_pod();
    disabled["metadata"]["labels"]["meshctl.io/inject"] = json!("disabled");
    for (namespace, pod) in [
        ("plain", web_pod()),
        ("kube-system", web_pod()),
        ("shop", disabled.clone()),
    ] {
        ctx.log().clear();
        let admitted = run_mutating_webhooks(
            &ctx,
            &configs,
            AdmissionInput::create(pods.clone(), namespace, pod.clone()),
        )
        .await
        .unwrap();
        assert_eq!(admitted, pod, "{namespace}: must be untouched");
        assert!(
            ctx.log().calls().is_empty(),
            "{namespace}: webhook was called"
        );
    }

    // failurePolicy Ignore: with the injector gone, pods are admitted unpatched.
    let stopped = tokio::task::spawn_blocking(move || webhook.terminate())
        .await
        .unwrap();
    assert_eq!(stopped.code(), Some(0));
    ctx.log().clear();
    let admitted = run_mutating_webhooks(
        &ctx,
        &configs,
        AdmissionInput::create(pods, "shop", web_pod()),
    )
    .await
    .unwrap();
    assert_eq!(admitted, web_pod());
    assert!(matches!(
        ctx.log().calls()[0].outcome,
        CallOutcome::Failed { ignored: true, .. }
    ));
}
