//! The one pod-template transformation: what inject adds to a pod template (`{metadata, spec}`),
//! and how uninject removes exactly that again. Everything here works on JSON values and returns
//! [`Edit`]s relative to the template, so files, live workloads and the webhook share it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::settings::{Settings, join};
use super::{Edit, InjectError, InjectOptions, Seg, apply_edits, get};
use crate::config::{INIT_CONTAINER, INJECT_LABEL, PROXY_CONTAINER, STATUS_ANNOTATION};

/// The shared in-memory volume proxy-init writes the bootstrap into.
pub const BOOTSTRAP_VOLUME: &str = "meshctl-bootstrap";
pub const BOOTSTRAP_DIR: &str = "/etc/meshctl";
pub const BOOTSTRAP_PATH: &str = "/etc/meshctl/envoy.yaml";
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// Sidecars of other meshes: a pod carrying one is refused.
const FOREIGN_SIDECARS: &[(&str, &str)] = &[
    ("istio-proxy", "Istio"),
    ("istio-init", "Istio"),
    ("istio-validation", "Istio"),
    ("linkerd-proxy", "Linkerd"),
    ("linkerd-init", "Linkerd"),
    ("linkerd-network-validator", "Linkerd"),
];

/// The workload a pod belongs to, passed to proxy-init (it names the proxy's node and stats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

impl Workload {
    pub fn new(kind: &str, name: &str) -> Self {
        Workload {
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }

    /// Derives the workload of a Pod object from its controller reference, the way the pod's
    /// manifest would name it: a ReplicaSet `web-5d9c8` whose pods carry `pod-template-hash: 5d9c8`
    /// belongs to Deployment `web`. This makes the webhook and `meshctl inject deployment.yaml`
    /// produce the same pod.
    pub fn of_pod(pod: &Value) -> Self {
        let owner = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|owners| {
                owners
                    .iter()
                    .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
                    .or_else(|| owners.first())
            });
        if let Some(owner) = owner {
            let kind = owner.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = owner.get("name").and_then(Value::as_str).unwrap_or("");
            if !kind.is_empty() && !name.is_empty() {
                let hash = pod
                    .pointer("/metadata/labels/pod-template-hash")
                    .and_then(Value::as_str);
                if kind == "ReplicaSet"
                    && let Some(hash) = hash
                    && let Some(base) = name.strip_suffix(hash).and_then(|n| n.strip_suffix('-'))
                    && !base.is_empty()
                {
                    return Workload::new("Deployment", base);
                }
                return Workload::new(kind, name);
            }
        }
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                pod.pointer("/metadata/generateName")
                    .and_then(Value::as_str)
                    .map(|n| n.trim_end_matches('-').to_string())
            })
            .unwrap_or_default();
        Workload::new("Pod", &name)
    }
}

/// What `meshctl.io/status` records: exactly what inject added, so uninject can take it away.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<String>,
    /// Parents inject created because they were absent (`metadata`, `metadata.annotations`,
    /// `spec.initContainers`, `spec.volumes`): uninject removes them when they end up empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<String>,
}

