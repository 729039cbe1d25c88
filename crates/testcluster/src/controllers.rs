//! Simplified controllers, run after every write (and on a short tick for readiness delays):
//! namespace finalization, garbage collection by ownerReferences, Deployment -> ReplicaSet ->
//! Pod, StatefulSet, DaemonSet, Job, and a kubelet stand-in that schedules pods and makes them
//! Running/Ready after the configured delay. Pod creation goes through admission.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::resources::ResourceType;
use crate::server::{self, Shared};
use crate::store::{DeleteOptions, UpdateKind, WriteOptions};
use crate::util;

/// The single node pods are scheduled to.
pub const NODE_NAME: &str = "testcluster-node";
const MANAGER: &str = "kube-controller-manager";

/// `matchLabels` rendered as a selector string (the Scale status wants one).
pub fn selector_string(selector: &Value) -> String {
    let mut parts: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    parts.sort();
    parts.join(",")
}

/// Controller memory that is not in the objects.
#[derive(Default)]
struct Memory {
    /// When the kubelet stand-in first saw each pod (creationTimestamp has 1 s precision).
    first_seen: HashMap<String, Instant>,
    next_ip: u32,
    /// Owners whose pod creation failed recently (back off instead of hammering webhooks).
    backoff: HashMap<String, Instant>,
}

