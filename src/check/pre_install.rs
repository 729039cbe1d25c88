//! pre-install (`--pre`): the mesh namespace is free, the user may create everything install
//! creates, and no other mesh's injector is there to fight over pods.

use std::sync::Arc;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount};
use kube::api::{ListParams, PostParams};
use kube::{Api, Resource};

use super::cluster::REACHABLE;
use super::{Check, Context, PRE_INSTALL, Verdict, describe_kube_error, is_not_found};

pub const NAMESPACE: &str = "pre-install.namespace";
pub const PERMISSIONS: &str = "pre-install.permissions";
pub const OTHER_MESH: &str = "pre-install.other-mesh";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(PRE_INSTALL, NAMESPACE, "mesh namespace absent or empty", namespace)
            .requires(REACHABLE)
            .retryable()
            .hint("uninstall the previous control plane (meshctl uninstall --apply) or pick another --mesh-namespace"),
        Check::new(
            PRE_INSTALL,
            PERMISSIONS,
            "can create every object install creates",
            permissions,
        )
        .requires(REACHABLE)
        .hint("ask a cluster administrator for the missing permissions, or run install with an account that has them"),
        Check::new(PRE_INSTALL, OTHER_MESH, "no other mesh's injector", other_mesh)
            .requires(REACHABLE)
            .hint("two injectors would both mutate pods; keep namespaces meshed by one mesh only"),
    ]
}

/// One permission install needs: a verb on a resource, cluster-wide or in the mesh namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub verb: &'static str,
    pub group: String,
    pub resource: String,
    pub namespaced: bool,
}

impl Permission {
    /// `create clusterroles.rbac.authorization.k8s.io (cluster-wide)`, kubectl's spelling.
    pub fn describe(&self, mesh_namespace: &str) -> String {
        let resource = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        let scope = if self.namespaced {
            format!("in namespace {mesh_namespace}")
        } else {
            "cluster-wide".to_string()
        };
        format!("{} {resource} ({scope})", self.verb)
    }
}

/// The resource plural of a kind, as the API names it (`NetworkPolicy` → `networkpolicies`).
pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// What `meshctl install --apply` (default profile) creates, from the rendered manifests: one
/// (group, resource, scope) per kind. Server-side apply needs `patch`, and `create` for objects
/// that do not exist yet.
pub fn required_permissions(mesh_namespace: &str) -> Result<Vec<Permission>, String> {
    let sources = crate::render::values::ValueSources {
        profile: "default".to_string(),
        ..Default::default()
    };
    let (_, values) = crate::render::values::resolve(&sources).map_err(|e| e.to_string())?;
    let components = crate::render::render(&values, mesh_namespace).map_err(|e| e.to_string())?;
    let mut kinds: Vec<(String, String, bool)> = Vec::new();
    for object in components.iter().flat_map(|c| c.objects.iter()) {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let group = api_version
            .rsplit_once('/')
            .map(|(group, _)| group.to_string())
            .unwrap_or_default();
        let resource = plural(object["kind"].as_str().unwrap_or_default());
        let namespaced = object["metadata"]["namespace"].is_string();
        let entry = (group, resource, namespaced);
        if !kinds.contains(&entry) {
            kinds.push(entry);
        }
    }
    let mut permissions = Vec::new();
    for (group, resource, namespaced) in kinds {
        for verb in ["create", "patch"] {
            permissions.push(Permission {
                verb,
                group: group.clone(),
                resource: resource.clone(),
                namespaced,
            });
        }
    }
    Ok(permissions)
}

async fn namespace(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let name = &ctx.options.mesh_namespace;
    match Api::<Namespace>::all(client.clone()).get(name).await {
        Err(err) if is_not_found(&err) => return Verdict::ok(format!("{name} does not exist")),
        Err(err) => return Verdict::error(describe_kube_error(&err)),
        Ok(_) => {}
    }
    let mut found = Vec::new();
    macro_rules! collect {
        ($kind:ty, $label:expr, $ignore:expr) => {
            match Api::<$kind>::namespaced(client.clone(), name)
                .list(&ListParams::default())
                .await
            {
                Ok(list) => {
                    for item in list.items {
                        let item_name = item.meta().name.clone().unwrap_or_default();
                        let ignore: &[&str] = $ignore;
                        if !ignore.contains(&item_name.as_str()) {
                            found.push(format!("{}/{item_name}", $label));
                        }
                    }
                }
                Err(err) => return Verdict::error(describe_kube_error(&err)),
            }
        };
    }
    collect!(Deployment, "deployment", &[]);
    collect!(Pod, "pod", &[]);
    collect!(Service, "service", &[]);
    // Kubernetes puts these into every namespace.
    collect!(ConfigMap, "configmap", &["kube-root-ca.crt"]);
    collect!(ServiceAccount, "serviceaccount", &["default"]);
    collect!(Secret, "secret", &[]);
    if found.is_empty() {
        Verdict::ok(format!("{name} exists and is empty"))
    } else {
        Verdict::error(format!(
            "{name} already holds {}",
            summarise_list(&found, 5)
        ))
    }
}

/// `a, b, c and 4 more`.
pub fn summarise_list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

