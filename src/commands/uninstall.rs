//! `meshctl uninstall`: prints a reference to every object install creates, in reverse order,
//! for `kubectl delete -f -`; `--apply` deletes them itself, in reverse order, and waits until gone.

use crate::cli::{GlobalArgs, UninstallArgs};
use anyhow::Context;

use crate::exit::Outcome;
use crate::kube::{ClusterOptions, apply, connect};
use crate::output;
use crate::render;

use super::install::{ObjectReport, classify, value_sources};

#[derive(Debug, Clone, Copy)]
enum Format {
    Yaml,
    Json,
}

pub async fn run(global: &GlobalArgs, args: &UninstallArgs) -> anyhow::Result<Outcome> {
    let format = output::parse_format(
        global.output.as_deref(),
        Format::Yaml,
        &[("yaml", Format::Yaml), ("json", Format::Json)],
    )?;
    let sources = value_sources(&args.profile, &args.values, &args.set)?;
    let (_, values) = render::values::resolve(&sources).map_err(classify)?;
    let components = render::render(&values, &global.mesh_namespace).map_err(classify)?;
    if args.apply {
        return delete(global, args, format, &components).await;
    }
    let references = render::uninstall_objects(&components);
    let as_component = [render::Component {
        order: 0,
        name: "uninstall",
        objects: references,
    }];
    let text = match format {
        Format::Yaml => render::to_yaml(&as_component)?,
        Format::Json => render::to_json_list(&as_component)?,
    };
    output::write_stdout(text.as_bytes())?;
    Ok(Outcome::Success)
}

/// `--apply`: refuses while injected pods remain (unless `--force`), then deletes every object in
/// reverse apply order and waits until each is gone (the namespace once finalized).
async fn delete(
    global: &GlobalArgs,
    args: &UninstallArgs,
    format: Format,
    components: &[render::Component],
) -> anyhow::Result<Outcome> {
    let cluster = connect(&ClusterOptions::from_global(global)).await?;
    let injected = apply::injected_pods(&cluster.client)
        .await
        .map_err(|e| anyhow::anyhow!(apply::describe_kube_error(&e)))
        .context("cannot list pods to check for injected ones")?;
    if !injected.is_empty() {
        let listing = injected
            .iter()
            .map(|pod| format!("  {pod}"))
            .collect::<Vec<_>>()
            .join("\n");
        if !args.force {
            output::note(format!(
                "error: {} injected pod(s) still run the meshctl proxy; uninject or delete them \
                 first (meshctl uninject), or pass --force:\n{listing}",
                injected.len()
            ));
            return Ok(Outcome::Failure);
        }
        output::note(format!(
            "warning: --force: uninstalling while {} injected pod(s) remain; they keep their \
             sidecars until restarted:\n{listing}",
            injected.len()
        ));
    }
    let objects: Vec<serde_json::Value> = components
        .iter()
        .flat_map(|c| c.objects.iter().cloned())
        .collect();
    let progress = output::Progress::new();
    let outcomes = apply::delete_all(&cluster.client, &objects, false, global.timeout, |o| {
        progress.line(&format!("{} {}", o.object.display, o.action.as_str()));
    })
    .await
    .context("uninstall failed")?;
    drop(progress);
    output::note("every object is gone");
    if let Format::Json = format {
        let report = UninstallReport {
            forced_over: injected,
            objects: outcomes.iter().map(ObjectReport::from).collect(),
        };
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        output::write_stdout(text.as_bytes())?;
    }
    Ok(Outcome::Success)
}

/// `uninstall --apply -o json` (documented in docs/install.md).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UninstallReport {
    /// Injected pods that remained when `--force` went ahead anyway.
    forced_over: Vec<String>,
    objects: Vec<ObjectReport>,
}
