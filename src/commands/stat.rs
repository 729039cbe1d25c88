//! `meshctl stat`: golden metrics per workload, read from the proxies' admin APIs.

use std::time::Duration;

use anyhow::Context;
use comfy_table::{Table, presets};
use serde::Serialize;

use crate::cli::{GlobalArgs, StatArgs};
use crate::exit::{Outcome, UsageError};
use crate::output::{note, parse_format, write_stdout};
use crate::proxy::admin::AdminEndpoint;
use crate::proxy::collect::{
    self, OpenWindow, PodFailure, SampleOptions, WorkloadStat, WorkloadTarget,
};
use crate::proxy::pods;
use crate::proxy::stats::StatKeys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
}

/// `stat -o json`: one document (schema in docs/diagnostics.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatReport {
    pub direction: &'static str,
    pub window_seconds: f64,
    pub workloads: Vec<WorkloadStat>,
    pub failures: Vec<PodFailure>,
}

pub async fn run(global: &GlobalArgs, args: &StatArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(
        global.output.as_deref(),
        Format::Table,
        &[
            ("table", Format::Table),
            ("wide", Format::Wide),
            ("json", Format::Json),
        ],
    )?;
    if args.window < Duration::from_secs(1) {
        return Err(UsageError::new("--window must be at least 1s").into());
    }
    let resources =
        pods::parse_resources(&args.resources).map_err(|e| UsageError::new(e.to_string()))?;
    let (keys, direction) = if args.outbound {
        (StatKeys::outbound(), "outbound")
    } else {
        (StatKeys::inbound(), "inbound")
    };

    let targets = match &args.admin_addr {
        Some(addr) => {
            let [resource] = resources.as_slice() else {
                return Err(UsageError::new(
                    "--admin-addr reads one proxy: name exactly one TYPE/NAME for its row",
                )
                .into());
            };
            vec![WorkloadTarget {
                namespace: global.namespace.clone().unwrap_or_else(|| "-".into()),
                kind: resource.kind.short().to_string(),
                name: resource.name.clone().unwrap_or_else(|| addr.clone()),
                running: 1,
                meshed: 1,
                proxies: vec![(addr.clone(), AdminEndpoint::Tcp(addr.clone()))],
            }]
        }
        None => {
            let cluster =
                crate::kube::connect(&crate::kube::ClusterOptions::from_global(global)).await?;
            pods::resolve_targets(
                &cluster.client,
                &cluster.namespace,
                args.all_namespaces,
                args.selector.as_deref(),
                &resources,
            )
            .await
            .context("cannot find the workloads' pods")?
        }
    };

    let proxies: usize = targets.iter().map(|t| t.proxies.len()).sum();
    let mut options = SampleOptions::new(args.window, keys);
    options.per_proxy_timeout = global.timeout;
    let spinner = spinner(proxies, args.window);
    let open = OpenWindow::open(&collect::endpoints_of(&targets), &options).await;
    if global.verbose > 0 {
        note(format!(
            "first samples taken from {proxies} proxies; sampling again in {}",
            humantime::format_duration(args.window)
        ));
    }
    let (workloads, failures) = collect::summarise(&targets, open.close().await);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }

    for failure in &failures {
        note(format!(
            "warning: pod {}/{}: {}",
            failure.namespace, failure.pod, failure.error
        ));
    }
    if workloads.iter().all(|w| w.metrics.requests == 0) {
        note("No traffic found");
    }
    let report = StatReport {
        direction,
        window_seconds: args.window.as_secs_f64(),
        workloads,
        failures,
    };
    let text = render(&report, format, args.all_namespaces)?;
    write_stdout(text.as_bytes())?;
    // Every proxy failing is a failed job; some failing is reported above and the rest shown.
    if proxies > 0 && report.failures.len() == proxies {
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

fn spinner(proxies: usize, window: Duration) -> Option<indicatif::ProgressBar> {
    if proxies == 0 || !crate::output::stderr_is_fancy() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!(
        "sampling {proxies} proxies for {}",
        humantime::format_duration(window)
    ));
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// Renders the report; pure so tests can pin the output.
pub fn render(report: &StatReport, format: Format, with_namespace: bool) -> anyhow::Result<String> {
    if format == Format::Json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(report)?));
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    let mut header: Vec<&str> = Vec::new();
    if with_namespace {
        header.push("NAMESPACE");
    }
    header.extend([
        "NAME",
        "MESHED",
        "SUCCESS",
        "RPS",
        "LATENCY_P50",
        "LATENCY_P95",
        "LATENCY_P99",
        "TCP_CONN",
    ]);
    if format == Format::Wide {
        header.extend(["READ_BYTES/SEC", "WRITE_BYTES/SEC"]);
    }
    table.set_header(header);
    for w in &report.workloads {
        let m = &w.metrics;
        let sampled = w.sampled > 0;
        let mut row: Vec<String> = Vec::new();
        if with_namespace {
            row.push(w.namespace.clone());
        }
        row.push(format!("{}/{}", w.kind, w.name));
        row.push(format!("{}/{}", w.meshed, w.running));
        row.push(
            m.success
                .map_or("-".into(), |s| format!("{:.2}%", s * 100.0)),
        );
        row.push(if sampled && m.requests > 0 {
            m.rps.map_or("-".into(), |r| format!("{r:.1}rps"))
        } else {
            "-".into()
        });
        for p in [m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_p99] {
            row.push(p.map_or("-".into(), format_ms));
        }
        row.push(if sampled {
            m.tcp_connections.to_string()
        } else {
            "-".into()
        });
        if format == Format::Wide {
            for rate in [m.read_bytes_per_second, m.write_bytes_per_second] {
                row.push(if sampled {
                    rate.map_or("-".into(), |r| format!("{r:.1}B/s"))
                } else {
                    "-".into()
                });
            }
        }
        table.add_row(row);
    }
    let mut text = table.to_string();
    // comfy-table pads each cell with a space on both sides; trim the line edges for scripts.
    text = text
        .lines()
        .map(|l| {
            let l = l.trim_end();
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    Ok(text)
}

fn format_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 100.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.0}ms")
    }
}