async fn permissions(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let mesh_namespace = ctx.options.mesh_namespace.clone();
    let api: Api<SelfSubjectAccessReview> = Api::all(client);
    let mut reviews = tokio::task::JoinSet::new();
    let wanted = match required_permissions(&mesh_namespace) {
        Ok(w) => w,
        Err(e) => return Verdict::error(format!("cannot render the install manifests: {e}")),
    };
    for (index, permission) in wanted.iter().cloned().enumerate() {
        let api = api.clone();
        let namespace = permission.namespaced.then(|| mesh_namespace.clone());
        reviews.spawn(async move {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(permission.verb.to_string()),
                        group: Some(permission.group.to_string()),
                        resource: Some(permission.resource.to_string()),
                        namespace,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            (index, api.create(&PostParams::default(), &review).await)
        });
    }
    let mut outcomes: Vec<Option<_>> = (0..wanted.len()).map(|_| None).collect();
    while let Some(joined) = reviews.join_next().await {
        let Ok((index, outcome)) = joined else {
            return Verdict::error("internal error: an access review task failed");
        };
        outcomes[index] = Some(outcome);
    }
    let mut missing = Vec::new();
    for (permission, outcome) in wanted.iter().zip(outcomes) {
        match outcome {
            Some(Ok(review)) => {
                if !review.status.is_some_and(|s| s.allowed) {
                    missing.push(permission.describe(&mesh_namespace));
                }
            }
            Some(Err(err)) => {
                return Verdict::error(format!(
                    "cannot review access for {}: {}",
                    permission.describe(&mesh_namespace),
                    describe_kube_error(&err)
                ));
            }
            None => return Verdict::error("internal error: an access review went missing"),
        }
    }
    if missing.is_empty() {
        Verdict::ok(format!("{} permissions granted", wanted.len()))
    } else {
        Verdict::error(format!("missing permission: {}", missing.join("; ")))
    }
}

/// Name fragments of other meshes' injectors, as their installers name the webhook configurations.
const OTHER_MESHES: &[(&str, &str)] = &[("istio", "Istio"), ("linkerd", "Linkerd")];

/// The other meshes whose injector one of these MutatingWebhookConfigurations (or its webhooks)
/// looks like: `name (Mesh)`.
pub fn other_mesh_injectors(configs: &[MutatingWebhookConfiguration]) -> Vec<String> {
    let mut found = Vec::new();
    for config in configs {
        let name = config.metadata.name.clone().unwrap_or_default();
        let webhook_names = config
            .webhooks
            .iter()
            .flatten()
            .map(|w| w.name.to_ascii_lowercase());
        let haystack: Vec<String> = std::iter::once(name.to_ascii_lowercase())
            .chain(webhook_names)
            .collect();
        if let Some((_, mesh)) = OTHER_MESHES
            .iter()
            .find(|(needle, _)| haystack.iter().any(|h| h.contains(needle)))
        {
            found.push(format!("{name} ({mesh})"));
        }
    }
    found
}

async fn other_mesh(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    match Api::<MutatingWebhookConfiguration>::all(client)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => {
            let found = other_mesh_injectors(&list.items);
            if found.is_empty() {
                Verdict::ok(format!(
                    "{} mutating webhook configurations, none from Istio or Linkerd",
                    list.items.len()
                ))
            } else {
                Verdict::warning(format!("found {}", found.join(", ")))
            }
        }
        Err(err) => Verdict::error(describe_kube_error(&err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhook;

    fn config(name: &str, webhooks: &[&str]) -> MutatingWebhookConfiguration {
        MutatingWebhookConfiguration {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            webhooks: Some(
                webhooks
                    .iter()
                    .map(|w| MutatingWebhook {
                        name: w.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn finds_istio_and_linkerd_injectors_by_name() {
        let configs = vec![
            config("istio-sidecar-injector", &["sidecar-injector.istio.io"]),
            config("meshctl-injector", &["inject.meshctl.io"]),
            config("proxy-injector", &["linkerd-proxy-injector.linkerd.io"]),
        ];
        assert_eq!(
            other_mesh_injectors(&configs),
            vec![
                "istio-sidecar-injector (Istio)".to_string(),
                "proxy-injector (Linkerd)".to_string()
            ]
        );
    }

    #[test]
    fn plurals_follow_the_api() {
        assert_eq!(
            plural("MutatingWebhookConfiguration"),
            "mutatingwebhookconfigurations"
        );
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Ingress"), "ingresses");
    }

    #[test]
    fn permissions_cover_install_objects_and_read_like_kubectl() {
        let all = required_permissions("meshctl-system").unwrap();
        for resource in [
            "namespaces",
            "serviceaccounts",
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
            "configmaps",
            "deployments",
            "services",
        ] {
            assert!(
                all.iter()
                    .any(|p| p.resource == resource && p.verb == "create"),
                "{resource}: {all:?}"
            );
            assert!(
                all.iter()
                    .any(|p| p.resource == resource && p.verb == "patch"),
                "{resource}"
            );
        }
        let namespaces = all.iter().find(|p| p.resource == "namespaces").unwrap();
        assert!(!namespaces.namespaced);
        assert!(
            all.iter()
                .any(|p| p.resource == "mutatingwebhookconfigurations" && p.verb == "create")
        );
        let crb = all
            .iter()
            .find(|p| p.resource == "clusterrolebindings" && p.verb == "create")
            .unwrap();
        assert_eq!(
            crb.describe("meshctl-system"),
            "create clusterrolebindings.rbac.authorization.k8s.io (cluster-wide)"
        );
        let cm = all.iter().find(|p| p.resource == "configmaps").unwrap();
        assert_eq!(cm.describe("m"), "create configmaps (in namespace m)");
    }

    #[test]
    fn long_lists_are_summarised() {
        let items: Vec<String> = (0..7).map(|i| format!("pod/{i}")).collect();
        assert_eq!(
            summarise_list(&items, 5),
            "pod/0, pod/1, pod/2, pod/3, pod/4 and 2 more"
        );
    }
}
