//! `meshctl uninstall`: prints a reference to every object install creates, in reverse order,
//! for `kubectl delete -f -`. Deleting (`--apply`) lands with the cluster work.

use crate::cli::{GlobalArgs, UninstallArgs};
use crate::exit::{Outcome, UsageError};
use crate::output;
use crate::render;

use super::install::{classify, value_sources};

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
    if args.apply {
        return Err(UsageError::new(
            "uninstall --apply requires cluster support, which this build does not have yet; \
             use `meshctl uninstall | kubectl delete --ignore-not-found -f -`",
        )
        .into());
    }
    let sources = value_sources(&args.profile, &args.values, &args.set)?;
    let (_, values) = render::values::resolve(&sources).map_err(classify)?;
    let components = render::render(&values, &global.mesh_namespace).map_err(classify)?;
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
