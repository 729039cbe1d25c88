//! `meshctl inject` / `meshctl uninject`: files, directories and stdin (offline). Everything is read
//! and transformed before anything is written, so an error leaves stdout empty.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::cli::{GlobalArgs, InjectArgs};
use crate::config::MeshConfig;
use crate::exit::{Outcome, UsageError};
use crate::inject::InjectOptions;
pub use crate::inject::manifest::Direction;
use crate::inject::manifest::{self, Format, Processed, Report, RunOptions};
use crate::output;

pub async fn run(
    global: &GlobalArgs,
    args: &InjectArgs,
    direction: Direction,
) -> anyhow::Result<Outcome> {
    let output = output::parse_format(
        global.output.as_deref(),
        None,
        &[("yaml", Some(Format::Yaml)), ("json", Some(Format::Json))],
    )?;
    let json_report = match args.report.as_str() {
        "text" => false,
        "json" => true,
        other => {
            return Err(UsageError::new(format!(
                "unsupported report format '{other}' (accepted: text, json)"
            ))
            .into());
        }
    };
    if args.selector.is_some() || args.all {
        bail!("live mode (-l, --all) is not available in this build yet; pipe manifests instead");
    }
    if args.inputs.is_empty() {
        return Err(UsageError::new(
            "no input: give files, directories (-R to recurse) or - for stdin",
        )
        .into());
    }
    let options = RunOptions {
        inject: inject_options(global, args)?,
        direction,
        namespace: global.namespace.clone(),
        output,
    };

    let mut results: Vec<Processed> = Vec::new();
    let mut stdin_used = false;
    for input in &args.inputs {
        for (name, text) in read_input(input, args.recursive, &mut stdin_used)? {
            results.push(manifest::process(&name, &text, &options)?);
        }
    }

    let reports: Vec<&Report> = results.iter().flat_map(|r| &r.reports).collect();
    if json_report {
        output::note(serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            output::note(report.line());
        }
    }
    output::write_stdout(join_outputs(&results).as_bytes())?;
    Ok(Outcome::Success)
}

/// Concatenates the outputs of several inputs: JSON objects one after another, YAML streams with
/// a `---` between files (nothing is added for a single input).
pub fn join_outputs(results: &[Processed]) -> String {
    let all_json = results.iter().all(|r| r.format == Format::Json);
    let mut out = String::new();
    for (i, result) in results.iter().enumerate() {
        if i > 0 {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !all_json {
                out.push_str("---\n");
            }
        }
        out.push_str(&result.text);
    }
    out
}

fn inject_options(global: &GlobalArgs, args: &InjectArgs) -> anyhow::Result<InjectOptions> {
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read mesh config {}", path.display()))?;
            MeshConfig::from_file_text(&path.display().to_string(), &text)?
        }
        None => MeshConfig::default(),
    };
    let mut overrides = BTreeMap::new();
    for (name, value) in [
        ("proxy-image", &args.proxy_image),
        ("proxy-cpu-request", &args.proxy_cpu_request),
        ("proxy-cpu-limit", &args.proxy_cpu_limit),
        ("proxy-memory-request", &args.proxy_memory_request),
        ("proxy-memory-limit", &args.proxy_memory_limit),
        ("proxy-log-level", &args.proxy_log_level),
        ("skip-inbound-ports", &args.skip_inbound_ports),
        ("skip-outbound-ports", &args.skip_outbound_ports),
        ("skip-outbound-cidrs", &args.skip_outbound_cidrs),
        ("opaque-ports", &args.opaque_ports),
        ("retries", &args.retries),
        ("request-timeout", &args.request_timeout),
    ] {
        if let Some(value) = value {
            overrides.insert(name.to_string(), value.clone());
        }
    }
    let options = InjectOptions {
        config,
        native_sidecar: args.native_sidecar,
        mesh_namespace: global.mesh_namespace.clone(),
        overrides,
    };
    // Bad flag values are usage errors, found before any file is read.
    crate::inject::settings::Settings::resolve(&options, &[])
        .map_err(|e| UsageError::new(e.to_string().replace("invalid pod: ", "")))?;
    Ok(options)
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Reads one argument: `-` (stdin), a file, or a directory's manifests in name order.
fn read_input(
    input: &str,
    recursive: bool,
    stdin_used: &mut bool,
) -> anyhow::Result<Vec<(String, String)>> {
    if input == "-" {
        if *stdin_used {
            return Err(UsageError::new("'-' (stdin) given more than once").into());
        }
        *stdin_used = true;
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read stdin")?;
        let text = String::from_utf8(bytes).map_err(|_| anyhow!("<stdin>: not UTF-8 text"))?;
        return Ok(vec![("<stdin>".to_string(), text)]);
    }
    let path = PathBuf::from(input);
    let meta = std::fs::metadata(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound && !is_manifest(&path) && input.contains('/') {
            anyhow!(
                "{input}: no such file or directory (live mode, TYPE/NAME, is not available in \
                 this build yet)"
            )
        } else {
            anyhow!("{input}: {e}")
        }
    })?;
    let mut files = Vec::new();
    if meta.is_dir() {
        collect(&path, recursive, &mut files)?;
    } else {
        files.push(path);
    }
    files
        .into_iter()
        .map(|file| {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {name}"))?;
            let text = String::from_utf8(bytes).map_err(|_| anyhow!("{name}: not UTF-8 text"))?;
            Ok((name, text))
        })
        .collect()
}

fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            if recursive {
                collect(&entry, recursive, out)?;
            }
        } else if is_manifest(&entry) {
            out.push(entry);
        }
    }
    Ok(())
}
