//! Live mode: `meshctl inject deployment/web -n shop` patches workloads in the cluster with the same
//! engine as files. Each object is read, transformed as a JSON value, and patched with a JSON patch
//! that first tests `metadata.resourceVersion` (optimistic concurrency: a concurrent change makes
//! the patch fail, and meshctl reads the object again and retries).

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use thiserror::Error;

use super::manifest::{self, Report, RunOptions};
use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, MeshConfig};

#[derive(Debug, Error)]
pub enum LiveError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

/// A kind live mode works on, with kubectl's names for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveKind {
    pub kind: &'static str,
    pub namespaced: bool,
}

const KINDS: &[(&[&str], LiveKind)] = &[
    (
        &["deployment", "deployments", "deploy"],
        LiveKind {
            kind: "Deployment",
            namespaced: true,
        },
    ),
    (
        &["statefulset", "statefulsets", "sts"],
        LiveKind {
            kind: "StatefulSet",
            namespaced: true,
        },
    ),
    (
        &["daemonset", "daemonsets", "ds"],
        LiveKind {
            kind: "DaemonSet",
            namespaced: true,
        },
    ),
    (
        &["replicaset", "replicasets", "rs"],
        LiveKind {
            kind: "ReplicaSet",
            namespaced: true,
        },
    ),
    (
        &["replicationcontroller", "replicationcontrollers", "rc"],
        LiveKind {
            kind: "ReplicationController",
            namespaced: true,
        },
    ),
    (
        &["cronjob", "cronjobs", "cj"],
        LiveKind {
            kind: "CronJob",
            namespaced: true,
        },
    ),
    (
        &["namespace", "namespaces", "ns"],
        LiveKind {
            kind: "Namespace",
            namespaced: false,
        },
    ),
];

/// The kinds `--all` covers: workloads whose pod template can change in place. (Pods and Jobs
/// cannot take new containers after creation.)
const ALL_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
];

pub fn kind_named(name: &str) -> Result<LiveKind, LiveError> {
    let lower = name.to_ascii_lowercase();
    if ["pod", "pods", "po", "job", "jobs"].contains(&lower.as_str()) {
        return Err(LiveError::Usage(format!(
            "{name}: a running pod (or a Job's pods) cannot get new containers; inject the \
             workload that creates them, or label the namespace and recreate the pods"
        )));
    }
    KINDS
        .iter()
        .find(|(names, _)| names.contains(&lower.as_str()))
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            LiveError::Usage(format!(
                "unknown resource type '{name}' (deployment, statefulset, daemonset, replicaset, \
                 replicationcontroller, cronjob, namespace)"
            ))
        })
}

/// A resource type name live mode knows, including the ones it refuses with advice (pods, jobs).
fn looks_like_type(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["pod", "pods", "po", "job", "jobs"].contains(&lower.as_str())
        || KINDS
            .iter()
            .any(|(names, _)| names.contains(&lower.as_str()))
}

fn by_kind(kind: &str) -> Option<LiveKind> {
    KINDS.iter().map(|(_, k)| *k).find(|k| k.kind == kind)
}

/// What to act on, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Named {
        kind: LiveKind,
        name: String,
    },
    /// Every object of `kind` (matching the label selector, when given).
    Listed {
        kind: LiveKind,
        selector: Option<String>,
    },
}

/// Whether the arguments ask for live mode: `TYPE/NAME`, `TYPE NAME...`, `-l`, `--all`.
pub fn is_live(inputs: &[String], selector: Option<&str>, all: bool) -> bool {
    if selector.is_some() || all {
        return true;
    }
    inputs.first().is_some_and(|first| {
        first != "-"
            && !std::path::Path::new(first).exists()
            && looks_like_type(first.split('/').next().unwrap_or(""))
    })
}

/// Parses `TYPE/NAME...`, `TYPE NAME...`, `TYPE -l SELECTOR`, `--all` (every workload kind).
pub fn parse_selections(
    inputs: &[String],
    selector: Option<&str>,
    all: bool,
) -> Result<Vec<Selection>, LiveError> {
    if all {
        if !inputs.is_empty() {
            return Err(LiveError::Usage(
                "--all takes no resource arguments".to_string(),
            ));
        }
        return Ok(ALL_KINDS
            .iter()
            .filter_map(|k| by_kind(k))
            .map(|kind| Selection::Listed {
                kind,
                selector: selector.map(str::to_string),
            })
            .collect());
    }
    let Some(first) = inputs.first() else {
        return Err(LiveError::Usage(
            "give TYPE/NAME, TYPE NAME..., TYPE -l SELECTOR or --all".to_string(),
        ));
    };
    if first.contains('/') {
        if selector.is_some() {
            return Err(LiveError::Usage(
                "-l cannot be combined with TYPE/NAME".to_string(),
            ));
        }
        return inputs
            .iter()
            .map(|input| {
                let (kind, name) = input.split_once('/').ok_or_else(|| {
                    LiveError::Usage(format!("'{input}': expected TYPE/NAME like the others"))
                })?;
                if name.is_empty() {
                    return Err(LiveError::Usage(format!("'{input}': missing name")));
                }
                Ok(Selection::Named {
                    kind: kind_named(kind)?,
                    name: name.to_string(),
                })
            })
            .collect();
    }
    let kind = kind_named(first)?;
    let names = &inputs[1..];
    match (names.is_empty(), selector) {
        (true, selector) => Ok(vec![Selection::Listed {
            kind,
            selector: selector.map(str::to_string),
        }]),
        (false, None) => Ok(names
            .iter()
            .map(|name| Selection::Named {
                kind,
                name: name.clone(),
            })
            .collect()),
        (false, Some(_)) => Err(LiveError::Usage(
            "-l cannot be combined with names".to_string(),
        )),
    }
}

