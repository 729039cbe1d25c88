//! Summaries of Envoy's `/config_dump`: one row per listener, cluster, route, endpoint, and the
//! bootstrap's essentials. Works the same on a live answer and on a saved file.

use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigDumpError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("not an Envoy config dump: no `configs` array")]
    NoConfigs,
}

/// The sections `proxy-config` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Listeners,
    Clusters,
    Routes,
    Endpoints,
    Bootstrap,
}

impl Section {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "listeners" | "listener" | "l" => Section::Listeners,
            "clusters" | "cluster" | "c" => Section::Clusters,
            "routes" | "route" | "r" => Section::Routes,
            "endpoints" | "endpoint" | "e" => Section::Endpoints,
            "bootstrap" | "b" => Section::Bootstrap,
            _ => return None,
        })
    }

    /// The config dump entry (`@type` suffix) the section lives in.
    fn dump_type(self) -> &'static str {
        match self {
            Section::Listeners => "ListenersConfigDump",
            Section::Clusters => "ClustersConfigDump",
            Section::Routes => "RoutesConfigDump",
            Section::Endpoints => "EndpointsConfigDump",
            Section::Bootstrap => "BootstrapConfigDump",
        }
    }

    /// Column headers of the summary table.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Section::Listeners => &["NAME", "ADDRESS", "CHAINS", "FILTERS"],
            Section::Clusters => &["NAME", "TYPE", "LB_POLICY", "CONNECT_TIMEOUT", "ENDPOINTS"],
            Section::Routes => &["ROUTE_CONFIG", "VIRTUAL_HOST", "DOMAINS", "MATCH", "ACTION"],
            Section::Endpoints => &["CLUSTER", "ADDRESS", "HEALTH", "WEIGHT"],
            Section::Bootstrap => &["FIELD", "VALUE"],
        }
    }
}

/// A parsed config dump.
#[derive(Debug, Clone)]
pub struct ConfigDump {
    configs: Vec<Value>,
}

impl ConfigDump {
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigDumpError> {
        let doc: Value = serde_json::from_slice(bytes)?;
        let configs = doc
            .get("configs")
            .and_then(Value::as_array)
            .cloned()
            .ok_or(ConfigDumpError::NoConfigs)?;
        Ok(ConfigDump { configs })
    }

    /// The raw config dump entry of a section (for `-o json|yaml`); `null` when absent.
    pub fn raw(&self, section: Section) -> Value {
        self.entry(section).cloned().unwrap_or(Value::Null)
    }

    fn entry(&self, section: Section) -> Option<&Value> {
        self.configs.iter().find(|c| {
            c.get("@type").and_then(Value::as_str).is_some_and(|t| {
                // `ScopedRoutesConfigDump` must not pass for `RoutesConfigDump`.
                t.rsplit(['.', '/']).next() == Some(section.dump_type())
            })
        })
    }

    /// The resources of a section, static and dynamic, unwrapped from their envelopes.
    fn resources(&self, section: Section, static_key: &str, inner: &str) -> Vec<&Value> {
        let Some(entry) = self.entry(section) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, list) in entry.as_object().into_iter().flatten() {
            let Some(list) = list.as_array() else {
                continue;
            };
            if key == static_key {
                out.extend(list.iter().filter_map(|e| e.get(inner)));
            } else if key.starts_with("dynamic") {
                // Dynamic listeners carry `active_state`/`warming_state`; others carry `inner` directly.
                for e in list {
                    if let Some(v) = e.get(inner) {
                        out.push(v);
                    } else if let Some(v) = e
                        .get("active_state")
                        .or_else(|| e.get("warming_state"))
                        .and_then(|s| s.get(inner))
                    {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// The summary rows of a section.
    pub fn rows(&self, section: Section) -> Vec<Vec<String>> {
        match section {
            Section::Listeners => self.listener_rows(),
            Section::Clusters => self.cluster_rows(),
            Section::Routes => self.route_rows(),
            Section::Endpoints => self.endpoint_rows(),
            Section::Bootstrap => self.bootstrap_rows(),
        }
    }

    fn listener_rows(&self) -> Vec<Vec<String>> {
        self.resources(Section::Listeners, "static_listeners", "listener")
            .into_iter()
            .map(|l| {
                let chains: Vec<&Value> = l
                    .get("filter_chains")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().collect())
                    .unwrap_or_default();
                let default_chain = l.get("default_filter_chain");
                let mut filters: Vec<String> = Vec::new();
                for chain in chains.iter().copied().chain(default_chain) {
                    for filter in chain
                        .get("filters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let name = short_name(str_at(filter, &["name"]));
                        if !filters.contains(&name) {
                            filters.push(name);
                        }
                    }
                }
                let chain_count = chains.len() + usize::from(default_chain.is_some());
                vec![
                    str_at(l, &["name"]).to_string(),
                    address(l.get("address")),
                    chain_count.to_string(),
                    filters.join(","),
                ]
            })
            .collect()
    }

    fn cluster_rows(&self) -> Vec<Vec<String>> {
        self.resources(Section::Clusters, "static_clusters", "cluster")
            .into_iter()
            .map(|c| {
                let kind = c
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        c.get("cluster_type")
                            .map(|t| short_name(str_at(t, &["name"])))
                    })
                    .unwrap_or_else(|| "STATIC".into());
                let endpoints = c
                    .get("load_assignment")
                    .map(|a| lb_endpoints(a).len().to_string())
                    .unwrap_or_else(|| "-".into());
                vec![
                    str_at(c, &["name"]).to_string(),
                    kind,
                    c.get("lb_policy")
                        .and_then(Value::as_str)
                        .unwrap_or("ROUND_ROBIN")
                        .to_string(),
                    c.get("connect_timeout")
                        .and_then(Value::as_str)
                        .unwrap_or("5s")
                        .to_string(),
                    endpoints,
                ]
            })
            .collect()
    }

    fn route_rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for config in self.resources(Section::Routes, "static_route_configs", "route_config") {
            let config_name = str_at(config, &["name"]);
            for vhost in array(config, "virtual_hosts") {
                let domains: Vec<&str> = array(vhost, "domains")
                    .iter()
                    .filter_map(|d| d.as_str())
                    .collect();
                for route in array(vhost, "routes") {
                    rows.push(vec![
                        config_name.to_string(),
                        str_at(vhost, &["name"]).to_string(),
                        domains.join(","),
                        route_match(route.get("match")),
                        route_action(route),
                    ]);
                }
            }
        }
        rows
    }

