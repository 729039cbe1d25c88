//! Server-side apply, deletion and rollout waits for a list of manifests (install, uninstall).
//! Objects are plain JSON (as rendered); their API resources are found by discovery, so any kind the
//! cluster serves works.

use std::time::Duration;

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PropagationPolicy,
};
use kube::discovery::{self, Scope};
use kube::{Client, ResourceExt};
use serde_json::Value;
use thiserror::Error;

pub const FIELD_MANAGER: &str = "meshctl";

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("document {index}: {message}")]
    InvalidObject { index: usize, message: String },
    #[error("{object}: the cluster does not serve this kind: {source}")]
    Discovery {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("{object}: {}", super::describe_kube_error(.source))]
    Request {
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("timed out after {}s waiting for {what}", .after.as_secs())]
    Timeout { what: String, after: Duration },
}

/// One manifest object with what discovery said about it.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    /// kubectl's spelling: `deployment.apps/meshctl-injector`.
    pub display: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    Deleted,
    /// Deletion found nothing to delete.
    Absent,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::Absent => "not found",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub object: ObjectRef,
    pub action: Action,
    /// A caveat worth telling the user (e.g. a dry run that could not validate the object).
    pub note: Option<&'static str>,
}

/// Where each kind goes in an install: what others depend on first, the webhook configuration last
/// (so the injector is never called before it can answer). Deletion walks this backwards.
pub fn apply_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "ServiceAccount" => 2,
        "ClusterRole" | "Role" => 3,
        "ClusterRoleBinding" | "RoleBinding" => 4,
        "ConfigMap" | "Secret" => 5,
        "Issuer" | "ClusterIssuer" | "Certificate" => 6,
        "Service" => 7,
        "Deployment" | "DaemonSet" | "StatefulSet" => 8,
        "PodDisruptionBudget" => 9,
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => 11,
        _ => 10,
    }
}

/// Sorts objects into apply order, keeping the rendered order within a rank.
pub fn in_apply_order(objects: &[Value]) -> Vec<Value> {
    let mut sorted = objects.to_vec();
    sorted.sort_by_key(|o| apply_rank(o.get("kind").and_then(Value::as_str).unwrap_or("")));
    sorted
}

struct Resolved {
    object: ObjectRef,
    api: Api<DynamicObject>,
}

async fn resolve(client: &Client, index: usize, object: &Value) -> Result<Resolved, ApplyError> {
    let invalid = |message: &str| ApplyError::InvalidObject {
        index,
        message: message.to_string(),
    };
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no apiVersion"))?;
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no kind"))?;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no metadata.name"))?;
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str);
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    };
    let display_kind = if group.is_empty() {
        kind.to_lowercase()
    } else {
        format!("{}.{group}", kind.to_lowercase())
    };
    let display = format!("{display_kind}/{name}");
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps): (ApiResource, _) =
        discovery::pinned_kind(client, &gvk)
            .await
            .map_err(|source| ApplyError::Discovery {
                object: display.clone(),
                source,
            })?;
    let api = match (caps.scope, namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        (Scope::Namespaced, None) => {
            return Err(invalid(&format!("{display}: no metadata.namespace")));
        }
        (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
    };
    Ok(Resolved {
        object: ObjectRef {
            display,
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        },
        api,
    })
}

/// The parts of an object that say whether an apply changed anything.
fn comparable(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for volatile in [
            "resourceVersion",
            "managedFields",
            "generation",
            "creationTimestamp",
            "uid",
        ] {
            meta.remove(volatile);
        }
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    value
}

