//! `meshctl install`: renders the control plane (no cluster needed), or applies it with
//! `--apply` (server-side apply, field manager `meshctl`, in dependency order).

use std::path::Path;

use anyhow::Context;

use crate::cli::{GlobalArgs, InstallArgs};
use crate::exit::{Outcome, UsageError};
use crate::kube::apply::{self as kube_apply, Outcome as ApplyOutcome};
use crate::kube::{ClusterOptions, connect};
use crate::output;
use crate::render::{self, RenderError, ValueSources};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Json,
}

pub async fn run(global: &GlobalArgs, args: &InstallArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(global)?;
    let sources = value_sources(&args.profile, &args.values, &args.set)?;
    let (tree, values) = render::values::resolve(&sources).map_err(classify)?;

    if args.show_values {
        let text = match format {
            Format::Yaml => render::values_to_yaml(&tree)?,
            Format::Json => format!("{}\n", serde_json::to_string_pretty(&tree)?),
        };
        output::write_stdout(text.as_bytes())?;
        return Ok(Outcome::Success);
    }

    let components = render::render(&values, &global.mesh_namespace).map_err(classify)?;
    if args.apply {
        let objects: Vec<Value> = components.into_iter().flat_map(|c| c.objects).collect();
        return apply(global, args, format, &objects).await;
    }
    if let Some(dir) = &args.output_dir {
        if format == Format::Json {
            return Err(UsageError::new("--output-dir writes YAML files; drop -o json").into());
        }
        write_dir(
            dir,
            &render::to_files(&components)?,
            &render::absent_files(&components),
        )?;
        return Ok(Outcome::Success);
    }
    let text = match format {
        Format::Yaml => render::to_yaml(&components)?,
        Format::Json => render::to_json_list(&components)?,
    };
    output::write_stdout(text.as_bytes())?;
    Ok(Outcome::Success)
}

pub(crate) fn parse_format(global: &GlobalArgs) -> Result<Format, UsageError> {
    output::parse_format(
        global.output.as_deref(),
        Format::Yaml,
        &[("yaml", Format::Yaml), ("json", Format::Json)],
    )
}

/// Reads the values files up front so a missing file is reported before anything renders.
pub(crate) fn value_sources(
    profile: &str,
    files: &[std::path::PathBuf],
    sets: &[String],
) -> anyhow::Result<ValueSources> {
    let files = files
        .iter()
        .map(|path| {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("cannot read values from stdin")?
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read values file {}", path.display()))?
            };
            Ok((path.display().to_string(), text))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ValueSources {
        profile: profile.to_string(),
        files,
        sets: sets.to_vec(),
    })
}

/// Command-line mistakes exit 2; mistakes in values files exit 1.
pub(crate) fn classify(err: RenderError) -> anyhow::Error {
    if err.is_usage() {
        UsageError::new(err.to_string()).into()
    } else {
        err.into()
    }
}

/// Writes every file, each through a temporary name then a rename, so a failure never leaves a
/// half-written manifest behind; removes the files of components this render does not have.
fn write_dir(dir: &Path, files: &[(String, String)], absent: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, body) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, body).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for name in absent {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove stale {}", path.display()))?;
            output::note(format!(
                "removed {} (not rendered any more)",
                path.display()
            ));
        }
    }
    output::note(format!(
        "wrote {} files into {}",
        files.len(),
        dir.display()
    ));
    Ok(())
}

/// `--apply`: every object in dependency order, then (with `--wait`) the rollout. Progress goes to
/// stderr; the result (one line per object, or JSON) to stdout at the end.
async fn apply(
    global: &GlobalArgs,
    args: &InstallArgs,
    format: Format,
    objects: &[Value],
) -> anyhow::Result<Outcome> {
    let dry_run = args.dry_run.is_some();
    let cluster = connect(&ClusterOptions::from_global(global)).await?;
    let ordered = kube_apply::in_apply_order(objects);
    let mut lines = ResultLines::new();
    let result = kube_apply::apply_all(&cluster.client, &ordered, dry_run, |o| {
        lines.record(outcome_line(o, dry_run))
    })
    .await;
    let outcomes = match result {
        Ok(outcomes) => outcomes,
        Err(err) => return Err(lines.fail(err, "install failed")),
    };
    if args.wait && !dry_run {
        let waited =
            kube_apply::wait_for_rollout(&cluster.client, &ordered, global.timeout, |what, how| {
                lines.progress().status(&format!("{what}: {how}"));
            })
            .await;
        if let Err(err) = waited {
            return Err(lines.fail(
                err,
                "install applied, but the control plane did not become ready",
            ));
        }
        lines.progress().line("control plane ready");
    }
    drop(lines);
    output::write_stdout(outcomes_text(&outcomes, format, dry_run).as_bytes())?;
    Ok(Outcome::Success)
}

/// Per-object result lines while objects are applied or deleted. The lines are the result
/// (stdout, at the end); meanwhile a terminal shows each as the spinner's message, and if the
/// run fails, what already happened goes to stderr.
pub(crate) struct ResultLines {
    progress: output::Progress,
    fancy: bool,
    done: Vec<String>,
}

impl ResultLines {
    pub(crate) fn new() -> Self {
        ResultLines {
            progress: output::Progress::new(),
            fancy: output::stderr_is_fancy(),
            done: Vec::new(),
        }
    }

    pub(crate) fn record(&mut self, line: String) {
        if self.fancy {
            self.progress.status(&line);
        }
        self.done.push(line);
    }

    pub(crate) fn progress(&self) -> &output::Progress {
        &self.progress
    }

    /// After a failure stdout stays empty: clears the display, reports on stderr what was
    /// already done, and returns `err` with `context`.
    pub(crate) fn fail(self, err: kube_apply::ApplyError, context: &'static str) -> anyhow::Error {
        drop(self.progress);
        for line in &self.done {
            output::note(line);
        }
        anyhow::Error::new(err).context(context)
    }
}

fn outcome_line(outcome: &ApplyOutcome, dry_run: bool) -> String {
    let suffix = if dry_run { " (server dry run)" } else { "" };
    let caveat = outcome
        .note
        .map(|note| format!(" ({note})"))
        .unwrap_or_default();
    format!(
        "{} {}{suffix}{caveat}",
        outcome.object.display,
        outcome.action.as_str()
    )
}

/// The result of an apply or delete, kubectl-style lines or a JSON array.
pub(crate) fn outcomes_text(outcomes: &[ApplyOutcome], format: Format, dry_run: bool) -> String {
    match format {
        Format::Yaml => outcomes
            .iter()
            .map(|o| format!("{}\n", outcome_line(o, dry_run)))
            .collect(),
        Format::Json => {
            let items: Vec<Value> = outcomes
                .iter()
                .map(|o| {
                    json!({
                        "object": o.object.display,
                        "kind": o.object.kind,
                        "name": o.object.name,
                        "namespace": o.object.namespace,
                        "action": o.action,
                        "dryRun": dry_run,
                        "note": o.note,
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&items).unwrap_or_default()
            )
        }
    }
}