/// What to do to one pod template.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Apply `uninject` (an old sidecar, when re-injecting with new settings), then `inject`
    /// (computed on the result of `uninject`).
    Edits {
        uninject: Vec<Edit>,
        inject: Vec<Edit>,
    },
    Unchanged,
    Skipped(String),
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// Whether an object's metadata opts out with `meshctl.io/inject: disabled` (label or annotation).
pub fn opted_out(metadata: Option<&Value>) -> bool {
    let Some(metadata) = metadata else {
        return false;
    };
    ["labels", "annotations"].iter().any(|field| {
        metadata
            .get(field)
            .and_then(|m| m.get(INJECT_LABEL))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// Plans the injection of `template` (`{metadata, spec}`; a whole Pod works too). `workload_meta`
/// is the enclosing workload's metadata (its opt-out and override annotations count too).
pub fn plan_inject(
    template: &Value,
    workload_meta: Option<&Value>,
    workload: &Workload,
    namespace: Option<&str>,
    options: &InjectOptions,
) -> Result<Plan, InjectError> {
    let metadata = template.get("metadata");
    if opted_out(metadata) || opted_out(workload_meta) {
        return Ok(Plan::Skipped(format!("{INJECT_LABEL}: disabled")));
    }
    if let Some(ns) = namespace
        && ns == options.mesh_namespace
    {
        return Err(InjectError::Refused(format!(
            "it is in the mesh namespace '{ns}', where nothing is injected"
        )));
    }
    let spec = template
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| InjectError::Invalid("the pod template has no spec".to_string()))?;
    // A host-network pod shares the node's network namespace: capturing its traffic would
    // capture the node's. Skipped (and reported), like an opt-out.
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        return Ok(Plan::Skipped("hostNetwork is enabled".to_string()));
    }
    for list in ["initContainers", "containers"] {
        for name in container_names(spec, list) {
            if let Some((_, mesh)) = FOREIGN_SIDECARS.iter().find(|(n, _)| *n == name) {
                return Err(InjectError::Refused(format!(
                    "it already has {mesh}'s sidecar ({list} '{name}')"
                )));
            }
        }
    }

    if status_of(template)?.is_none() {
        let inject = fresh_inject(template, workload_meta, workload, options)?;
        return Ok(Plan::Edits {
            uninject: Vec::new(),
            inject,
        });
    }
    // Already injected: re-inject from the clean template and compare, so a config change
    // replaces the sidecar and the same config changes nothing.
    let uninject = plan_uninject(template)?;
    let mut clean = template.clone();
    apply_edits(&mut clean, &uninject)?;
    let inject = fresh_inject(&clean, workload_meta, workload, options)?;
    let mut again = clean;
    apply_edits(&mut again, &inject)?;
    if again == *template {
        Ok(Plan::Unchanged)
    } else {
        Ok(Plan::Edits { uninject, inject })
    }
}

fn container_names<'a>(spec: &'a Value, list: &str) -> Vec<&'a str> {
    spec.get(list)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `meshctl.io/status`; `None` when the template is not injected.
pub fn status_of(template: &Value) -> Result<Option<Status>, InjectError> {
    let Some(raw) = template
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(STATUS_ANNOTATION))
    else {
        return Ok(None);
    };
    let text = raw.as_str().ok_or_else(|| {
        InjectError::Invalid(format!("annotation {STATUS_ANNOTATION} is not a string"))
    })?;
    serde_json::from_str(text).map(Some).map_err(|e| {
        InjectError::Invalid(format!(
            "annotation {STATUS_ANNOTATION} is not what meshctl writes: {e}"
        ))
    })
}

