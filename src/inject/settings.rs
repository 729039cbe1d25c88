//! The effective sidecar settings for one workload: the mesh config, overridden by the workload's
//! `config.meshctl.io/<setting>` annotations, overridden by CLI flags.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{InjectError, InjectOptions};
use crate::config::CONFIG_ANNOTATION_PREFIX;

/// The setting names accepted as `config.meshctl.io/<name>` annotations and as CLI flags.
pub const SETTING_NAMES: &[&str] = &[
    "proxy-image",
    "proxy-cpu-request",
    "proxy-cpu-limit",
    "proxy-memory-request",
    "proxy-memory-limit",
    "proxy-log-level",
    "skip-inbound-ports",
    "skip-outbound-ports",
    "skip-outbound-cidrs",
    "opaque-ports",
    "retries",
    "request-timeout",
];

const LOG_LEVELS: &[&str] = &[
    "trace", "debug", "info", "warning", "warn", "error", "critical", "off",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub proxy_image: String,
    pub proxy_pull_policy: String,
    pub init_image: String,
    pub init_pull_policy: String,
    pub uid: u32,
    pub admin_port: u16,
    pub outbound_port: u16,
    pub inbound_port: u16,
    pub metrics_port: u16,
    pub concurrency: u32,
    pub drain_seconds: u32,
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    pub log_level: String,
    pub skip_inbound_ports: Vec<u16>,
    pub skip_outbound_ports: Vec<u16>,
    pub skip_outbound_cidrs: Vec<String>,
    pub opaque_ports: Vec<u16>,
    pub retries: u32,
    pub request_timeout: String,
}

impl Settings {
    /// Resolves the settings; `annotations` are the workload's/pod template's annotations (later
    /// maps win). Errors name the annotation or flag holding a bad value.
    pub fn resolve(options: &InjectOptions, annotations: &[&Value]) -> Result<Self, InjectError> {
        let proxy = &options.config.proxy;
        let mut settings = Settings {
            proxy_image: proxy.image.clone(),
            proxy_pull_policy: proxy.image_pull_policy.clone(),
            init_image: options.config.proxy_init.image.clone(),
            init_pull_policy: options.config.proxy_init.image_pull_policy.clone(),
            uid: proxy.uid,
            admin_port: proxy.admin_port,
            outbound_port: proxy.outbound_port,
            inbound_port: proxy.inbound_port,
            metrics_port: proxy.metrics_port,
            concurrency: proxy.concurrency,
            drain_seconds: proxy.drain_seconds,
            cpu_request: proxy.resources.cpu_request.clone(),
            cpu_limit: proxy.resources.cpu_limit.clone(),
            memory_request: proxy.resources.memory_request.clone(),
            memory_limit: proxy.resources.memory_limit.clone(),
            log_level: proxy.log_level.clone(),
            skip_inbound_ports: proxy.skip_inbound_ports.clone(),
            skip_outbound_ports: proxy.skip_outbound_ports.clone(),
            skip_outbound_cidrs: proxy.skip_outbound_cidrs.clone(),
            opaque_ports: proxy.opaque_ports.clone(),
            retries: proxy.retries,
            request_timeout: proxy.request_timeout.clone(),
        };
        // Annotations first (in order), then flags, so flags win.
        let mut layers: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        for map in annotations {
            let mut layer = BTreeMap::new();
            if let Some(object) = map.as_object() {
                for (key, value) in object {
                    if let Some(name) = key.strip_prefix(CONFIG_ANNOTATION_PREFIX) {
                        let text = match value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        layer.insert(name.to_string(), text);
                    }
                }
            }
            layers.push(("annotation ".to_string() + CONFIG_ANNOTATION_PREFIX, layer));
        }
        layers.push(("flag --".to_string(), options.overrides.clone()));
        for (origin, layer) in &layers {
            for (name, value) in layer {
                settings
                    .set(name, value)
                    .map_err(|why| InjectError::Invalid(format!("{origin}{name}: {why}")))?;
            }
        }
        Ok(settings)
    }

