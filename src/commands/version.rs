//! `meshctl version`: client version, and (unless `--client`) the control plane's and, with
//! `--proxy`, the proxies' in use (counted per version).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use crate::cli::{GlobalArgs, VersionArgs};
use crate::exit::Outcome;
use crate::output::{note, parse_format, write_stdout};
use crate::proxy::PROXY_CONTAINER;

#[derive(Debug, Clone, Copy)]
enum Format {
    Text,
    Json,
}

/// `version -o json` (schema in docs/diagnostics.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    pub client: ClientVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlane>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxies: Option<Vec<ProxyVersionCount>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientVersion {
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlane {
    pub namespace: String,
    /// Empty when the control plane is not installed.
    pub components: Vec<Component>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub name: String,
    pub version: String,
    pub ready_replicas: i32,
    pub replicas: i32,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProxyVersionCount {
    /// The meshctl version that injected the sidecar (`meshctl.io/status`), or `unknown`.
    pub version: String,
    /// The sidecar's image.
    pub image: String,
    pub pods: usize,
}

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
    };
    let mut outcome = Outcome::Success;
    if !args.client {
        let cluster =
            crate::kube::connect(&crate::kube::ClusterOptions::from_global(global)).await?;
        let deployments: Api<Deployment> =
            Api::namespaced(cluster.client.clone(), &global.mesh_namespace);
        match deployments
            .list(&ListParams::default().labels("app.kubernetes.io/part-of=meshctl"))
            .await
        {
            Ok(list) => {
                report.control_plane = Some(ControlPlane {
                    namespace: global.mesh_namespace.clone(),
                    components: list.items.iter().map(component).collect(),
                });
            }
            Err(e) => {
                note(format!("error: cannot read the control plane: {e}"));
                outcome = Outcome::Failure;
            }
        }
        if args.proxy {
            let pods: Api<Pod> = match &global.namespace {
                Some(ns) => Api::namespaced(cluster.client.clone(), ns),
                None => Api::all(cluster.client.clone()),
            };
            match pods.list(&ListParams::default()).await {
                Ok(list) => report.proxies = Some(count_proxies(&list.items)),
                Err(e) => {
                    note(format!("error: cannot list pods: {e}"));
                    outcome = Outcome::Failure;
                }
            }
        }
    }
    let text = match format {
        Format::Text => render_text(&report),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    write_stdout(text.as_bytes())?;
    Ok(outcome)
}

fn component(deployment: &Deployment) -> Component {
    let labels = deployment.metadata.labels.as_ref();
    Component {
        name: deployment.metadata.name.clone().unwrap_or_default(),
        version: labels
            .and_then(|l| l.get("app.kubernetes.io/version"))
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        ready_replicas: deployment
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0),
        replicas: deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1),
    }
}

/// Counts meshed pods per (injecting meshctl version, sidecar image).
pub fn count_proxies(pods: &[Pod]) -> Vec<ProxyVersionCount> {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pod in pods {
        let Some(spec) = &pod.spec else { continue };
        let Some(proxy) = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .find(|c| c.name == PROXY_CONTAINER)
        else {
            continue;
        };
        let version = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("meshctl.io/status"))
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|s| {
                s.get("version")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".into());
        let image = proxy.image.clone().unwrap_or_else(|| "-".into());
        *counts.entry((version, image)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((version, image), pods)| ProxyVersionCount {
            version,
            image,
            pods,
        })
        .collect()
}

fn render_text(report: &VersionReport) -> String {
    let mut out = format!("Client version: {}\n", report.client.version);
    if let Some(cp) = &report.control_plane {
        if cp.components.is_empty() {
            out.push_str(&format!(
                "Control plane: not installed in namespace {}\n",
                cp.namespace
            ));
        } else {
            for c in &cp.components {
                out.push_str(&format!(
                    "Control plane version: {} ({}/{}, {}/{} ready)\n",
                    c.version, cp.namespace, c.name, c.ready_replicas, c.replicas
                ));
            }
        }
    }
    if let Some(proxies) = &report.proxies {
        if proxies.is_empty() {
            out.push_str("Proxies: none found\n");
        }
        for p in proxies {
            out.push_str(&format!(
                "Proxy version: {} ({}): {} pod{}\n",
                p.version,
                p.image,
                p.pods,
                if p.pods == 1 { "" } else { "s" }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_meshed_pods_per_version() {
        let pods: Vec<Pod> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "a", "annotations": {"meshctl.io/status": "{\"version\":\"0.1.0\"}"}},
             "spec": {"containers": [{"name": "app"}],
                      "initContainers": [{"name": "meshctl-proxy", "image": "envoy:1.40"}]}},
            {"metadata": {"name": "b", "annotations": {"meshctl.io/status": "{\"version\":\"0.1.0\"}"}},
             "spec": {"containers": [{"name": "app"}, {"name": "meshctl-proxy", "image": "envoy:1.40"}]}},
            {"metadata": {"name": "c"},
             "spec": {"containers": [{"name": "meshctl-proxy", "image": "envoy:1.39"}]}},
            {"metadata": {"name": "unmeshed"}, "spec": {"containers": [{"name": "app"}]}}
        ]))
        .unwrap();
        assert_eq!(
            count_proxies(&pods),
            vec![
                ProxyVersionCount {
                    version: "0.1.0".into(),
                    image: "envoy:1.40".into(),
                    pods: 2
                },
                ProxyVersionCount {
                    version: "unknown".into(),
                    image: "envoy:1.39".into(),
                    pods: 1
                },
            ]
        );
    }

    #[test]
    fn text_report() {
        let report = VersionReport {
            client: ClientVersion { version: "0.1.0" },
            control_plane: Some(ControlPlane {
                namespace: "meshctl-system".into(),
                components: vec![],
            }),
            proxies: Some(vec![]),
        };
        assert_eq!(
            render_text(&report),
            "Client version: 0.1.0\nControl plane: not installed in namespace meshctl-system\nProxies: none found\n"
        );
    }
}
