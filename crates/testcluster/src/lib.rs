//! A loopback Kubernetes API server for end-to-end tests.
//!
//! It speaks the real wire protocol over HTTPS with a generated CA and a bearer token, so
//! `kubectl` and kube-rs clients work against it through an ordinary kubeconfig. One server per
//! test; it starts in milliseconds and runs on its own thread (so it serves while a test blocks
//! on `kubectl`).
//!
//! ```no_run
//! # async fn demo() {
//! let cluster = testcluster::TestCluster::start().await;
//! cluster.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n").await.unwrap();
//! // point kubectl/meshctl at it:
//! let kubeconfig = cluster.kubeconfig_path();
//! # let _ = kubeconfig;
//! assert!(cluster.get("v1", "Namespace", "", "demo").is_some());
//! # }
//! ```
//!
//! What it serves:
//! - `/version` (v1.36), discovery (`/api`, `/apis`, per group/version `APIResourceList`) for core,
//!   apps, batch, rbac, admissionregistration, policy, apiextensions, authorization, coordination,
//!   discovery.k8s.io and authentication.k8s.io, plus CRD-defined resources once a CRD is created.
//! - CRUD, list (label/field selectors, limit/continue), watch (resourceVersion, 410 on
//!   compacted versions, `sendInitialEvents`), `dryRun=All`, json/merge/strategic merge patch and
//!   server-side apply with managedFields and conflicts; `kind: Status` errors.
//! - Namespace finalization, owner-reference garbage collection, simplified controllers for
//!   Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs; pods become Running/Ready
//!   after [`Builder::ready_delay`].
//! - SelfSubjectAccessReview/SubjectAccessReview from [`AccessRule`]s (allow all by default;
//!   denied requests get 403), injected [`Fault`]s and a [`RequestRecord`] log.
//! - Mutating admission webhooks ([`admission`]) for every API write and every controller-made
//!   pod; `pods/portforward` ([`portforward`]) to addresses registered with
//!   [`TestCluster::register_port_forward`].
//!
//! In sync tests use [`TestCluster::start_blocking`] and [`TestCluster::apply_yaml_blocking`].
//! The user guide is `docs/testcluster.md`.

pub mod admission;
mod admit;
mod apply;
mod controllers;
mod defaults;
mod errors;
mod forward;
mod openapi;
mod patch;
pub mod portforward;
mod proto;
mod resources;
mod rules;
mod selectors;
mod server;
mod store;
mod table;
mod tls;
mod util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use errors::ApiError;
pub use rules::{AccessRule, Fault, FaultKind, RequestRecord};
pub use server::{ADMIN_USER, GIT_VERSION};

use server::{Settings, Shared};

/// Errors from starting the server or seeding it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start the test cluster: {0}")]
    Start(String),
    #[error("cannot parse YAML: {0}")]
    Yaml(String),
    #[error("document {index}: {message}")]
    Document { index: usize, message: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Configures a [`TestCluster`] before it starts.
#[derive(Debug, Clone)]
pub struct Builder {
    ready_delay: Duration,
    access_rules: Vec<AccessRule>,
    namespace: String,
    port: u16,
    kubeconfig_out: Option<PathBuf>,
    verbose: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            ready_delay: Duration::from_millis(50),
            access_rules: Vec::new(),
            namespace: "default".to_string(),
            port: 0,
            kubeconfig_out: None,
            verbose: false,
        }
    }
}

impl Builder {
    /// How long after creation pods become Running/Ready (default 50 ms).
    pub fn ready_delay(mut self, delay: Duration) -> Self {
        self.ready_delay = delay;
        self
    }

    /// Initial access rules (see [`TestCluster::set_access_rules`]).
    pub fn access_rules(mut self, rules: Vec<AccessRule>) -> Self {
        self.access_rules = rules;
        self
    }