/// The JSON patch turning `before` into `after`, guarded by a test of the resourceVersion.
pub fn guarded_patch(
    before: &Value,
    after: &Value,
) -> Result<Option<json_patch::Patch>, LiveError> {
    if before == after {
        return Ok(None);
    }
    let mut ops = vec![json!({
        "op": "test",
        "path": "/metadata/resourceVersion",
        "value": before.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null),
    })];
    let diff = serde_json::to_value(json_patch::diff(before, after))
        .map_err(|e| LiveError::Failed(format!("cannot encode patch: {e}")))?;
    if let Value::Array(more) = diff {
        ops.extend(more);
    }
    serde_json::from_value(Value::Array(ops))
        .map(Some)
        .map_err(|e| LiveError::Failed(format!("cannot encode patch: {e}")))
}

/// Reads the mesh config from the cluster (the `meshctl-config` ConfigMap install creates).
pub async fn cluster_config(
    client: &Client,
    mesh_namespace: &str,
) -> Result<MeshConfig, LiveError> {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), mesh_namespace);
    let map = api.get_opt(CONFIG_MAP_NAME).await.map_err(|e| {
        LiveError::Failed(format!(
            "cannot read ConfigMap {mesh_namespace}/{CONFIG_MAP_NAME}: {e}"
        ))
    })?;
    let Some(map) = map else {
        return Err(LiveError::Failed(format!(
            "ConfigMap {mesh_namespace}/{CONFIG_MAP_NAME} not found: is meshctl installed? \
             (meshctl install --apply; or pass --mesh-namespace)"
        )));
    };
    let body = map
        .data
        .as_ref()
        .and_then(|d| d.get(CONFIG_MAP_KEY))
        .ok_or_else(|| {
            LiveError::Failed(format!(
                "ConfigMap {mesh_namespace}/{CONFIG_MAP_NAME} has no key {CONFIG_MAP_KEY}"
            ))
        })?;
    MeshConfig::from_yaml(&format!("{mesh_namespace}/{CONFIG_MAP_NAME}"), body)
        .map_err(|e| LiveError::Failed(e.to_string()))
}

fn api_resource(kind: &str) -> ApiResource {
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
    match kind {
        "Deployment" => ApiResource::erase::<apps::Deployment>(&()),
        "StatefulSet" => ApiResource::erase::<apps::StatefulSet>(&()),
        "DaemonSet" => ApiResource::erase::<apps::DaemonSet>(&()),
        "ReplicaSet" => ApiResource::erase::<apps::ReplicaSet>(&()),
        "ReplicationController" => ApiResource::erase::<core::ReplicationController>(&()),
        "CronJob" => ApiResource::erase::<batch::CronJob>(&()),
        _ => ApiResource::erase::<core::Namespace>(&()),
    }
}

/// One object's result: its report, and the patch (applied, or only computed with dry run).
#[derive(Debug, Clone)]
pub struct Patched {
    pub report: Report,
    pub patch: Option<json_patch::Patch>,
}

const CONFLICT_RETRIES: usize = 5;

/// Transforms and patches every selected object. Objects are handled one by one; the first
/// failure stops the run (what was patched before it stays patched and is reported).
pub async fn run(
    client: &Client,
    namespace: &str,
    selections: &[Selection],
    options: &RunOptions,
    dry_run: bool,
    mut on_done: impl FnMut(&Patched),
) -> Result<Vec<Patched>, LiveError> {
    let mut done = Vec::new();
    for selection in selections {
        let (kind, names) = match selection {
            Selection::Named { kind, name } => (*kind, vec![name.clone()]),
            Selection::Listed { kind, selector } => {
                let api = api_for(client, *kind, namespace);
                let mut params = ListParams::default();
                if let Some(selector) = selector {
                    params = params.labels(selector);
                }
                let list = api.list(&params).await.map_err(|e| {
                    LiveError::Failed(format!("cannot list {}s: {e}", kind.kind.to_lowercase()))
                })?;
                // Objects a controller owns (a Deployment's ReplicaSets) follow their owner's
                // template: patching them would be undone, so only the owner is injected.
                let mut names: Vec<String> = list
                    .items
                    .into_iter()
                    .filter(|o| {
                        !o.metadata
                            .owner_references
                            .as_ref()
                            .is_some_and(|refs| refs.iter().any(|r| r.controller == Some(true)))
                    })
                    .filter_map(|o| o.metadata.name)
                    .collect();
                names.sort();
                (*kind, names)
            }
        };
        for name in names {
            let patched = patch_one(client, kind, namespace, &name, options, dry_run).await?;
            on_done(&patched);
            done.push(patched);
        }
    }
    Ok(done)
}

