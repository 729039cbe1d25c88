//! `meshctl proxy-init`: the init container. Writes the pod's Envoy bootstrap, then captures the
//! pod's TCP traffic with one atomic iptables-restore per address family.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use serde_json::json;

use crate::bootstrap::{self, BootstrapSettings, LogLevel, PodIdentity, ProxyPorts, RetrySettings};
use crate::cli::{GlobalArgs, ProxyInitArgs, parse_duration};
use crate::exit::{Outcome, UsageError};
use crate::netfilter::{self, BackendChoice, Family, RuleSettings};
use crate::output;

/// Everything proxy-init does, resolved from flags and the downward-API environment.
#[derive(Debug, Clone)]
pub struct ProxyInitPlan {
    pub rules: RuleSettings,
    pub families: Vec<Family>,
    pub bootstrap: BootstrapSettings,
    pub backend: BackendChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

pub fn run(global: &GlobalArgs, args: &ProxyInitArgs) -> anyhow::Result<Outcome> {
    let format = output::parse_format(
        global.output.as_deref(),
        Format::Text,
        &[("text", Format::Text), ("json", Format::Json)],
    )?;
    let plan = plan(args)?;
    let out_path = args.bootstrap_out.as_path();
    let as_json = out_path.extension().is_some_and(|e| e == "json");
    let rendered = if as_json {
        bootstrap::render_json(&plan.bootstrap)
    } else {
        bootstrap::render(&plan.bootstrap)
    };

    if args.dry_run {
        let text = dry_run_output(&plan, out_path, &rendered, format);
        output::write_stdout(text.as_bytes())?;
        return Ok(Outcome::Success);
    }

    // Bootstrap first: rules without a proxy config would black-hole the pod's traffic.
    write_bootstrap(out_path, &rendered)
        .with_context(|| format!("cannot write the Envoy bootstrap to {}", out_path.display()))?;
    output::note(format!(
        "wrote the Envoy bootstrap to {}",
        out_path.display()
    ));

    let applied = netfilter::apply_rules(&plan.rules, &plan.families, plan.backend)?;
    for (family, count) in &applied.families {
        output::note(format!(
            "applied {count} {family} nat rules in MESHCTL_* chains ({} backend)",
            applied.backend.name()
        ));
    }
    Ok(Outcome::Success)
}

/// Resolves flags and environment into a plan; bad values are usage errors naming the flag.
pub fn plan(args: &ProxyInitArgs) -> anyhow::Result<ProxyInitPlan> {
    let usage = |e: netfilter::NetfilterError| UsageError::new(e.to_string());
    let skip_inbound_ports =
        netfilter::parse_ports("--skip-inbound-ports", &args.skip_inbound_ports).map_err(usage)?;
    let skip_outbound_ports =
        netfilter::parse_ports("--skip-outbound-ports", &args.skip_outbound_ports)
            .map_err(usage)?;
    let skip_outbound_cidrs =
        netfilter::parse_cidrs("--skip-outbound-cidrs", &args.skip_outbound_cidrs)
            .map_err(usage)?;
    let opaque_ports: BTreeSet<u16> =
        netfilter::parse_single_ports("--opaque-ports", &args.opaque_ports)
            .map_err(usage)?
            .into_iter()
            .collect();
    let backend = BackendChoice::parse(&args.iptables_backend).map_err(usage)?;

    let ports = ProxyPorts {
        admin: args.admin_port,
        inbound: args.inbound_port,
        outbound: args.outbound_port,
        metrics: args.metrics_port,
    };
    let port_list = [
        ("--admin-port", ports.admin),
        ("--inbound-port", ports.inbound),
        ("--outbound-port", ports.outbound),
        ("--metrics-port", ports.metrics),
    ];
    for (i, (name, port)) in port_list.iter().enumerate() {
        if *port == 0 {
            return Err(UsageError::new(format!("{name} must be between 1 and 65535")).into());
        }
        if let Some((other, _)) = port_list[i + 1..].iter().find(|(_, p)| p == port) {
            return Err(UsageError::new(format!("{name} and {other} are both {port}")).into());
        }
    }

    let retries = args.retries.trim().parse::<u32>().map_err(|_| {
        UsageError::new(format!(
            "invalid --retries '{}': expected a whole number (0 disables retries)",
            args.retries
        ))
    })?;
    let duration = |flag: &str, raw: &str| {
        parse_duration(raw).map_err(|e| UsageError::new(format!("invalid {flag}: {e}")))
    };
    let per_try = duration("--per-try-timeout", &args.per_try_timeout)?;
    let request_timeout = duration("--request-timeout", &args.request_timeout)?;
    let drain_time = duration("--drain-time", &args.drain_time)?;
    let log_level = LogLevel::parse(&args.log_level).ok_or_else(|| {
        UsageError::new(format!(
            "invalid --log-level '{}' (accepted: trace, debug, info, warning, error, critical, off)",
            args.log_level
        ))
    })?;
    if args.concurrency == 0 {
        return Err(UsageError::new("--concurrency must be at least 1").into());
    }

    let pod_ips = pod_ips(&args.pod_ip, &args.pod_ips)?;
    let mut families = vec![Family::V4];
    if pod_ips.iter().any(IpAddr::is_ipv6) {
        families.push(Family::V6);
    }

    Ok(ProxyInitPlan {
        rules: RuleSettings {
            proxy_uid: args.proxy_uid,
            proxy_gid: args.proxy_gid,
            inbound_port: ports.inbound,
            outbound_port: ports.outbound,
            metrics_port: ports.metrics,
            skip_inbound_ports,
            skip_outbound_ports,
            skip_outbound_cidrs,
        },
        families,
        bootstrap: BootstrapSettings {
            identity: PodIdentity {
                pod_name: args.pod_name.clone(),
                namespace: args.pod_namespace.clone(),
                pod_ips,
                workload_kind: args.workload_kind.clone(),
                workload_name: args.workload_name.clone(),
            },
            ports,
            opaque_ports,
            retries: RetrySettings {
                attempts: retries,
                per_try_timeout: (!per_try.is_zero()).then_some(per_try),
            },
            request_timeout: (!request_timeout.is_zero()).then_some(request_timeout),
            log_level,
            concurrency: args.concurrency,
            drain_time,
        },
        backend,
    })
}

/// POD_IP first, then the rest of POD_IPS, without duplicates.
fn pod_ips(pod_ip: &str, pod_ips: &str) -> Result<Vec<IpAddr>, UsageError> {
    let mut out: Vec<IpAddr> = Vec::new();
    let items = std::iter::once(("--pod-ip (POD_IP)", pod_ip))
        .chain(pod_ips.split(',').map(|ip| ("--pod-ips (POD_IPS)", ip)));
    for (source, raw) in items {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let ip: IpAddr = raw
            .parse()
            .map_err(|_| UsageError::new(format!("invalid IP address '{raw}' in {source}")))?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

fn dry_run_output(plan: &ProxyInitPlan, out_path: &Path, rendered: &str, format: Format) -> String {
    let rules_for = |family: Family| {
        plan.families
            .contains(&family)
            .then(|| netfilter::restore_input(&plan.rules, family, None))
    };
    match format {
        Format::Json => {
            let value = json!({
                "iptables": rules_for(Family::V4),
                "ip6tables": rules_for(Family::V6),
                "bootstrapPath": out_path.display().to_string(),
                "bootstrap": bootstrap::bootstrap(&plan.bootstrap),
                "envoyArgs": bootstrap::envoy_args(&plan.bootstrap, &out_path.display().to_string()),
            });
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Text => {
            let mut text = String::new();
            for family in &plan.families {
                let tool = match family {
                    Family::V4 => "iptables-restore",
                    Family::V6 => "ip6tables-restore",
                };
                text.push_str(&format!("# {tool} --noflush ({family})\n"));
                text.push_str(&netfilter::restore_input(&plan.rules, *family, None));
            }
            text.push_str(&format!("# Envoy bootstrap ({})\n", out_path.display()));
            text.push_str(rendered);
            text.push_str(&format!(
                "# Envoy command line: envoy {}\n",
                bootstrap::envoy_args(&plan.bootstrap, &out_path.display().to_string()).join(" ")
            ));
            text
        }
    }
}

/// Writes atomically (temp file + rename) and readable by the proxy's uid.
fn write_bootstrap(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "envoy.yaml".to_string());
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, path)
}