    fn endpoint_rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for assignment in self.resources(
            Section::Endpoints,
            "static_endpoint_configs",
            "endpoint_config",
        ) {
            let cluster = str_at(assignment, &["cluster_name"]);
            for endpoint in lb_endpoints(assignment) {
                rows.push(vec![
                    cluster.to_string(),
                    address(endpoint.get("endpoint").and_then(|e| e.get("address"))),
                    endpoint
                        .get("health_status")
                        .and_then(Value::as_str)
                        .unwrap_or("UNKNOWN")
                        .to_string(),
                    endpoint
                        .get("load_balancing_weight")
                        .and_then(Value::as_u64)
                        .map_or_else(|| "1".into(), |w| w.to_string()),
                ]);
            }
        }
        rows
    }

    fn bootstrap_rows(&self) -> Vec<Vec<String>> {
        let Some(bootstrap) = self
            .entry(Section::Bootstrap)
            .and_then(|e| e.get("bootstrap"))
        else {
            return Vec::new();
        };
        let node = bootstrap.get("node");
        let version = node
            .and_then(|n| n.get("user_agent_build_version"))
            .and_then(|v| v.get("version"))
            .map(|v| {
                format!(
                    "{}.{}.{}",
                    v.get("major_number").and_then(Value::as_u64).unwrap_or(0),
                    v.get("minor_number").and_then(Value::as_u64).unwrap_or(0),
                    v.get("patch").and_then(Value::as_u64).unwrap_or(0)
                )
            })
            .unwrap_or_else(|| "-".into());
        let count = |path: &[&str]| -> String {
            let mut v = bootstrap;
            for key in path {
                match v.get(*key) {
                    Some(next) => v = next,
                    None => return "0".into(),
                }
            }
            v.as_array().map_or(0, Vec::len).to_string()
        };
        let field = |path: &[&str]| -> String {
            let s = str_at(bootstrap, path);
            if s.is_empty() {
                "-".into()
            } else {
                s.to_string()
            }
        };
        let mut rows = vec![
            vec![
                "node.id".into(),
                node.map_or("-".into(), |n| str_at(n, &["id"]).to_string()),
            ],
            vec![
                "node.cluster".into(),
                node.map_or("-".into(), |n| str_at(n, &["cluster"]).to_string()),
            ],
            vec!["envoy.version".into(), version],
            vec![
                "admin.address".into(),
                address(bootstrap.get("admin").and_then(|a| a.get("address"))),
            ],
            vec![
                "static.listeners".into(),
                count(&["static_resources", "listeners"]),
            ],
            vec![
                "static.clusters".into(),
                count(&["static_resources", "clusters"]),
            ],
            vec![
                "stats_flush_interval".into(),
                field(&["stats_flush_interval"]),
            ],
        ];
        if bootstrap.get("dynamic_resources").is_some() {
            rows.push(vec!["dynamic_resources".into(), "yes".into()]);
        }
        rows
    }
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut v = value;
    for key in path {
        match v.get(*key) {
            Some(next) => v = next,
            None => return "",
        }
    }
    v.as_str().unwrap_or("")
}