/// The edits that inject a template that carries no sidecar yet.
fn fresh_inject(
    template: &Value,
    workload_meta: Option<&Value>,
    workload: &Workload,
    options: &InjectOptions,
) -> Result<Vec<Edit>, InjectError> {
    let metadata = template.get("metadata");
    let annotations = metadata.and_then(|m| m.get("annotations"));
    let empty = Value::Object(Map::new());
    let workload_annotations = workload_meta
        .and_then(|m| m.get("annotations"))
        .unwrap_or(&empty);
    let settings = Settings::resolve(
        options,
        &[workload_annotations, annotations.unwrap_or(&empty)],
    )?;
    let spec = template
        .get("spec")
        .ok_or_else(|| InjectError::Invalid("the pod template has no spec".to_string()))?;

    let apps = container_names(spec, "containers");
    if spec
        .get("containers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        return Err(InjectError::Invalid(
            "spec.containers is missing or empty".to_string(),
        ));
    }
    for (list, name) in [
        ("containers", PROXY_CONTAINER),
        ("initContainers", PROXY_CONTAINER),
        ("initContainers", INIT_CONTAINER),
        ("containers", INIT_CONTAINER),
    ] {
        if container_names(spec, list).contains(&name) {
            return Err(InjectError::Invalid(format!(
                "{list} already has a '{name}' but no {STATUS_ANNOTATION} annotation says meshctl \
                 added it; remove it before injecting"
            )));
        }
    }
    let volumes = spec.get("volumes");
    if volumes.is_some_and(|v| {
        v.as_array().is_some_and(|items| {
            items
                .iter()
                .any(|i| i.get("name").and_then(Value::as_str) == Some(BOOTSTRAP_VOLUME))
        })
    }) {
        return Err(InjectError::Invalid(format!(
            "spec.volumes already has '{BOOTSTRAP_VOLUME}' but no {STATUS_ANNOTATION} annotation"
        )));
    }

    let mut status = Status {
        version: crate::VERSION.to_string(),
        ..Status::default()
    };
    let mut edits = Vec::new();
    let spec_path = vec![key("spec")];

    // Init container first (iptables before anything else runs), then the native sidecar, so user
    // init containers already have a proxy for their traffic.
    let mut init_items = vec![init_container(&settings, workload)];
    status.init_containers.push(INIT_CONTAINER.to_string());
    let proxy = proxy_container(&settings, options.native_sidecar);
    if options.native_sidecar {
        init_items.push(proxy.clone());
        status.init_containers.push(PROXY_CONTAINER.to_string());
    }
    match spec.get("initContainers") {
        None => {
            status.created.push("spec.initContainers".to_string());
            edits.push(Edit::AddEntry {
                map: spec_path.clone(),
                key: "initContainers".to_string(),
                value: Value::Array(init_items),
            });
        }
        Some(Value::Array(_)) => edits.push(Edit::InsertItems {
            seq: vec![key("spec"), key("initContainers")],
            index: 0,
            values: init_items,
        }),
        Some(_) => {
            return Err(InjectError::Invalid(
                "spec.initContainers is not a list".to_string(),
            ));
        }
    }
    if !options.native_sidecar {
        edits.push(Edit::InsertItems {
            seq: vec![key("spec"), key("containers")],
            index: apps.len(),
            values: vec![proxy],
        });
        status.containers.push(PROXY_CONTAINER.to_string());
    }
    let volume =
        json!({"name": BOOTSTRAP_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}});
    status.volumes.push(BOOTSTRAP_VOLUME.to_string());
    match volumes {
        None => {
            status.created.push("spec.volumes".to_string());
            edits.push(Edit::AddEntry {
                map: spec_path,
                key: "volumes".to_string(),
                value: json!([volume]),
            });
        }
        Some(Value::Array(items)) => edits.push(Edit::InsertItems {
            seq: vec![key("spec"), key("volumes")],
            index: items.len(),
            values: vec![volume],
        }),
        Some(_) => {
            return Err(InjectError::Invalid(
                "spec.volumes is not a list".to_string(),
            ));
        }
    }

    // Annotations: never overwrite what the user set; record what we add.
    let has = |k: &str| annotations.and_then(|a| a.get(k)).is_some();
    let mut added: Vec<(String, String)> = Vec::new();
    if !has("prometheus.io/scrape") {
        added.push(("prometheus.io/scrape".into(), "true".into()));
        if !has("prometheus.io/port") {
            added.push((
                "prometheus.io/port".into(),
                settings.metrics_port.to_string(),
            ));
        }
        if !has("prometheus.io/path") {
            added.push(("prometheus.io/path".into(), "/stats/prometheus".into()));
        }
    }
    if !has(DEFAULT_CONTAINER_ANNOTATION)
        && let Some(first) = apps.first()
    {
        added.push((DEFAULT_CONTAINER_ANNOTATION.into(), (*first).to_string()));
    }
    status.annotations = added.iter().map(|(k, _)| k.clone()).collect();

    match (metadata, annotations) {
        (None, _) => status.created.push("metadata".to_string()),
        (Some(Value::Object(_)), None) => status.created.push("metadata.annotations".to_string()),
        (Some(Value::Object(_)), Some(Value::Object(_))) => {}
        (Some(Value::Object(_)), Some(_)) => {
            return Err(InjectError::Invalid(
                "metadata.annotations is not a mapping".to_string(),
            ));
        }
        (Some(_), _) => {
            return Err(InjectError::Invalid(
                "metadata is not a mapping".to_string(),
            ));
        }
    }
    let status_text = serde_json::to_string(&status)
        .map_err(|e| InjectError::Invalid(format!("cannot encode status: {e}")))?;
    added.push((STATUS_ANNOTATION.to_string(), status_text));

    let to_map = |pairs: &[(String, String)]| -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    match (metadata, annotations) {
        (None, _) => edits.push(Edit::AddEntry {
            map: vec![],
            key: "metadata".to_string(),
            value: json!({"annotations": to_map(&added)}),
        }),
        (Some(_), None) => edits.push(Edit::AddEntry {
            map: vec![key("metadata")],
            key: "annotations".to_string(),
            value: to_map(&added),
        }),
        (Some(_), Some(_)) => {
            for (k, v) in added {
                edits.push(Edit::AddEntry {
                    map: vec![key("metadata"), key("annotations")],
                    key: k,
                    value: Value::String(v),
                });
            }
        }
    }
    Ok(edits)
}