pub async fn run(shared: Arc<Shared>) {
    let mut memory = Memory::default();
    loop {
        // Sleep until the next pod is due (or a write wakes us), at most 250 ms.
        let tick = reconcile(&shared, &mut memory)
            .await
            .map_or(Duration::from_millis(250), |due| {
                due.clamp(Duration::from_millis(5), Duration::from_millis(250))
            });
        tokio::select! {
            _ = shared.changed.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

fn find(shared: &Shared, group: &str, plural: &str) -> Option<ResourceType> {
    shared.read(|s| {
        s.types
            .iter()
            .find(|t| t.group == group && t.plural == plural)
            .cloned()
    })
}

fn name_of(o: &Value) -> String {
    o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn ns_of(o: &Value) -> String {
    o["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn uid_of(o: &Value) -> String {
    o["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn deleting(o: &Value) -> bool {
    o["metadata"].get("deletionTimestamp").is_some()
}

fn controller_uid(o: &Value) -> Option<&str> {
    o["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["uid"].as_str())
}

fn owner_ref(owner: &Value, kind: &str, api_version: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true})
}

fn template_hash(template: &Value) -> String {
    util::stable_hash(&template.to_string())
}

fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Conditions with stable timestamps: unchanged status keeps its lastTransitionTime.
fn conditions(old: &Value, new: &[(&str, &str, &str, &str)], with_update_time: bool) -> Value {
    let now = util::now();
    let items: Vec<Value> = new
        .iter()
        .map(|(ty, status, reason, message)| {
            let prev = old
                .as_array()
                .and_then(|a| a.iter().find(|c| c["type"] == *ty));
            let transition = prev
                .filter(|p| p["status"] == *status)
                .and_then(|p| p["lastTransitionTime"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| now.clone());
            let mut c = json!({"type": ty, "status": status, "lastTransitionTime": transition,
                               "reason": reason, "message": message});
            if with_update_time {
                let update = prev
                    .filter(|p| {
                        p["status"] == *status && p["reason"] == *reason && p["message"] == *message
                    })
                    .and_then(|p| p["lastUpdateTime"].as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| now.clone());
                c["lastUpdateTime"] = json!(update);
            }
            c
        })
        .collect();
    Value::Array(items)
}

fn write_status(shared: &Shared, t: &ResourceType, obj: &Value, status: Value) {
    if obj["status"] == status {
        return;
    }
    let mut updated = obj.clone();
    updated["status"] = status;
    updated["metadata"]["resourceVersion"] = Value::Null;
    let opts = WriteOptions {
        field_manager: Some(MANAGER.into()),
        subresource: Some("status".into()),
        ..Default::default()
    };
    let _ = shared.write(|s| {
        s.update(
            t,
            &ns_of(obj),
            &name_of(obj),
            updated,
            &opts,
            UpdateKind::Update,
        )
    });
}

fn write_object(shared: &Shared, t: &ResourceType, obj: Value) {
    let mut obj = obj;
    obj["metadata"]["resourceVersion"] = Value::Null;
    let opts = WriteOptions {
        field_manager: Some(MANAGER.into()),
        ..Default::default()
    };
    let (ns, name) = (ns_of(&obj), name_of(&obj));
    let _ = shared.write(|s| s.update(t, &ns, &name, obj, &opts, UpdateKind::Update));
}

fn delete(shared: &Shared, t: &ResourceType, obj: &Value) {
    let _ = shared.write(|s| s.delete(t, &ns_of(obj), &name_of(obj), &DeleteOptions::default()));
}

/// Creates a pod from a template (through admission); records a FailedCreate event on error.
#[allow(clippy::too_many_arguments)]
async fn create_pod(
    shared: &Arc<Shared>,
    memory: &mut Memory,
    owner: &Value,
    owner_kind: &str,
    owner_api: &str,
    name: String,
    labels: Value,
    template: &Value,
    extra_spec: Value,
) {
    let Some(pods) = find(shared, "", "pods") else {
        return;
    };
    let ns = ns_of(owner);
    // A name ending in '-' is a generateName prefix (ReplicaSet, DaemonSet and Job pods).
    let name_field = if name.ends_with('-') {
        "generateName"
    } else {
        "name"
    };
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {name_field: name, "namespace": ns, "labels": labels,
                     "ownerReferences": [owner_ref(owner, owner_kind, owner_api)]},
        "spec": template["spec"].clone(),
    });
    if let Some(a) = template["metadata"].get("annotations") {
        pod["metadata"]["annotations"] = a.clone();
    }
    if let (Some(spec), Some(extra)) = (pod["spec"].as_object_mut(), extra_spec.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    let opts = WriteOptions {
        field_manager: Some(MANAGER.into()),
        ..Default::default()
    };
    if let Err(e) = server::create(shared, &pods, &ns, pod, &opts).await {
        memory.backoff.insert(uid_of(owner), Instant::now());
        record_event(
            shared,
            owner,
            owner_kind,
            owner_api,
            "FailedCreate",
            &format!("Error creating: {}", e.message),
        );
    }
}

fn record_event(
    shared: &Shared,
    obj: &Value,
    kind: &str,
    api_version: &str,
    reason: &str,
    message: &str,
) {
    let Some(events) = find(shared, "", "events") else {
        return;
    };
    let ns = ns_of(obj);
    // Repeats of the same event bump its count, as the real event recorder does.
    let existing = shared
        .read(|s| s.all(&events, Some(&ns)))
        .into_iter()
        .find(|e| {
            e["involvedObject"]["uid"] == obj["metadata"]["uid"]
                && e["reason"] == reason
                && e["message"] == message
        });
    if let Some(mut e) = existing {
        e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
        e["lastTimestamp"] = json!(util::now());
        write_object(shared, &events, e);
        return;
    }
    let name = format!(
        "{}.{:x}",
        name_of(obj),
        util::random_u64() & 0xffff_ffff_ffff
    );
    let now = util::now();
    let event = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": kind, "apiVersion": api_version, "namespace": ns,
                           "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"]},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "testcluster"}});
    let _ = shared.write(|s| s.create(&events, &ns, event, &WriteOptions::default()));
}

fn backing_off(memory: &Memory, owner: &Value) -> bool {
    memory
        .backoff
        .get(&uid_of(owner))
        .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
}

/// One pass over everything. Returns true when something waits on time (pending pods).
async fn reconcile(shared: &Arc<Shared>, memory: &mut Memory) -> Option<Duration> {
    finalize_namespaces(shared);
    collect_garbage(shared);
    deployments(shared);
    replica_sets(shared, memory).await;
    stateful_sets(shared, memory).await;
    daemon_sets(shared, memory).await;
    jobs(shared, memory).await;
    kubelet(shared, memory)
}

fn finalize_namespaces(shared: &Shared) {
    let Some(nst) = find(shared, "", "namespaces") else {
        return;
    };
    let terminating: Vec<Value> = shared
        .read(|s| s.all(&nst, None))
        .into_iter()
        .filter(deleting)
        .collect();
    for ns in terminating {
        let name = name_of(&ns);
        let contents: Vec<(ResourceType, Value)> = shared.read(|s| {
            s.everything()
                .into_iter()
                .filter(|(t, o)| t.namespaced && ns_of(o) == name)
                .collect()
        });
        if contents.is_empty() {
            let mut done = ns.clone();
            done["spec"]["finalizers"] = json!([]);
            write_object(shared, &nst, done);
        } else {
            for (t, o) in contents {
                if !deleting(&o) {
                    delete(shared, &t, &o);
                }
            }
        }
    }
}

