//! `meshctl install`: renders the control plane (no cluster needed); `--apply` server-side applies
//! it to the cluster, in dependency order, optionally waiting for the rollout.

use std::path::Path;

use anyhow::Context;

use crate::cli::{DryRun, GlobalArgs, InstallArgs};
use crate::exit::{Outcome, UsageError};
use crate::kube::{ClusterOptions, apply, connect};
use crate::output;
use crate::render::{self, RenderError, ValueSources};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
}

pub async fn run(global: &GlobalArgs, args: &InstallArgs) -> anyhow::Result<Outcome> {
    let format = output::parse_format(
        global.output.as_deref(),
        Format::Yaml,
        &[("yaml", Format::Yaml), ("json", Format::Json)],
    )?;
    if args.apply && args.show_values {
        return Err(UsageError::new("--show-values prints values; drop --apply").into());
    }
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
        return apply(global, args, format, &components).await;
    }
    if let Some(dir) = &args.output_dir {
        if format == Format::Json {
            return Err(UsageError::new("--output-dir writes YAML files; drop -o json").into());
        }
        write_dir(dir, &render::to_files(&components)?)?;
        return Ok(Outcome::Success);
    }
    let text = match format {
        Format::Yaml => render::to_yaml(&components)?,
        Format::Json => render::to_json_list(&components)?,
    };
    output::write_stdout(text.as_bytes())?;
    Ok(Outcome::Success)
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
/// half-written manifest behind.
fn write_dir(dir: &Path, files: &[(String, String)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, body) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, body).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    output::note(format!(
        "wrote {} files into {}",
        files.len(),
        dir.display()
    ));
    Ok(())
}

/// `--apply`: server-side apply of every rendered object, in dependency order, one stderr line per
/// object; `-o json` puts the same facts on stdout as one document once everything landed.
async fn apply(
    global: &GlobalArgs,
    args: &InstallArgs,
    format: Format,
    components: &[render::Component],
) -> anyhow::Result<Outcome> {
    let dry_run = args.dry_run == Some(DryRun::Server);
    let objects: Vec<serde_json::Value> = components
        .iter()
        .flat_map(|c| c.objects.iter().cloned())
        .collect();
    let ordered = apply::in_apply_order(&objects);
    let cluster = connect(&ClusterOptions::from_global(global)).await?;
    let suffix = if dry_run { " (server dry run)" } else { "" };
    let outcomes = apply::apply_all(&cluster.client, &ordered, dry_run, |outcome| {
        let caveat = outcome
            .note
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        output::note(format!(
            "{} {}{suffix}{caveat}",
            outcome.object.display,
            outcome.action.as_str()
        ));
    })
    .await
    .context("install failed")?;

    let mut waited = false;
    if args.wait && !dry_run {
        let progress = output::Progress::new();
        apply::wait_for_rollout(
            &cluster.client,
            &ordered,
            global.timeout,
            |object, status| {
                if status == "rolled out" {
                    progress.line(&format!("{object} rolled out"));
                } else {
                    progress.status(&format!("waiting for {object}: {status}"));
                }
            },
        )
        .await
        .context("install applied, but the control plane did not roll out")?;
        waited = true;
    }
    if format == Format::Json {
        let report = ApplyReport {
            dry_run,
            waited,
            objects: outcomes.iter().map(ObjectReport::from).collect(),
        };
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        output::write_stdout(text.as_bytes())?;
    }
    Ok(Outcome::Success)
}

/// `install --apply -o json` (documented in docs/install.md).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplyReport {
    pub dry_run: bool,
    /// Whether `--wait` waited for (and saw) the rollout.
    pub waited: bool,
    pub objects: Vec<ObjectReport>,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectReport {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// created, configured, unchanged (install); deleted, not found (uninstall).
    pub action: &'static str,
    /// A caveat, e.g. a dry run that could not validate the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

impl From<&apply::Outcome> for ObjectReport {
    fn from(outcome: &apply::Outcome) -> Self {
        ObjectReport {
            kind: outcome.object.kind.clone(),
            name: outcome.object.name.clone(),
            namespace: outcome.object.namespace.clone(),
            action: outcome.action.as_str(),
            note: outcome.note,
        }
    }
}