/// The edits that remove exactly what `meshctl.io/status` lists. Empty when not injected.
pub fn plan_uninject(template: &Value) -> Result<Vec<Edit>, InjectError> {
    let Some(status) = status_of(template)? else {
        return Ok(Vec::new());
    };
    let created = |what: &str| status.created.iter().any(|c| c == what);
    let mut edits = Vec::new();
    let spec = template.get("spec");

    for (list, names) in [
        ("initContainers", &status.init_containers),
        ("containers", &status.containers),
        ("volumes", &status.volumes),
    ] {
        let Some(items) = spec.and_then(|s| s.get(list)).and_then(Value::as_array) else {
            continue;
        };
        let ours: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                item.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| names.iter().any(|x| x == n))
            })
            .map(|(i, _)| i)
            .collect();
        if ours.is_empty() {
            continue;
        }
        if ours.len() == items.len() && created(&format!("spec.{list}")) {
            edits.push(Edit::Remove {
                path: vec![key("spec"), key(list)],
            });
        } else {
            for i in ours {
                edits.push(Edit::Remove {
                    path: vec![key("spec"), key(list), Seg::Index(i)],
                });
            }
        }
    }

    let metadata = template.get("metadata");
    let annotations = metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object);
    if let Some(annotations) = annotations {
        let ours: Vec<&String> = annotations
            .keys()
            .filter(|k| *k == STATUS_ANNOTATION || status.annotations.iter().any(|a| a == *k))
            .collect();
        let all_ours = ours.len() == annotations.len();
        let metadata_only_annotations = metadata
            .and_then(Value::as_object)
            .is_some_and(|m| m.len() == 1);
        if all_ours && created("metadata") && metadata_only_annotations {
            edits.push(Edit::Remove {
                path: vec![key("metadata")],
            });
        } else if all_ours && (created("metadata.annotations") || created("metadata")) {
            edits.push(Edit::Remove {
                path: vec![key("metadata"), key("annotations")],
            });
        } else {
            for k in ours {
                edits.push(Edit::Remove {
                    path: vec![key("metadata"), key("annotations"), key(k)],
                });
            }
        }
    }
    Ok(edits)
}

fn init_container(s: &Settings, workload: &Workload) -> Value {
    let mut args = vec![
        "proxy-init".to_string(),
        format!("--proxy-uid={}", s.uid),
        format!("--proxy-gid={}", s.uid),
        format!("--outbound-port={}", s.outbound_port),
        format!("--inbound-port={}", s.inbound_port),
        format!("--admin-port={}", s.admin_port),
        format!("--metrics-port={}", s.metrics_port),
    ];
    for (flag, value) in [
        ("skip-inbound-ports", join(&s.skip_inbound_ports)),
        ("skip-outbound-ports", join(&s.skip_outbound_ports)),
        ("skip-outbound-cidrs", join(&s.skip_outbound_cidrs)),
        ("opaque-ports", join(&s.opaque_ports)),
    ] {
        if !value.is_empty() {
            args.push(format!("--{flag}={value}"));
        }
    }
    args.extend([
        format!("--log-level={}", s.log_level),
        format!("--concurrency={}", s.concurrency),
        format!("--retries={}", s.retries),
        format!("--request-timeout={}", s.request_timeout),
        format!("--drain-time={}s", s.drain_seconds),
        format!("--bootstrap-out={BOOTSTRAP_PATH}"),
    ]);
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}});
    json!({
        "name": INIT_CONTAINER,
        "image": s.init_image,
        "imagePullPolicy": s.init_pull_policy,
        "args": args,
        "env": [
            field("POD_NAME", "metadata.name"),
            field("POD_NAMESPACE", "metadata.namespace"),
            field("POD_IP", "status.podIP"),
            field("POD_IPS", "status.podIPs"),
            {"name": "MESHCTL_WORKLOAD_KIND", "value": workload.kind},
            {"name": "MESHCTL_WORKLOAD_NAME", "value": workload.name},
        ],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
        // Root with NET_ADMIN/NET_RAW only: iptables needs both, nothing else is granted.
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": false,
            "runAsGroup": 0,
            "runAsNonRoot": false,
            "runAsUser": 0,
        },
        "volumeMounts": [{"name": BOOTSTRAP_VOLUME, "mountPath": BOOTSTRAP_DIR}],
    })
}