fn collect_garbage(shared: &Shared) {
    let (uids, dependents) = shared.read(|s| {
        let deps: Vec<(ResourceType, Value)> = s
            .everything()
            .into_iter()
            .filter(|(_, o)| {
                o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            })
            .collect();
        (s.uids(), deps)
    });
    for (t, o) in dependents {
        let refs = o["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let orphaned = refs
            .iter()
            .all(|r| r["uid"].as_str().is_none_or(|u| !uids.contains(u)));
        if orphaned && !deleting(&o) {
            delete(shared, &t, &o);
        }
    }
}

fn owned_by(items: &[Value], owner: &Value) -> Vec<Value> {
    let uid = uid_of(owner);
    items
        .iter()
        .filter(|o| controller_uid(o) == Some(uid.as_str()) && ns_of(o) == ns_of(owner))
        .cloned()
        .collect()
}

fn deployments(shared: &Shared) {
    let (Some(dt), Some(rst)) = (
        find(shared, "apps", "deployments"),
        find(shared, "apps", "replicasets"),
    ) else {
        return;
    };
    let deploys = shared.read(|s| s.all(&dt, None));
    for d in deploys.iter().filter(|d| !deleting(d)) {
        let all_rs = shared.read(|s| s.all(&rst, Some(&ns_of(d))));
        let owned = owned_by(&all_rs, d);
        let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let template = &d["spec"]["template"];
        let hash = template_hash(template);
        let new_name = format!("{}-{hash}", name_of(d));
        let revision = owned.len() + 1;
        let mut new_rs = owned.iter().find(|r| name_of(r) == new_name).cloned();
        if new_rs.is_none() {
            let mut tpl = template.clone();
            tpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let rs = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": new_name, "namespace": ns_of(d), "labels": tpl["metadata"]["labels"],
                             "annotations": {"deployment.kubernetes.io/revision": revision.to_string(),
                                             "deployment.kubernetes.io/desired-replicas": desired.to_string()},
                             "ownerReferences": [owner_ref(d, "Deployment", "apps/v1")]},
                "spec": {"replicas": desired, "selector": selector, "template": tpl},
            });
            let opts = WriteOptions {
                field_manager: Some(MANAGER.into()),
                ..Default::default()
            };
            new_rs = shared.write(|s| s.create(&rst, &ns_of(d), rs, &opts)).ok();
        }
        let Some(new_rs) = new_rs else {
            continue;
        };
        // The deployment carries its current revision, as `kubectl rollout history` reads it.
        let revision_key = "deployment.kubernetes.io/revision";
        let rs_revision = new_rs["metadata"]["annotations"][revision_key].clone();
        if d["metadata"]["annotations"][revision_key] != rs_revision {
            let mut annotated = d.clone();
            annotated["metadata"]["annotations"][revision_key] = rs_revision;
            write_object(shared, &dt, annotated);
            continue;
        }
        if new_rs["spec"]["replicas"].as_i64() != Some(desired) {
            let mut r = new_rs.clone();
            r["spec"]["replicas"] = json!(desired);
            write_object(shared, &rst, r);
        }
        for old in owned.iter().filter(|r| name_of(r) != new_name) {
            if old["spec"]["replicas"].as_i64() != Some(0) {
                let mut r = old.clone();
                r["spec"]["replicas"] = json!(0);
                write_object(shared, &rst, r);
            }
        }
        // Status from the ReplicaSets' status.
        let owned = owned_by(&shared.read(|s| s.all(&rst, Some(&ns_of(d)))), d);
        let sum = |field: &str| -> i64 {
            owned
                .iter()
                .filter_map(|r| r["status"][field].as_i64())
                .sum()
        };
        let replicas = sum("replicas");
        let ready = sum("readyReplicas");
        let available = sum("availableReplicas");
        let updated = owned
            .iter()
            .find(|r| name_of(r) == new_name)
            .and_then(|r| r["status"]["replicas"].as_i64())
            .unwrap_or(0);
        let complete = updated == desired && replicas == desired && available == desired;
        let available_cond = if available >= desired {
            (
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        } else {
            (
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        };
        let msg_complete = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
        let msg_progress = format!("ReplicaSet \"{new_name}\" is progressing.");
        let progressing = if complete {
            (
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                msg_complete.as_str(),
            )
        } else {
            (
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                msg_progress.as_str(),
            )
        };
        let mut status = json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conditions(&d["status"]["conditions"], &[available_cond, progressing], true),
        });
        if replicas > available {
            status["unavailableReplicas"] = json!(replicas - available);
        }
        write_status(shared, &dt, d, status);
    }
}

