//! Strategic merge patch and server-side-apply field ownership, on untyped JSON.
//!
//! Strategic merge needs per-field patch metadata; the real server reads it from the Go types.
//! We keep a table of the list fields whose merge keys matter (pod spec lists, conditions,
//! owner references, webhooks); every other list is replaced, as for atomic lists.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Merge key of a list field given the path of map keys that leads to it; None = atomic list.
pub fn merge_key(field: &str, path: &[String]) -> Option<&'static str> {
    let in_container = path
        .iter()
        .any(|p| p == "containers" || p == "initContainers" || p == "ephemeralContainers");
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates"
        | "webhooks" => "name",
        "ports" if in_container => "containerPort",
        "ports" if path.last().is_some_and(|p| p == "spec") => "port",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        "readinessGates" => "conditionType",
        _ => return None,
    })
}

/// Lists of scalars merged as sets.
fn is_set_list(field: &str) -> bool {
    field == "finalizers"
}

/// Strips patch directives and nulls from a value being inserted as a whole.
fn clean(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|v| !(v.is_object() && v.get("$patch").is_some()))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies a strategic merge patch to `target`.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    merge_value(target, patch, &mut Vec::new());
}

fn merge_value(target: &mut Value, patch: &Value, path: &mut Vec<String>) {
    let Some(patch_map) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = clean(patch);
            return;
        }
        Some("delete") => {
            *target = Value::Null;
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(target_map) = target.as_object_mut() else {
        return;
    };
    for (key, value) in patch_map {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) =
                (target_map.get_mut(field), value.as_array())
            {
                items.retain(|i| !remove.contains(i));
            }
            continue;
        }
        if key.starts_with('$') {
            // $setElementOrder and $retainKeys are applied below.
            continue;
        }
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        path.push(key.clone());
        match value {
            Value::Object(_) => {
                let slot = target_map.entry(key.clone()).or_insert(Value::Null);
                merge_value(slot, value, path);
                if slot.is_null() {
                    target_map.remove(key);
                }
            }
            Value::Array(items) => {
                let parent = &path[..path.len() - 1];
                if let Some(mk) = merge_key(key, parent) {
                    let slot = target_map
                        .entry(key.clone())
                        .or_insert(Value::Array(Vec::new()));
                    merge_list(slot, items, mk, path);
                } else if is_set_list(key) {
                    let slot = target_map
                        .entry(key.clone())
                        .or_insert(Value::Array(Vec::new()));
                    if let Value::Array(existing) = slot {
                        for item in items {
                            if !existing.contains(item) {
                                existing.push(item.clone());
                            }
                        }
                    } else {
                        *slot = clean(value);
                    }
                } else {
                    target_map.insert(key.clone(), clean(value));
                }
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
        path.pop();
    }
    // `$setElementOrder/<list>`: the listed elements in that order, then the others as they were.
    for (key, order) in patch_map {
        let (Some(field), Some(order)) = (key.strip_prefix("$setElementOrder/"), order.as_array())
        else {
            continue;
        };
        let Some(mk) = merge_key(field, path) else {
            continue;
        };
        if let Some(Value::Array(items)) = target_map.get_mut(field) {
            let rank = |item: &Value| {
                order
                    .iter()
                    .position(|o| o.get(mk).is_some() && o.get(mk) == item.get(mk))
                    .unwrap_or(usize::MAX)
            };
            items.sort_by_key(rank);
        }
    }
    // `$retainKeys` (union types such as a Deployment's strategy): only the listed keys stay.
    if let Some(keep) = patch_map.get("$retainKeys").and_then(Value::as_array) {
        target_map.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k.as_str())));
    }
}

