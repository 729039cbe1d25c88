//! The defaulting and validation the real server does that clients notice.

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::resources::ResourceType;
use crate::store::Store;
use crate::util;

fn default_pod_spec(spec: &mut Value) {
    if spec.get("restartPolicy").is_none() {
        spec["restartPolicy"] = json!("Always");
    }
    if spec.get("serviceAccountName").is_none() {
        spec["serviceAccountName"] = json!("default");
    }
    if spec.get("dnsPolicy").is_none() {
        spec["dnsPolicy"] = json!("ClusterFirst");
    }
    if spec.get("schedulerName").is_none() {
        spec["schedulerName"] = json!("default-scheduler");
    }
    if spec.get("terminationGracePeriodSeconds").is_none() {
        spec["terminationGracePeriodSeconds"] = json!(30);
    }
    for list in ["containers", "initContainers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if c.get("imagePullPolicy").is_none() {
                let latest = c["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'));
                c["imagePullPolicy"] = json!(if latest { "Always" } else { "IfNotPresent" });
            }
            if c.get("terminationMessagePath").is_none() {
                c["terminationMessagePath"] = json!("/dev/termination-log");
            }
            if c.get("terminationMessagePolicy").is_none() {
                c["terminationMessagePolicy"] = json!("File");
            }
            for p in c
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if p.get("protocol").is_none() {
                    p["protocol"] = json!("TCP");
                }
            }
        }
    }
}

