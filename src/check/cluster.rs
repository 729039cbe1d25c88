//! kubernetes-api: the kubeconfig loads, the API server answers, and it is recent enough.

use std::sync::Arc;

use super::{Check, Context, KUBERNETES_API, Verdict, describe_kube_error};
use crate::kube::Cluster;

pub const KUBECONFIG: &str = "kubernetes-api.kubeconfig";
pub const REACHABLE: &str = "kubernetes-api.reachable";
pub const VERSION: &str = "kubernetes-api.version";

/// Native sidecars are GA in 1.33, and it is k8s-openapi's earliest.
pub const MIN_MINOR: u32 = 33;

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(KUBERNETES_API, KUBECONFIG, "kubeconfig loads", kubeconfig).hint(
            "check --kubeconfig, $KUBECONFIG and --context (kubectl config get-contexts)",
        ),
        Check::new(KUBERNETES_API, REACHABLE, "API server reachable", reachable)
            .requires(KUBECONFIG)
            .retryable()
            .hint("check the server address and credentials in the kubeconfig, and the network path to it"),
        Check::new(
            KUBERNETES_API,
            VERSION,
            format!("API server version is at least 1.{MIN_MINOR}"),
            version,
        )
        .requires(KUBECONFIG)
        .requires(REACHABLE)
        .hint(format!("meshctl needs Kubernetes 1.{MIN_MINOR} or newer (native sidecars)")),
    ]
}

/// Connects like `crate::kube::connect`, but without kube's own retries of 429/503/504: a check
/// must report what the API server said, and `--wait` already retries whole checks.
async fn connect(options: &crate::kube::ClusterOptions) -> Result<Cluster, String> {
    let (mut config, context) = crate::kube::config(options)
        .await
        .map_err(|e| e.to_string())?;
    config.default_retry = false;
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| crate::kube::KubeError::Client(e).to_string())?;
    Ok(Cluster {
        client,
        namespace,
        context,
        server,
    })
}

async fn kubeconfig(ctx: Arc<Context>) -> Verdict {
    match connect(&ctx.options.cluster).await {
        Ok(cluster) => {
            let message = match &cluster.context {
                Some(context) => format!("context {context} ({})", cluster.server),
                None => format!("in-cluster ({})", cluster.server),
            };
            let _ = ctx.cluster.set(cluster);
            Verdict::ok(message)
        }
        Err(err) => Verdict::error(err),
    }
}

async fn reachable(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    match client.apiserver_version().await {
        Ok(info) => Verdict::ok(format!("server {}", info.git_version)),
        Err(err) => Verdict::error(describe_kube_error(&err)),
    }
}

async fn version(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    match client.apiserver_version().await {
        Ok(info) => judge_version(&info.major, &info.minor, &info.git_version),
        Err(err) => Verdict::error(describe_kube_error(&err)),
    }
}

/// Managed clusters report minors like `33+`; only the leading digits count.
pub fn parse_number(raw: &str) -> Option<u32> {
    let digits: String = raw
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

pub fn judge_version(major: &str, minor: &str, git_version: &str) -> Verdict {
    match (parse_number(major), parse_number(minor)) {
        (Some(1), Some(minor)) if minor >= MIN_MINOR => Verdict::ok(git_version.to_string()),
        (Some(major), Some(_)) if major > 1 => Verdict::ok(git_version.to_string()),
        (Some(_), Some(_)) => Verdict::error(format!(
            "{git_version} is older than the minimum supported 1.{MIN_MINOR}"
        )),
        _ => Verdict::error(format!(
            "cannot read the server version (major {major:?}, minor {minor:?})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::CheckResult;

    #[test]
    fn versions_are_judged_by_major_and_minor() {
        assert_eq!(judge_version("1", "33", "v1.33.0").result, CheckResult::Ok);
        assert_eq!(
            judge_version("1", "37+", "v1.37.2-eks").result,
            CheckResult::Ok
        );
        assert_eq!(
            judge_version("1", "32", "v1.32.9").result,
            CheckResult::Error
        );
        assert_eq!(judge_version("", "", "?").result, CheckResult::Error);
        assert!(judge_version("1", "30", "v1.30.1").message.contains("1.33"));
    }
}