    /// The namespace of the kubeconfig's context (default `default`).
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = ns.to_string();
        self
    }

    /// Listen on this loopback port instead of an ephemeral one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Also write the kubeconfig to this path.
    pub fn kubeconfig_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig_out = Some(path.into());
        self
    }

    /// Print every request (method, path, status) to stderr.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Starts the server (usable from sync and async code alike).
    pub fn start_blocking(self) -> Result<TestCluster, Error> {
        let certs = tls::generate().map_err(|e| Error::Start(e.to_string()))?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port))
            .map_err(|e| Error::Start(format!("bind 127.0.0.1:{}: {e}", self.port)))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::Start(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Start(e.to_string()))?;
        let base_url = format!("https://{addr}");
        let token = format!(
            "testcluster-{:016x}{:016x}",
            util::random_u64(),
            util::random_u64()
        );
        let kubeconfig = tls::kubeconfig(&base_url, &certs.ca_pem, &token, &self.namespace);
        let dir = std::env::temp_dir().join(format!(
            "testcluster-{}-{}",
            std::process::id(),
            util::name_suffix(8)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Start(format!("create {}: {e}", dir.display())))?;
        let kubeconfig_path = dir.join("kubeconfig");
        std::fs::write(&kubeconfig_path, &kubeconfig)
            .map_err(|e| Error::Start(format!("write {}: {e}", kubeconfig_path.display())))?;
        if let Some(out) = &self.kubeconfig_out {
            std::fs::write(out, &kubeconfig)
                .map_err(|e| Error::Start(format!("write {}: {e}", out.display())))?;
        }
        let settings = Settings {
            access_rules: self.access_rules,
            ready_delay: self.ready_delay,
            log_to_stderr: self.verbose,
            ..Default::default()
        };
        let shared = Shared::new(token.clone(), &certs.ca_pem, settings);
        *shared.base_url.lock().unwrap_or_else(|e| e.into_inner()) = base_url.clone();

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testcluster")
            .enable_all()
            .build()
            .map_err(|e| Error::Start(format!("tokio runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serve_shared = shared.clone();
        let tls_config = certs.server_config.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::Builder::new()
            .name("testcluster".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    tokio::spawn(controllers::run(serve_shared.clone()));
                    tokio::select! {
                        _ = serve(listener, tls_config, serve_shared) => {}
                        _ = stop_rx => {}
                    }
                });
                runtime.shutdown_background();
            })
            .map_err(|e| Error::Start(format!("spawn server thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|e| Error::Start(e.to_string()))?
            .map_err(Error::Start)?;
        Ok(TestCluster {
            shared,
            addr,
            base_url,
            kubeconfig,
            kubeconfig_path,
            dir,
            ca_pem: certs.ca_pem,
            handle,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Starts the server.
    pub async fn start(self) -> Result<TestCluster, Error> {
        self.start_blocking()
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls_stream)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req| server::handle(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls_stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// A running test API server. Dropping it stops the server and removes its kubeconfig.
pub struct TestCluster {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    kubeconfig: String,
    kubeconfig_path: PathBuf,
    dir: PathBuf,
    ca_pem: String,
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl TestCluster {
    /// Starts a server with defaults; panics if it cannot (tests only).
    pub async fn start() -> TestCluster {
        Self::start_blocking()
    }

    /// [`TestCluster::start`] for sync tests.
    pub fn start_blocking() -> TestCluster {
        match Builder::default().start_blocking() {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A kubeconfig file for this server (context `testcluster`, bearer token, CA data).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    pub fn kubeconfig_yaml(&self) -> &str {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the kubeconfig carries.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The CA certificate (PEM) that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Runs a future on the server's runtime from any context.
    fn run<F, R>(&self, fut: F) -> R
    where
        F: std::future::Future<Output = R> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv() {
            Ok(r) => r,
            Err(e) => panic!("test cluster runtime stopped: {e}"),
        }
    }

    /// Creates or replaces every document of a (multi-document) YAML string, as `kubectl apply`
    /// would, through the same path as API requests (defaults, admission, controllers).
    /// Returns the stored objects.
    pub async fn apply_yaml(&self, yaml: &str) -> Result<Vec<Value>, Error> {
        let shared = self.shared.clone();
        let yaml = yaml.to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.handle.spawn(async move {
            let _ = tx.send(apply_documents(shared, &yaml).await);
        });
        rx.await.map_err(|e| Error::Start(e.to_string()))?
    }

    /// [`TestCluster::apply_yaml`] for sync code (not from inside an async task).
    pub fn apply_yaml_blocking(&self, yaml: &str) -> Result<Vec<Value>, Error> {
        let shared = self.shared.clone();
        let yaml = yaml.to_string();
        self.run(async move { apply_documents(shared, &yaml).await })
    }

    /// An object by apiVersion, kind, namespace (`""` for cluster-scoped) and name.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.shared.read(|s| {
            let t = s.find_kind(api_version, kind)?;
            s.get(&t, namespace, name).cloned()
        })
    }

    /// All objects of a kind, in one namespace or (None) all.
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        self.shared.read(|s| {
            s.find_kind(api_version, kind)
                .map(|t| s.all(&t, namespace))
                .unwrap_or_default()
        })
    }

    /// Deletes an object directly (finalizers and controllers apply as usual).
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(), Error> {
        self.shared.write(|s| {
            let t = s
                .find_kind(api_version, kind)
                .ok_or_else(|| Error::Start(format!("unknown kind {api_version}/{kind}")))?;
            s.delete(&t, namespace, name, &store::DeleteOptions::default())?;
            Ok(())
        })
    }

    /// Fixes a pod's readiness (and phase Running); the controllers leave it alone afterwards.
    pub fn set_pod_ready(&self, namespace: &str, name: &str, ready: bool) {
        self.shared
            .settings()
            .pod_ready
            .insert((namespace.to_string(), name.to_string()), ready);
        controllers::apply_pod_readiness(&self.shared, namespace, name, ready);
    }

    /// Routes `pods/{pod}/portforward` for `port` to a loopback address.
    pub fn register_port_forward(&self, namespace: &str, pod: &str, port: u16, target: SocketAddr) {
        self.shared
            .settings()
            .port_forwards
            .entry((namespace.to_string(), pod.to_string()))
            .or_default()
            .insert(port, target);
    }

    /// Resolves webhook service references `namespace/name:port` to a loopback address.
    pub fn register_service(&self, namespace: &str, name: &str, port: u16, target: SocketAddr) {
        self.shared
            .settings()
            .services
            .insert((namespace.to_string(), name.to_string(), port), target);
    }

    /// Replaces the access rules: first matching rule decides; no match = allowed. Denied
    /// requests get 403 Forbidden and reviews answer `allowed: false`.
    pub fn set_access_rules(&self, rules: Vec<AccessRule>) {
        self.shared.settings().access_rules = rules;
    }

    /// Adds a fault; the first matching fault applies to a request.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.settings().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.settings().faults.clear();
    }

    /// Every mutating admission webhook call so far (configuration, webhook, review sent,
    /// outcome), in order.
    pub fn admission_calls(&self) -> Vec<admission::WebhookCall> {
        server::lock(&self.shared.admission_calls).clone()
    }

    /// Every request so far, in order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.log().clone()
    }

    pub fn clear_request_log(&self) {
        self.shared.log().clear();
    }

    /// Waits until an object satisfies `check` (polling the store); returns it, or None on timeout.
    pub async fn wait_for(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(o) = self.get(api_version, kind, namespace, name)
                && check(&o)
            {
                return Some(o);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server (same as dropping it).
    pub fn shutdown(self) {}
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Not joined: the thread only shuts its runtime down in the background.
        drop(self.thread.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Upserts every document (create, or replace keeping server-owned fields).
async fn apply_documents(shared: Arc<Shared>, yaml: &str) -> Result<Vec<Value>, Error> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| Error::Yaml(e.to_string()))?;
    let mut out = Vec::new();
    for (index, doc) in docs.into_iter().filter(|d| !d.is_null()).enumerate() {
        let fail = |message: String| Error::Document { index, message };
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let t = shared
            .read(|s| s.find_kind(&api_version, &kind))
            .ok_or_else(|| {
                fail(format!(
                    "no resource for apiVersion {api_version:?} kind {kind:?}"
                ))
            })?;
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ns = if t.namespaced {
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        let opts = store::WriteOptions {
            field_manager: Some("testcluster".into()),
            ..Default::default()
        };
        let existing = shared.read(|s| s.get(&t, &ns, &name).cloned());
        let stored = match existing {
            None => server::create(&shared, &t, &ns, doc, &opts).await,
            Some(old) => {
                let mut doc = doc;
                doc["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
                let r = server::update(&shared, &t, &ns, &name, doc.clone(), &opts).await;
                if r.is_ok() && t.has_status() && doc.get("status").is_some() {
                    let status_opts = store::WriteOptions {
                        subresource: Some("status".into()),
                        ..opts.clone()
                    };
                    doc["metadata"]["resourceVersion"] = Value::Null;
                    server::update(&shared, &t, &ns, &name, doc, &status_opts).await
                } else {
                    r
                }
            }
        }
        .map_err(|e| fail(e.message))?;
        out.push(stored);
    }
    Ok(out)
}
