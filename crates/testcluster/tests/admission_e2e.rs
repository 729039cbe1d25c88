//! Mutating admission through the whole server: a MutatingWebhookConfiguration stored via the
//! API, a real HTTPS webhook registered as its service, pods from clients and from controllers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{Value, json};
use testcluster::TestCluster;

/// An HTTPS webhook for `injector.mesh-system.svc` that adds a label and records requests.
async fn webhook() -> (SocketAddr, String, Arc<Mutex<Vec<Value>>>) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["injector.mesh-system.svc".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_server = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen_by_server.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let review: Value = serde_json::from_slice(&body).unwrap();
                            seen.lock().unwrap().push(review["request"].clone());
                            let has_labels =
                                review["request"]["object"]["metadata"]["labels"].is_object();
                            let patch = if has_labels {
                                json!([{"op": "add", "path": "/metadata/labels/injected", "value": "true"}])
                            } else {
                                json!([{"op": "add", "path": "/metadata/labels", "value": {"injected": "true"}}])
                            };
                            let answer = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                            "response": {"uid": review["request"]["uid"], "allowed": true,
                                         "warnings": ["sidecar injected by the test webhook"],
                                         "patchType": "JSONPatch", "patch": BASE64.encode(patch.to_string())}});
                            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(
                                answer.to_string(),
                            ))))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, BASE64.encode(ca.pem()), seen)
}

fn configuration(ca_bundle: &str, failure_policy: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {{name: mesh-injector}}
webhooks:
- name: inject.mesh.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: {failure_policy}
  clientConfig:
    caBundle: {ca_bundle}
    service: {{name: injector, namespace: mesh-system, path: /inject, port: 443}}
  namespaceSelector:
    matchLabels: {{mesh-injection: enabled}}
  rules:
  - {{operations: [CREATE], apiGroups: [\"\"], apiVersions: [v1], resources: [pods]}}
"
    )
}

/// kubectl from $MESHCTL_KUBECTL or the usual venvs; under CI a missing kubectl fails.
fn kubectl_bin() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("MESHCTL_KUBECTL")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(["/work/venv/bin/kubectl", "../../.venv/bin/kubectl"].map(std::path::PathBuf::from))
        .find(|p| p.exists());
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    if found.is_none() {
        assert!(
            !ci,
            "prerequisite missing under CI: kubectl (set MESHCTL_KUBECTL)"
        );
        eprintln!("SKIPPED (kubectl part): kubectl not found");
    }
    found
}

async fn client(cluster: &TestCluster) -> Client {
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig_path()).unwrap();
    Client::try_from(
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn pods_from_clients_and_controllers_are_mutated() {
    let cluster = TestCluster::start().await;
    let (addr, ca_bundle, seen) = webhook().await;
    cluster.register_service("mesh-system", "injector", 443, addr);
    cluster
        .apply_yaml(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop, labels: {{mesh-injection: enabled}}}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: plain}}\n---\n{}",
            configuration(&ca_bundle, "Fail")
        ))
        .await
        .unwrap();
    let client = client(&cluster).await;

    // A pod created through the API in a selected namespace is patched...
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "direct"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}}))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    assert_eq!(
        created
            .metadata
            .labels
            .unwrap()
            .get("injected")
            .map(String::as_str),
        Some("true")
    );
    // ...one in another namespace is not.
    let plain: Api<Pod> = Api::namespaced(client.clone(), "plain");
    let created = plain.create(&PostParams::default(), &pod).await.unwrap();
    assert!(
        created
            .metadata
            .labels
            .is_none_or(|l| !l.contains_key("injected"))
    );

    // Pods a ReplicaSet creates go through the webhook too, before their name is generated.
    cluster
        .apply_yaml(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n\
             \x20 selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n\
             \x20   spec: {containers: [{name: web, image: nginx:1.27}]}\n",
        )
        .await
        .unwrap();
    let mutated = async {
        loop {
            let list = pods
                .list(&ListParams::default().labels("app=web,injected=true"))
                .await
                .unwrap();
            if list.items.len() == 2 {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let list = tokio::time::timeout(Duration::from_secs(20), mutated)
        .await
        .unwrap();
    assert!(
        list.items
            .iter()
            .all(|p| p.metadata.name.as_deref().unwrap().starts_with("web-"))
    );
    let reviews = seen.lock().unwrap().clone();
    let from_rs: Vec<&Value> = reviews
        .iter()
        .filter(|r| r["object"]["metadata"]["generateName"].is_string())
        .collect();
    assert_eq!(from_rs.len(), 2, "{reviews:#?}");
    assert!(
        from_rs
            .iter()
            .all(|r| r["name"].as_str().unwrap_or_default().is_empty() && r["namespace"] == "shop")
    );
    assert_eq!(cluster.admission_calls().len(), 3);
    assert_eq!(
        cluster.admission_calls()[0].warnings,
        ["sidecar injected by the test webhook"]
    );

    // Webhook warnings reach the client as Warning headers, which kubectl prints.
    if let Some(kubectl) = kubectl_bin() {
        // Off the test's thread: the webhook server runs on this runtime and must keep serving.
        let kubeconfig = cluster.kubeconfig_path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(kubectl)
                .args(["run", "warned", "-n", "shop", "--image=app:1"])
                .env("KUBECACHEDIR", kubeconfig.with_file_name("kube-cache"))
                .env("KUBECONFIG", kubeconfig)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains("Warning: sidecar injected by the test webhook"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn failing_webhook_blocks_pods_and_records_failed_create() {
    let cluster = TestCluster::start().await;
    // The service is never registered: every call fails, and failurePolicy is Fail.
    cluster
        .apply_yaml(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop, labels: {{mesh-injection: enabled}}}}\n---\n{}---\n\
             apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: web, namespace: shop}}\nspec:\n  replicas: 1\n\
             \x20 selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n\
             \x20   spec: {{containers: [{{name: web, image: nginx:1.27}}]}}\n",
            configuration("Zm9v", "Fail")
        ))
        .await
        .unwrap();
    let client = client(&cluster).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "direct"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}}))
    .unwrap();
    let err = pods.create(&PostParams::default(), &pod).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 500);
            assert!(
                s.message.contains("failed calling webhook"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let event = async {
        loop {
            let events = cluster.list("v1", "Event", Some("shop"));
            if let Some(e) = events.into_iter().find(|e| e["reason"] == "FailedCreate") {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let event = tokio::time::timeout(Duration::from_secs(20), event)
        .await
        .unwrap();
    assert_eq!(event["involvedObject"]["kind"], "ReplicaSet");
    // The controller retries (with back-off); repeats aggregate into one Event with a count.
    let repeated = async {
        loop {
            let failed: Vec<Value> = cluster
                .list("v1", "Event", Some("shop"))
                .into_iter()
                .filter(|e| e["reason"] == "FailedCreate")
                .collect();
            if failed.len() == 1 && failed[0]["count"].as_i64().unwrap_or(0) >= 2 {
                return;
            }
            assert_eq!(failed.len(), 1, "{failed:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), repeated)
        .await
        .unwrap();
    assert!(cluster.list("v1", "Pod", Some("shop")).is_empty());
}