fn pods_of(shared: &Shared, owner: &Value) -> Vec<Value> {
    let Some(pt) = find(shared, "", "pods") else {
        return Vec::new();
    };
    owned_by(&shared.read(|s| s.all(&pt, Some(&ns_of(owner)))), owner)
}

async fn replica_sets(shared: &Arc<Shared>, memory: &mut Memory) {
    let (Some(rst), Some(pt)) = (
        find(shared, "apps", "replicasets"),
        find(shared, "", "pods"),
    ) else {
        return;
    };
    for rs in shared
        .read(|s| s.all(&rst, None))
        .iter()
        .filter(|r| !deleting(r))
    {
        let pods: Vec<Value> = pods_of(shared, rs)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        let desired = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
        if pods.len() < desired && !backing_off(memory, rs) {
            for _ in pods.len()..desired {
                let name = format!("{}-", name_of(rs));
                let labels = rs["spec"]["template"]["metadata"]["labels"].clone();
                create_pod(
                    shared,
                    memory,
                    rs,
                    "ReplicaSet",
                    "apps/v1",
                    name,
                    labels,
                    &rs["spec"]["template"],
                    json!({}),
                )
                .await;
            }
        } else if pods.len() > desired {
            for p in pods.iter().skip(desired) {
                delete(shared, &pt, p);
            }
        }
        let pods: Vec<Value> = pods_of(shared, rs)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        let ready = pods.iter().filter(|p| pod_ready(p)).count();
        let status = json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        });
        write_status(shared, &rst, rs, status);
    }
}

async fn stateful_sets(shared: &Arc<Shared>, memory: &mut Memory) {
    let (Some(st), Some(pt)) = (
        find(shared, "apps", "statefulsets"),
        find(shared, "", "pods"),
    ) else {
        return;
    };
    for sts in shared
        .read(|s| s.all(&st, None))
        .iter()
        .filter(|r| !deleting(r))
    {
        let name = name_of(sts);
        let revision = format!("{name}-{}", template_hash(&sts["spec"]["template"]));
        let desired = sts["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
        let pods: Vec<Value> = pods_of(shared, sts)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        for p in &pods {
            let index = name_of(p)
                .rsplit('-')
                .next()
                .and_then(|i| i.parse::<usize>().ok());
            let stale = p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str();
            if stale || index.is_none_or(|i| i >= desired) {
                delete(shared, &pt, p);
            }
        }
        if !backing_off(memory, sts) {
            for i in 0..desired {
                let pod_name = format!("{name}-{i}");
                if shared.read(|s| s.get(&pt, &ns_of(sts), &pod_name).is_some()) {
                    continue;
                }
                let mut labels = sts["spec"]["template"]["metadata"]["labels"].clone();
                labels["controller-revision-hash"] = json!(revision);
                labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
                labels["apps.kubernetes.io/pod-index"] = json!(i.to_string());
                let mut extra = json!({"hostname": pod_name});
                if let Some(svc) = sts["spec"]["serviceName"].as_str() {
                    extra["subdomain"] = json!(svc);
                }
                create_pod(
                    shared,
                    memory,
                    sts,
                    "StatefulSet",
                    "apps/v1",
                    pod_name,
                    labels,
                    &sts["spec"]["template"],
                    extra,
                )
                .await;
            }
        }
        let pods: Vec<Value> = pods_of(shared, sts)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        let ready = pods.iter().filter(|p| pod_ready(p)).count();
        let current = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
            .count();
        let status = json!({
            "observedGeneration": sts["metadata"]["generation"],
            "replicas": pods.len(),
            "readyReplicas": ready,
            "currentReplicas": current,
            "updatedReplicas": current,
            "availableReplicas": ready,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        });
        write_status(shared, &st, sts, status);
    }
}

async fn daemon_sets(shared: &Arc<Shared>, memory: &mut Memory) {
    let (Some(dst), Some(pt)) = (find(shared, "apps", "daemonsets"), find(shared, "", "pods"))
    else {
        return;
    };
    for ds in shared
        .read(|s| s.all(&dst, None))
        .iter()
        .filter(|r| !deleting(r))
    {
        let hash = template_hash(&ds["spec"]["template"]);
        let pods: Vec<Value> = pods_of(shared, ds)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        let mut current = 0;
        for p in &pods {
            if p["metadata"]["labels"]["controller-revision-hash"] != hash.as_str() || current >= 1
            {
                delete(shared, &pt, p);
            } else {
                current += 1;
            }
        }
        if current == 0 && !backing_off(memory, ds) {
            let mut labels = ds["spec"]["template"]["metadata"]["labels"].clone();
            labels["controller-revision-hash"] = json!(hash);
            labels["pod-template-generation"] = json!(
                ds["metadata"]["generation"]
                    .as_i64()
                    .unwrap_or(1)
                    .to_string()
            );
            let pod_name = format!("{}-", name_of(ds));
            create_pod(
                shared,
                memory,
                ds,
                "DaemonSet",
                "apps/v1",
                pod_name,
                labels,
                &ds["spec"]["template"],
                json!({"nodeName": NODE_NAME}),
            )
            .await;
        }
        let pods: Vec<Value> = pods_of(shared, ds)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
        let updated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == hash.as_str())
            .count() as i64;
        let mut status = json!({
            "observedGeneration": ds["metadata"]["generation"],
            "currentNumberScheduled": pods.len(),
            "desiredNumberScheduled": 1,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "updatedNumberScheduled": updated,
            "numberAvailable": ready,
        });
        if ready < 1 {
            status["numberUnavailable"] = json!(1 - ready);
        }
        write_status(shared, &dst, ds, status);
    }
}

