//! The injection engine, shared by `meshctl inject` (files and live workloads) and the webhook.
//!
//! Interface the webhook relies on (keep it stable): [`inject_pod`] mutates one Pod object, given as
//! JSON, in place, and says what it did. The webhook diffs before/after into a JSON patch.
//!
//! One transformation serves every caller: [`template`] turns a pod template (`{metadata, spec}`) into
//! a list of [`Edit`]s (add an entry, insert sequence items, remove a node). The webhook and live
//! mode apply those edits to JSON values ([`apply_edits`]); the file path applies the very same edits
//! as surgical text edits to the original YAML/JSON ([`text`]), so untouched bytes stay untouched and
//! uninject(inject(x)) == x.

pub mod manifest;
pub mod settings;
pub mod template;
pub mod text;

use serde_json::Value;
use thiserror::Error;

use crate::config::MeshConfig;

pub use template::Workload;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InjectError {
    /// The pod cannot be injected and must not be: another mesh's sidecar, the mesh namespace.
    /// The message names the reason. (hostNetwork pods are [`PodDecision::Skipped`], like an
    /// opt-out: the report shows `pod/x skipped: hostNetwork is enabled`.)
    #[error("{0}")]
    Refused(String),
    #[error("invalid pod: {0}")]
    Invalid(String),
}

/// Settings for one injection: the mesh config, then CLI flag overrides (annotations on the
/// workload override the mesh config too, and CLI flags override annotations).
#[derive(Debug, Clone)]
pub struct InjectOptions {
    pub config: MeshConfig,
    pub native_sidecar: bool,
    /// The mesh namespace; workloads there are refused.
    pub mesh_namespace: String,
    /// `config.meshctl.io/<setting>` values given as CLI flags (setting name without the prefix).
    pub overrides: std::collections::BTreeMap<String, String>,
}

impl Default for InjectOptions {
    fn default() -> Self {
        InjectOptions {
            config: MeshConfig::default(),
            native_sidecar: true,
            mesh_namespace: "meshctl-system".to_string(),
            overrides: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodDecision {
    Injected,
    /// Already injected with the same settings (or, for uninject, not injected): nothing changed.
    Unchanged,
    /// Not injected, with the reason (e.g. `meshctl.io/inject: disabled`).
    Skipped(String),
    /// `uninject_pod` removed the sidecar.
    Uninjected,
}

/// One step of a path into a JSON/YAML document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

pub type Path = Vec<Seg>;

/// A change to a document, expressed on its data model so it can be applied to a JSON value or,
/// position for position, to the original text.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Add `key: value` at the end of the mapping at `map` (the key is absent).
    AddEntry {
        map: Path,
        key: String,
        value: Value,
    },
    /// Insert `values` into the sequence at `seq`, before item `index` (`index` = length appends).
    InsertItems {
        seq: Path,
        index: usize,
        values: Vec<Value>,
    },
    /// Remove the mapping entry or sequence item at `path`.
    Remove { path: Path },
}

/// Prefixes every path in `edits` with `prefix` (a pod template inside a workload).
pub fn prefix_edits(prefix: &[Seg], edits: Vec<Edit>) -> Vec<Edit> {
    let join = |p: Path| -> Path { prefix.iter().cloned().chain(p).collect() };
    edits
        .into_iter()
        .map(|edit| match edit {
            Edit::AddEntry { map, key, value } => Edit::AddEntry {
                map: join(map),
                key,
                value,
            },
            Edit::InsertItems { seq, index, values } => Edit::InsertItems {
                seq: join(seq),
                index,
                values,
            },
            Edit::Remove { path } => Edit::Remove { path: join(path) },
        })
        .collect()
}

/// Looks up `path` in `value`.
pub fn get<'a>(value: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(value, |node, seg| match seg {
        Seg::Key(k) => node.as_object()?.get(k),
        Seg::Index(i) => node.as_array()?.get(*i),
    })
}

