//! `meshctl check`: flags to options, a spinner on a terminal, the report on stdout, the verdict in
//! the exit code.

use std::sync::Arc;
use std::time::Duration;

use crate::check::render::{self, FORMATS, Format};
use crate::check::{self, CheckOptions};
use crate::cli::{CheckArgs, GlobalArgs};
use crate::exit::{Outcome, UsageError};
use crate::kube::ClusterOptions;

pub async fn run(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<Outcome> {
    let format = crate::output::parse_format(global.output.as_deref(), Format::Table, FORMATS)?;
    if args.pre && args.proxy {
        return Err(UsageError::new(
            "--pre checks a cluster before install; --proxy checks meshed pods after it: use one",
        )
        .into());
    }
    if global.timeout.is_zero() {
        return Err(UsageError::new("--timeout must be more than 0s").into());
    }
    if args.wait.is_some_and(|w| w.is_zero()) {
        return Err(
            UsageError::new("--wait must be more than 0s (leave it out not to wait)").into(),
        );
    }
    let options = CheckOptions {
        cluster: ClusterOptions::from_global(global),
        mesh_namespace: global.mesh_namespace.clone(),
        pre: args.pre,
        proxy: args.proxy,
        namespace: global.namespace.clone(),
        wait: args.wait,
        timeout: global.timeout,
        fail_on_warning: args.fail_on_warning,
        retry_interval: Duration::from_secs(1),
    };

    let spinner = crate::output::stderr_is_fancy().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(100));
        bar.set_message("checking");
        bar
    });
    let progress = spinner.clone().map(|bar| {
        Arc::new(move |done: usize, total: usize| {
            bar.set_message(format!("checking ({done}/{total} done)"));
        }) as check::runner::Progress
    });
    let report = check::run(options, progress).await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }

    let color = format != Format::Json && crate::output::stdout_is_fancy();
    crate::output::write_stdout(render::render(&report, format, color).as_bytes())?;
    Ok(if report.success {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}
