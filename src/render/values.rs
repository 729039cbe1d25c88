//! Install values: defaults (`manifests/values.yaml` plus the built-in mesh config), profiles,
//! values files and `--set`, merged into one tree and checked against the defaults' shape. An
//! override is typed by the default it replaces, so `--set webhook.replicas=2` is a number and
//! `--set proxy.resources.cpuLimit=2` a string.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::RenderError;
use crate::config::{MeshConfig, ProxyConfig, ProxyInitConfig};

const VALUES_YAML: &str = include_str!("../../manifests/values.yaml");

/// The profiles `--profile` accepts, with their override files.
pub const PROFILES: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../manifests/profiles/default.yaml"),
    ),
    (
        "minimal",
        include_str!("../../manifests/profiles/minimal.yaml"),
    ),
    ("ha", include_str!("../../manifests/profiles/ha.yaml")),
];

/// Maps whose keys are the user's (labels, node selectors): any key is valid, values are strings.
const FREE_FORM_MAPS: &[&str] = &["commonLabels", "webhook.nodeSelector"];

/// The effective values, typed. Unknown keys never get this far (see [`merge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Values {
    pub common_labels: BTreeMap<String, String>,
    pub webhook: WebhookValues,
    pub proxy: ProxyConfig,
    pub proxy_init: ProxyInitConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookValues {
    pub image: String,
    pub image_pull_policy: String,
    pub replicas: u32,
    pub failure_policy: FailurePolicy,
    pub timeout_seconds: u32,
    pub port: u16,
    pub cert_manager: bool,
    pub cert_manager_issuer: IssuerRef,
    pub resources: crate::config::Resources,
    pub pod_disruption_budget: bool,
    pub anti_affinity: bool,
    pub priority_class_name: String,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailurePolicy {
    Ignore,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerRef {
    pub kind: IssuerKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IssuerKind {
    Issuer,
    ClusterIssuer,
}

impl Values {
    /// The mesh config these values describe (the `meshctl-config` ConfigMap content).
    pub fn mesh_config(&self) -> MeshConfig {
        MeshConfig {
            version: crate::VERSION.to_string(),
            proxy: self.proxy.clone(),
            proxy_init: self.proxy_init.clone(),
        }
    }

    /// The image the injector Deployment runs: `webhook.image`, else the proxy-init image (both
    /// are the meshctl image).
    pub fn webhook_image(&self) -> &str {
        if self.webhook.image.is_empty() {
            &self.proxy_init.image
        } else {
            &self.webhook.image
        }
    }
}

/// Where the user's values come from, in the order they apply (later wins).
#[derive(Debug, Clone, Default)]
pub struct ValueSources {
    pub profile: String,
    /// Values files: (name for messages, contents).
    pub files: Vec<(String, String)>,
    /// `--set key=value` expressions.
    pub sets: Vec<String>,
}

/// The defaults as one tree: values.yaml, then the built-in mesh config as `proxy`/`proxyInit`
/// (its Rust defaults are the single source of truth for those).
pub fn defaults() -> Result<Value, RenderError> {
    let mut tree = parse_yaml_mapping("manifests/values.yaml", VALUES_YAML)?;
    let mesh = MeshConfig::default();
    let to_value = |v: Result<Value, serde_json::Error>| {
        v.map_err(|e| RenderError::internal(format!("mesh config defaults: {e}")))
    };
    tree.insert(
        "proxy".to_string(),
        to_value(serde_json::to_value(&mesh.proxy))?,
    );
    tree.insert(
        "proxyInit".to_string(),
        to_value(serde_json::to_value(&mesh.proxy_init))?,
    );
    Ok(Value::Object(tree))
}

/// Resolves the effective values: defaults, profile, files, `--set`; returns the tree (for
/// `--show-values`) and its typed form.
pub fn resolve(sources: &ValueSources) -> Result<(Value, Values), RenderError> {
    let mut tree = defaults()?;
    let profile = PROFILES
        .iter()
        .find(|(name, _)| *name == sources.profile)
        .ok_or_else(|| RenderError::UnknownProfile {
            name: sources.profile.clone(),
            known: PROFILES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let profile_source = format!("profile '{}'", profile.0);
    let overrides = parse_yaml_value(&profile_source, profile.1)?;
    merge(&mut tree, &overrides, &profile_source)?;
    for (name, text) in &sources.files {
        let overrides = parse_yaml_value(name, text)?;
        merge(&mut tree, &overrides, name)?;
    }
    for expr in &sources.sets {
        apply_set(&mut tree, expr).map_err(|e| match e {
            RenderError::BadSet(_) => e,
            other => RenderError::CommandLine(Box::new(other)),
        })?;
    }
    let typed = typed(&tree)?;
    Ok((tree, typed))
}

fn typed(tree: &Value) -> Result<Values, RenderError> {
    // Section by section, so a type error names where it is.
    let Value::Object(map) = tree else {
        return Err(RenderError::internal("values are not a mapping"));
    };
    for (key, section) in map {
        let result = match key.as_str() {
            "webhook" => serde_json::from_value::<WebhookValues>(section.clone()).map(drop),
            "proxy" => serde_json::from_value::<ProxyConfig>(section.clone()).map(drop),
            "proxyInit" => serde_json::from_value::<ProxyInitConfig>(section.clone()).map(drop),
            _ => Ok(()),
        };
        result.map_err(|e| RenderError::InvalidValue {
            key: key.clone(),
            message: e.to_string(),
        })?;
    }
    let values: Values =
        serde_json::from_value(tree.clone()).map_err(|e| RenderError::InvalidValue {
            key: "values".to_string(),
            message: e.to_string(),
        })?;
    check_ranges(&values)?;
    Ok(values)
}

/// What the API server would only reject at apply time, or what would hurt later.
fn check_ranges(values: &Values) -> Result<(), RenderError> {
    let invalid = |key: &str, message: &str| {
        Err(RenderError::InvalidValue {
            key: key.to_string(),
            message: message.to_string(),
        })
    };
    let webhook = &values.webhook;
    if !(1..=30).contains(&webhook.timeout_seconds) {
        return invalid(
            "webhook.timeoutSeconds",
            "must be between 1 and 30 (the API server's limit)",
        );
    }
    if webhook.replicas == 0 {
        return invalid(
            "webhook.replicas",
            "must be at least 1 (use `meshctl uninstall` to remove the injector)",
        );
    }
    if webhook.port == 0 {
        return invalid("webhook.port", "must be a port number (1-65535)");
    }
    if webhook.pod_disruption_budget && webhook.replicas < 2 {
        return invalid(
            "webhook.podDisruptionBudget",
            "needs webhook.replicas >= 2: with one replica it would block every node drain",
        );
    }
    for (key, value) in [
        ("proxy.image", &values.proxy.image),
        ("proxyInit.image", &values.proxy_init.image),
    ] {
        if value.trim().is_empty() {
            return invalid(key, "must not be empty");
        }
    }
    Ok(())
}

fn parse_yaml_value(source: &str, text: &str) -> Result<Value, RenderError> {
    let value: Option<Value> =
        serde_saphyr::from_str(text).map_err(|e| RenderError::ValuesFile {
            source_name: source.to_string(),
            message: e.to_string(),
        })?;
    match value {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(RenderError::ValuesFile {
            source_name: source.to_string(),
            message: "expected a mapping of values at the top level".to_string(),
        }),
    }
}

fn parse_yaml_mapping(source: &str, text: &str) -> Result<Map<String, Value>, RenderError> {
    match parse_yaml_value(source, text)? {
        Value::Object(map) => Ok(map),
        _ => Err(RenderError::internal("values.yaml is not a mapping")),
    }
}

/// Merges `overrides` into `base`, refusing keys the defaults do not have and values whose type
/// does not fit the default's. `null` leaves the default in place.
pub fn merge(base: &mut Value, overrides: &Value, source: &str) -> Result<(), RenderError> {
    let schema = defaults()?;
    merge_at(base, overrides, &mut Vec::new(), source, &schema)
}

fn merge_at(
    base: &mut Value,
    overrides: &Value,
    path: &mut Vec<String>,
    source: &str,
    schema: &Value,
) -> Result<(), RenderError> {
    let Value::Object(over_map) = overrides else {
        return Err(wrong_type(path, source, "a mapping", overrides));
    };
    let free_form = FREE_FORM_MAPS.contains(&path.join(".").as_str());
    let Value::Object(base_map) = base else {
        return Err(RenderError::internal("merging into a non-mapping"));
    };
    for (key, value) in over_map {
        path.push(key.clone());
        if value.is_null() {
            path.pop();
            continue;
        }
        if free_form {
            let text = scalar_to_string(value)
                .ok_or_else(|| wrong_type(path, source, "a string", value))?;
            base_map.insert(key.clone(), Value::String(text));
            path.pop();
            continue;
        }
        let Some(current) = base_map.get_mut(key) else {
            return Err(unknown_key(path, source, schema));
        };
        match current {
            Value::Object(_) => merge_at(current, value, path, source, schema)?,
            _ => *current = coerce(current, value, path, source)?,
        }
        path.pop();
    }
    Ok(())
}

/// Fits an override to the type of the default it replaces.
fn coerce(
    default: &Value,
    value: &Value,
    path: &[String],
    source: &str,
) -> Result<Value, RenderError> {
    match (default, value) {
        (Value::Bool(_), Value::Bool(_)) => Ok(value.clone()),
        (Value::Bool(_), _) => Err(wrong_type(path, source, "true or false", value)),
        (Value::Number(_), Value::Number(n)) if n.is_u64() => Ok(value.clone()),
        (Value::Number(_), _) => Err(wrong_type(path, source, "a non-negative integer", value)),
        (Value::String(_), _) => scalar_to_string(value)
            .map(Value::String)
            .ok_or_else(|| wrong_type(path, source, "a string", value)),
        // Tolerations are objects; every other list holds scalars (ports, CIDRs).
        (Value::Array(_), Value::Array(items)) if path.join(".") == "webhook.tolerations" => {
            if items.iter().all(Value::is_object) {
                Ok(value.clone())
            } else {
                Err(wrong_type(path, source, "a list of tolerations", value))
            }
        }
        (Value::Array(_), Value::Array(items)) if items.iter().all(is_scalar) => Ok(value.clone()),
        (Value::Array(_), _) => Err(wrong_type(path, source, "a list", value)),
        _ => Ok(value.clone()),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// Strings stay strings; numbers and booleans written unquoted in YAML become their text.
fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string '{s}'"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
        other => format!("'{other}'"),
    }
}

fn wrong_type(path: &[String], source: &str, expected: &str, got: &Value) -> RenderError {
    RenderError::InvalidValue {
        key: format!("{} (from {source})", path.join(".")),
        message: format!("expected {expected}, got {}", describe(got)),
    }
}

fn unknown_key(path: &[String], source: &str, schema: &Value) -> RenderError {
    let key = path.join(".");
    let candidates = key_paths(schema);
    let nearest = candidates
        .iter()
        .min_by_key(|candidate| (edit_distance(&key, candidate), candidate.len()))
        .cloned()
        .unwrap_or_default();
    RenderError::UnknownKey {
        key,
        source_name: source.to_string(),
        nearest,
    }
}

/// Every dotted key path the defaults define (mappings and leaves).
pub fn key_paths(schema: &Value) -> Vec<String> {
    fn walk(value: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.push(path.clone());
                if !FREE_FORM_MAPS.contains(&path.as_str()) {
                    walk(child, &path, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, "", &mut out);
    out
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Applies one `--set key.path=value`. The key may escape dots as `\.` (label keys).
pub fn apply_set(tree: &mut Value, expr: &str) -> Result<(), RenderError> {
    let (key, raw) = expr
        .split_once('=')
        .ok_or_else(|| RenderError::BadSet(expr.to_string()))?;
    let path = split_key(key);
    if path.iter().any(String::is_empty) {
        return Err(RenderError::BadSet(expr.to_string()));
    }
    let schema = defaults()?;
    let source = format!("--set {expr}");
    // Type the raw text by the default it replaces, then merge like a one-key values file.
    let default = lookup(tree, &path);
    let typed = match default {
        Some(Value::Bool(_)) => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(raw.to_string()),
        },
        Some(Value::Number(_)) => raw
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_string())),
        Some(Value::Array(_)) => Value::Array(split_list(raw)),
        Some(Value::Object(_)) => Value::String(raw.to_string()),
        _ => Value::String(raw.to_string()),
    };
    let mut overrides = typed;
    for segment in path.iter().rev() {
        let mut map = Map::new();
        map.insert(segment.clone(), overrides);
        overrides = Value::Object(map);
    }
    merge_at(tree, &overrides, &mut Vec::new(), &source, &schema)
}

fn split_key(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                current.push('.');
            }
            '.' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// `a,b,c` or `[a,b,c]`; each item a number when it reads as one. Empty gives an empty list.
fn split_list(raw: &str) -> Vec<Value> {
    let inner = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(raw)
        .trim();
    if inner.is_empty() {
        return Vec::new();
    }
    inner
        .split(',')
        .map(str::trim)
        .map(|item| {
            item.parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(item.to_string()))
        })
        .collect()
}

fn lookup<'a>(tree: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(tree, |node, key| node.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(sets: &[&str]) -> ValueSources {
        ValueSources {
            profile: "default".to_string(),
            files: vec![],
            sets: sets.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_type_check_and_match_the_mesh_config() {
        let (_, values) = resolve(&sources(&[])).unwrap();
        assert_eq!(values.mesh_config(), MeshConfig::default());
        assert_eq!(values.webhook.failure_policy, FailurePolicy::Ignore);
    }

    #[test]
    fn every_profile_resolves() {
        for (name, _) in PROFILES {
            let mut s = sources(&[]);
            s.profile = name.to_string();
            resolve(&s).unwrap_or_else(|e| panic!("profile {name}: {e}"));
        }
    }

    #[test]
    fn set_is_typed_by_the_default() {
        let (tree, values) = resolve(&sources(&[
            "webhook.replicas=3",
            "webhook.certManager=true",
            "proxy.resources.cpuLimit=2",
            "proxy.skipInboundPorts=22,8080",
            "proxy.skipOutboundCidrs=[10.0.0.0/8]",
            "commonLabels.team\\.example\\.com/owner=platform",
        ]))
        .unwrap();
        assert_eq!(values.webhook.replicas, 3);
        assert!(values.webhook.cert_manager);
        assert_eq!(values.proxy.resources.cpu_limit, "2");
        assert_eq!(values.proxy.skip_inbound_ports, vec![22, 8080]);
        assert_eq!(values.proxy.skip_outbound_cidrs, vec!["10.0.0.0/8"]);
        assert_eq!(
            tree["commonLabels"]["team.example.com/owner"],
            Value::String("platform".into())
        );
    }

    #[test]
    fn set_with_the_wrong_type_names_the_key() {
        let err = resolve(&sources(&["webhook.replicas=two"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhook.replicas"), "{err}");
        assert!(err.contains("integer"), "{err}");
        let err = resolve(&sources(&["webhook.certManager=yes"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("true or false"), "{err}");
    }

    #[test]
    fn unknown_key_names_the_nearest() {
        let err = resolve(&sources(&["webhook.replica=2"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'webhook.replica'"), "{err}");
        assert!(err.contains("'webhook.replicas'"), "{err}");
        let err = resolve(&sources(&["proxy.loglevel=debug"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'proxy.logLevel'"), "{err}");
    }

    #[test]
    fn files_apply_in_order_and_later_wins() {
        let mut s = sources(&[]);
        s.files = vec![
            (
                "a.yaml".into(),
                "webhook:\n  replicas: 4\n  port: 9443\n".into(),
            ),
            ("b.yaml".into(), "webhook:\n  replicas: 5\n".into()),
        ];
        let (_, values) = resolve(&s).unwrap();
        assert_eq!(values.webhook.replicas, 5);
        assert_eq!(values.webhook.port, 9443);
        s.files.push(("c.yaml".into(), "webhok: {}\n".into()));
        let err = resolve(&s).unwrap_err().to_string();
        assert!(err.contains("c.yaml") && err.contains("'webhook'"), "{err}");
    }

    #[test]
    fn bad_enum_and_unknown_profile_are_errors() {
        let err = resolve(&sources(&["webhook.failurePolicy=Sometimes"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhook"), "{err}");
        let mut s = sources(&[]);
        s.profile = "huge".into();
        let err = resolve(&s).unwrap_err().to_string();
        assert!(err.contains("huge") && err.contains("minimal"), "{err}");
    }

    #[test]
    fn ranges_are_checked() {
        for (set, key) in [
            ("webhook.timeoutSeconds=31", "webhook.timeoutSeconds"),
            ("webhook.replicas=0", "webhook.replicas"),
            (
                "webhook.podDisruptionBudget=true",
                "webhook.podDisruptionBudget",
            ),
            ("proxy.image=", "proxy.image"),
        ] {
            let err = resolve(&sources(&[set])).unwrap_err().to_string();
            assert!(err.contains(key), "{set}: {err}");
        }
        resolve(&sources(&[
            "webhook.podDisruptionBudget=true",
            "webhook.replicas=2",
        ]))
        .unwrap();
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