fn get_mut<'a>(value: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |node, seg| match seg {
        Seg::Key(k) => node.as_object_mut()?.get_mut(k),
        Seg::Index(i) => node.as_array_mut()?.get_mut(*i),
    })
}

/// Applies edits to a JSON value. Removals are applied deepest/last first so indices stay valid;
/// the edits of one plan never overlap.
pub fn apply_edits(root: &mut Value, edits: &[Edit]) -> Result<(), InjectError> {
    let missing = |p: &[Seg]| InjectError::Invalid(format!("no node at {}", display_path(p)));
    let mut removals: Vec<&Path> = Vec::new();
    for edit in edits {
        match edit {
            Edit::AddEntry { map, key, value } => {
                let node = get_mut(root, map).ok_or_else(|| missing(map))?;
                let object = node.as_object_mut().ok_or_else(|| {
                    InjectError::Invalid(format!("{} is not a mapping", display_path(map)))
                })?;
                object.insert(key.clone(), value.clone());
            }
            Edit::InsertItems { seq, index, values } => {
                let node = get_mut(root, seq).ok_or_else(|| missing(seq))?;
                let array = node.as_array_mut().ok_or_else(|| {
                    InjectError::Invalid(format!("{} is not a list", display_path(seq)))
                })?;
                if *index > array.len() {
                    return Err(missing(seq));
                }
                for (offset, item) in values.iter().enumerate() {
                    array.insert(index + offset, item.clone());
                }
            }
            Edit::Remove { path } => removals.push(path),
        }
    }
    removals.sort();
    for path in removals.into_iter().rev() {
        let Some((last, parent)) = path.split_last() else {
            return Err(missing(path));
        };
        let node = get_mut(root, parent).ok_or_else(|| missing(path))?;
        match (last, node) {
            (Seg::Key(k), Value::Object(map)) => {
                map.shift_remove(k).ok_or_else(|| missing(path))?;
            }
            (Seg::Index(i), Value::Array(items)) if *i < items.len() => {
                items.remove(*i);
            }
            _ => return Err(missing(path)),
        }
    }
    Ok(())
}

/// `spec.containers[2]`-style rendering of a path, for messages.
pub fn display_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "<root>".to_string()
    } else {
        out
    }
}

/// Injects the sidecar into a whole Pod object (`{"apiVersion":"v1","kind":"Pod","metadata":…,"spec":…}`)
/// in place. `namespace` is the pod's namespace when the object itself does not say.
///
/// Re-injecting a pod injected with other settings replaces the old sidecar; a pod injected with the
/// same settings is left alone ([`PodDecision::Unchanged`]).
pub fn inject_pod(
    pod: &mut Value,
    namespace: Option<&str>,
    options: &InjectOptions,
) -> Result<PodDecision, InjectError> {
    if !pod.is_object() {
        return Err(InjectError::Invalid(
            "a Pod must be a JSON object".to_string(),
        ));
    }
    let workload = Workload::of_pod(pod);
    let namespace = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| namespace.map(str::to_string));
    let plan = template::plan_inject(pod, None, &workload, namespace.as_deref(), options)?;
    match plan {
        template::Plan::Edits { uninject, inject } => {
            apply_edits(pod, &uninject)?;
            apply_edits(pod, &inject)?;
            Ok(PodDecision::Injected)
        }
        template::Plan::Unchanged => Ok(PodDecision::Unchanged),
        template::Plan::Skipped(reason) => Ok(PodDecision::Skipped(reason)),
    }
}

/// Removes exactly what injection added (as listed in the `meshctl.io/status` annotation) from a
/// whole Pod object, in place.
pub fn uninject_pod(pod: &mut Value) -> Result<PodDecision, InjectError> {
    let edits = template::plan_uninject(pod)?;
    if edits.is_empty() {
        return Ok(PodDecision::Unchanged);
    }
    apply_edits(pod, &edits)?;
    Ok(PodDecision::Uninjected)
}
