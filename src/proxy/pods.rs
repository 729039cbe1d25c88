//! Which meshed pods stand behind `TYPE[/NAME]` arguments: parse the arguments, walk each pod's
//! controller chain (Pod -> ReplicaSet -> Deployment, Pod -> Job, ...) and group pods by the
//! workload the user named. The grouping is pure; only `list_pods` talks to the cluster.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::ListParams;
use kube::{Api, Client};
use serde::Serialize;
use thiserror::Error;

use super::PROXY_CONTAINER;

#[derive(Debug, Error)]
pub enum PodsError {
    #[error("unknown resource type '{0}' (expected deploy, sts, ds, job, rs, rc, pod or ns)")]
    UnknownKind(String),
    #[error("empty resource name in '{0}'")]
    EmptyName(String),
    #[error("cannot list {what}: {source}")]
    List {
        what: String,
        #[source]
        source: kube::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    ReplicaSet,
    ReplicationController,
    Pod,
    Namespace,
}

impl Kind {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_lowercase().as_str() {
            "deploy" | "deployment" | "deployments" | "deploy.apps" | "deployments.apps" => {
                Kind::Deployment
            }
            "sts" | "statefulset" | "statefulsets" => Kind::StatefulSet,
            "ds" | "daemonset" | "daemonsets" => Kind::DaemonSet,
            "job" | "jobs" => Kind::Job,
            "rs" | "replicaset" | "replicasets" => Kind::ReplicaSet,
            "rc" | "replicationcontroller" | "replicationcontrollers" => {
                Kind::ReplicationController
            }
            "po" | "pod" | "pods" => Kind::Pod,
            "ns" | "namespace" | "namespaces" => Kind::Namespace,
            _ => return None,
        })
    }

    /// The `kind` as ownerReferences spell it.
    pub fn api_kind(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
            Kind::Pod => "Pod",
            Kind::Namespace => "Namespace",
        }
    }

    /// The short name shown in tables (`deploy/web`).
    pub fn short(self) -> &'static str {
        match self {
            Kind::Deployment => "deploy",
            Kind::StatefulSet => "sts",
            Kind::DaemonSet => "ds",
            Kind::Job => "job",
            Kind::ReplicaSet => "rs",
            Kind::ReplicationController => "rc",
            Kind::Pod => "pod",
            Kind::Namespace => "ns",
        }
    }
}

/// One `TYPE[/NAME]` the user asked about; no name means every one of that type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    pub kind: Kind,
    pub name: Option<String>,
}

/// Parses `TYPE/NAME`, `TYPE`, `TYPE,TYPE`, and kubectl's `TYPE NAME NAME...` form.
pub fn parse_resources(args: &[String]) -> Result<Vec<ResourceRef>, PodsError> {
    let mut out = Vec::new();
    if let [single] = args
        && single.contains(',')
        && !single.contains('/')
    {
        for kind in single.split(',') {
            let parsed =
                Kind::parse(kind).ok_or_else(|| PodsError::UnknownKind(kind.to_string()))?;
            out.push(ResourceRef {
                kind: parsed,
                name: None,
            });
        }
        return Ok(out);
    }
    let all_bare = args.iter().all(|a| !a.contains('/'));
    if all_bare && args.len() > 1 {
        let kind = Kind::parse(&args[0]).ok_or_else(|| PodsError::UnknownKind(args[0].clone()))?;
        for name in &args[1..] {
            out.push(ResourceRef {
                kind,
                name: Some(name.clone()),
            });
        }
        return Ok(out);
    }
    for arg in args {
        let (kind, name) = match arg.split_once('/') {
            Some((kind, name)) => {
                if name.is_empty() {
                    return Err(PodsError::EmptyName(arg.clone()));
                }
                (kind, Some(name.to_string()))
            }
            None => (arg.as_str(), None),
        };
        let kind = Kind::parse(kind).ok_or_else(|| PodsError::UnknownKind(kind.to_string()))?;
        out.push(ResourceRef { kind, name });
    }
    Ok(out)
}

/// What meshctl needs to know about a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    /// Controllers from the pod upwards: `[(ReplicaSet, web-5d9), (Deployment, web)]`.
    pub owners: Vec<(String, String)>,
    pub meshed: bool,
    pub running: bool,
}

impl PodInfo {
    /// The name this pod has under `kind`, if it belongs to one.
    fn name_as(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Pod => Some(&self.name),
            Kind::Namespace => Some(&self.namespace),
            _ => self
                .owners
                .iter()
                .find(|(k, _)| k == kind.api_kind())
                .map(|(_, n)| n.as_str()),
        }
    }
}