fn proxy_container(s: &Settings, native: bool) -> Value {
    let probe = |period: u32, failures: u32| {
        json!({
            "httpGet": {"path": "/ready", "port": s.metrics_port},
            "periodSeconds": period,
            "timeoutSeconds": 1,
            "failureThreshold": failures,
        })
    };
    let mut container = Map::new();
    container.insert("name".into(), json!(PROXY_CONTAINER));
    container.insert("image".into(), json!(s.proxy_image));
    container.insert("imagePullPolicy".into(), json!(s.proxy_pull_policy));
    if native {
        container.insert("restartPolicy".into(), json!("Always"));
    }
    container.insert("command".into(), json!(["envoy"]));
    container.insert(
        "args".into(),
        json!([
            "-c",
            BOOTSTRAP_PATH,
            "--disable-hot-restart",
            "--log-level",
            s.log_level,
            "--concurrency",
            s.concurrency.to_string(),
            "--drain-time-s",
            s.drain_seconds.to_string(),
            "--drain-strategy",
            "immediate",
        ]),
    );
    container.insert(
        "ports".into(),
        json!([{"name": "http-envoy-prom", "containerPort": s.metrics_port, "protocol": "TCP"}]),
    );
    container.insert("startupProbe".into(), probe(1, 120));
    container.insert("readinessProbe".into(), probe(5, 3));
    container.insert(
        "resources".into(),
        json!({
            "requests": {"cpu": s.cpu_request, "memory": s.memory_request},
            "limits": {"cpu": s.cpu_limit, "memory": s.memory_limit},
        }),
    );
    // The restricted Pod Security profile, with the uid the iptables rules exempt.
    container.insert(
        "securityContext".into(),
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsGroup": s.uid,
            "runAsNonRoot": true,
            "runAsUser": s.uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
    );
    container.insert(
        "volumeMounts".into(),
        json!([{"name": BOOTSTRAP_VOLUME, "mountPath": BOOTSTRAP_DIR, "readOnly": true}]),
    );
    Value::Object(container)
}

