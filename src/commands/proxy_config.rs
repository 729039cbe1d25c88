//! `meshctl proxy-config SECTION POD`: summaries of a proxy's configuration (or the raw sections
//! with `-o json|yaml`), from a live proxy or a saved `config_dump.json`; `log` reads or sets
//! Envoy's log levels.

use anyhow::Context;
use comfy_table::{Table, presets};
use hyper::Method;
use serde_json::Value;

use crate::cli::{GlobalArgs, ProxyConfigArgs};
use crate::exit::{Outcome, UsageError};
use crate::output::{parse_format, write_stdout};
use crate::proxy::admin::{AdminEndpoint, encode_query_value};
use crate::proxy::config_dump::{ConfigDump, Section};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Yaml,
}

const LEVELS: &[&str] = &[
    "trace", "debug", "info", "warning", "warn", "error", "critical", "off",
];

pub async fn run(global: &GlobalArgs, args: &ProxyConfigArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(
        global.output.as_deref(),
        Format::Table,
        &[
            ("table", Format::Table),
            ("json", Format::Json),
            ("yaml", Format::Yaml),
        ],
    )?;
    if args.section == "log" {
        return log(global, args, format).await;
    }
    let section = Section::parse(&args.section).ok_or_else(|| {
        UsageError::new(format!(
            "unknown section '{}' (expected listeners, clusters, routes, endpoints, bootstrap or log)",
            args.section
        ))
    })?;
    if args.level.is_some() {
        return Err(UsageError::new("--level only applies to `proxy-config log`").into());
    }
    let (bytes, source) = match &args.file {
        Some(path) => (
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        None => {
            let endpoint = endpoint(global, args).await?;
            let bytes = endpoint
                .request_within(
                    global.timeout,
                    Method::GET,
                    "/config_dump?include_eds",
                    None,
                )
                .await?;
            (bytes, endpoint.describe())
        }
    };
    let dump = ConfigDump::parse(&bytes)
        .with_context(|| format!("{source}: cannot read the config dump"))?;
    let text = match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&dump.raw(section))?),
        Format::Yaml => yaml(&dump.raw(section))?,
        Format::Table => table(section.headers(), &dump.rows(section)),
    };
    write_stdout(text.as_bytes())?;
    Ok(Outcome::Success)
}

/// The proxy to ask: `--admin-addr`, else the pod through a port-forward.
async fn endpoint(global: &GlobalArgs, args: &ProxyConfigArgs) -> anyhow::Result<AdminEndpoint> {
    if let Some(addr) = &args.admin_addr {
        return Ok(AdminEndpoint::Tcp(addr.clone()));
    }
    let Some(pod) = &args.pod else {
        return Err(UsageError::new("name the POD, or give --admin-addr or --file").into());
    };
    let pod = pod
        .strip_prefix("pod/")
        .or_else(|| pod.strip_prefix("pods/"))
        .unwrap_or(pod);
    let cluster = crate::kube::connect(&crate::kube::ClusterOptions::from_global(global)).await?;
    Ok(AdminEndpoint::PortForward {
        client: cluster.client,
        namespace: cluster.namespace,
        pod: pod.to_string(),
        port: crate::proxy::ADMIN_PORT,
    })
}

/// Builds the `/logging` query for `--level`: `info` sets every logger, `a:debug,b:info` sets some.
pub fn logging_path(level: Option<&str>) -> Result<String, UsageError> {
    let Some(level) = level else {
        return Ok("/logging".into());
    };
    let check = |l: &str| {
        if LEVELS.contains(&l) {
            Ok(())
        } else {
            Err(UsageError::new(format!(
                "unknown log level '{l}' (expected one of {})",
                LEVELS.join(", ")
            )))
        }
    };
    if level.contains(':') {
        for pair in level.split(',') {
            let (logger, l) = pair
                .split_once(':')
                .filter(|(logger, _)| !logger.is_empty())
                .ok_or_else(|| {
                    UsageError::new(format!("bad logger level '{pair}': expected LOGGER:LEVEL"))
                })?;
            check(l)?;
            let _ = logger;
        }
        Ok(format!("/logging?paths={}", encode_query_value(level)))
    } else {
        check(level)?;
        Ok(format!("/logging?level={level}"))
    }
}

/// Parses Envoy's `active loggers:` listing into `(logger, level)` pairs.
pub fn parse_loggers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (logger, level) = line.trim().split_once(':')?;
            let level = level.trim();
            (!level.is_empty()).then(|| (logger.trim().to_string(), level.to_string()))
        })
        .collect()
}

async fn log(
    global: &GlobalArgs,
    args: &ProxyConfigArgs,
    format: Format,
) -> anyhow::Result<Outcome> {
    if args.file.is_some() {
        return Err(UsageError::new("`log` needs a live proxy; --file does not apply").into());
    }
    let path = logging_path(args.level.as_deref())?;
    let endpoint = endpoint(global, args).await?;
    // Envoy's /logging is POST-only, for reading as well as for setting.
    let bytes = endpoint
        .request_within(global.timeout, Method::POST, &path, None)
        .await?;
    let loggers = parse_loggers(&String::from_utf8_lossy(&bytes));
    let text = match format {
        Format::Table => table(
            &["LOGGER", "LEVEL"],
            &loggers
                .iter()
                .map(|(a, b)| vec![a.clone(), b.clone()])
                .collect::<Vec<_>>(),
        ),
        Format::Json | Format::Yaml => {
            let map: serde_json::Map<String, Value> = loggers
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let value = serde_json::json!({ "loggers": map });
            if format == Format::Json {
                format!("{}\n", serde_json::to_string_pretty(&value)?)
            } else {
                yaml(&value)?
            }
        }
    };
    write_stdout(text.as_bytes())?;
    Ok(Outcome::Success)
}

fn yaml(value: &Value) -> anyhow::Result<String> {
    serde_saphyr::to_string(value).context("cannot write YAML")
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(headers.to_vec());
    for row in rows {
        table.add_row(row.clone());
    }
    let mut text = table
        .to_string()
        .lines()
        .map(|l| {
            let l = l.trim_end();
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_paths() {
        assert_eq!(logging_path(None).unwrap(), "/logging");
        assert_eq!(logging_path(Some("debug")).unwrap(), "/logging?level=debug");
        assert_eq!(
            logging_path(Some("admin:debug,tap:trace")).unwrap(),
            "/logging?paths=admin%3Adebug%2Ctap%3Atrace"
        );
        assert!(logging_path(Some("loud")).is_err());
        assert!(logging_path(Some("admin:loud")).is_err());
        assert!(logging_path(Some(":debug")).is_err());
    }

    #[test]
    fn parses_logger_listing() {
        let got = parse_loggers("active loggers:\n  a2a: error\n  admin: debug\n");
        assert_eq!(
            got,
            vec![
                ("a2a".to_string(), "error".to_string()),
                ("admin".to_string(), "debug".to_string())
            ]
        );
    }
}
