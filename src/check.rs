//! `meshctl check`: health checks for CI gates. A pure core (the report model, a runner with
//! prerequisites, timeouts and retries, the renderers) and the checks themselves, which talk to the
//! cluster through a shared [`Context`].

pub mod admin;
pub mod certs;
pub mod cluster;
pub mod control_plane;
pub mod data_plane;
pub mod model;
pub mod pre_install;
pub mod render;
pub mod runner;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::MeshConfig;
use crate::kube::{Cluster, ClusterOptions};
use model::Report;
use runner::{CheckDef, Progress, RunnerOptions};

/// Which checks to run and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub cluster: ClusterOptions,
    pub mesh_namespace: String,
    /// `--pre`: pre-install checks instead of the control plane's.
    pub pre: bool,
    /// `--proxy`: data-plane checks too.
    pub proxy: bool,
    /// `-n` for the data-plane checks; `None` means every namespace.
    pub namespace: Option<String>,
    /// `--wait`: retry retryable checks until this long from the start.
    pub wait: Option<Duration>,
    /// `--timeout`: longest single attempt, and the deadline without `--wait`.
    pub timeout: Duration,
    pub fail_on_warning: bool,
    /// Pause between retries under `--wait`.
    pub retry_interval: Duration,
}

/// What checks learn and later checks use. Each slot is filled once, by the check that owns it;
/// a dependent check only runs after that check passed, so it finds the slot filled.
pub struct Context {
    pub options: CheckOptions,
    pub cluster: OnceLock<Cluster>,
    pub mesh_config: OnceLock<MeshConfig>,
    pub webhook: OnceLock<control_plane::WebhookTarget>,
}

impl Context {
    pub fn new(options: CheckOptions) -> Self {
        Context {
            options,
            cluster: OnceLock::new(),
            mesh_config: OnceLock::new(),
            webhook: OnceLock::new(),
        }
    }

    /// The client; present once `kubernetes-api.kubeconfig` passed.
    pub fn client(&self) -> Result<kube::Client, String> {
        self.cluster
            .get()
            .map(|c| c.client.clone())
            .ok_or_else(|| "internal error: no Kubernetes client".to_string())
    }
}

pub type Check = CheckDef<Context>;
pub type Verdict = runner::Verdict<Context>;

/// Category names, in report order.
pub const KUBERNETES_API: &str = "kubernetes-api";
pub const PRE_INSTALL: &str = "pre-install";
pub const CONTROL_PLANE: &str = "control-plane";
pub const DATA_PLANE: &str = "data-plane";

/// The checks the options ask for.
pub fn checks(options: &CheckOptions) -> Vec<Check> {
    let mut checks = cluster::checks();
    if options.pre {
        checks.extend(pre_install::checks());
    } else {
        checks.extend(control_plane::checks(&options.mesh_namespace));
    }
    if options.proxy {
        checks.extend(data_plane::checks());
    }
    checks
}

/// Runs the checks and builds the report. Never runs past the deadline plus a margin.
pub async fn run(options: CheckOptions, progress: Option<Progress>) -> Report {
    let start = Instant::now();
    let runner_options = RunnerOptions {
        attempt_timeout: options.timeout,
        retry: options.wait.is_some(),
        retry_interval: options.retry_interval,
        deadline: start + options.wait.unwrap_or(options.timeout),
        margin: Duration::from_secs(2),
        concurrency: 16,
    };
    let defs = checks(&options);
    let fail_on_warning = options.fail_on_warning;
    let context = Arc::new(Context::new(options));
    let categories = runner::run(context, defs, &runner_options, progress).await;
    Report::new(categories, fail_on_warning)
}

pub use crate::kube::{describe_kube_error, error_chain};

/// Whether the API said the object does not exist.
pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}