async fn jobs(shared: &Arc<Shared>, memory: &mut Memory) {
    let Some(jt) = find(shared, "batch", "jobs") else {
        return;
    };
    for job in shared
        .read(|s| s.all(&jt, None))
        .iter()
        .filter(|r| !deleting(r))
    {
        let completions = job["spec"]["completions"].as_i64().unwrap_or(1).max(0) as usize;
        let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1).max(0) as usize;
        let pods: Vec<Value> = pods_of(shared, job)
            .into_iter()
            .filter(|p| !deleting(p))
            .collect();
        let succeeded = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .count();
        let active = pods
            .iter()
            .filter(|p| p["status"]["phase"] != "Succeeded" && p["status"]["phase"] != "Failed")
            .count();
        let complete = succeeded >= completions;
        if !complete && job["spec"]["suspend"] != true && !backing_off(memory, job) {
            let want = parallelism.min(completions - succeeded);
            for _ in active..want {
                let name = format!("{}-", name_of(job));
                let labels = job["spec"]["template"]["metadata"]["labels"].clone();
                create_pod(
                    shared,
                    memory,
                    job,
                    "Job",
                    "batch/v1",
                    name,
                    labels,
                    &job["spec"]["template"],
                    json!({}),
                )
                .await;
            }
        }
        let ready = pods
            .iter()
            .filter(|p| pod_ready(p) && p["status"]["phase"] == "Running")
            .count();
        let start = job["status"]["startTime"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(util::now);
        let mut status = json!({"startTime": start, "active": if complete { 0 } else { active },
                                "succeeded": succeeded, "ready": ready, "terminating": 0,
                                "uncountedTerminatedPods": {}});
        if complete {
            let done = job["status"]["completionTime"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(util::now);
            status["completionTime"] = json!(done);
            status["conditions"] = conditions(
                &job["status"]["conditions"],
                &[
                    (
                        "SuccessCriteriaMet",
                        "True",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                    ),
                    (
                        "Complete",
                        "True",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                    ),
                ],
                false,
            );
            if let Some(m) = status.as_object_mut() {
                m.remove("active");
            }
        }
        write_status(shared, &jt, job, status);
    }
}

fn pod_status(pod: &Value, phase: &str, ready: bool, ip: &str) -> Value {
    let start = pod["status"]["startTime"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(util::now);
    let ready_s = if ready { "True" } else { "False" };
    let succeeded = phase == "Succeeded";
    let statuses = |list: &str, init: bool| -> Vec<Value> {
        pod["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let state = if init || succeeded {
                    json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start, "finishedAt": start}})
                } else {
                    json!({"running": {"startedAt": start}})
                };
                json!({"name": c["name"], "image": c["image"], "imageID": format!("docker.io/library/{}", c["image"].as_str().unwrap_or_default()),
                       "containerID": format!("containerd://{:016x}", util::random_u64()),
                       "ready": if init { true } else { ready && !succeeded }, "started": !init && !succeeded,
                       "restartCount": 0, "state": state})
            })
            .collect()
    };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": start},
            {"type": "Initialized", "status": "True", "lastTransitionTime": start},
            {"type": "Ready", "status": ready_s, "lastTransitionTime": start},
            {"type": "ContainersReady", "status": ready_s, "lastTransitionTime": start},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": start},
        ],
        "hostIP": "10.0.0.10",
        "hostIPs": [{"ip": "10.0.0.10"}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": start,
        "qosClass": pod["status"]["qosClass"].as_str().unwrap_or("BestEffort"),
        "containerStatuses": statuses("containers", false),
    });
    if pod["spec"]["initContainers"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        status["initContainerStatuses"] = Value::Array(statuses("initContainers", true));
    }
    // Keep previously reported container ids stable so repeated passes are no-ops.
    if let Some(old) = pod["status"]["containerStatuses"].as_array() {
        for (new, old) in status["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .zip(old)
        {
            new["containerID"] = old["containerID"].clone();
        }
    }
    if let Some(old) = pod["status"]["initContainerStatuses"].as_array()
        && let Some(new) = status
            .get_mut("initContainerStatuses")
            .and_then(Value::as_array_mut)
    {
        for (new, old) in new.iter_mut().zip(old) {
            new["containerID"] = old["containerID"].clone();
        }
    }
    status
}

