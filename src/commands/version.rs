//! `meshctl version`: client version, and (unless `--client`) the control plane's (the
//! `meshctl-config` ConfigMap's `version` and the injector Deployment's image tag) and, with
//! `--proxy`, how many pods run each proxy version.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::{Api, Client, ResourceExt};
use serde::Serialize;

use crate::cli::{GlobalArgs, VersionArgs};
use crate::config::{
    CONFIG_MAP_KEY, CONFIG_MAP_NAME, MeshConfig, PROXY_CONTAINER, STATUS_ANNOTATION,
};
use crate::exit::Outcome;
use crate::kube::describe_kube_error;
use crate::kube::{ClusterOptions, connect};
use crate::output::{note, parse_format, write_stdout};
use crate::render::names;

#[derive(Debug, Clone, Copy)]
enum Format {
    Text,
    Json,
}

/// `meshctl version -o json` (schema documented in docs/install.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionReport {
    client: ClientVersion,
    /// Absent with `--client`; null when the control plane is not installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    control_plane: Option<Option<ControlPlaneVersion>>,
    /// Only with `--proxy`: one entry per (meshctl version, proxy image), most pods first.
    #[serde(skip_serializing_if = "Option::is_none")]
    proxies: Option<Vec<ProxyVersion>>,
    /// Why the cluster could not be asked (the command then exits 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientVersion {
    version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneVersion {
    pub namespace: String,
    /// The `version` field of the mesh config; None when the ConfigMap is missing.
    pub version: Option<String>,
    /// The injector Deployment's image and its tag; None when the Deployment is missing.
    pub injector_image: Option<String>,
    pub injector_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyVersion {
    /// The meshctl version that injected the pod (its `meshctl.io/status` annotation).
    pub version: String,
    /// The `meshctl-proxy` container's image.
    pub image: String,
    pub pods: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ClusterUnreachable(String);

pub async fn run(global: &GlobalArgs, args: &VersionArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(
        global.output.as_deref(),
        Format::Text,
        &[("text", Format::Text), ("json", Format::Json)],
    )?;
    let mut report = VersionReport {
        client: ClientVersion {
            version: crate::VERSION,
        },
        control_plane: None,
        proxies: None,
        error: None,
    };
    if !args.client {
        match ask_cluster(global, args.proxy).await {
            Ok((control_plane, proxies)) => {
                report.control_plane = Some(control_plane);
                report.proxies = proxies;
            }
            Err(err) => report.error = Some(err.to_string()),
        }
    }
    let text = match format {
        Format::Text => to_text(&report),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    write_stdout(text.as_bytes())?;
    if let Some(error) = &report.error {
        note(format!("error: cannot read the server versions: {error}"));
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

async fn ask_cluster(
    global: &GlobalArgs,
    count_proxies: bool,
) -> Result<(Option<ControlPlaneVersion>, Option<Vec<ProxyVersion>>), ClusterUnreachable> {
    let cluster = connect(&ClusterOptions::from_global(global))
        .await
        .map_err(|e| ClusterUnreachable(e.to_string()))?;
    let control_plane = control_plane(&cluster.client, &global.mesh_namespace).await?;
    let proxies = if count_proxies {
        let pods: Api<Pod> = Api::all(cluster.client.clone());
        let list = pods
            .list(&Default::default())
            .await
            .map_err(|e| ClusterUnreachable(format!("list pods: {}", describe_kube_error(&e))))?;
        Some(proxy_versions(&list.items))
    } else {
        None
    };
    Ok((control_plane, proxies))
}

async fn control_plane(
    client: &Client,
    namespace: &str,
) -> Result<Option<ControlPlaneVersion>, ClusterUnreachable> {
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let source = format!("configmap {namespace}/{CONFIG_MAP_NAME}");
    let map = maps
        .get_opt(CONFIG_MAP_NAME)
        .await
        .map_err(|e| ClusterUnreachable(format!("get {source}: {}", describe_kube_error(&e))))?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployment = deployments.get_opt(names::INJECTOR).await.map_err(|e| {
        ClusterUnreachable(format!(
            "get deployment {namespace}/{}: {}",
            names::INJECTOR,
            describe_kube_error(&e)
        ))
    })?;
    if map.is_none() && deployment.is_none() {
        return Ok(None);
    }
    let version = match map
        .as_ref()
        .and_then(|m| m.data.as_ref())
        .and_then(|d| d.get(CONFIG_MAP_KEY))
    {
        Some(text) => Some(
            MeshConfig::from_yaml(&source, text)
                .map_err(|e| ClusterUnreachable(e.to_string()))?
                .version,
        ),
        None => None,
    };
    let injector_image = deployment.as_ref().and_then(injector_image);
    Ok(Some(ControlPlaneVersion {
        namespace: namespace.to_string(),
        version,
        injector_version: injector_image.as_deref().and_then(image_tag),
        injector_image,
    }))
}

/// The injector container's image (the container running `meshctl`, else the first).
fn injector_image(deployment: &Deployment) -> Option<String> {
    let containers = &deployment.spec.as_ref()?.template.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == names::INJECTOR || c.name == "webhook")
        .or(containers.first())
        .and_then(|c| c.image.clone())
}

/// `registry:5000/repo/name:v1.2@sha256:...` → `v1.2`; None without a tag.
pub fn image_tag(image: &str) -> Option<String> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let name_start = without_digest.rfind('/').map_or(0, |i| i + 1);
    without_digest[name_start..]
        .split_once(':')
        .map(|(_, tag)| tag.to_string())
        .filter(|tag| !tag.is_empty())
}

/// Counts pods per (meshctl version, proxy image). Only pods carrying the meshctl proxy count;
/// an unreadable status annotation counts as version `unknown` rather than hiding the pod.
pub fn proxy_versions(pods: &[Pod]) -> Vec<ProxyVersion> {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pod in pods {
        let proxy = pod.spec.as_ref().and_then(|spec| {
            spec.containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .find(|c| c.name == PROXY_CONTAINER)
        });
        let status = pod.annotations().get(STATUS_ANNOTATION);
        if proxy.is_none() && status.is_none() {
            continue;
        }
        let version = status
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .and_then(|v| {
                v.get("version")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".to_string());
        let image = proxy
            .and_then(|c| c.image.clone())
            .unwrap_or_else(|| "unknown".to_string());
        *counts.entry((version, image)).or_default() += 1;
    }
    let mut versions: Vec<ProxyVersion> = counts
        .into_iter()
        .map(|((version, image), pods)| ProxyVersion {
            version,
            image,
            pods,
        })
        .collect();
    versions.sort_by_key(|p| std::cmp::Reverse(p.pods));
    versions
}

fn to_text(report: &VersionReport) -> String {
    let mut out = format!("Client version: {}\n", report.client.version);
    match &report.control_plane {
        None => {}
        Some(None) => out.push_str("Control plane: not installed\n"),
        Some(Some(cp)) => {
            out.push_str(&format!(
                "Control plane version: {} (namespace {})\n",
                cp.version
                    .as_deref()
                    .unwrap_or("unknown (no meshctl-config)"),
                cp.namespace
            ));
            match &cp.injector_image {
                Some(image) => out.push_str(&format!("Injector image: {image}\n")),
                None => out.push_str("Injector image: none (no injector Deployment)\n"),
            }
        }
    }
    if let Some(proxies) = &report.proxies {
        if proxies.is_empty() {
            out.push_str("Proxies: none\n");
        } else {
            out.push_str("Proxies:\n");
            for p in proxies {
                let noun = if p.pods == 1 { "pod" } else { "pods" };
                out.push_str(&format!(
                    "  {} ({}): {} {noun}\n",
                    p.version, p.image, p.pods
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_tags() {
        assert_eq!(
            image_tag("ghcr.io/meshctl/meshctl:v0.1.0").as_deref(),
            Some("v0.1.0")
        );
        assert_eq!(
            image_tag("registry:5000/meshctl@sha256:abc").as_deref(),
            None
        );
        assert_eq!(
            image_tag("registry:5000/m:v2@sha256:abc").as_deref(),
            Some("v2")
        );
        assert_eq!(image_tag("envoy").as_deref(), None);
    }

    fn pod(status: Option<&str>, proxy_image: Option<&str>, native: bool) -> Pod {
        let mut containers = vec![json!({"name": "app", "image": "nginx"})];
        let mut init = vec![];
        if let Some(image) = proxy_image {
            let proxy = json!({"name": PROXY_CONTAINER, "image": image});
            if native {
                init.push(proxy)
            } else {
                containers.push(proxy)
            }
        }
        let mut metadata = json!({"name": "p"});
        if let Some(status) = status {
            metadata["annotations"] = json!({ STATUS_ANNOTATION: status });
        }
        serde_json::from_value(json!({"metadata": metadata,
            "spec": {"containers": containers, "initContainers": init}}))
        .unwrap()
    }

    #[test]
    fn proxy_versions_count_per_version_and_image() {
        let pods = vec![
            pod(Some(r#"{"version":"0.1.0"}"#), Some("envoy:v1.40.0"), true),
            pod(Some(r#"{"version":"0.1.0"}"#), Some("envoy:v1.40.0"), false),
            pod(Some(r#"{"version":"0.0.9"}"#), Some("envoy:v1.39.0"), true),
            pod(Some("not json"), Some("envoy:v1.40.0"), true),
            pod(None, None, false),
        ];
        assert_eq!(
            proxy_versions(&pods),
            vec![
                ProxyVersion {
                    version: "0.1.0".into(),
                    image: "envoy:v1.40.0".into(),
                    pods: 2
                },
                ProxyVersion {
                    version: "0.0.9".into(),
                    image: "envoy:v1.39.0".into(),
                    pods: 1
                },
                ProxyVersion {
                    version: "unknown".into(),
                    image: "envoy:v1.40.0".into(),
                    pods: 1
                },
            ]
        );
    }
}
