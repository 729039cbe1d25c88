//! Server-side apply: merge the applied configuration, detect conflicts with other field
//! managers, drop fields the applier stopped applying, and record ownership.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::patch::{self, FieldPath};
use crate::resources::ResourceType;
use crate::store::managed_entry;

/// `.spec.containers[name="app"].image`, as the real server prints field paths.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for step in path {
        if let Some(name) = step.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(key) = step.strip_prefix("k:") {
            let parsed: Value = serde_json::from_str(key).unwrap_or(Value::Null);
            let inner: Vec<String> = parsed
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!("[{}]", inner.join(",")));
        } else if let Some(v) = step.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

/// Computes the object after `manager` applies `applied` to `current`, with managedFields set.
pub fn apply(
    t: &ResourceType,
    current: &Value,
    applied: &Value,
    manager: &str,
    force: bool,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let name = current["metadata"]["name"].as_str().unwrap_or_default();
    if let Some(kind) = applied["kind"].as_str()
        && kind != t.kind
    {
        return Err(ApiError::bad_request(format!(
            "the applied kind {kind:?} does not match {}",
            t.kind
        )));
    }
    let include_status = subresource == Some("status");
    let new_fields = patch::leaf_fields(applied, include_status);
    let mut applied_clean = applied.clone();
    if let Some(meta) = applied_clean["metadata"].as_object_mut() {
        for k in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    let mut merged = current.clone();
    patch::strategic_merge(&mut merged, &applied_clean);

    let entries: Vec<Value> = current["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_mine = |e: &Value| {
        e["manager"] == manager
            && e["operation"] == "Apply"
            && e["subresource"].as_str() == subresource
    };
    let previous: BTreeSet<FieldPath> = entries
        .iter()
        .filter(|e| is_mine(e))
        .flat_map(|e| patch::from_fields_v1(&e["fieldsV1"]))
        .collect();

    // Conflicts: another manager owns a field this apply changes.
    let mut conflicts: Vec<(String, FieldPath)> = Vec::new();
    let mut others: Vec<(Value, BTreeSet<FieldPath>)> = Vec::new();
    for e in entries.iter().filter(|e| !is_mine(e)) {
        let owned = patch::from_fields_v1(&e["fieldsV1"]);
        for q in &owned {
            let touched = new_fields.iter().any(|p| patch::overlaps(p, q));
            if touched && patch::lookup(current, q) != patch::lookup(&merged, q) {
                conflicts.push((
                    e["manager"].as_str().unwrap_or_default().to_string(),
                    q.clone(),
                ));
            }
        }
        others.push((e.clone(), owned));
    }
    if !conflicts.is_empty() && !force {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, p)| {
                json!({"reason": "FieldManagerConflict",
                "message": format!("conflict with \"{m}\""), "field": display_path(p)})
            })
            .collect();
        let lines: Vec<String> = conflicts
            .iter()
            .map(|(m, p)| format!("conflict with \"{m}\": {}", display_path(p)))
            .collect();
        let mut e = ApiError::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflict{}: {}",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "s" },
                lines.join("\n")
            ),
        );
        e.details = Some(Box::new(
            json!({"name": name, "group": t.group, "kind": t.plural, "causes": causes}),
        ));
        return Err(e);
    }
    if force {
        for (_, owned) in &mut others {
            owned.retain(|q| !conflicts.iter().any(|(_, c)| c == q));
        }
    }
    // Fields this manager applied before but not now, and nobody else owns: removed.
    for p in previous.difference(&new_fields) {
        let shared = others
            .iter()
            .any(|(_, owned)| owned.iter().any(|q| patch::overlaps(p, q)))
            || new_fields.iter().any(|q| patch::overlaps(p, q));
        if !shared {
            patch::remove(&mut merged, p);
        }
    }
    let existing = patch::leaf_fields(&merged, true);
    let mut managed: Vec<Value> = Vec::new();
    for (mut e, mut owned) in others {
        owned.retain(|q| existing.contains(q) || patch::lookup(&merged, q).is_some());
        e["fieldsV1"] = patch::to_fields_v1(&owned);
        managed.push(e);
    }
    managed.push(managed_entry(
        manager,
        "Apply",
        &t.api_version(),
        subresource,
        &new_fields,
    ));
    crate::store::set_managed(&mut merged, managed);
    merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy_type() -> ResourceType {
        crate::resources::builtin()
            .into_iter()
            .find(|t| t.kind == "Deployment")
            .unwrap()
    }

    #[test]
    fn conflicts_unless_forced_and_prunes_dropped_fields() {
        let t = deploy_type();
        let base = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "1"}}, "spec": {"replicas": 1}});
        let first = apply(
            &t,
            &json!({"metadata": {"name": "d", "resourceVersion": "5"}}),
            &base,
            "alice",
            false,
            None,
        )
        .unwrap();
        assert_eq!(first["spec"]["replicas"], 1);
        let other = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"replicas": 3}});
        let err = apply(&t, &first, &other, "bob", false, None).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(err.message.contains(".spec.replicas"), "{}", err.message);
        let forced = apply(&t, &first, &other, "bob", true, None).unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        // alice stops applying the label: it is removed.
        let smaller =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
        let pruned = apply(&t, &forced, &smaller, "alice", false, None).unwrap();
        assert!(pruned["metadata"]["labels"].get("a").is_none(), "{pruned}");
        assert_eq!(pruned["spec"]["replicas"], 3);
    }
}