/// `envoy.filters.network.http_connection_manager` -> `http_connection_manager`.
fn short_name(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_string()
}

fn address(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "-".into();
    };
    if let Some(sock) = value.get("socket_address") {
        let ip = str_at(sock, &["address"]);
        let port = sock.get("port_value").and_then(Value::as_u64).unwrap_or(0);
        return if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        };
    }
    if let Some(pipe) = value.get("pipe") {
        return format!("unix:{}", str_at(pipe, &["path"]));
    }
    if let Some(internal) = value.get("envoy_internal_address") {
        return format!("internal:{}", str_at(internal, &["server_listener_name"]));
    }
    "-".into()
}

fn lb_endpoints(assignment: &Value) -> Vec<&Value> {
    array(assignment, "endpoints")
        .iter()
        .flat_map(|locality| array(locality, "lb_endpoints"))
        .collect()
}

fn route_match(m: Option<&Value>) -> String {
    let Some(m) = m else {
        return "-".into();
    };
    let mut out = if let Some(p) = m.get("prefix").and_then(Value::as_str) {
        format!("prefix {p}")
    } else if let Some(p) = m.get("path").and_then(Value::as_str) {
        format!("path {p}")
    } else if let Some(r) = m.get("safe_regex") {
        format!("regex {}", str_at(r, &["regex"]))
    } else if let Some(p) = m.get("path_separated_prefix").and_then(Value::as_str) {
        format!("prefix {p}/")
    } else {
        "any".into()
    };
    for header in array(m, "headers") {
        let name = str_at(header, &["name"]);
        let exact = str_at(header, &["string_match", "exact"]);
        if exact.is_empty() {
            out.push_str(&format!(" {name}"));
        } else {
            out.push_str(&format!(" {name}={exact}"));
        }
    }
    out
}

fn route_action(route: &Value) -> String {
    if let Some(r) = route.get("route") {
        if let Some(c) = r.get("cluster").and_then(Value::as_str) {
            return format!("cluster {c}");
        }
        if let Some(w) = r.get("weighted_clusters") {
            let names: Vec<&str> = array(w, "clusters")
                .iter()
                .map(|c| str_at(c, &["name"]))
                .collect();
            return format!("weighted {}", names.join(","));
        }
        return "route".into();
    }
    if let Some(d) = route.get("direct_response") {
        return format!(
            "direct {}",
            d.get("status").and_then(Value::as_u64).unwrap_or(0)
        );
    }
    if route.get("redirect").is_some() {
        return "redirect".into();
    }
    "-".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = include_str!("../../tests/fixtures/proxy/config_dump.json");

    #[test]
    fn summarises_the_saved_sidecar_dump() {
        let dump = ConfigDump::parse(DUMP.as_bytes()).unwrap();
        let listeners = dump.rows(Section::Listeners);
        assert_eq!(
            listeners[0],
            [
                "virtualInbound",
                "0.0.0.0:15006",
                "3",
                "tcp_proxy,http_connection_manager"
            ]
        );
        let clusters = dump.rows(Section::Clusters);
        assert!(clusters.contains(&vec![
            "InboundPassthroughCluster".into(),
            "ORIGINAL_DST".into(),
            "CLUSTER_PROVIDED".into(),
            "10s".into(),
            "-".into()
        ]));
        let routes = dump.rows(Section::Routes);
        assert!(routes.contains(&vec![
            "prometheus".into(),
            "prometheus".into(),
            "*".into(),
            "path /stats/prometheus :method=GET".into(),
            "cluster admin".into()
        ]));
        let endpoints = dump.rows(Section::Endpoints);
        assert_eq!(
            endpoints,
            vec![vec![
                "admin".to_string(),
                "127.0.0.1:15000".into(),
                "HEALTHY".into(),
                "1".into()
            ]]
        );
        let bootstrap = dump.rows(Section::Bootstrap);
        assert!(bootstrap.contains(&vec!["envoy.version".into(), "1.40.0".into()]));
        assert!(bootstrap.contains(&vec!["admin.address".into(), "127.0.0.1:15000".into()]));
    }

    #[test]
    fn raw_sections_and_bad_input() {
        let dump = ConfigDump::parse(DUMP.as_bytes()).unwrap();
        assert!(dump.raw(Section::Clusters)["static_clusters"].is_array());
        assert!(matches!(
            ConfigDump::parse(b"{\"stats\":[]}"),
            Err(ConfigDumpError::NoConfigs)
        ));
        assert!(Section::parse("secrets").is_none());
    }
}