/// A row of `stat`: one workload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    pub namespace: String,
    pub kind: Kind,
    pub name: String,
}

/// Groups pods by the workloads asked for. A named workload without pods still gets an (empty)
/// group so the user sees it.
pub fn group<'a>(
    pods: &'a [PodInfo],
    wanted: &[ResourceRef],
    namespaces: &[String],
) -> BTreeMap<WorkloadKey, Vec<&'a PodInfo>> {
    let mut groups: BTreeMap<WorkloadKey, Vec<&PodInfo>> = BTreeMap::new();
    for want in wanted {
        if let Some(name) = &want.name {
            let targets: Vec<&String> = if want.kind == Kind::Namespace {
                vec![name]
            } else {
                namespaces.iter().collect()
            };
            for namespace in targets {
                groups
                    .entry(WorkloadKey {
                        namespace: namespace.clone(),
                        kind: want.kind,
                        name: name.clone(),
                    })
                    .or_default();
            }
        }
        for pod in pods {
            let Some(name) = pod.name_as(want.kind) else {
                continue;
            };
            if want.name.as_deref().is_some_and(|n| n != name) {
                continue;
            }
            let key = WorkloadKey {
                namespace: pod.namespace.clone(),
                kind: want.kind,
                name: name.to_string(),
            };
            let members = groups.entry(key).or_default();
            if !members
                .iter()
                .any(|p| p.name == pod.name && p.namespace == pod.namespace)
            {
                members.push(pod);
            }
        }
    }
    groups
}

fn controller(owners: Option<&Vec<OwnerReference>>) -> Option<(String, String)> {
    let owners = owners?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first())
        .map(|o| (o.kind.clone(), o.name.clone()))
}

/// Turns API pods into `PodInfo`, following ReplicaSets up to their Deployment.
pub fn pod_infos(pods: &[Pod], replica_sets: &[ReplicaSet]) -> Vec<PodInfo> {
    let rs_owner: HashMap<(String, String), (String, String)> = replica_sets
        .iter()
        .filter_map(|rs| {
            let key = (
                rs.metadata.namespace.clone().unwrap_or_default(),
                rs.metadata.name.clone()?,
            );
            Some((key, controller(rs.metadata.owner_references.as_ref())?))
        })
        .collect();
    pods.iter()
        .filter_map(|pod| {
            let namespace = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone()?;
            let mut owners = Vec::new();
            if let Some(direct) = controller(pod.metadata.owner_references.as_ref()) {
                if direct.0 == "ReplicaSet"
                    && let Some(up) = rs_owner.get(&(namespace.clone(), direct.1.clone()))
                {
                    owners.push(direct);
                    owners.push(up.clone());
                } else {
                    owners.push(direct);
                }
            }
            let spec = pod.spec.as_ref();
            let meshed = spec.is_some_and(|s| {
                s.containers.iter().any(|c| c.name == PROXY_CONTAINER)
                    || s.init_containers
                        .iter()
                        .flatten()
                        .any(|c| c.name == PROXY_CONTAINER)
            });
            let running = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|p| p == "Running");
            Some(PodInfo {
                namespace,
                name,
                owners,
                meshed,
                running,
            })
        })
        .collect()
}

