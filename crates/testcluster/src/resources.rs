//! The resource types the server knows: what discovery reports and how paths map to storage.
//! Built-in types come from a table; CustomResourceDefinitions add more at run time.

use serde_json::{Value, json};

/// One served resource (one group/version/plural).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub verbs: Vec<String>,
    /// Subresources, e.g. `status`, `scale`, `portforward`.
    pub subresources: Vec<String>,
    pub categories: Vec<String>,
}

impl ResourceType {
    /// `apiVersion` as objects carry it: `v1` for core, else `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Storage identity: objects of every version of a group/resource share one store.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn has_status(&self) -> bool {
        self.subresources.iter().any(|s| s == "status")
    }

    /// Is this type create-only and never stored (reviews)?
    pub fn is_virtual(&self) -> bool {
        self.group == "authorization.k8s.io" || self.group == "authentication.k8s.io"
    }
}

const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

struct Row {
    gv: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    sub: &'static [&'static str],
    verbs: &'static [&'static str],
}

const fn row(
    gv: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    sub: &'static [&'static str],
) -> Row {
    Row {
        gv,
        plural,
        singular,
        kind,
        namespaced,
        short,
        sub,
        verbs: CRUD,
    }
}

const CREATE_ONLY: &[&str] = &["create"];

const BUILTIN: &[Row] = &[
    row("v1", "bindings", "binding", "Binding", true, &[], &[]),
    row(
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[],
    ),
    row(
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        &[],
    ),
    row("v1", "events", "event", "Event", true, &["ev"], &[]),
    row(
        "v1",
        "limitranges",
        "limitrange",
        "LimitRange",
        true,
        &["limits"],
        &[],
    ),
    row(
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &["finalize", "status"],
    ),
    row(
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        &["no"],
        &["proxy", "status"],
    ),
    row(
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        &["status"],
    ),
    row(
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        &["status"],
    ),
    row(
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        &[
            "attach",
            "binding",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "status",
        ],
    ),
    row(
        "v1",
        "podtemplates",
        "podtemplate",
        "PodTemplate",
        true,
        &[],
        &[],
    ),
    row(
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        true,
        &["rc"],
        &["scale", "status"],
    ),
    row(
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        &["quota"],
        &["status"],
    ),
    row("v1", "secrets", "secret", "Secret", true, &[], &[]),
    row(
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &["token"],
    ),
    row(
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        &["proxy", "status"],
    ),
    row(
        "apps/v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        &[],
        &[],
    ),
    row(
        "apps/v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        &["status"],
    ),
    row(
        "apps/v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        &["scale", "status"],
    ),
    row(
        "apps/v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        &["scale", "status"],
    ),
    row(
        "apps/v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        &["scale", "status"],
    ),
    row(
        "batch/v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        &["status"],
    ),
    row("batch/v1", "jobs", "job", "Job", true, &[], &["status"]),
    row(
        "rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        &[],
    ),
    row(
        "rbac.authorization.k8s.io/v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        &[],
    ),
    row(
        "rbac.authorization.k8s.io/v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        &[],
    ),
    row(
        "rbac.authorization.k8s.io/v1",
        "roles",
        "role",
        "Role",
        true,
        &[],
        &[],
    ),
    row(
        "admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        "MutatingWebhookConfiguration",
        false,
        &[],
        &[],
    ),
    row(
        "admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        &[],
    ),
    row(
        "admissionregistration.k8s.io/v1",
        "validatingadmissionpolicies",
        "validatingadmissionpolicy",
        "ValidatingAdmissionPolicy",
        false,
        &[],
        &["status"],
    ),
    row(
        "admissionregistration.k8s.io/v1",
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybinding",
        "ValidatingAdmissionPolicyBinding",
        false,
        &[],
        &[],
    ),
    row(
        "policy/v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        &["status"],
    ),
    row(
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        &["status"],
    ),
    row(
        "coordination.k8s.io/v1",
        "leases",
        "lease",
        "Lease",
        true,
        &[],
        &[],
    ),
    row(
        "discovery.k8s.io/v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        &[],
        &[],
    ),
    Row {
        verbs: CREATE_ONLY,
        ..row(
            "authentication.k8s.io/v1",
            "selfsubjectreviews",
            "selfsubjectreview",
            "SelfSubjectReview",
            false,
            &[],
            &[],
        )
    },
    Row {
        verbs: CREATE_ONLY,
        ..row(
            "authorization.k8s.io/v1",
            "localsubjectaccessreviews",
            "localsubjectaccessreview",
            "LocalSubjectAccessReview",
            true,
            &[],
            &[],
        )
    },
    Row {
        verbs: CREATE_ONLY,
        ..row(
            "authorization.k8s.io/v1",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            "SelfSubjectAccessReview",
            false,
            &[],
            &[],
        )
    },
    Row {
        verbs: CREATE_ONLY,
        ..row(
            "authorization.k8s.io/v1",
            "selfsubjectrulesreviews",
            "selfsubjectrulesreview",
            "SelfSubjectRulesReview",
            false,
            &[],
            &[],
        )
    },
    Row {
        verbs: CREATE_ONLY,
        ..row(
            "authorization.k8s.io/v1",
            "subjectaccessreviews",
            "subjectaccessreview",
            "SubjectAccessReview",
            false,
            &[],
            &[],
        )
    },
];

