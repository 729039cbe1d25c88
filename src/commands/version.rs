//! `meshctl version`: client version, and (unless `--client`) the control plane's and, with
//! `--proxy`, the proxies' in use.

use serde::Serialize;

use crate::cli::{GlobalArgs, VersionArgs};
use crate::exit::Outcome;
use crate::output::{parse_format, write_stdout};

#[derive(Debug, Clone, Copy)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionReport {
    client: ClientVersion,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientVersion {
    version: &'static str,
}

pub async fn run(global: &GlobalArgs, args: &VersionArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(
        global.output.as_deref(),
        Format::Text,
        &[("text", Format::Text), ("json", Format::Json)],
    )?;
    if !args.client {
        anyhow::bail!("server versions are not available yet; use --client");
    }
    let report = VersionReport {
        client: ClientVersion {
            version: crate::VERSION,
        },
    };
    let text = match format {
        Format::Text => format!("Client version: {}\n", report.client.version),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    write_stdout(text.as_bytes())?;
    Ok(Outcome::Success)
}