/// A helper for callers holding a whole object: the pod template's metadata+spec lives at `path`.
pub fn template_at<'a>(root: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    get(root, path).filter(|v| v.is_object())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::{PodDecision, inject_pod, uninject_pod};

    fn pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}
        })
    }

    #[test]
    fn injects_native_sidecar_and_round_trips() {
        let original = pod();
        let mut p = original.clone();
        let decision = inject_pod(&mut p, Some("shop"), &InjectOptions::default()).unwrap();
        assert_eq!(decision, PodDecision::Injected);
        let inits = container_names(&p["spec"], "initContainers");
        assert_eq!(inits, vec![INIT_CONTAINER, PROXY_CONTAINER]);
        assert_eq!(p["spec"]["initContainers"][1]["restartPolicy"], "Always");
        assert_eq!(p["spec"]["containers"].as_array().unwrap().len(), 1);
        assert_eq!(
            p["metadata"]["annotations"][DEFAULT_CONTAINER_ANNOTATION],
            "app"
        );
        assert_eq!(p["spec"]["initContainers"][0]["env"][4]["value"], "Pod");
        let injected = p.clone();
        assert_eq!(
            inject_pod(&mut p, Some("shop"), &InjectOptions::default()).unwrap(),
            PodDecision::Unchanged
        );
        assert_eq!(p, injected);
        assert_eq!(uninject_pod(&mut p).unwrap(), PodDecision::Uninjected);
        assert_eq!(p, original);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&original).unwrap()
        );
    }

    #[test]
    fn classic_sidecar_goes_last_in_containers() {
        let mut p = pod();
        let options = InjectOptions {
            native_sidecar: false,
            ..InjectOptions::default()
        };
        inject_pod(&mut p, None, &options).unwrap();
        assert_eq!(
            container_names(&p["spec"], "containers"),
            vec!["app", PROXY_CONTAINER]
        );
        assert_eq!(
            container_names(&p["spec"], "initContainers"),
            vec![INIT_CONTAINER]
        );
        assert!(p["spec"]["containers"][1].get("restartPolicy").is_none());
        uninject_pod(&mut p).unwrap();
        assert_eq!(p, pod());
    }

    #[test]
    fn config_change_replaces_the_sidecar() {
        let mut p = pod();
        inject_pod(&mut p, None, &InjectOptions::default()).unwrap();
        let mut options = InjectOptions::default();
        options
            .overrides
            .insert("proxy-image".into(), "envoy:new".into());
        assert_eq!(
            inject_pod(&mut p, None, &options).unwrap(),
            PodDecision::Injected
        );
        assert_eq!(p["spec"]["initContainers"][1]["image"], "envoy:new");
        assert_eq!(p["spec"]["initContainers"].as_array().unwrap().len(), 2);
        uninject_pod(&mut p).unwrap();
        assert_eq!(p, pod());
    }

    #[test]
    fn refusals_and_skips() {
        let options = InjectOptions::default();
        let mut p = pod();
        p["spec"]["hostNetwork"] = json!(true);
        assert_eq!(
            inject_pod(&mut p, None, &options),
            Ok(PodDecision::Skipped("hostNetwork is enabled".into()))
        );
        let mut p = pod();
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "istio-proxy"}));
        assert!(
            matches!(inject_pod(&mut p, None, &options), Err(InjectError::Refused(m)) if m.contains("Istio"))
        );
        let mut p = pod();
        assert!(matches!(
            inject_pod(&mut p, Some("meshctl-system"), &options),
            Err(InjectError::Refused(_))
        ));
        let mut p = pod();
        p["metadata"]["annotations"] = json!({"meshctl.io/inject": "disabled"});
        let before = p.clone();
        assert!(matches!(
            inject_pod(&mut p, None, &options),
            Ok(PodDecision::Skipped(_))
        ));
        assert_eq!(p, before);
        let mut p = pod();
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": PROXY_CONTAINER}));
        assert!(matches!(
            inject_pod(&mut p, None, &options),
            Err(InjectError::Invalid(_))
        ));
    }

    #[test]
    fn workload_from_replicaset_owner() {
        let p = json!({"metadata": {
            "generateName": "web-5d9c8-",
            "labels": {"pod-template-hash": "5d9c8"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9c8", "controller": true}]
        }});
        assert_eq!(Workload::of_pod(&p), Workload::new("Deployment", "web"));
        let p = json!({"metadata": {"ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": true}]}});
        assert_eq!(Workload::of_pod(&p), Workload::new("StatefulSet", "db"));
        assert_eq!(
            Workload::of_pod(&json!({"metadata": {"generateName": "x-"}})),
            Workload::new("Pod", "x")
        );
    }

    #[test]
    fn keeps_user_annotations_and_existing_lists() {
        let mut p = pod();
        p["metadata"]["annotations"] = json!({"prometheus.io/scrape": "true", "a": "b"});
        p["spec"]["initContainers"] = json!([{"name": "migrate", "image": "x"}]);
        p["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
        let original = p.clone();
        inject_pod(&mut p, None, &InjectOptions::default()).unwrap();
        assert_eq!(
            container_names(&p["spec"], "initContainers"),
            vec![INIT_CONTAINER, PROXY_CONTAINER, "migrate"]
        );
        assert!(
            p["metadata"]["annotations"]
                .get("prometheus.io/port")
                .is_none()
        );
        assert_eq!(p["spec"]["volumes"][1]["name"], BOOTSTRAP_VOLUME);
        uninject_pod(&mut p).unwrap();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&original).unwrap()
        );
    }
}
