//! `meshctl install` rendering: the control-plane manifests from the templates in `manifests/`
//! (embedded in the binary) and the effective values. Pure and byte-deterministic: no clock, no
//! randomness, no certificates; key order is the templates' order.
//!
//! Templates produce YAML text, which is parsed back into JSON trees: that checks every template
//! output and gives `-o yaml` and `-o json` the same objects. Every value interpolated into a
//! template goes through `tojson` (a JSON scalar is a valid YAML scalar), so no value can change
//! the document's structure.

pub mod values;

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Map, Value, json};
use thiserror::Error;

pub use values::{ValueSources, Values};

use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, INJECT_LABEL};

/// Object names, shared with the webhook (which patches its own configuration and CA Secret).
pub mod names {
    /// The injector's Deployment, Service, ServiceAccount and Role.
    pub const INJECTOR: &str = "meshctl-injector";
    /// The MutatingWebhookConfiguration.
    pub const WEBHOOK_CONFIG: &str = "meshctl-injector";
    /// Cluster-scoped RBAC for the caBundle patch.
    pub const CLUSTER_ROLE: &str = "meshctl-injector";
    /// Self-signed mode: the CA the injector replicas share.
    pub const CA_SECRET: &str = "meshctl-injector-ca";
    /// cert-manager mode: the serving certificate Secret.
    pub const TLS_SECRET: &str = "meshctl-injector-tls";
    /// cert-manager mode: the self-signed Issuer rendered when none is named.
    pub const ISSUER: &str = "meshctl-selfsigned";
    /// The webhook's name inside the configuration.
    pub const WEBHOOK: &str = "sidecar-injector.meshctl.io";
}

/// Where the injector mounts the mesh config and (cert-manager mode) its certificate.
const CONFIG_MOUNT: &str = "/etc/meshctl/config";
const TLS_MOUNT: &str = "/etc/meshctl/tls";

/// Components in apply order; `--output-dir` writes one file each, prefixed by position.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "namespace",
        include_str!("../manifests/templates/namespace.yaml.j2"),
    ),
    ("rbac", include_str!("../manifests/templates/rbac.yaml.j2")),
    (
        "config",
        include_str!("../manifests/templates/config.yaml.j2"),
    ),
    (
        "certificate",
        include_str!("../manifests/templates/certificate.yaml.j2"),
    ),
    (
        "injector",
        include_str!("../manifests/templates/injector.yaml.j2"),
    ),
    (
        "webhook",
        include_str!("../manifests/templates/webhook.yaml.j2"),
    ),
];

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("unknown profile '{name}' (profiles: {known})")]
    UnknownProfile { name: String, known: String },
    #[error("unknown value key '{key}' in {source_name}; did you mean '{nearest}'?")]
    UnknownKey {
        key: String,
        source_name: String,
        nearest: String,
    },
    #[error("invalid value for {key}: {message}")]
    InvalidValue { key: String, message: String },
    #[error("invalid --set '{0}': expected KEY=VALUE, e.g. --set webhook.replicas=2")]
    BadSet(String),
    #[error("{source_name}: not a valid values file: {message}")]
    ValuesFile {
        source_name: String,
        message: String,
    },
    #[error("invalid mesh namespace '{0}': must be a DNS label (lowercase letters, digits, '-')")]
    Namespace(String),
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    /// A mistake in a `--set` (a command-line error, unlike one in a values file).
    #[error("{0}")]
    CommandLine(Box<RenderError>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl RenderError {
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        RenderError::Internal(message.into())
    }

    /// Errors in what the user typed on the command line (as opposed to in a file).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RenderError::UnknownProfile { .. }
                | RenderError::BadSet(_)
                | RenderError::Namespace(_)
                | RenderError::CommandLine(_)
        )
    }
}

/// One component (one `--output-dir` file): its objects in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Position in apply order among all possible components (stable file names).
    pub order: usize,
    pub name: &'static str,
    pub objects: Vec<Value>,
}