fn api_for(client: &Client, kind: LiveKind, namespace: &str) -> Api<DynamicObject> {
    let resource = api_resource(kind.kind);
    if kind.namespaced {
        Api::namespaced_with(client.clone(), namespace, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    }
}

async fn patch_one(
    client: &Client,
    kind: LiveKind,
    namespace: &str,
    name: &str,
    options: &RunOptions,
    dry_run: bool,
) -> Result<Patched, LiveError> {
    let api = api_for(client, kind, namespace);
    let object_name = format!("{}/{name}", kind.kind.to_lowercase());
    let mut attempt = 0;
    loop {
        attempt += 1;
        let object = api
            .get(name)
            .await
            .map_err(|e| LiveError::Failed(format!("cannot read {object_name}: {e}")))?;
        let mut before = serde_json::to_value(&object)
            .map_err(|e| LiveError::Failed(format!("{object_name}: {e}")))?;
        // The API omits kind/apiVersion on typed reads through some paths; the engine needs kind.
        before["kind"] = json!(kind.kind);
        let mut after = before.clone();
        let mut options = options.clone();
        if kind.namespaced {
            options.namespace = Some(namespace.to_string());
        }
        let reports = manifest::transform_value(&mut after, &object_name, &options)
            .map_err(|e| LiveError::Failed(e.to_string()))?;
        let Some(mut report) = reports.into_iter().next() else {
            return Err(LiveError::Failed(format!("{object_name}: nothing to do")));
        };
        report.file = "cluster".to_string();
        let patch = guarded_patch(&before, &after)?;
        let Some(patch) = patch else {
            return Ok(Patched {
                report,
                patch: None,
            });
        };
        if dry_run {
            return Ok(Patched {
                report,
                patch: Some(patch),
            });
        }
        match api
            .patch(
                name,
                &PatchParams::default(),
                &Patch::<()>::Json(patch.clone()),
            )
            .await
        {
            Ok(_) => {
                return Ok(Patched {
                    report,
                    patch: Some(patch),
                });
            }
            // A concurrent change: the resourceVersion test failed (or the write conflicted).
            Err(kube::Error::Api(status))
                if (status.code == 409 || status.code == 422) && attempt < CONFLICT_RETRIES =>
            {
                continue;
            }
            Err(e) => {
                return Err(LiveError::Failed(format!(
                    "cannot patch {object_name}: {e}"
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selections_like_kubectl() {
        let s = parse_selections(&strings(&["deploy/web", "sts/db"]), None, false).unwrap();
        assert_eq!(
            s,
            vec![
                Selection::Named {
                    kind: by_kind("Deployment").unwrap(),
                    name: "web".into()
                },
                Selection::Named {
                    kind: by_kind("StatefulSet").unwrap(),
                    name: "db".into()
                },
            ]
        );
        let s = parse_selections(&strings(&["deployment", "a", "b"]), None, false).unwrap();
        assert_eq!(s.len(), 2);
        let s = parse_selections(&strings(&["deployments"]), Some("app=web"), false).unwrap();
        assert!(matches!(&s[0], Selection::Listed { selector: Some(l), .. } if l == "app=web"));
        assert_eq!(
            parse_selections(&[], None, true).unwrap().len(),
            ALL_KINDS.len()
        );
        assert!(matches!(
            parse_selections(&strings(&["pod/x"]), None, false),
            Err(LiveError::Usage(m)) if m.contains("cannot get new containers")
        ));
        assert!(parse_selections(&strings(&["frobs/x"]), None, false).is_err());
        assert!(parse_selections(&strings(&["deploy/web"]), Some("a=b"), false).is_err());
        assert!(is_live(&strings(&["deployment/web"]), None, false));
        assert!(!is_live(&strings(&["-"]), None, false));
        assert!(!is_live(&strings(&["manifests/web.yaml"]), None, false));
    }

    #[test]
    fn patches_test_the_resource_version_first() {
        let before = json!({"metadata": {"resourceVersion": "7"}, "spec": {"a": 1}});
        let after = json!({"metadata": {"resourceVersion": "7"}, "spec": {"a": 1, "b": 2}});
        let patch = serde_json::to_value(guarded_patch(&before, &after).unwrap().unwrap()).unwrap();
        assert_eq!(
            patch,
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
                {"op": "add", "path": "/spec/b", "value": 2}
            ])
        );
        assert!(guarded_patch(&before, &before).unwrap().is_none());
    }
}