/// Defaults applied on create (and for namespaces on update).
pub fn apply(t: &ResourceType, obj: &mut Value, store: &Store) {
    match (t.group.as_str(), t.kind.as_str()) {
        ("", "Namespace") => {
            let name = obj["metadata"]["name"].clone();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            if obj["metadata"].get("deletionTimestamp").is_none() {
                if obj["spec"].get("finalizers").is_none() {
                    obj["spec"]["finalizers"] = json!(["kubernetes"]);
                }
                obj["status"]["phase"] = json!("Active");
            }
        }
        ("", "Pod") => {
            default_pod_spec(&mut obj["spec"]);
            if obj.get("status").is_none() || obj["status"]["phase"].is_null() {
                obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
            }
        }
        ("", "Service") => {
            let spec = &mut obj["spec"];
            if spec.get("type").is_none() {
                spec["type"] = json!("ClusterIP");
            }
            if spec.get("sessionAffinity").is_none() {
                spec["sessionAffinity"] = json!("None");
            }
            if spec.get("clusterIP").is_none() && spec["type"] != "ExternalName" {
                let n = store.resource_version();
                let ip = format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1);
                spec["clusterIP"] = json!(ip);
                spec["clusterIPs"] = json!([ip]);
            }
            for p in spec
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if p.get("protocol").is_none() {
                    p["protocol"] = json!("TCP");
                }
                if p.get("targetPort").is_none() {
                    p["targetPort"] = p["port"].clone();
                }
            }
            if obj.get("status").is_none() {
                obj["status"] = json!({"loadBalancer": {}});
            }
        }
        ("apps", "Deployment") | ("apps", "StatefulSet") | ("apps", "ReplicaSet") => {
            if obj["spec"].get("replicas").is_none() {
                obj["spec"]["replicas"] = json!(1);
            }
            if t.kind == "Deployment" {
                if obj["spec"].get("strategy").is_none() {
                    obj["spec"]["strategy"] = json!({"type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}});
                }
                if obj["spec"].get("revisionHistoryLimit").is_none() {
                    obj["spec"]["revisionHistoryLimit"] = json!(10);
                }
                if obj["spec"].get("progressDeadlineSeconds").is_none() {
                    obj["spec"]["progressDeadlineSeconds"] = json!(600);
                }
            }
            if t.kind == "StatefulSet" && obj["spec"].get("updateStrategy").is_none() {
                obj["spec"]["updateStrategy"] =
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
            }
            default_pod_spec(&mut obj["spec"]["template"]["spec"]);
        }
        ("apps", "DaemonSet") => {
            if obj["spec"].get("updateStrategy").is_none() {
                obj["spec"]["updateStrategy"] = json!({"type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}});
            }
            default_pod_spec(&mut obj["spec"]["template"]["spec"]);
        }
        ("batch", "Job") => {
            for (k, v) in [("completions", 1), ("parallelism", 1), ("backoffLimit", 6)] {
                if obj["spec"].get(k).is_none() {
                    obj["spec"][k] = json!(v);
                }
            }
            if obj["spec"]["template"]["spec"]
                .get("restartPolicy")
                .is_none()
            {
                obj["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
            }
            default_pod_spec(&mut obj["spec"]["template"]["spec"]);
            let uid = obj["metadata"]["uid"].clone();
            if obj["spec"].get("selector").is_none() {
                obj["spec"]["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
                obj["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] =
                    uid.clone();
                obj["spec"]["template"]["metadata"]["labels"]["controller-uid"] = uid;
            }
            if let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) {
                obj["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] =
                    json!(name);
                obj["spec"]["template"]["metadata"]["labels"]["job-name"] = json!(name);
            }
        }
        ("", "Secret") => {
            if obj.get("type").is_none() {
                obj["type"] = json!("Opaque");
            }
            // stringData is write-only: fold it into data.
            if let Some(sd) = obj.get("stringData").and_then(Value::as_object).cloned() {
                for (k, v) in sd {
                    obj["data"][k.as_str()] =
                        json!(util::base64(v.as_str().unwrap_or_default().as_bytes()));
                }
                if let Some(m) = obj.as_object_mut() {
                    m.remove("stringData");
                }
            }
        }
        _ => {}
    }
}

fn invalid(t: &ResourceType, obj: &Value, field: &str, msg: &str) -> ApiError {
    ApiError::invalid(
        &t.group,
        &t.kind,
        obj["metadata"]["name"].as_str().unwrap_or_default(),
        &[(field.to_string(), msg.to_string())],
    )
}

/// The validation that matters to clients: required fields, selector/template agreement.
pub fn validate(t: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let check_containers = |spec: &Value, prefix: &str| -> Result<(), ApiError> {
        let containers = spec["containers"].as_array();
        if containers.is_none_or(|c| c.is_empty()) {
            return Err(invalid(
                t,
                obj,
                &format!("{prefix}.containers"),
                "Required value",
            ));
        }
        for (i, c) in containers.into_iter().flatten().enumerate() {
            if c["name"].as_str().is_none_or(str::is_empty) {
                return Err(invalid(
                    t,
                    obj,
                    &format!("{prefix}.containers[{i}].name"),
                    "Required value",
                ));
            }
            if c["image"].as_str().is_none_or(str::is_empty) {
                return Err(invalid(
                    t,
                    obj,
                    &format!("{prefix}.containers[{i}].image"),
                    "Required value",
                ));
            }
        }
        Ok(())
    };
    match (t.group.as_str(), t.kind.as_str()) {
        ("", "Pod") => check_containers(&obj["spec"], "spec"),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            check_containers(&obj["spec"]["template"]["spec"], "spec.template.spec")?;
            let selector = &obj["spec"]["selector"];
            if !selector.is_object() {
                return Err(invalid(t, obj, "spec.selector", "Required value"));
            }
            let sel = crate::selectors::Selector::from_label_selector(selector)
                .map_err(|e| invalid(t, obj, "spec.selector", &e.to_string()))?;
            if !sel.matches_object_labels(&obj["spec"]["template"]) {
                return Err(invalid(
                    t,
                    obj,
                    "spec.template.metadata.labels",
                    "Invalid value: `selector` does not match template `labels`",
                ));
            }
            Ok(())
        }
        ("batch", "Job") => {
            check_containers(&obj["spec"]["template"]["spec"], "spec.template.spec")
        }
        _ => Ok(()),
    }
}