fn categories(plural: &str) -> Vec<String> {
    let all = [
        "pods",
        "services",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
    ];
    if all.contains(&plural) {
        vec!["all".to_string()]
    } else {
        Vec::new()
    }
}

/// The built-in resource types.
pub fn builtin() -> Vec<ResourceType> {
    BUILTIN
        .iter()
        .map(|r| {
            let (group, version) = r.gv.rsplit_once('/').unwrap_or(("", r.gv));
            ResourceType {
                group: group.to_string(),
                version: version.to_string(),
                plural: r.plural.to_string(),
                singular: r.singular.to_string(),
                kind: r.kind.to_string(),
                namespaced: r.namespaced,
                short_names: r.short.iter().map(|s| s.to_string()).collect(),
                verbs: r.verbs.iter().map(|s| s.to_string()).collect(),
                subresources: r.sub.iter().map(|s| s.to_string()).collect(),
                categories: categories(r.plural),
            }
        })
        .collect()
}

/// Resource types a CustomResourceDefinition serves (one per served version).
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let (Some(plural), Some(kind)) = (names["plural"].as_str(), names["kind"].as_str()) else {
        return Vec::new();
    };
    let singular = names["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for version in spec["versions"].as_array().into_iter().flatten() {
        if version["served"] == Value::Bool(false) {
            continue;
        }
        let Some(name) = version["name"].as_str() else {
            continue;
        };
        let mut subresources = Vec::new();
        if version["subresources"]["status"].is_object() {
            subresources.push("status".to_string());
        }
        if version["subresources"]["scale"].is_object() {
            subresources.push("scale".to_string());
        }
        out.push(ResourceType {
            group: group.to_string(),
            version: name.to_string(),
            plural: plural.to_string(),
            singular: singular.clone(),
            kind: kind.to_string(),
            namespaced,
            short_names: strings(&names["shortNames"]),
            verbs: CRUD.iter().map(|s| s.to_string()).collect(),
            subresources,
            categories: strings(&names["categories"]),
        });
    }
    out
}

/// The API group order discovery reports (core first, then as registered).
pub fn groups(types: &[ResourceType]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in types {
        match out.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, versions)) => {
                if !versions.contains(&t.version) {
                    versions.push(t.version.clone());
                }
            }
            None => out.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    out
}

/// `APIResourceList` for one group/version; None when the group/version is not served.
pub fn api_resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let in_gv: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if in_gv.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &in_gv {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": t.verbs,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        for sub in &t.subresources {
            let (kind, verbs, group_version): (&str, Vec<&str>, Option<(&str, &str)>) =
                match sub.as_str() {
                    "status" => (&t.kind, vec!["get", "patch", "update"], None),
                    "scale" => (
                        "Scale",
                        vec!["get", "patch", "update"],
                        Some(("autoscaling", "v1")),
                    ),
                    "finalize" => (&t.kind, vec!["update"], None),
                    "portforward" => ("PodPortForwardOptions", vec!["create", "get"], None),
                    "exec" => ("PodExecOptions", vec!["create", "get"], None),
                    "attach" => ("PodAttachOptions", vec!["create", "get"], None),
                    "log" => ("Pod", vec!["get"], None),
                    "proxy" => (
                        if t.kind == "Pod" {
                            "PodProxyOptions"
                        } else {
                            "ServiceProxyOptions"
                        },
                        vec!["create", "delete", "get", "patch", "update"],
                        None,
                    ),
                    "eviction" => ("Eviction", vec!["create"], Some(("policy", "v1"))),
                    "binding" => ("Binding", vec!["create"], None),
                    "token" => (
                        "TokenRequest",
                        vec!["create"],
                        Some(("authentication.k8s.io", "v1")),
                    ),
                    _ => (&t.kind, vec!["get"], None),
                };
            let mut r = json!({
                "name": format!("{}/{}", t.plural, sub),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if let Some((g, v)) = group_version {
                r["group"] = json!(g);
                r["version"] = json!(v);
            }
            resources.push(r);
        }
    }
    let gv = in_gv[0].api_version();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

/// `APIGroup` for `/apis/<group>`.
pub fn api_group(name: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `APIGroupList` for `/apis`.
pub fn api_group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = groups(types)
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, versions)| {
            let mut group = api_group(&g, &versions);
            if let Some(obj) = group.as_object_mut() {
                obj.remove("kind");
                obj.remove("apiVersion");
            }
            group
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_pod_subresources() {
        let types = builtin();
        let list = api_resource_list(&types, "", "v1").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"pods/portforward"));
        assert!(names.contains(&"namespaces/finalize"));
        assert!(api_resource_list(&types, "apps", "v1").is_some());
        assert!(api_resource_list(&types, "nope.example.com", "v1").is_none());
    }

    #[test]
    fn crd_adds_served_versions() {
        let crd = json!({"spec": {"group": "mesh.example.com", "scope": "Namespaced",
            "names": {"plural": "meshes", "kind": "Mesh", "singular": "mesh"},
            "versions": [{"name": "v1", "served": true, "subresources": {"status": {}}},
                         {"name": "v1alpha1", "served": false}]}});
        let types = from_crd(&crd);
        assert_eq!(types.len(), 1);
        assert!(types[0].has_status());
        assert_eq!(types[0].api_version(), "mesh.example.com/v1");
    }
}
