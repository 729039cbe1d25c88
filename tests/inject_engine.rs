//! One engine: `meshctl inject` on a workload manifest and the webhook's `inject_pod` on a pod created
//! from that workload's template produce the same pod spec and annotations, for every workload in
//! the corpus.

mod support;

use meshctl::inject::manifest::{self, Direction, RunOptions, template_path};
use meshctl::inject::text;
use meshctl::inject::{InjectOptions, PodDecision, get, inject_pod, uninject_pod};
use serde_json::{Value, json};

fn values(text_: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for doc in text::parse(text_).unwrap() {
        let value = text::to_value(&doc.root).unwrap();
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            out.extend(value["items"].as_array().unwrap().iter().cloned());
        } else {
            out.push(value);
        }
    }
    out
}

/// The pod a controller would create from `workload`'s template, as the webhook receives it.
fn pod_from(workload: &Value, template: &Value) -> Value {
    let kind = workload["kind"].as_str().unwrap();
    let name = workload["metadata"]["name"].as_str().unwrap();
    let mut metadata = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let (owner_kind, owner_name) = match kind {
        "Deployment" => {
            metadata["labels"]["pod-template-hash"] = json!("5d9c8b7f6");
            ("ReplicaSet".to_string(), format!("{name}-5d9c8b7f6"))
        }
        other => (other.to_string(), name.to_string()),
    };
    metadata["generateName"] = json!(format!("{owner_name}-"));
    metadata["ownerReferences"] = json!([{
        "apiVersion": "apps/v1", "kind": owner_kind, "name": owner_name,
        "uid": "1", "controller": true
    }]);
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"].clone()})
}

#[test]
fn cli_inject_and_webhook_give_the_same_pod() {
    let mut compared = 0;
    for entry in std::fs::read_dir(support::corpus()).unwrap() {
        let path = entry.unwrap().path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !["yaml", "yml", "json"].contains(&ext) {
            continue;
        }
        let original = std::fs::read_to_string(&path).unwrap();
        let options = RunOptions {
            inject: InjectOptions::default(),
            direction: Direction::Inject,
            namespace: Some("shop".to_string()),
            output: None,
        };
        let processed = manifest::process("f", &original, &options).unwrap();
        let before = values(&original);
        let after = values(&processed.text);
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            let Some(kind) = b.get("kind").and_then(Value::as_str) else {
                continue;
            };
            // A CronJob's pods belong to Jobs with generated names: the webhook cannot name the
            // CronJob without asking the cluster. Pods are their own workload.
            if kind == "CronJob" || kind == "Pod" {
                continue;
            }
            let Some(tpath) = template_path(kind) else {
                continue;
            };
            let template_before = get(b, &tpath).unwrap();
            let template_after = get(a, &tpath).unwrap();
            let mut pod = pod_from(b, template_before);
            let decision = inject_pod(&mut pod, Some("shop"), &InjectOptions::default());
            if template_before["spec"]["hostNetwork"] == json!(true) {
                assert!(matches!(decision, Ok(PodDecision::Skipped(_))));
                continue;
            }
            assert_eq!(decision, Ok(PodDecision::Injected), "{path:?} {kind}");
            assert_eq!(
                pod["spec"], template_after["spec"],
                "{path:?}: {kind} spec differs between CLI and webhook"
            );
            assert_eq!(
                pod["metadata"]["annotations"], template_after["metadata"]["annotations"],
                "{path:?}: {kind} annotations differ"
            );
            // And the webhook's pod uninjects back to the controller's pod.
            let mut back = pod.clone();
            assert_eq!(uninject_pod(&mut back), Ok(PodDecision::Uninjected));
            assert_eq!(back, pod_from(b, template_before));
            compared += 1;
        }
    }
    assert!(compared >= 30, "compared only {compared} workloads");
}
