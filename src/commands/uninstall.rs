//! `meshctl uninstall`: prints a reference to every object install creates, in reverse order,
//! for `kubectl delete -f -`; or, with `--apply`, deletes them in that order and waits until they
//! are gone. It refuses while injected pods remain, unless `--force`.

use anyhow::Context;
use serde_json::Value;

use crate::cli::{GlobalArgs, UninstallArgs};
use crate::exit::Outcome;
use crate::kube::apply as kube_apply;
use crate::kube::{ClusterOptions, connect};
use crate::output;
use crate::render;

use super::install::{Format, ResultLines, classify, outcomes_text, parse_format, value_sources};

pub async fn run(global: &GlobalArgs, args: &UninstallArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(global)?;
    let sources = value_sources(&args.profile, &args.values, &args.set)?;
    let (_, values) = render::values::resolve(&sources).map_err(classify)?;
    let components = render::render(&values, &global.mesh_namespace).map_err(classify)?;
    if args.apply {
        let objects: Vec<Value> = components.into_iter().flat_map(|c| c.objects).collect();
        return delete(global, args, format, &objects).await;
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

async fn delete(
    global: &GlobalArgs,
    args: &UninstallArgs,
    format: Format,
    objects: &[Value],
) -> anyhow::Result<Outcome> {
    let cluster = connect(&ClusterOptions::from_global(global)).await?;
    let injected = kube_apply::injected_pods(&cluster.client)
        .await
        .map_err(|e| anyhow::anyhow!(crate::kube::describe_kube_error(&e)))
        .context("cannot list pods to check for injected ones")?;
    if args.force && !injected.is_empty() {
        output::note(format!(
            "warning: --force: {} pods keep the meshctl sidecar until restarted:",
            injected.len()
        ));
        for pod in &injected {
            output::note(format!("  {pod}"));
        }
    }
    if !args.force && !injected.is_empty() {
        output::note(format!(
            "error: {} pods still carry the meshctl sidecar; uninject or delete them, or \
             pass --force:",
            injected.len()
        ));
        for pod in &injected {
            output::note(format!("  {pod}"));
        }
        return Ok(Outcome::Failure);
    }
    let mut lines = ResultLines::new();
    let result = kube_apply::delete_all(&cluster.client, objects, false, global.timeout, |o| {
        lines.record(format!("{} {}", o.object.display, o.action.as_str()))
    })
    .await;
    let outcomes = match result {
        Ok(outcomes) => outcomes,
        Err(err) => return Err(lines.fail(err, "uninstall failed")),
    };
    drop(lines);
    output::write_stdout(outcomes_text(&outcomes, format, false).as_bytes())?;
    Ok(Outcome::Success)
}
