//! The mesh config: the settings every meshctl role reads. `meshctl install` renders it into the
//! `meshctl-config` ConfigMap (key `mesh.yaml`); `inject` reads it offline (built-in defaults or
//! `--config FILE`) or live (from the cluster); the webhook reads it at start-up.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Name of the ConfigMap that holds the mesh config, in the mesh namespace.
pub const CONFIG_MAP_NAME: &str = "meshctl-config";
/// The ConfigMap data key holding the mesh config as YAML.
pub const CONFIG_MAP_KEY: &str = "mesh.yaml";

/// Namespace label that opts a namespace into automatic injection.
pub const INJECT_LABEL: &str = "meshctl.io/inject";
/// Pod annotation/label that records what injection added (JSON).
pub const STATUS_ANNOTATION: &str = "meshctl.io/status";
/// Per-workload override annotations: `config.meshctl.io/<setting>`.
pub const CONFIG_ANNOTATION_PREFIX: &str = "config.meshctl.io/";

pub const PROXY_CONTAINER: &str = "meshctl-proxy";
pub const INIT_CONTAINER: &str = "meshctl-init";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{source_name}: not a valid mesh config: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: ConfigMap has no data key '{CONFIG_MAP_KEY}'")]
    MissingKey { source_name: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshConfig {
    /// The meshctl version that rendered this config.
    pub version: String,
    pub proxy: ProxyConfig,
    pub proxy_init: ProxyInitConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyConfig {
    pub image: String,
    pub image_pull_policy: String,
    pub uid: u32,
    pub admin_port: u16,
    pub outbound_port: u16,
    pub inbound_port: u16,
    pub metrics_port: u16,
    pub log_level: String,
    pub concurrency: u32,
    /// Seconds the proxy drains before exiting.
    pub drain_seconds: u32,
    pub resources: Resources,
    /// Outbound retries for idempotent requests (0 disables).
    pub retries: u32,
    /// Outbound request timeout, e.g. "0s" (none) or "30s".
    pub request_timeout: String,
    pub skip_inbound_ports: Vec<u16>,
    pub skip_outbound_ports: Vec<u16>,
    pub skip_outbound_cidrs: Vec<String>,
    /// Ports proxied as opaque TCP, without protocol detection (server-first protocols).
    pub opaque_ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    pub cpu_request: String,
    pub memory_request: String,
    pub cpu_limit: String,
    pub memory_limit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyInitConfig {
    /// The meshctl image, which runs `meshctl proxy-init`.
    pub image: String,
    pub image_pull_policy: String,
}

/// The image meshctl itself ships as (proxy-init and webhook roles).
pub fn meshctl_image() -> String {
    format!("ghcr.io/meshctl/meshctl:v{}", crate::VERSION)
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            version: crate::VERSION.to_string(),
            proxy: ProxyConfig {
                image: "envoyproxy/envoy:v1.40.0".to_string(),
                image_pull_policy: "IfNotPresent".to_string(),
                uid: 1337,
                admin_port: 15000,
                outbound_port: 15001,
                inbound_port: 15006,
                metrics_port: 15090,
                log_level: "warning".to_string(),
                concurrency: 2,
                drain_seconds: 5,
                resources: Resources {
                    cpu_request: "100m".to_string(),
                    memory_request: "64Mi".to_string(),
                    cpu_limit: "1".to_string(),
                    memory_limit: "256Mi".to_string(),
                },
                retries: 2,
                request_timeout: "0s".to_string(),
                skip_inbound_ports: vec![],
                skip_outbound_ports: vec![],
                skip_outbound_cidrs: vec![],
                // Server-first protocols: SMTP, MySQL, PostgreSQL wait on http_inspector otherwise.
                opaque_ports: vec![25, 587, 3306, 5432],
            },
            proxy_init: ProxyInitConfig {
                image: meshctl_image(),
                image_pull_policy: "IfNotPresent".to_string(),
            },
        }
    }
}

impl MeshConfig {
    /// Parses the YAML stored under `mesh.yaml`.
    pub fn from_yaml(source_name: &str, text: &str) -> Result<Self, ConfigError> {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })
    }

    /// Reads the config from a `meshctl-config` ConfigMap manifest (as `install` renders it), or
    /// from a bare mesh config document.
    pub fn from_file_text(source_name: &str, text: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct ConfigMapShape {
            kind: Option<String>,
            data: Option<std::collections::BTreeMap<String, String>>,
        }
        if let Ok(ConfigMapShape {
            kind: Some(kind),
            data,
        }) = serde_saphyr::from_str(text)
            && kind == "ConfigMap"
        {
            let data = data.unwrap_or_default();
            let body = data
                .get(CONFIG_MAP_KEY)
                .ok_or_else(|| ConfigError::MissingKey {
                    source_name: source_name.to_string(),
                })?;
            return Self::from_yaml(source_name, body);
        }
        Self::from_yaml(source_name, text)
    }

    pub fn to_yaml(&self) -> String {
        // Serialising our own plain structs cannot fail.
        serde_saphyr::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips_through_yaml() {
        let config = MeshConfig::default();
        let text = config.to_yaml();
        assert_eq!(MeshConfig::from_yaml("test", &text).unwrap(), config);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let mut text = MeshConfig::default().to_yaml();
        text.push_str("bogus: 1\n");
        let err = MeshConfig::from_yaml("cfg.yaml", &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cfg.yaml"), "{err}");
    }
}