fn merge_list(target: &mut Value, items: &[Value], key: &str, path: &mut Vec<String>) {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = clean(&Value::Array(items.to_vec()));
        return;
    }
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    let Value::Array(existing) = target else {
        return;
    };
    for item in items {
        let Some(id) = item.get(key) else {
            existing.push(clean(item));
            continue;
        };
        let position = existing.iter().position(|e| e.get(key) == Some(id));
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            existing.retain(|e| e.get(key) != Some(id));
            continue;
        }
        match position {
            Some(i) => merge_value(&mut existing[i], item, path),
            None => existing.push(clean(item)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field sets (managedFields, FieldsV1)

/// A field path as FieldsV1 spells its steps: `f:name`, `k:{"name":"x"}`, `v:"value"`.
pub type FieldPath = Vec<String>;

/// Top-level metadata fields the server owns; never part of a manager's set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The leaf field paths an object sets (apiVersion/kind and server metadata excluded).
pub fn leaf_fields(obj: &Value, include_status: bool) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        if k == "apiVersion" || k == "kind" || (k == "status" && !include_status) {
            continue;
        }
        let mut path = vec![format!("f:{k}")];
        if k == "metadata" {
            for (mk, mv) in v.as_object().into_iter().flatten() {
                if SERVER_METADATA.contains(&mk.as_str()) {
                    continue;
                }
                path.push(format!("f:{mk}"));
                collect(mv, &mut path, &mut vec![k.clone(), mk.clone()], &mut out);
                path.pop();
            }
            continue;
        }
        collect(v, &mut path, &mut vec![k.clone()], &mut out);
    }
    out
}

fn collect(
    value: &Value,
    path: &mut FieldPath,
    names: &mut Vec<String>,
    out: &mut BTreeSet<FieldPath>,
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(format!("f:{k}"));
                names.push(k.clone());
                collect(v, path, names, out);
                names.pop();
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let field = names.last().cloned().unwrap_or_default();
            let parent = &names[..names.len().saturating_sub(1)];
            if let Some(mk) = merge_key(&field, parent) {
                for item in items {
                    let Some(id) = item.get(mk) else {
                        out.insert(path.clone());
                        return;
                    };
                    let step = format!("k:{}", serde_json::json!({ mk: id }));
                    path.push(step);
                    collect(item, path, names, out);
                    path.pop();
                }
            } else if is_set_list(&field) {
                for item in items {
                    path.push(format!("v:{item}"));
                    out.insert(path.clone());
                    path.pop();
                }
            } else {
                out.insert(path.clone());
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Resolves a FieldsV1 path in an object.
pub fn lookup<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for step in path {
        if let Some(name) = step.strip_prefix("f:") {
            cur = cur.get(name)?;
        } else if let Some(key) = step.strip_prefix("k:") {
            let key: Value = serde_json::from_str(key).ok()?;
            let (k, v) = key.as_object()?.iter().next()?;
            cur = cur.as_array()?.iter().find(|e| e.get(k) == Some(v))?;
        } else if let Some(val) = step.strip_prefix("v:") {
            let val: Value = serde_json::from_str(val).ok()?;
            cur = cur.as_array()?.iter().find(|e| **e == val)?;
        } else {
            return None;
        }
    }
    Some(cur)
}

/// Removes the field at a FieldsV1 path (no-op when absent).
pub fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for step in parents {
        let next = if let Some(name) = step.strip_prefix("f:") {
            cur.get_mut(name)
        } else if let Some(key) = step.strip_prefix("k:") {
            let Ok(key) = serde_json::from_str::<Value>(key) else {
                return;
            };
            let Some((k, v)) = key.as_object().and_then(|m| m.iter().next()) else {
                return;
            };
            let (k, v) = (k.clone(), v.clone());
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|e| e.get(&k) == Some(&v)))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(map) = cur.as_object_mut() {
            map.remove(name);
        }
    } else if let Some(key) = last.strip_prefix("k:").or_else(|| last.strip_prefix("v:"))
        && let Ok(key) = serde_json::from_str::<Value>(key)
        && let Some(items) = cur.as_array_mut()
    {
        if last.starts_with("v:") {
            items.retain(|e| *e != key);
        } else if let Some((k, v)) = key.as_object().and_then(|m| m.iter().next()) {
            items.retain(|e| e.get(k) != Some(v));
        }
    }
}