    fn set(&mut self, name: &str, raw: &str) -> Result<(), String> {
        let value = raw.trim();
        match name {
            "proxy-image" => self.proxy_image = non_empty(value)?,
            "proxy-cpu-request" => self.cpu_request = quantity(value)?,
            "proxy-cpu-limit" => self.cpu_limit = quantity(value)?,
            "proxy-memory-request" => self.memory_request = quantity(value)?,
            "proxy-memory-limit" => self.memory_limit = quantity(value)?,
            "proxy-log-level" => {
                if !LOG_LEVELS.contains(&value) {
                    return Err(format!(
                        "unknown log level '{value}' (one of {})",
                        LOG_LEVELS.join(", ")
                    ));
                }
                self.log_level = value.to_string();
            }
            "skip-inbound-ports" => self.skip_inbound_ports = ports(value)?,
            "skip-outbound-ports" => self.skip_outbound_ports = ports(value)?,
            "opaque-ports" => self.opaque_ports = ports(value)?,
            "skip-outbound-cidrs" => self.skip_outbound_cidrs = cidrs(value)?,
            "retries" => {
                self.retries = value
                    .parse()
                    .map_err(|_| format!("'{value}' is not a non-negative integer"))?
            }
            "request-timeout" => {
                crate::cli::parse_duration(value)?;
                self.request_timeout = value.to_string();
            }
            other => {
                return Err(format!(
                    "unknown setting '{other}' (known: {})",
                    SETTING_NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }
}

fn non_empty(value: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        return Err(format!("'{value}' is not a valid image reference"));
    }
    Ok(value.to_string())
}

/// A Kubernetes quantity: a decimal number with an optional suffix (`100m`, `64Mi`, `1.5`, `2e3`).
fn quantity(value: &str) -> Result<String, String> {
    let digits_end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits_end);
    let number_ok = !number.is_empty()
        && number.trim_start_matches(['+', '-']).parse::<f64>().is_ok()
        && !number[1..].contains(['+', '-']);
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || (suffix.len() > 1
        && (suffix.starts_with('e') || suffix.starts_with('E'))
        && suffix[1..]
            .trim_start_matches(['+', '-'])
            .parse::<u32>()
            .is_ok());
    if number_ok && suffix_ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not a Kubernetes quantity (e.g. 100m, 64Mi)"
        ))
    }
}

/// Comma-separated ports; empty means none.
pub fn ports(value: &str) -> Result<Vec<u16>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(format!("'{p}' is not a port (1-65535)")),
        })
        .collect()
}

/// Comma-separated CIDRs (`10.0.0.0/8`, `fd00::/8`); a bare address means a single host.
pub fn cidrs(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let (addr, prefix) = c.split_once('/').unwrap_or((c, ""));
            let ip: std::net::IpAddr = addr
                .parse()
                .map_err(|_| format!("'{c}' is not a CIDR (e.g. 10.0.0.0/8)"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if !prefix.is_empty() && !prefix.parse::<u8>().is_ok_and(|p| p <= max) {
                return Err(format!("'{c}' has an invalid prefix length"));
            }
            Ok(c.to_string())
        })
        .collect()
}

/// Comma-joined list for the proxy-init args and the status annotation.
pub fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_beat_annotations_beat_config() {
        let mut options = InjectOptions::default();
        options
            .overrides
            .insert("proxy-cpu-limit".into(), "2".into());
        let annotations = json!({
            "config.meshctl.io/proxy-cpu-limit": "500m",
            "config.meshctl.io/skip-outbound-ports": "3306, 6379",
            "unrelated": "x"
        });
        let settings = Settings::resolve(&options, &[&annotations]).unwrap();
        assert_eq!(settings.cpu_limit, "2");
        assert_eq!(settings.skip_outbound_ports, vec![3306, 6379]);
        assert_eq!(settings.memory_limit, "256Mi");
    }

    #[test]
    fn bad_values_name_their_source() {
        let annotations = json!({"config.meshctl.io/opaque-ports": "80,http"});
        let err = Settings::resolve(&InjectOptions::default(), &[&annotations]).unwrap_err();
        assert!(
            err.to_string()
                .contains("annotation config.meshctl.io/opaque-ports: 'http' is not a port"),
            "{err}"
        );
        let annotations = json!({"config.meshctl.io/proxy-memory-limit": "lots"});
        assert!(Settings::resolve(&InjectOptions::default(), &[&annotations]).is_err());
        let annotations = json!({"config.meshctl.io/bogus": "1"});
        assert!(Settings::resolve(&InjectOptions::default(), &[&annotations]).is_err());
    }

    #[test]
    fn quantities_and_cidrs() {
        for ok in ["100m", "64Mi", "1", "1.5", "2e3", "1Gi"] {
            assert!(quantity(ok).is_ok(), "{ok}");
        }
        for bad in ["", "m", "1x", "1.2.3", "--1"] {
            assert!(quantity(bad).is_err(), "{bad}");
        }
        assert!(cidrs("10.0.0.0/8, fd00::/8,1.2.3.4").is_ok());
        assert!(cidrs("10.0.0.0/33").is_err());
        assert!(cidrs("nope").is_err());
    }
}
