//! Which webhooks a request reaches: `rules` and label selectors, with the API server's semantics
//! (`k8s.io/apiserver/pkg/admission/plugin/webhook/predicates`). Pure functions.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{AdmissionInput, Operation};

pub(crate) type Labels = BTreeMap<String, String>;

/// The label every namespace carries (set by the API server on create).
pub(crate) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// True if any of the webhook's `rules` covers the request.
pub(crate) fn rules_match(webhook: &Value, input: &AdmissionInput) -> bool {
    let Some(rules) = webhook.get("rules").and_then(Value::as_array) else {
        return false;
    };
    rules.iter().any(|rule| rule_matches(rule, input))
}

fn rule_matches(rule: &Value, input: &AdmissionInput) -> bool {
    let list = |field: &str| -> Vec<&str> {
        rule.get(field)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let has = |field: &str, wanted: &str| list(field).iter().any(|v| *v == "*" || *v == wanted);
    has("operations", input.operation.as_str())
        && has("apiGroups", &input.resource.group)
        && has("apiVersions", &input.resource.version)
        && resource_matches(&list("resources"), input)
        && scope_matches(rule.get("scope").and_then(Value::as_str), input)
}

/// `pods` is the resource alone, `*` every resource (no subresources), `*/status` one subresource
/// of every resource. A `*` subresource also matches the resource itself (as in `rules.go`), so
/// `pods/*` covers pods and all their subresources, `*/*` everything.
fn resource_matches(resources: &[&str], input: &AdmissionInput) -> bool {
    resources.iter().any(|entry| {
        let (resource, subresource) = entry.split_once('/').unwrap_or((entry, ""));
        (resource == "*" || resource == input.resource.resource)
            && (subresource == "*" || subresource == input.resource.subresource)
    })
}

fn scope_matches(scope: Option<&str>, input: &AdmissionInput) -> bool {
    // Namespace objects are cluster-scoped even though the request carries their name as namespace.
    let cluster_scoped = input.is_namespace_object() || input.namespace.is_empty();
    match scope {
        None | Some("*") => true,
        Some("Namespaced") => !cluster_scoped,
        Some("Cluster") => cluster_scoped,
        Some(_) => false,
    }
}

/// The labels of an object (`metadata.labels`), empty if it has none.
pub(crate) fn labels_of(object: &Value) -> Labels {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Evaluates a `metav1.LabelSelector`; absent or `{}` selects everything.
pub(crate) fn selector_matches(selector: Option<&Value>, labels: &Labels) -> Result<bool, String> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return Ok(true);
    };
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in match_labels {
            let value = value
                .as_str()
                .ok_or_else(|| format!("matchLabels[{key:?}] must be a string"))?;
            if labels.get(key).map(String::as_str) != Some(value) {
                return Ok(false);
            }
        }
    }
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for expression in expressions {
        if !expression_matches(expression, labels)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn expression_matches(expression: &Value, labels: &Labels) -> Result<bool, String> {
    let key = expression
        .get("key")
        .and_then(Value::as_str)
        .ok_or("matchExpressions entry without key")?;
    let operator = expression
        .get("operator")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("matchExpressions[{key:?}] without operator"))?;
    let values: Vec<&str> = expression
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let actual = labels.get(key).map(String::as_str);
    match operator {
        "In" => Ok(actual.is_some_and(|a| values.contains(&a))),
        "NotIn" => Ok(!actual.is_some_and(|a| values.contains(&a))),
        "Exists" => Ok(actual.is_some()),
        "DoesNotExist" => Ok(actual.is_none()),
        other => Err(format!(
            "matchExpressions[{key:?}]: unknown operator {other:?}"
        )),
    }
}

/// `objectSelector` is tried on the new and the old object; either matching is enough.
pub(crate) fn object_selector_matches(
    webhook: &Value,
    object: &Value,
    input: &AdmissionInput,
) -> Result<bool, String> {
    let selector = webhook.get("objectSelector");
    let candidates = [Some(object), input.old_object.as_ref()];
    let mut any_object = false;
    for candidate in candidates.into_iter().flatten().filter(|o| !o.is_null()) {
        any_object = true;
        if selector_matches(selector, &labels_of(candidate))? {
            return Ok(true);
        }
    }
    // Nothing to look at (e.g. CONNECT): only an empty selector matches.
    if !any_object {
        return selector_matches(selector, &Labels::new());
    }
    Ok(false)
}

