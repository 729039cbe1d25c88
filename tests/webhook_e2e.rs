//! The injector webhook end to end: the real `meshctl webhook` binary against the loopback API
//! server, installed by `meshctl install --apply`. The webhook provisions its own certificate and
//! patches the MutatingWebhookConfiguration's caBundle through the API; pods created through the
//! API come back injected (or untouched when opted out); the CLI gives the same pod spec.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{Value, json};
use testcluster::TestCluster;

const MESH_NS: &str = "meshctl-system";

/// The webhook process; killed (by its own pid) when the test ends, pass or fail.
struct Webhook {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Webhook {
    fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn meshctl(cluster: &TestCluster, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshctl"))
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(args)
        .output()
        .unwrap()
}

async fn client(cluster: &TestCluster) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig_path()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// Installs the control plane (failurePolicy Fail, so a webhook that cannot answer shows up as
/// an error instead of a silently uninjected pod), starts the webhook binary, registers it as the
/// injector Service and waits until it has set its caBundle and listens.
async fn installed_with_webhook(cluster: &TestCluster) -> Webhook {
    let install = meshctl(
        cluster,
        &["install", "--apply", "--set", "webhook.failurePolicy=Fail"],
    );
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let config = cluster
        .get(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "",
            "meshctl-injector",
        )
        .unwrap();
    assert!(
        config["webhooks"][0]["clientConfig"]
            .get("caBundle")
            .is_none(),
        "install must not ship a caBundle (the webhook provisions it)"
    );

    let addr = free_port();
    cluster.register_service(MESH_NS, "meshctl-injector", 443, addr);
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshctl"))
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["webhook", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let webhook = Webhook {
        child,
        addr,
        stderr,
    };

    let patched = cluster
        .wait_for(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "",
            "meshctl-injector",
            Duration::from_secs(60),
            |o| {
                o["webhooks"][0]["clientConfig"]["caBundle"]
                    .as_str()
                    .is_some_and(|ca| !ca.is_empty())
            },
        )
        .await;
    assert!(
        patched.is_some(),
        "the webhook never set its caBundle:\n{}",
        webhook.logs()
    );
    let ca_secret = cluster.get("v1", "Secret", MESH_NS, "meshctl-injector-ca");
    assert!(ca_secret.is_some(), "the CA is shared through a Secret");
    let mut listening = false;
    for _ in 0..300 {
        if TcpStream::connect(webhook.addr).is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listening, "the webhook never listened:\n{}", webhook.logs());
    webhook
}

async fn namespace(client: &Client, name: &str, labels: Value) {
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

fn app_pod(name: &str, ns: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"},
                     "annotations": annotations},
        "spec": {"containers": [{
            "name": "web",
            "image": "nginx:1.27",
            "ports": [{"name": "http", "containerPort": 8080}],
        }]}
    })
}

async fn create(client: &Client, pod: &Value) -> Pod {
    let ns = pod["metadata"]["namespace"].as_str().unwrap();
    let pod: Pod = serde_json::from_value(pod.clone()).unwrap();
    Api::<Pod>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &pod)
        .await
        .unwrap()
}

fn container_names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_in_a_labelled_namespace_come_back_injected_and_opt_outs_stay_untouched() {
    let cluster = TestCluster::start().await;
    let webhook = installed_with_webhook(&cluster).await;
    let client = client(&cluster).await;
    namespace(&client, "shop", json!({"meshctl.io/inject": "enabled"})).await;
    namespace(&client, "plain", json!({})).await;

    create(&client, &app_pod("web", "shop", json!({}))).await;
    let stored = cluster.get("v1", "Pod", "shop", "web").unwrap();
    assert_eq!(
        container_names(&stored, "initContainers"),
        ["meshctl-init", "meshctl-proxy"],
        "not injected; webhook log:\n{}",
        webhook.logs()
    );
    assert_eq!(container_names(&stored, "containers"), ["web"]);
    assert_eq!(
        stored["spec"]["initContainers"][1]["restartPolicy"], "Always",
        "native sidecar by default"
    );
    let status: Value = serde_json::from_str(
        stored["metadata"]["annotations"]["meshctl.io/status"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        stored["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"],
        "web"
    );

    // Opted out by annotation: the webhook is asked and leaves the pod alone.
    let opted_out = app_pod(
        "opted-out",
        "shop",
        json!({"meshctl.io/inject": "disabled"}),
    );
    create(&client, &opted_out).await;
    let stored = cluster.get("v1", "Pod", "shop", "opted-out").unwrap();
    assert!(container_names(&stored, "initContainers").is_empty());
    assert_eq!(container_names(&stored, "containers"), ["web"]);
    assert!(
        stored["metadata"]["annotations"]
            .get("meshctl.io/status")
            .is_none()
    );

    // A namespace without the label is never sent to the webhook.
    create(&client, &app_pod("web", "plain", json!({}))).await;
    let stored = cluster.get("v1", "Pod", "plain", "web").unwrap();
    assert!(container_names(&stored, "initContainers").is_empty());
    assert_eq!(container_names(&stored, "containers"), ["web"]);

    // Pods a controller creates go through the webhook too.
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "api", "image": "nginx:1.27"}]}}}
    });
    cluster
        .apply_yaml(&serde_json::to_string(&deployment).unwrap())
        .await
        .unwrap();
    let mut injected = false;
    for _ in 0..300 {
        let pods = cluster.list("v1", "Pod", Some("shop"));
        if let Some(pod) = pods
            .iter()
            .find(|p| p["metadata"]["labels"]["app"] == "api")
        {
            injected = container_names(pod, "initContainers").contains(&"meshctl-proxy".into());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        injected,
        "the Deployment's pod was not injected:\n{}",
        webhook.logs()
    );

    // What the webhook injected is what `version --proxy` counts, and what blocks uninstall.
    let version = meshctl(&cluster, &["version", "--proxy", "-o", "json"]);
    assert!(version.status.success());
    let report: Value = serde_json::from_slice(&version.stdout).unwrap();
    assert_eq!(
        report["proxies"],
        json!([{"version": env!("CARGO_PKG_VERSION"), "image": "envoyproxy/envoy:v1.40.0",
                "pods": 2}])
    );
    let uninstall = meshctl(&cluster, &["uninstall", "--apply"]);
    assert_eq!(uninstall.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&uninstall.stderr).contains("shop/web"));
}

