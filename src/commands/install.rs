//! `meshctl install`: renders the control plane (no cluster needed). `--apply` lands with the
//! cluster work.

use std::path::Path;

use anyhow::Context;

use crate::cli::{GlobalArgs, InstallArgs};
use crate::exit::{Outcome, UsageError};
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
    if args.apply {
        return Err(UsageError::new(
            "install --apply requires cluster support, which this build does not have yet; \
             use `meshctl install | kubectl apply --server-side -f -`",
        )
        .into());
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