/// Server-side applies every object in order with field manager `meshctl`, calling `on_outcome`
/// as each lands. Stops at the first failure, naming the object and the server's reason.
pub async fn apply_all(
    client: &Client,
    objects: &[Value],
    dry_run: bool,
    mut on_outcome: impl FnMut(&Outcome),
) -> Result<Vec<Outcome>, ApplyError> {
    let mut outcomes = Vec::with_capacity(objects.len());
    let mut new_namespaces = std::collections::HashSet::new();
    for (index, object) in objects.iter().enumerate() {
        let Resolved {
            object: reference,
            api,
        } = resolve(client, index, object).await?;
        let request_error = |source| ApplyError::Request {
            object: reference.display.clone(),
            source,
        };
        // The server refuses even a dry-run write into a namespace that does not exist, and a
        // dry-run-created namespace never does: such objects are reported, not validated.
        if dry_run
            && reference
                .namespace
                .as_ref()
                .is_some_and(|ns| new_namespaces.contains(ns))
        {
            let outcome = Outcome {
                object: reference,
                action: Action::Created,
                note: Some("not validated: its namespace does not exist yet"),
            };
            on_outcome(&outcome);
            outcomes.push(outcome);
            continue;
        }
        let before = api.get_opt(&reference.name).await.map_err(request_error)?;
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        if dry_run {
            params = params.dry_run();
        }
        let after = api
            .patch(&reference.name, &params, &Patch::Apply(object))
            .await
            .map_err(request_error)?;
        // A real apply that changed nothing keeps the resourceVersion; a dry run never moves it,
        // and a controller writing status (or a server filling in metadata.generation) between
        // our read and our apply moves it without our apply having changed anything. So what
        // decides is the object itself, volatile metadata and status left out.
        let action = match before {
            None => Action::Created,
            Some(before) if !dry_run && before.resource_version() == after.resource_version() => {
                Action::Unchanged
            }
            Some(before) if comparable(&before) == comparable(&after) => Action::Unchanged,
            Some(_) => Action::Configured,
        };
        if action == Action::Created && reference.kind == "Namespace" {
            new_namespaces.insert(reference.name.clone());
        }
        let outcome = Outcome {
            object: reference,
            action,
            note: None,
        };
        on_outcome(&outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Deletes every object, in reverse apply order, then waits (bounded by `timeout`) until they are
/// gone: a Namespace goes only once everything in it has been finalized.
pub async fn delete_all(
    client: &Client,
    objects: &[Value],
    dry_run: bool,
    timeout: Duration,
    mut on_outcome: impl FnMut(&Outcome),
) -> Result<Vec<Outcome>, ApplyError> {
    let mut ordered = in_apply_order(objects);
    ordered.reverse();
    let mut params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    if dry_run {
        params = params.dry_run();
    }
    let mut outcomes = Vec::with_capacity(ordered.len());
    let mut pending = Vec::new();
    for (index, object) in ordered.iter().enumerate() {
        let Resolved {
            object: reference,
            api,
        } = resolve(client, index, object).await?;
        let action = match api.delete(&reference.name, &params).await {
            Ok(_) => Action::Deleted,
            Err(kube::Error::Api(status)) if status.code == 404 => Action::Absent,
            Err(source) => {
                return Err(ApplyError::Request {
                    object: reference.display.clone(),
                    source,
                });
            }
        };
        if action == Action::Deleted && !dry_run {
            pending.push((reference.clone(), api));
        }
        let outcome = Outcome {
            object: reference,
            action,
            note: None,
        };
        on_outcome(&outcome);
        outcomes.push(outcome);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for (reference, api) in pending {
        loop {
            match api.get_opt(&reference.name).await {
                Ok(None) => break,
                Ok(Some(_)) => {}
                Err(source) => {
                    return Err(ApplyError::Request {
                        object: reference.display.clone(),
                        source,
                    });
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::Timeout {
                    what: format!("{} to be deleted", reference.display),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(outcomes)
}

/// Why a workload is not rolled out yet, or None when it is (kubectl rollout status's rules).
pub fn rollout_pending(kind: &str, object: &Value) -> Option<String> {
    let int = |path: &str| object.pointer(path).and_then(Value::as_i64).unwrap_or(0);
    let generation = int("/metadata/generation");
    let observed = int("/status/observedGeneration");
    if observed < generation {
        return Some("waiting for the controller to observe the new spec".to_string());
    }
    match kind {
        "Deployment" | "StatefulSet" => {
            let desired = object
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let updated = int("/status/updatedReplicas");
            let ready = int("/status/readyReplicas");
            let available = if kind == "Deployment" {
                int("/status/availableReplicas")
            } else {
                ready
            };
            if updated < desired {
                Some(format!("{updated} of {desired} replicas updated"))
            } else if available < desired {
                Some(format!("{available} of {desired} replicas available"))
            } else {
                None
            }
        }
        "DaemonSet" => {
            let desired = int("/status/desiredNumberScheduled");
            let updated = int("/status/updatedNumberScheduled");
            let available = int("/status/numberAvailable");
            if updated < desired || available < desired {
                Some(format!("{available} of {desired} pods available"))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Waits until every Deployment, StatefulSet and DaemonSet among `objects` has rolled out,
/// reporting progress through `on_progress`; bounded by `timeout`.
pub async fn wait_for_rollout(
    client: &Client,
    objects: &[Value],
    timeout: Duration,
    mut on_progress: impl FnMut(&str, &str),
) -> Result<(), ApplyError> {
    let deadline = tokio::time::Instant::now() + timeout;
    for (index, object) in objects.iter().enumerate() {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        if !matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") {
            continue;
        }
        let Resolved {
            object: reference,
            api,
        } = resolve(client, index, object).await?;
        let mut last_reason = String::new();
        loop {
            let current =
                api.get_opt(&reference.name)
                    .await
                    .map_err(|source| ApplyError::Request {
                        object: reference.display.clone(),
                        source,
                    })?;
            let reason = match &current {
                None => Some("not found".to_string()),
                Some(current) => {
                    rollout_pending(kind, &serde_json::to_value(current).unwrap_or_default())
                }
            };
            let Some(reason) = reason else {
                on_progress(&reference.display, "rolled out");
                break;
            };
            if reason != last_reason {
                on_progress(&reference.display, &reason);
                last_reason = reason.clone();
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::Timeout {
                    what: format!("{} to roll out ({reason})", reference.display),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

/// Pods that carry the meshctl sidecar, as `namespace/name`, in every namespace.
pub async fn injected_pods(client: &Client) -> Result<Vec<String>, kube::Error> {
    use k8s_openapi::api::core::v1::Pod;
    let pods: Api<Pod> = Api::all(client.clone());
    let mut found = Vec::new();
    for pod in pods.list(&Default::default()).await? {
        let annotated = pod
            .annotations()
            .contains_key(crate::config::STATUS_ANNOTATION);
        let has_proxy = pod.spec.as_ref().is_some_and(|spec| {
            spec.containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .any(|c| c.name == crate::config::PROXY_CONTAINER)
        });
        if annotated || has_proxy {
            found.push(format!(
                "{}/{}",
                pod.namespace().unwrap_or_default(),
                pod.name_any()
            ));
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apply_order_puts_namespace_first_and_webhook_last() {
        let objects = vec![
            json!({"kind": "MutatingWebhookConfiguration"}),
            json!({"kind": "Deployment"}),
            json!({"kind": "Namespace"}),
            json!({"kind": "ConfigMap"}),
        ];
        let kinds: Vec<_> = in_apply_order(&objects)
            .iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ConfigMap",
                "Deployment",
                "MutatingWebhookConfiguration"
            ]
        );
    }

    #[test]
    fn rollout_rules_follow_kubectl() {
        let pending = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1}});
        assert!(rollout_pending("Deployment", &pending).is_some());
        let half = json!({"metadata": {"generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 1}});
        assert_eq!(
            rollout_pending("Deployment", &half).as_deref(),
            Some("1 of 2 replicas available")
        );
        let done = json!({"metadata": {"generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 2}});
        assert_eq!(rollout_pending("Deployment", &done), None);
    }
}