/// Renders a leaf set as FieldsV1 JSON.
pub fn to_fields_v1(fields: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut cur = &mut root;
        for step in path {
            let entry = cur
                .entry(step.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else {
                break;
            };
            if step.starts_with("k:") && !next.contains_key(".") {
                next.insert(".".to_string(), Value::Object(Map::new()));
            }
            cur = next;
        }
    }
    Value::Object(root)
}

/// Reads a FieldsV1 object back into leaf paths.
pub fn from_fields_v1(fields: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.as_str() != ".").collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            return;
        }
        for (k, child) in children {
            path.push(k.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

/// Does `a` contain `b` or `b` contain `a` (one is a prefix of the other)?
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name() {
        let mut pod = json!({"spec": {"containers": [{"name": "app", "image": "a:1"}],
            "volumes": [{"name": "v1", "emptyDir": {}}]}});
        strategic_merge(
            &mut pod,
            &json!({"spec": {"containers": [{"name": "app", "image": "a:2"},
                                            {"name": "proxy", "image": "envoy"}],
                              "volumes": [{"name": "v1", "$patch": "delete"}]}}),
        );
        assert_eq!(pod["spec"]["containers"][0]["image"], "a:2");
        assert_eq!(pod["spec"]["containers"][1]["name"], "proxy");
        assert_eq!(pod["spec"]["volumes"], json!([]));
    }

    #[test]
    fn env_and_ports_merge_by_key_and_nulls_delete() {
        let mut pod = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "c", "env": [{"name": "X", "value": "1"}],
                                     "ports": [{"containerPort": 80, "name": "http"}],
                                     "args": ["a"]}]}});
        strategic_merge(
            &mut pod,
            &json!({"metadata": {"labels": {"a": null}},
                "spec": {"containers": [{"name": "c", "env": [{"name": "Y", "value": "2"}],
                                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                         "args": ["b"]}]}}),
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["env"].as_array().unwrap().len(), 2);
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        );
        assert_eq!(c["args"], json!(["b"]));
        assert_eq!(pod["metadata"]["labels"], json!({"b": "2"}));
    }

    #[test]
    fn replace_directive_and_set_lists() {
        let mut obj = json!({"metadata": {"finalizers": ["a"]}, "spec": {"selector": {"x": "1"}}});
        strategic_merge(
            &mut obj,
            &json!({"metadata": {"finalizers": ["b"]},
                    "spec": {"selector": {"$patch": "replace", "y": "2"}}}),
        );
        assert_eq!(obj["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(obj["spec"]["selector"], json!({"y": "2"}));
    }

    #[test]
    fn retain_keys_and_delete_from_primitive_list() {
        let mut d = json!({"spec": {"strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1}}}, "metadata": {"finalizers": ["a", "b", "c"]}});
        strategic_merge(
            &mut d,
            &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                          "rollingUpdate": null}},
                    "metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
        );
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(d["metadata"]["finalizers"], json!(["a", "c"]));
    }

    #[test]
    fn set_element_order_puts_listed_items_first() {
        let mut pod = json!({"spec": {"containers": [{"name": "web", "image": "w"}]}});
        strategic_merge(
            &mut pod,
            &json!({"spec": {"$setElementOrder/containers": [{"name": "proxy"}, {"name": "web"}],
                             "containers": [{"name": "proxy", "image": "envoy"}]}}),
        );
        let names: Vec<&str> = pod["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["proxy", "web"]);
    }

    #[test]
    fn field_sets_round_trip_and_lookup() {
        let obj = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let fields = leaf_fields(&obj, false);
        let v1 = to_fields_v1(&fields);
        assert!(v1["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]["f:image"].is_object());
        assert_eq!(from_fields_v1(&v1), fields);
        for f in &fields {
            assert!(lookup(&obj, f).is_some(), "{f:?}");
        }
        let mut copy = obj.clone();
        remove(
            &mut copy,
            &[
                "f:spec".into(),
                "f:containers".into(),
                "k:{\"name\":\"c\"}".into(),
            ],
        );
        assert_eq!(copy["spec"]["containers"], json!([]));
    }
}