#[derive(Serialize)]
struct Names {
    injector: &'static str,
    webhook_config: &'static str,
    cluster_role: &'static str,
    ca_secret: &'static str,
    tls_secret: &'static str,
    issuer: &'static str,
    config: &'static str,
    config_key: &'static str,
    inject_label: &'static str,
}

const NAMES: Names = Names {
    injector: names::INJECTOR,
    webhook_config: names::WEBHOOK_CONFIG,
    cluster_role: names::CLUSTER_ROLE,
    ca_secret: names::CA_SECRET,
    tls_secret: names::TLS_SECRET,
    issuer: names::ISSUER,
    config: CONFIG_MAP_NAME,
    config_key: CONFIG_MAP_KEY,
    inject_label: INJECT_LABEL,
};

/// The DNS names the injector's serving certificate must carry.
pub fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// Renders every component. Components a configuration does not need (certificate without
/// cert-manager) are left out.
pub fn render(values: &Values, mesh_namespace: &str) -> Result<Vec<Component>, RenderError> {
    if !is_dns_label(mesh_namespace) {
        return Err(RenderError::Namespace(mesh_namespace.to_string()));
    }
    let mesh_yaml = values.mesh_config().to_yaml();
    // The user's common labels, then ours (which they cannot override).
    let mut labels: BTreeMap<String, String> = values.common_labels.clone();
    for (key, value) in [
        ("app.kubernetes.io/part-of", "meshctl"),
        ("app.kubernetes.io/managed-by", "meshctl"),
        ("app.kubernetes.io/version", crate::VERSION),
    ] {
        labels.insert(key.to_string(), value.to_string());
    }
    let selector = BTreeMap::from([(
        "app.kubernetes.io/name".to_string(),
        names::INJECTOR.to_string(),
    )]);
    let mut pod_labels = labels.clone();
    pod_labels.extend(selector.clone());
    let mut namespace_labels = labels.clone();
    namespace_labels.insert(
        "pod-security.kubernetes.io/enforce".to_string(),
        "restricted".to_string(),
    );

    let context = json!({
        "ns": mesh_namespace,
        "v": values,
        "labels": labels,
        "pod_labels": pod_labels,
        "namespace_labels": namespace_labels,
        "selector": selector,
        "names": NAMES,
        "mesh_yaml": mesh_yaml,
        "config_checksum": format!("{:016x}", fnv1a64(mesh_yaml.as_bytes())),
        "webhook_image": values.webhook_image(),
        "dns_names": service_dns_names(names::INJECTOR, mesh_namespace),
        "config_mount": CONFIG_MOUNT,
        "tls_mount": TLS_MOUNT,
    });

    let env = environment()?;
    let mut components = Vec::new();
    for (order, (name, _)) in TEMPLATES.iter().enumerate() {
        let template = env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        let text = template
            .render(minijinja::value::Serde(&context))
            .map_err(|e| template_error(name, &e))?;
        let objects = parse_documents(name, &text)?;
        if !objects.is_empty() {
            components.push(Component {
                order,
                name,
                objects,
            });
        }
    }
    Ok(components)
}

fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    // A typo in a template must fail, not render an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Replaces minijinja's JSON `tojson`: JSON leaves some characters unescaped that YAML does
    // not allow raw (DEL, C1 controls), so values are written as YAML-safe flow scalars.
    env.add_filter("tojson", |value: minijinja::Value| {
        serde_json::to_value(&value)
            .map(|v| minijinja::Value::from_safe_string(yaml_flow(&v)))
            .map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
            })
    });
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| template_error("syntax", &e))?;
    env.set_syntax(syntax);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

fn template_error(name: &str, error: &minijinja::Error) -> RenderError {
    RenderError::Template {
        template: name.to_string(),
        message: format!("{error:#}"),
    }
}

fn parse_documents(name: &str, text: &str) -> Result<Vec<Value>, RenderError> {
    let docs: Vec<Option<Value>> =
        serde_saphyr::from_multiple(text).map_err(|e| RenderError::Template {
            template: name.to_string(),
            message: format!("rendered text is not valid YAML: {e}"),
        })?;
    Ok(docs
        .into_iter()
        .flatten()
        .filter(|doc| !doc.is_null())
        .collect())
}

