//! The Kubernetes client: kubeconfig resolution exactly as kubectl does it (kube-rs does the
//! KUBECONFIG list merge and in-cluster config; we only choose between them), plus the helpers the
//! commands share.

pub mod apply;
pub mod portforward;

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KubeError {
    #[error("cannot read kubeconfig {path}: {source}")]
    ReadKubeconfig {
        path: String,
        source: KubeconfigError,
    },
    #[error("cannot load kubeconfig: {0}")]
    LoadKubeconfig(#[source] KubeconfigError),
    #[error("no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster: {0}")]
    NoConfig(String),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// What the global flags say about reaching the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub timeout: Option<Duration>,
}

impl ClusterOptions {
    pub fn from_global(global: &crate::cli::GlobalArgs) -> Self {
        ClusterOptions {
            kubeconfig: global.kubeconfig.clone(),
            context: global.context.clone(),
            namespace: global.namespace.clone(),
            timeout: Some(global.timeout),
        }
    }
}

/// A connected client and what was resolved on the way.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// The context used, when it came from a kubeconfig.
    pub context: Option<String>,
    pub server: String,
}

/// Resolves the client config: `--kubeconfig` if given; otherwise `$KUBECONFIG`/`~/.kube/config`
/// (merged as kubectl merges them); otherwise the in-cluster service account.
pub async fn config(opts: &ClusterOptions) -> Result<(Config, Option<String>), KubeError> {
    let kube_opts = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let kubeconfig = match &opts.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(|source| KubeError::ReadKubeconfig {
            path: path.display().to_string(),
            source,
        })?,
        None => match Kubeconfig::read() {
            Ok(kubeconfig) => kubeconfig,
            // No kubeconfig at all: running in a pod is the last place to look.
            Err(kubeconfig_err) => {
                let mut config = Config::incluster().map_err(|incluster_err| {
                    KubeError::NoConfig(format!("{kubeconfig_err}; in-cluster: {incluster_err}"))
                })?;
                config.connect_timeout = opts.timeout.or(config.connect_timeout);
                return Ok((config, None));
            }
        },
    };
    let context = kube_opts
        .context
        .clone()
        .or(kubeconfig.current_context.clone());
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &kube_opts)
        .await
        .map_err(KubeError::LoadKubeconfig)?;
    config.connect_timeout = opts.timeout.or(config.connect_timeout);
    Ok((config, context))
}

/// Connects (lazily: no request is made until the first call).
pub async fn connect(opts: &ClusterOptions) -> Result<Cluster, KubeError> {
    let (config, context) = config(opts).await?;
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(KubeError::Client)?;
    Ok(Cluster {
        client,
        namespace,
        context,
        server,
    })
}

/// A short rendering of an API error for messages: the server's own words when it sent a Status.
pub fn describe_kube_error(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", status.reason)
            };
            format!("API error {}{reason}: {}", status.code, status.message)
        }
        other => error_chain(other),
    }
}

/// An error with its causes (`client error (Connect): tcp connect error: Connection refused`),
/// since the top-level message of a transport error rarely says what happened.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