/// The spec without its node and the container fields the server defaults. A real API server defaults again
/// after mutating admission; the loopback one defaults only before it, so the webhook's added
/// containers lack these there while the CLI's (created already injected) have them.
fn without_late_defaults(spec: &Value) -> Value {
    let mut spec = spec.clone();
    // Scheduling, not injection: set whenever the scheduler gets to the pod.
    spec.as_object_mut().unwrap().remove("nodeName");
    for list in ["containers", "initContainers"] {
        for container in spec[list].as_array_mut().into_iter().flatten() {
            let fields = container.as_object_mut().unwrap();
            fields.remove("terminationMessagePath");
            fields.remove("terminationMessagePolicy");
        }
    }
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_inject_gives_the_same_pod_spec_as_the_webhook() {
    let cluster = TestCluster::start().await;
    let webhook = installed_with_webhook(&cluster).await;
    let client = client(&cluster).await;
    namespace(&client, "shop", json!({"meshctl.io/inject": "enabled"})).await;
    namespace(&client, "plain", json!({})).await;

    let manifest = app_pod(
        "web",
        "shop",
        json!({"config.meshctl.io/proxy-log-level": "debug"}),
    );
    create(&client, &manifest).await;
    let by_webhook = cluster.get("v1", "Pod", "shop", "web").unwrap();
    assert!(
        container_names(&by_webhook, "initContainers").contains(&"meshctl-proxy".into()),
        "{}",
        webhook.logs()
    );

    // The CLI, offline, with the mesh config the cluster holds.
    let dir = tempfile::tempdir().unwrap();
    let config_map = cluster
        .get("v1", "ConfigMap", MESH_NS, "meshctl-config")
        .unwrap();
    let config_path = dir.path().join("mesh-config.json");
    std::fs::write(&config_path, serde_json::to_string(&config_map).unwrap()).unwrap();
    let manifest_path = dir.path().join("pod.json");
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meshctl"))
        .args(["inject", "-o", "json", "--config"])
        .arg(&config_path)
        .arg(&manifest_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut by_cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(container_names(&by_cli, "initContainers").contains(&"meshctl-proxy".into()));

    // Stored in a namespace the webhook ignores, the CLI's pod gets the same server defaults.
    by_cli["metadata"]["namespace"] = json!("plain");
    create(&client, &by_cli).await;
    let cli_stored = cluster.get("v1", "Pod", "plain", "web").unwrap();
    let (cli_spec, webhook_spec) = (
        without_late_defaults(&cli_stored["spec"]),
        without_late_defaults(&by_webhook["spec"]),
    );
    assert!(
        cli_spec == webhook_spec,
        "CLI and webhook injected different pod specs\nCLI:\n{}\nwebhook:\n{}",
        serde_json::to_string_pretty(&cli_spec).unwrap(),
        serde_json::to_string_pretty(&webhook_spec).unwrap()
    );
    assert_eq!(
        cli_stored["metadata"]["annotations"],
        by_webhook["metadata"]["annotations"]
    );
    // The annotation override reached the proxy in both.
    assert!(
        serde_json::to_string(&by_webhook["spec"])
            .unwrap()
            .contains("debug")
    );
}
