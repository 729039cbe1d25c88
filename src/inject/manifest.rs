//! Whole manifests: documents (YAML streams, one or several JSON objects, `kind: List`), the workload
//! kinds and where their pod template lives, and the per-object report. The pod-template work is
//! [`super::template`]'s; this module applies its edits to the original text.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use thiserror::Error;

use super::template::{self, Plan, Workload};
use super::text::{self, Doc, Layout, Splice};
use super::{Edit, InjectError, InjectOptions, Seg};
use crate::config::INJECT_LABEL;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inject,
    Uninject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Injected,
    Uninjected,
    Unchanged,
    Skipped,
}

/// One line of the report: what happened to one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub file: String,
    /// 1-based document index in the file.
    pub document: usize,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Report {
    /// `deployment/web injected`, `pod/x skipped: hostNetwork is enabled`.
    pub fn line(&self) -> String {
        let result = match self.result {
            Outcome::Injected => "injected",
            Outcome::Uninjected => "uninjected",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
        };
        let mut line = format!("{}/{} {result}", self.kind.to_lowercase(), self.name);
        if let Some(reason) = &self.reason {
            line.push_str(": ");
            line.push_str(reason);
        }
        line
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: String,
    pub document: Option<usize>,
    /// `deployment/web`
    pub object: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(doc) = self.document {
            write!(f, ": document {doc}")?;
        }
        if let Some(object) = &self.object {
            write!(f, " ({object})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The result of one input: the whole output text and a report per object.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    pub text: String,
    pub format: Format,
    pub reports: Vec<Report>,
}

/// Settings of one run over files.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inject: InjectOptions,
    pub direction: Direction,
    /// The namespace for objects that do not name one (`-n`).
    pub namespace: Option<String>,
    /// Convert the output to this format; `None` keeps each input's.
    pub output: Option<Format>,
}

/// One parsed document with where its text lives: YAML documents share the file's text (base 0),
/// JSON objects are parsed one by one from their slice.
struct Unit {
    base: usize,
    end: usize,
    doc: Doc,
}

/// Whether the text is JSON (it starts with `{` or `[`) rather than YAML.
pub fn sniff(text: &str) -> Format {
    match text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .as_bytes()
        .first()
    {
        Some(b'{' | b'[') => Format::Json,
        _ => Format::Yaml,
    }
}

fn parse_units(file: &str, text: &str, format: Format) -> Result<Vec<Unit>, ManifestError> {
    let error = |document: usize, message: String| ManifestError {
        file: file.to_string(),
        document: Some(document),
        object: None,
        message,
    };
    match format {
        Format::Yaml => {
            let docs = text::parse(text).map_err(|e| error(e.document, e.to_string()))?;
            Ok(docs
                .into_iter()
                .map(|doc| Unit {
                    base: 0,
                    end: text.len(),
                    doc,
                })
                .collect())
        }
        Format::Json => {
            let mut units = Vec::new();
            let mut stream =
                serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
            loop {
                let before = stream.byte_offset();
                match stream.next() {
                    None => break,
                    Some(Err(e)) => {
                        return Err(error(
                            units.len() + 1,
                            format!("line {}, column {}: {e}", e.line(), e.column()),
                        ));
                    }
                    Some(Ok(_)) => {
                        let end = stream.byte_offset();
                        let begin = before
                            + (text[before..end].len() - text[before..end].trim_start().len());
                        let slice = &text[begin..end];
                        let mut docs = text::parse(slice)
                            .map_err(|e| error(units.len() + 1, e.to_string()))?;
                        let Some(mut doc) = docs.pop() else { continue };
                        doc.index = units.len();
                        units.push(Unit {
                            base: begin,
                            end,
                            doc,
                        });
                    }
                }
            }
            Ok(units)
        }
    }
}

/// What one document needs: edits in up to two passes (an old sidecar's removal first) and its
/// reports.
#[derive(Default)]
struct DocPlan {
    first: Vec<Edit>,
    second: Vec<Edit>,
    reports: Vec<Report>,
}

/// Injects or uninjects every object of one input. All or nothing: any error fails the input.
pub fn process(file: &str, input: &str, options: &RunOptions) -> Result<Processed, ManifestError> {
    let format = sniff(input);
    let units = parse_units(file, input, format)?;
    let mut plans: BTreeMap<usize, DocPlan> = BTreeMap::new();
    let mut reports = Vec::new();
    for unit in &units {
        let document = unit.doc.index + 1;
        let value = text::to_value(&unit.doc.root).map_err(|message| ManifestError {
            file: file.to_string(),
            document: Some(document),
            object: None,
            message,
        })?;
        let mut plan = DocPlan::default();
        plan_object(&value, &[], file, document, options, &mut plan)?;
        reports.append(&mut plan.reports);
        plans.insert(unit.doc.index, plan);
    }

    let needs_second = plans.values().any(|p| !p.second.is_empty());
    let first: BTreeMap<usize, Vec<Edit>> = plans
        .iter_mut()
        .map(|(i, p)| (*i, std::mem::take(&mut p.first)))
        .collect();
    let mut out = apply(file, input, &units, &first)?;
    if needs_second {
        let second: BTreeMap<usize, Vec<Edit>> = plans
            .iter_mut()
            .map(|(i, p)| (*i, std::mem::take(&mut p.second)))
            .collect();
        let units = parse_units(file, &out, format)?;
        out = apply(file, &out, &units, &second)?;
    }
    let (text, format) = match options.output {
        Some(target) if target != format => (convert(file, &out, format, target)?, target),
        _ => (out, format),
    };
    Ok(Processed {
        text,
        format,
        reports,
    })
}

fn apply(
    file: &str,
    input: &str,
    units: &[Unit],
    edits: &BTreeMap<usize, Vec<Edit>>,
) -> Result<String, ManifestError> {
    if edits.values().all(Vec::is_empty) {
        return Ok(input.to_string());
    }
    let mut all: Vec<Splice> = Vec::new();
    // YAML documents share one layout; JSON objects each have their own text.
    let yaml_docs: Vec<Doc> = units
        .iter()
        .filter(|u| u.base == 0 && u.end == input.len())
        .map(|u| u.doc.clone())
        .collect();
    let shared = Layout::new(input, &yaml_docs);
    for unit in units {
        let Some(doc_edits) = edits.get(&unit.doc.index).filter(|e| !e.is_empty()) else {
            continue;
        };
        let fail = |message: String| ManifestError {
            file: file.to_string(),
            document: Some(unit.doc.index + 1),
            object: None,
            message,
        };
        if unit.base == 0 && unit.end == input.len() {
            let splices =
                text::splices(&shared, &unit.doc.root, doc_edits).map_err(|e| fail(e.0))?;
            all.extend(splices);
        } else {
            let slice = &input[unit.base..unit.end];
            let layout = Layout::new(slice, std::slice::from_ref(&unit.doc));
            let splices =
                text::splices(&layout, &unit.doc.root, doc_edits).map_err(|e| fail(e.0))?;
            all.extend(splices.into_iter().map(|s| Splice {
                start: s.start + unit.base,
                end: s.end + unit.base,
                insert: s.insert,
                depth: s.depth,
            }));
        }
    }
    text::apply_splices(input, &mut all).map_err(|e| ManifestError {
        file: file.to_string(),
        document: None,
        object: None,
        message: e.0,
    })
}

/// Where each workload kind keeps its pod template.
pub fn template_path(kind: &str) -> Option<Vec<Seg>> {
    let k = |s: &str| Seg::Key(s.to_string());
    match kind {
        "Pod" => Some(vec![]),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some(vec![k("spec"), k("template")]),
        "CronJob" => Some(vec![k("spec"), k("jobTemplate"), k("spec"), k("template")]),
        _ => None,
    }
}

fn plan_object(
    value: &Value,
    prefix: &[Seg],
    file: &str,
    document: usize,
    options: &RunOptions,
    plan: &mut DocPlan,
) -> Result<(), ManifestError> {
    let Some(kind) = value.get("kind").and_then(Value::as_str) else {
        return Ok(()); // not a Kubernetes object (or an empty document): passed through
    };
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .or_else(|| {
            value
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
        })
        .unwrap_or("")
        .to_string();
    let namespace = value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| options.namespace.clone());
    let object = format!("{}/{}", kind.to_lowercase(), name);
    let fail = |e: InjectError| ManifestError {
        file: file.to_string(),
        document: Some(document),
        object: Some(object.clone()),
        message: match e {
            InjectError::Refused(m) => format!("refusing to inject: {m}"),
            InjectError::Invalid(m) => m,
        },
    };
    let mut report = Report {
        file: file.to_string(),
        document,
        kind: kind.to_string(),
        name: name.clone(),
        namespace: namespace.clone(),
        result: Outcome::Unchanged,
        reason: None,
    };
    let join = |tail: Vec<Seg>| -> Vec<Seg> { prefix.iter().cloned().chain(tail).collect() };

    if kind == "List"
        && let Some(items) = value.get("items").and_then(Value::as_array)
    {
        for (i, item) in items.iter().enumerate() {
            let path = join(vec![Seg::Key("items".into()), Seg::Index(i)]);
            plan_object(item, &path, file, document, options, plan)?;
        }
        return Ok(());
    }
    if kind == "Namespace" {
        let (edits, result, reason) = namespace_edits(value, &name, options).map_err(fail)?;
        plan.first.extend(super::prefix_edits(prefix, edits));
        report.result = result;
        report.reason = reason;
        report.namespace = None;
        plan.reports.push(report);
        return Ok(());
    }
    let Some(tpath) = template_path(kind) else {
        plan.reports.push(report);
        return Ok(());
    };
    let template = template::template_at(value, &tpath).ok_or_else(|| {
        fail(InjectError::Invalid(format!(
            "{} is missing",
            super::display_path(&tpath)
        )))
    })?;
    let full = join(tpath.clone());
    match options.direction {
        Direction::Uninject => {
            let edits = template::plan_uninject(template).map_err(fail)?;
            if !edits.is_empty() {
                report.result = Outcome::Uninjected;
            }
            plan.first.extend(super::prefix_edits(&full, edits));
        }
        Direction::Inject => {
            let (workload_meta, workload) = if tpath.is_empty() {
                (None, Workload::new(kind, &name))
            } else {
                (value.get("metadata"), Workload::new(kind, &name))
            };
            match template::plan_inject(
                template,
                workload_meta,
                &workload,
                namespace.as_deref(),
                &options.inject,
            )
            .map_err(fail)?
            {
                Plan::Edits { uninject, inject } => {
                    report.result = Outcome::Injected;
                    if uninject.is_empty() {
                        plan.first.extend(super::prefix_edits(&full, inject));
                    } else {
                        plan.first.extend(super::prefix_edits(&full, uninject));
                        plan.second.extend(super::prefix_edits(&full, inject));
                    }
                }
                Plan::Unchanged => {}
                Plan::Skipped(reason) => {
                    report.result = Outcome::Skipped;
                    report.reason = Some(reason);
                }
            }
        }
    }
    plan.reports.push(report);
    Ok(())
}

/// A Namespace opts into automatic injection with the label `meshctl.io/inject: enabled`.
fn namespace_edits(
    value: &Value,
    name: &str,
    options: &RunOptions,
) -> Result<(Vec<Edit>, Outcome, Option<String>), InjectError> {
    let k = |s: &str| Seg::Key(s.to_string());
    let labels = value.pointer("/metadata/labels");
    let current = labels.and_then(|l| l.get(INJECT_LABEL));
    match options.direction {
        Direction::Inject => {
            if name == options.inject.mesh_namespace {
                return Err(InjectError::Refused(format!(
                    "'{name}' is the mesh namespace, where nothing is injected"
                )));
            }
            match current.and_then(Value::as_str) {
                Some("enabled") => return Ok((vec![], Outcome::Unchanged, None)),
                Some("disabled") => {
                    return Ok((
                        vec![],
                        Outcome::Skipped,
                        Some(format!("{INJECT_LABEL}: disabled")),
                    ));
                }
                Some(other) => {
                    return Err(InjectError::Invalid(format!(
                        "label {INJECT_LABEL} is '{other}'; expected enabled or disabled"
                    )));
                }
                None if current.is_some() => {
                    return Err(InjectError::Invalid(format!(
                        "label {INJECT_LABEL} is not a string"
                    )));
                }
                None => {}
            }
            let edit = match labels {
                Some(Value::Object(_)) => Edit::AddEntry {
                    map: vec![k("metadata"), k("labels")],
                    key: INJECT_LABEL.to_string(),
                    value: json!("enabled"),
                },
                None if value.get("metadata").is_some_and(Value::is_object) => Edit::AddEntry {
                    map: vec![k("metadata")],
                    key: "labels".to_string(),
                    value: json!({INJECT_LABEL: "enabled"}),
                },
                _ => {
                    return Err(InjectError::Invalid(
                        "metadata.labels is not a mapping".to_string(),
                    ));
                }
            };
            Ok((vec![edit], Outcome::Injected, None))
        }
        Direction::Uninject => {
            if current.and_then(Value::as_str) != Some("enabled") {
                return Ok((vec![], Outcome::Unchanged, None));
            }
            let only = labels
                .and_then(Value::as_object)
                .is_some_and(|l| l.len() == 1);
            let path = if only {
                vec![k("metadata"), k("labels")]
            } else {
                vec![k("metadata"), k("labels"), k(INJECT_LABEL)]
            };
            Ok((vec![Edit::Remove { path }], Outcome::Uninjected, None))
        }
    }
}

/// Re-emits a whole text in the other format (`-o json` of YAML input and the reverse).
fn convert(file: &str, input: &str, from: Format, to: Format) -> Result<String, ManifestError> {
    let units = parse_units(file, input, from)?;
    let mut values = Vec::new();
    for unit in &units {
        let value = text::to_value(&unit.doc.root).map_err(|message| ManifestError {
            file: file.to_string(),
            document: Some(unit.doc.index + 1),
            object: None,
            message,
        })?;
        if !value.is_null() {
            values.push(value);
        }
    }
    Ok(match to {
        Format::Json => values
            .iter()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default() + "\n")
            .collect(),
        Format::Yaml => values
            .iter()
            .map(text::to_block_yaml)
            .collect::<Vec<_>>()
            .join("---\n"),
    })
}