/// A value as YAML flow syntax (JSON-shaped), with every string double-quoted and every
/// character YAML does not accept raw escaped.
fn yaml_flow(value: &Value) -> String {
    match value {
        Value::String(s) => yaml_quoted(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(yaml_flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_quoted(k), yaml_flow(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

fn yaml_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            // YAML's printable set (1.2, 5.1), minus the BOM.
            '\u{20}'..='\u{7e}'
            | '\u{a0}'..='\u{d7ff}'
            | '\u{e000}'..='\u{fefe}'
            | '\u{ff00}'..='\u{fffd}'
            | '\u{10000}'.. => out.push(c),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// RFC 1123 label: what a namespace name must be.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A stable, dependency-free content hash for the config checksum annotation.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn yaml_document(object: &Value) -> Result<String, RenderError> {
    serde_saphyr::to_string(object).map_err(|e| RenderError::internal(format!("YAML: {e}")))
}

/// Multi-document YAML, every document starting with `---`.
pub fn to_yaml(components: &[Component]) -> Result<String, RenderError> {
    let mut out = String::new();
    for object in components.iter().flat_map(|c| &c.objects) {
        out.push_str("---\n");
        out.push_str(&yaml_document(object)?);
    }
    Ok(out)
}

/// One `v1/List` holding every object, pretty-printed.
pub fn to_json_list(components: &[Component]) -> Result<String, RenderError> {
    let items: Vec<&Value> = components.iter().flat_map(|c| &c.objects).collect();
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": items });
    let mut text = serde_json::to_string_pretty(&list)
        .map_err(|e| RenderError::internal(format!("JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// `--output-dir`: one YAML file per component, named so that `kubectl apply -f DIR` (which goes
/// alphabetically) applies them in dependency order. A component keeps its number whether or not
/// the others are rendered, so GitOps diffs stay small when an option changes.
pub fn to_files(components: &[Component]) -> Result<Vec<(String, String)>, RenderError> {
    components
        .iter()
        .map(|component| {
            let body = to_yaml(std::slice::from_ref(component))?;
            Ok((
                format!("{:02}-{}.yaml", component.order, component.name),
                body,
            ))
        })
        .collect()
}

/// The `--output-dir` file names of components this render left out (e.g. the certificate after
/// switching cert-manager off): a directory kept in Git must not keep applying them.
pub fn absent_files(components: &[Component]) -> Vec<String> {
    TEMPLATES
        .iter()
        .enumerate()
        .filter(|(order, _)| !components.iter().any(|c| c.order == *order))
        .map(|(order, (name, _))| format!("{order:02}-{name}.yaml"))
        .collect()
}

/// What `meshctl uninstall` prints: a reference (apiVersion, kind, name, namespace) to every
/// object, in reverse apply order, for `kubectl delete -f -`. The webhook configuration goes
/// first so no pod creation waits on an injector that is going away.
pub fn uninstall_objects(components: &[Component]) -> Vec<Value> {
    components
        .iter()
        .flat_map(|c| &c.objects)
        .rev()
        .map(|object| {
            let mut metadata = Map::new();
            for key in ["name", "namespace"] {
                if let Some(v) = object.pointer(&format!("/metadata/{key}")) {
                    metadata.insert(key.to_string(), v.clone());
                }
            }
            json!({
                "apiVersion": object.get("apiVersion").cloned().unwrap_or(Value::Null),
                "kind": object.get("kind").cloned().unwrap_or(Value::Null),
                "metadata": metadata,
            })
        })
        .collect()
}

/// The effective values as YAML (`--show-values`).
pub fn values_to_yaml(tree: &Value) -> Result<String, RenderError> {
    yaml_document(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_with(sets: &[&str], profile: &str) -> Vec<Component> {
        let sources = ValueSources {
            profile: profile.to_string(),
            files: vec![],
            sets: sets.iter().map(|s| s.to_string()).collect(),
        };
        let (_, values) = values::resolve(&sources).unwrap();
        render(&values, "meshctl-system").unwrap()
    }

    fn objects(components: &[Component]) -> Vec<&Value> {
        components.iter().flat_map(|c| &c.objects).collect()
    }

    fn find<'a>(components: &'a [Component], kind: &str) -> Option<&'a Value> {
        objects(components).into_iter().find(|o| o["kind"] == kind)
    }

    #[test]
    fn default_render_has_every_object_in_order() {
        let components = render_with(&[], "default");
        let kinds: Vec<&str> = objects(&components)
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "ClusterRole",
                "ClusterRoleBinding",
                "ConfigMap",
                "Deployment",
                "Service",
                "MutatingWebhookConfiguration"
            ]
        );
    }

    #[test]
    fn config_map_holds_the_mesh_config() {
        let components = render_with(&["proxy.logLevel=debug"], "default");
        let cm = find(&components, "ConfigMap").unwrap();
        let text = cm["data"][CONFIG_MAP_KEY].as_str().unwrap();
        let config = crate::config::MeshConfig::from_yaml("cm", text).unwrap();
        assert_eq!(config.proxy.log_level, "debug");
        assert_eq!(config.proxy.image, "envoyproxy/envoy:v1.40.0");
    }

    #[test]
    fn no_wildcards_in_rbac() {
        for profile in ["default", "ha"] {
            let components = render_with(&[], profile);
            for object in objects(&components) {
                if let Some(rules) = object.get("rules") {
                    let text = rules.to_string();
                    assert!(!text.contains('*'), "{text}");
                }
            }
        }
    }

    #[test]
    fn webhook_configuration_selects_opted_in_namespaces_only() {
        let components = render_with(&["webhook.failurePolicy=Fail"], "default");
        let mwc = find(&components, "MutatingWebhookConfiguration").unwrap();
        let hook = &mwc["webhooks"][0];
        assert_eq!(hook["failurePolicy"], "Fail");
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["reinvocationPolicy"], "IfNeeded");
        let exprs = hook["namespaceSelector"]["matchExpressions"].to_string();
        assert!(exprs.contains("meshctl.io/inject"), "{exprs}");
        assert!(exprs.contains("kube-system") && exprs.contains("meshctl-system"));
        assert!(hook["clientConfig"].get("caBundle").is_none());
        // Self-signed mode: the injector patches the caBundle, so it needs its token.
        let deploy = find(&components, "Deployment").unwrap();
        assert_eq!(
            deploy["spec"]["template"]["spec"]["automountServiceAccountToken"],
            true
        );
    }

    #[test]
    fn cert_manager_mode_swaps_rbac_for_a_certificate() {
        let components = render_with(&["webhook.certManager=true"], "default");
        let kinds: Vec<&str> = objects(&components)
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"Certificate") && kinds.contains(&"Issuer"));
        assert!(!kinds.contains(&"ClusterRole"));
        let mwc = find(&components, "MutatingWebhookConfiguration").unwrap();
        assert_eq!(
            mwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "meshctl-system/meshctl-injector"
        );
        let deploy = find(&components, "Deployment").unwrap();
        // No API access needed at all in this mode.
        assert_eq!(
            deploy["spec"]["template"]["spec"]["automountServiceAccountToken"],
            false
        );
        let deploy = deploy.to_string();
        assert!(
            deploy.contains("--tls-cert=/etc/meshctl/tls/tls.crt"),
            "{deploy}"
        );
    }

    #[test]
    fn ha_profile_has_replicas_pdb_and_anti_affinity() {
        let components = render_with(&[], "ha");
        let deploy = find(&components, "Deployment").unwrap();
        assert!(deploy["spec"]["replicas"].as_u64().unwrap() >= 2);
        assert!(deploy["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"].is_object());
        assert!(find(&components, "PodDisruptionBudget").is_some());
        assert!(find(&render_with(&[], "default"), "PodDisruptionBudget").is_none());
    }

    #[test]
    fn values_cannot_break_out_of_their_scalar() {
        let components = render_with(
            &["proxy.image=x\n  evil: true", "webhook.image=a: b"],
            "default",
        );
        let deploy = find(&components, "Deployment").unwrap();
        assert_eq!(
            deploy["spec"]["template"]["spec"]["containers"][0]["image"],
            "a: b"
        );
    }

    /// Pod Security Standard "restricted", checked field by field on every pod template.
    #[test]
    fn control_plane_pods_meet_pss_restricted() {
        for profile in ["default", "minimal", "ha"] {
            for sets in [&[][..], &["webhook.certManager=true"][..]] {
                let components = render_with(sets, profile);
                let deploy = find(&components, "Deployment").unwrap();
                let pod = &deploy["spec"]["template"]["spec"];
                assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
                assert_eq!(
                    pod["securityContext"]["seccompProfile"]["type"],
                    "RuntimeDefault"
                );
                assert!(pod.get("hostNetwork").is_none() && pod.get("hostPID").is_none());
                for container in pod["containers"].as_array().unwrap() {
                    let sc = &container["securityContext"];
                    assert_eq!(sc["allowPrivilegeEscalation"], false);
                    assert_eq!(sc["readOnlyRootFilesystem"], true);
                    assert_eq!(sc["runAsNonRoot"], true);
                    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
                    assert!(sc["capabilities"].get("add").is_none());
                    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
                }
                for volume in pod["volumes"].as_array().unwrap() {
                    assert!(volume.get("hostPath").is_none());
                }
            }
        }
    }

    #[test]
    fn uninstall_lists_references_in_reverse() {
        let components = render_with(&[], "default");
        let refs = uninstall_objects(&components);
        assert_eq!(refs[0]["kind"], "MutatingWebhookConfiguration");
        assert_eq!(refs.last().unwrap()["kind"], "Namespace");
        assert!(refs[0]["metadata"].get("namespace").is_none());
        assert!(refs.iter().all(|r| r.get("spec").is_none()));
    }

    #[test]
    fn characters_json_leaves_raw_are_escaped_for_yaml() {
        // DEL and C1 controls are fine raw in JSON, not in YAML (found by the property test).
        let text = "a\u{7f}b\u{85}c\u{feff}d\u{0}e";
        assert_eq!(yaml_quoted(text), "\"a\\u007fb\\u0085c\\ufeffd\\u0000e\"");
        let back: String = serde_saphyr::from_str(&yaml_quoted(text)).unwrap();
        assert_eq!(back, text);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever string a user sets, it lands as exactly that string: it can neither break
        /// the YAML nor change the structure around it.
        #[test]
        fn any_string_value_round_trips(text in "(?s).{1,40}") {
            proptest::prop_assume!(!text.trim().is_empty());
            let sources = ValueSources {
                profile: "default".to_string(),
                files: vec![],
                sets: vec![format!("proxy.image={text}"), format!("webhook.image={text}")],
            };
            let (_, values) = values::resolve(&sources).unwrap();
            let components = render(&values, "meshctl-system").unwrap();
            let deploy = find(&components, "Deployment").unwrap();
            proptest::prop_assert_eq!(
                deploy["spec"]["template"]["spec"]["containers"][0]["image"].as_str(),
                Some(text.as_str())
            );
            let cm = find(&components, "ConfigMap").unwrap();
            let config = crate::config::MeshConfig::from_yaml(
                "cm",
                cm["data"][CONFIG_MAP_KEY].as_str().unwrap(),
            )
            .unwrap();
            proptest::prop_assert_eq!(&config.proxy.image, &text);
            // And the YAML output reads back to the same objects.
            let yaml = to_yaml(&components).unwrap();
            let back: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
            let objects: Vec<Value> = components.iter().flat_map(|c| c.objects.clone()).collect();
            proptest::prop_assert_eq!(back, objects);
        }
    }

    #[test]
    fn bad_namespace_is_refused() {
        let (_, values) = values::resolve(&ValueSources {
            profile: "default".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(render(&values, "Not_A_Label").is_err());
    }
}