/// Applies `set_pod_ready` immediately (the controller keeps it afterwards).
pub fn apply_pod_readiness(shared: &Arc<Shared>, ns: &str, name: &str, ready: bool) {
    let Some(pt) = find(shared, "", "pods") else {
        return;
    };
    let Some(pod) = shared.read(|s| s.get(&pt, ns, name).cloned()) else {
        return;
    };
    let ip = pod["status"]["podIP"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| "10.244.255.1".into());
    let status = pod_status(&pod, "Running", ready, &ip);
    write_status(shared, &pt, &pod, status);
}

/// Schedules pods and moves them to Running/Ready (or Succeeded for Job pods) after the delay.
/// Returns how soon a pending pod is due, if any.
fn kubelet(shared: &Arc<Shared>, memory: &mut Memory) -> Option<Duration> {
    let pt = find(shared, "", "pods")?;
    let (delay, overrides) = {
        let s = shared.settings();
        (s.ready_delay, s.pod_ready.clone())
    };
    let pods = shared.read(|s| s.all(&pt, None));
    let live: BTreeSet<String> = pods.iter().map(uid_of).collect();
    memory.first_seen.retain(|uid, _| live.contains(uid));
    let mut next: Option<Duration> = None;
    let mut due_in = |d: Duration| next = Some(next.map_or(d, |n| n.min(d)));
    for pod in pods.iter().filter(|p| !deleting(p)) {
        let key = (ns_of(pod), name_of(pod));
        if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
            let mut bound = pod.clone();
            bound["spec"]["nodeName"] = json!(NODE_NAME);
            write_object(shared, &pt, bound);
            due_in(Duration::ZERO);
            continue;
        }
        let seen = *memory
            .first_seen
            .entry(uid_of(pod))
            .or_insert_with(Instant::now);
        if let Some(ready) = overrides.get(&key) {
            let ip = pod["status"]["podIP"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| {
                    memory.next_ip += 1;
                    format!(
                        "10.244.{}.{}",
                        memory.next_ip / 250,
                        memory.next_ip % 250 + 1
                    )
                });
            let status = pod_status(pod, "Running", *ready, &ip);
            write_status(shared, &pt, pod, status);
            continue;
        }
        let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
        if phase != "Pending" {
            continue;
        }
        if seen.elapsed() < delay {
            due_in(delay - seen.elapsed());
            continue;
        }
        memory.next_ip += 1;
        let ip = format!(
            "10.244.{}.{}",
            memory.next_ip / 250,
            memory.next_ip % 250 + 1
        );
        let job_pod = pod["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["kind"] == "Job"));
        let status = if job_pod {
            pod_status(pod, "Succeeded", false, &ip)
        } else {
            pod_status(pod, "Running", true, &ip)
        };
        write_status(shared, &pt, pod, status);
    }
    next
}