impl std::str::FromStr for Operation {
    type Err = String;

    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT` (as in AdmissionReview and webhook rules).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "CREATE" => Ok(Operation::Create),
            "UPDATE" => Ok(Operation::Update),
            "DELETE" => Ok(Operation::Delete),
            "CONNECT" => Ok(Operation::Connect),
            other => Err(format!("unknown admission operation {other:?}")),
        }
    }
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::GroupVersionResource;

    fn pod_input(namespace: &str) -> AdmissionInput {
        AdmissionInput::create(
            GroupVersionResource::new("", "v1", "pods"),
            namespace,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}}}),
        )
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rules_operations_groups_versions_resources() {
        let input = pod_input("demo");
        let hook = |rule: Value| json!({ "rules": [rule] });
        let base = json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]});
        assert!(rules_match(&hook(base.clone()), &input));
        let mut update_only = base.clone();
        update_only["operations"] = json!(["UPDATE"]);
        assert!(!rules_match(&hook(update_only), &input));
        let mut apps = base.clone();
        apps["apiGroups"] = json!(["apps"]);
        assert!(!rules_match(&hook(apps), &input));
        let star = json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]});
        assert!(rules_match(&hook(star.clone()), &input));
        assert!(!rules_match(&json!({}), &input));

        let mut status = pod_input("demo");
        status.resource.subresource = "status".into();
        assert!(!rules_match(&hook(base.clone()), &status));
        assert!(
            !rules_match(&hook(star), &status),
            "* excludes subresources"
        );
        let mut sub = base.clone();
        sub["resources"] = json!(["pods/*"]);
        assert!(rules_match(&hook(sub.clone()), &status));
        assert!(
            rules_match(&hook(sub), &input),
            "a * subresource matches the resource too"
        );
        let mut all = base;
        all["resources"] = json!(["*/status"]);
        assert!(rules_match(&hook(all), &status));
    }

    #[test]
    fn rules_scope() {
        let rule = |scope: &str| json!({"rules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": scope}]});
        let namespaced = pod_input("demo");
        let cluster = AdmissionInput::create(
            GroupVersionResource::new("rbac.authorization.k8s.io", "v1", "clusterroles"),
            "",
            json!({}),
        );
        let namespace = AdmissionInput::create(
            GroupVersionResource::new("", "v1", "namespaces"),
            "demo",
            json!({"metadata": {"name": "demo"}}),
        );
        assert!(rules_match(&rule("Namespaced"), &namespaced));
        assert!(!rules_match(&rule("Cluster"), &namespaced));
        assert!(rules_match(&rule("Cluster"), &cluster));
        assert!(rules_match(&rule("Cluster"), &namespace));
        assert!(!rules_match(&rule("Namespaced"), &namespace));
        assert!(rules_match(&rule("*"), &cluster));
    }

    #[test]
    fn selectors() {
        let l = labels(&[("mesh", "enabled"), ("tier", "web")]);
        let check = |s: Value| selector_matches(Some(&s), &l).unwrap();
        assert!(selector_matches(None, &l).unwrap());
        assert!(check(json!({})));
        assert!(check(json!({"matchLabels": {"mesh": "enabled"}})));
        assert!(!check(json!({"matchLabels": {"mesh": "disabled"}})));
        assert!(check(
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]})
        ));
        assert!(!check(
            json!({"matchExpressions": [{"key": "nope", "operator": "In", "values": ["x"]}]})
        ));
        assert!(check(
            json!({"matchExpressions": [{"key": "nope", "operator": "NotIn", "values": ["x"]}]})
        ));
        assert!(!check(
            json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]})
        ));
        assert!(check(
            json!({"matchExpressions": [{"key": "mesh", "operator": "Exists"}]})
        ));
        assert!(!check(
            json!({"matchExpressions": [{"key": "mesh", "operator": "DoesNotExist"}]})
        ));
        assert!(!check(
            json!({"matchLabels": {"mesh": "enabled"}, "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]})
        ));
        assert!(
            selector_matches(
                Some(&json!({"matchExpressions": [{"key": "a", "operator": "Gt"}]})),
                &l
            )
            .is_err()
        );
    }

    #[test]
    fn operations_parse() {
        assert_eq!("update".parse::<Operation>(), Ok(Operation::Update));
        assert_eq!(
            "CREATE".parse::<Operation>().map(Operation::as_str),
            Ok("CREATE")
        );
        assert!("PATCH".parse::<Operation>().is_err());
    }

    #[test]
    fn object_selector_tries_old_object_too() {
        let hook = json!({"objectSelector": {"matchLabels": {"app": "old"}}});
        let mut input = pod_input("demo");
        input.operation = Operation::Update;
        let object = input.object.clone();
        assert!(!object_selector_matches(&hook, &object, &input).unwrap());
        input.old_object = Some(json!({"metadata": {"labels": {"app": "old"}}}));
        assert!(object_selector_matches(&hook, &object, &input).unwrap());
    }
}