/// Lists pods (and the ReplicaSets above them) in one namespace or, with `None`, all.
pub async fn list_pods(
    client: &Client,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<PodInfo>, PodsError> {
    let (pods, replica_sets): (Api<Pod>, Api<ReplicaSet>) = match namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let pod_list = pods.list(&params).await.map_err(|source| PodsError::List {
        what: "pods".into(),
        source,
    })?;
    let rs_list = replica_sets
        .list(&ListParams::default())
        .await
        .map_err(|source| PodsError::List {
            what: "replicasets".into(),
            source,
        })?;
    Ok(pod_infos(&pod_list.items, &rs_list.items))
}

/// The workloads behind `resources`, each with the admin endpoints of its meshed running pods
/// (reached by port-forward to the admin port).
pub async fn resolve_targets(
    client: &Client,
    namespace: &str,
    all_namespaces: bool,
    selector: Option<&str>,
    resources: &[ResourceRef],
) -> Result<Vec<super::collect::WorkloadTarget>, PodsError> {
    // `ns/NAME` names its own namespace: list everywhere then.
    let everywhere = all_namespaces || resources.iter().any(|r| r.kind == Kind::Namespace);
    let pods = list_pods(client, (!everywhere).then_some(namespace), selector).await?;
    let namespaces = if all_namespaces {
        let mut all: Vec<String> = pods.iter().map(|p| p.namespace.clone()).collect();
        all.sort();
        all.dedup();
        all
    } else {
        vec![namespace.to_string()]
    };
    let pods: Vec<PodInfo> = pods
        .into_iter()
        .filter(|p| {
            everywhere && all_namespaces
                || p.namespace == namespace
                || resources
                    .iter()
                    .any(|r| r.kind == Kind::Namespace && r.name.as_deref() == Some(&p.namespace))
        })
        .collect();
    let groups = group(&pods, resources, &namespaces);
    Ok(groups
        .into_iter()
        .map(|(key, members)| {
            let running: Vec<&&PodInfo> = members.iter().filter(|p| p.running).collect();
            let proxies: Vec<(String, super::admin::AdminEndpoint)> = running
                .iter()
                .filter(|p| p.meshed)
                .map(|p| {
                    (
                        p.name.clone(),
                        super::admin::AdminEndpoint::PortForward {
                            client: client.clone(),
                            namespace: p.namespace.clone(),
                            pod: p.name.clone(),
                            port: super::ADMIN_PORT,
                        },
                    )
                })
                .collect();
            super::collect::WorkloadTarget {
                namespace: key.namespace,
                kind: key.kind.short().to_string(),
                name: key.name,
                running: running.len(),
                meshed: proxies.len(),
                proxies,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, owners: &[(&str, &str)], meshed: bool) -> PodInfo {
        PodInfo {
            namespace: ns.into(),
            name: name.into(),
            owners: owners
                .iter()
                .map(|(k, n)| (k.to_string(), n.to_string()))
                .collect(),
            meshed,
            running: true,
        }
    }

    #[test]
    fn parses_resource_arguments() {
        let refs = parse_resources(&["deploy/web".into(), "sts".into()]).unwrap();
        assert_eq!(refs[0].kind, Kind::Deployment);
        assert_eq!(refs[0].name.as_deref(), Some("web"));
        assert_eq!(
            refs[1],
            ResourceRef {
                kind: Kind::StatefulSet,
                name: None
            }
        );
        let refs = parse_resources(&["deploy".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(refs.len(), 2);
        let refs = parse_resources(&["deploy,sts".into()]).unwrap();
        assert_eq!(
            refs,
            [
                ResourceRef {
                    kind: Kind::Deployment,
                    name: None
                },
                ResourceRef {
                    kind: Kind::StatefulSet,
                    name: None
                }
            ]
        );
        assert!(matches!(
            parse_resources(&["widget/x".into()]),
            Err(PodsError::UnknownKind(_))
        ));
        assert!(parse_resources(&["deploy/".into()]).is_err());
    }

    #[test]
    fn groups_pods_through_replica_sets() {
        let pods = vec![
            pod(
                "default",
                "web-1",
                &[("ReplicaSet", "web-5d"), ("Deployment", "web")],
                true,
            ),
            pod(
                "default",
                "web-2",
                &[("ReplicaSet", "web-5d"), ("Deployment", "web")],
                true,
            ),
            pod("default", "db-0", &[("StatefulSet", "db")], false),
        ];
        let ns = vec!["default".to_string()];
        let g = group(
            &pods,
            &parse_resources(&["deploy/web".into()]).unwrap(),
            &ns,
        );
        let members: Vec<&str> = g
            .values()
            .next()
            .unwrap()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(members, ["web-1", "web-2"]);

        let g = group(&pods, &parse_resources(&["rs".into()]).unwrap(), &ns);
        assert_eq!(g.keys().next().unwrap().name, "web-5d");

        // A named workload with no pods still shows up, empty.
        let g = group(
            &pods,
            &parse_resources(&["deploy/api".into()]).unwrap(),
            &ns,
        );
        assert_eq!(g.len(), 1);
        assert!(g.values().next().unwrap().is_empty());

        let g = group(
            &pods,
            &parse_resources(&["ns/default".into()]).unwrap(),
            &ns,
        );
        assert_eq!(g.values().next().unwrap().len(), 3);
    }

    #[test]
    fn reads_pods_from_the_api_shape() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d",
                    "uid": "1", "controller": true}]},
            "spec": {"containers": [{"name": "app"}],
                     "initContainers": [{"name": "meshctl-proxy", "restartPolicy": "Always"}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
        let rs: ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-5d", "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": "2", "controller": true}]}
        }))
        .unwrap();
        let infos = pod_infos(&[pod], &[rs]);
        assert_eq!(
            infos[0].owners,
            vec![
                ("ReplicaSet".to_string(), "web-5d".to_string()),
                ("Deployment".to_string(), "web".to_string())
            ]
        );
        assert!(infos[0].meshed && infos[0].running);
    }
}
