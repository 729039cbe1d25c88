//! The Envoy sidecar bootstrap: a pure function of the proxy settings and the pod's identity,
//! rendered deterministically (same input, same bytes) as YAML or JSON.
//!
//! The shape follows what was measured with Envoy 1.40 (see docs/dataplane.md): an inbound and an
//! outbound listener fed by iptables REDIRECT, each with `original_dst` + `http_inspector`, HTTP/1.x
//! and h2c through an http_connection_manager, everything else through tcp_proxy, and a read-only
//! metrics listener. Settings Envoy only takes on its command line (concurrency, log level, drain
//! time) come out of [`envoy_args`].

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};

/// Cluster names; the stat/tap/proxy-config code may refer to them.
pub const INBOUND_CLUSTER: &str = "InboundPassthroughCluster";
pub const OUTBOUND_CLUSTER: &str = "PassthroughCluster";
pub const BLACKHOLE_CLUSTER: &str = "BlackHoleCluster";
pub const ADMIN_CLUSTER: &str = "admin";

/// Stat prefixes of the http_connection_managers and tap config ids (`meshctl stat` / `tap`).
pub const INBOUND_PREFIX: &str = "inbound";
pub const OUTBOUND_PREFIX: &str = "outbound";

/// Upper bounds (ms) of the `*_rq_time` histograms: fine at low latency, where sidecar traffic
/// lives, so that percentiles interpolated from bucket deltas stay close to the truth.
pub const RQ_TIME_BUCKETS_MS: [f64; 22] = [
    0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 250.0, 500.0,
    1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
];

/// How often Envoy flushes stats (histograms only move at a flush).
pub const STATS_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Ceiling on concurrent downstream connections (all listeners).
pub const MAX_DOWNSTREAM_CONNECTIONS: u64 = 100_000;

/// Who this sidecar is, from the downward API and the injector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodIdentity {
    pub pod_name: String,
    pub namespace: String,
    /// All pod IPs (both families on dual-stack pods), primary first.
    pub pod_ips: Vec<IpAddr>,
    pub workload_kind: String,
    pub workload_name: String,
}

impl PodIdentity {
    pub fn has_ipv6(&self) -> bool {
        self.pod_ips.iter().any(IpAddr::is_ipv6)
    }
}

/// The proxy's well-known ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyPorts {
    pub admin: u16,
    pub inbound: u16,
    pub outbound: u16,
    pub metrics: u16,
}

impl Default for ProxyPorts {
    fn default() -> Self {
        ProxyPorts {
            admin: 15000,
            inbound: 15006,
            outbound: 15001,
            metrics: 15090,
        }
    }
}

/// Outbound retries. Connect failures and refused streams are retried for every method (the
/// request never reached the app); 503 only for idempotent methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetrySettings {
    /// Retries after the first attempt; 0 disables retries.
    pub attempts: u32,
    /// Timeout of each attempt; None means only the overall request timeout applies.
    pub per_try_timeout: Option<Duration>,
}

/// Envoy's log levels (`--log-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    #[default]
    Warning,
    Error,
    Critical,
    Off,
}

impl LogLevel {
    pub fn parse(raw: &str) -> Option<LogLevel> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warning" | "warn" => LogLevel::Warning,
            "error" => LogLevel::Error,
            "critical" => LogLevel::Critical,
            "off" => LogLevel::Off,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Off => "off",
        }
    }
}

/// Everything the bootstrap depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapSettings {
    pub identity: PodIdentity,
    pub ports: ProxyPorts,
    /// Ports proxied as plain TCP without protocol detection (server-first protocols).
    pub opaque_ports: BTreeSet<u16>,
    pub retries: RetrySettings,
    /// Outbound request timeout; None (or zero) means no timeout.
    pub request_timeout: Option<Duration>,
    pub log_level: LogLevel,
    /// Worker threads.
    pub concurrency: u32,
    /// How long the proxy drains connections on shutdown.
    pub drain_time: Duration,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            identity: PodIdentity::default(),
            ports: ProxyPorts::default(),
            opaque_ports: BTreeSet::new(),
            retries: RetrySettings::default(),
            request_timeout: None,
            log_level: LogLevel::Warning,
            concurrency: 2,
            drain_time: Duration::from_secs(5),
        }
    }
}

/// The bootstrap as YAML (what `proxy-init` writes to `/etc/meshctl/envoy.yaml`).
pub fn render(settings: &BootstrapSettings) -> String {
    let mut out = String::from(
        "# Envoy bootstrap written by `meshctl proxy-init`; regenerated on every pod start.\n",
    );
    // Serialising a serde_json::Value into YAML cannot fail.
    out.push_str(&serde_saphyr::to_string(&bootstrap(settings)).unwrap_or_default());
    out
}

/// The bootstrap as pretty JSON (Envoy reads either).
pub fn render_json(settings: &BootstrapSettings) -> String {
    let mut out = serde_json::to_string_pretty(&bootstrap(settings)).unwrap_or_default();
    out.push('\n');
    out
}

/// The command line the proxy container should run (`envoy` followed by these), carrying the
/// settings Envoy does not read from a bootstrap.
pub fn envoy_args(settings: &BootstrapSettings, bootstrap_path: &str) -> Vec<String> {
    let drain = settings.drain_time.as_secs().max(1);
    vec![
        "-c".to_string(),
        bootstrap_path.to_string(),
        "--disable-hot-restart".to_string(),
        "--concurrency".to_string(),
        settings.concurrency.max(1).to_string(),
        "--log-level".to_string(),
        settings.log_level.as_str().to_string(),
        "--drain-time-s".to_string(),
        drain.to_string(),
        // Envoy's default (15 min) would keep a terminating pod around for no reason.
        "--parent-shutdown-time-s".to_string(),
        (drain + 5).to_string(),
    ]
}

/// Formats a duration the way Envoy's proto3 JSON wants it: seconds, e.g. `5s`, `0.250s`.
pub fn envoy_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        return format!("{}s", d.as_secs());
    }
    let frac = format!("{:09}", d.subsec_nanos());
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

/// The whole bootstrap as a JSON value (keys in a fixed order).
pub fn bootstrap(settings: &BootstrapSettings) -> Value {
    let ports = settings.ports;
    json!({
        "node": node(settings),
        "admin": {
            "address": socket_address("127.0.0.1", ports.admin),
        },
        // A connection ceiling far above any sidecar's load; without one Envoy warns at every
        // start and has no guard against fd exhaustion.
        "overload_manager": {
            "resource_monitors": [{
                "name": "envoy.resource_monitors.global_downstream_max_connections",
                "typed_config": typed(
                    "envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                    json!({ "max_active_downstream_connections": MAX_DOWNSTREAM_CONNECTIONS }),
                ),
            }],
        },
        "stats_flush_interval": envoy_duration(STATS_FLUSH_INTERVAL),
        "stats_config": {
            "histogram_bucket_settings": [{
                "match": { "suffix": "_rq_time" },
                "buckets": RQ_TIME_BUCKETS_MS,
            }],
        },
        "static_resources": {
            "listeners": [
                traffic_listener(settings, Direction::Inbound),
                traffic_listener(settings, Direction::Outbound),
                metrics_listener(settings),
            ],
            "clusters": clusters(settings),
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    fn prefix(self) -> &'static str {
        match self {
            Direction::Inbound => INBOUND_PREFIX,
            Direction::Outbound => OUTBOUND_PREFIX,
        }
    }

    fn listener_name(self) -> &'static str {
        match self {
            Direction::Inbound => "virtualInbound",
            Direction::Outbound => "virtualOutbound",
        }
    }

    fn cluster(self) -> &'static str {
        match self {
            Direction::Inbound => INBOUND_CLUSTER,
            Direction::Outbound => OUTBOUND_CLUSTER,
        }
    }

    fn port(self, ports: ProxyPorts) -> u16 {
        match self {
            Direction::Inbound => ports.inbound,
            Direction::Outbound => ports.outbound,
        }
    }
}

fn node(settings: &BootstrapSettings) -> Value {
    let id = &settings.identity;
    let namespace = or_unknown(&id.namespace);
    let pod = or_unknown(&id.pod_name);
    let ip = id
        .pod_ips
        .first()
        .map_or_else(|| "unknown".to_string(), ToString::to_string);
    let workload = if id.workload_name.is_empty() {
        pod
    } else {
        &id.workload_name
    };
    let ips: Vec<String> = id.pod_ips.iter().map(ToString::to_string).collect();
    json!({
        "id": format!("sidecar~{ip}~{pod}.{namespace}~{namespace}.svc.cluster.local"),
        "cluster": format!("{workload}.{namespace}"),
        "metadata": {
            "meshctl_version": crate::VERSION,
            "pod_name": id.pod_name,
            "namespace": id.namespace,
            "pod_ips": ips,
            "workload_kind": id.workload_kind,
            "workload_name": id.workload_name,
            // Informational: Envoy takes these from its command line (see envoy_args).
            "concurrency": settings.concurrency,
            "log_level": settings.log_level.as_str(),
            "drain_time": envoy_duration(settings.drain_time),
        },
    })
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

fn socket_address(address: &str, port: u16) -> Value {
    json!({ "socket_address": { "address": address, "port_value": port } })
}

/// Listeners bind 0.0.0.0, plus `::` when the pod has an IPv6 address (v6-only socket, so the
/// two binds don't clash).
fn listener_addresses(settings: &BootstrapSettings, port: u16) -> (Value, Option<Value>) {
    let primary = socket_address("0.0.0.0", port);
    let extra = settings
        .identity
        .has_ipv6()
        .then(|| json!([{ "address": socket_address("::", port) }]));
    (primary, extra)
}

fn typed(type_name: &str, mut body: Value) -> Value {
    let mut typed = serde_json::Map::new();
    typed.insert(
        "@type".to_string(),
        Value::String(format!("type.googleapis.com/{type_name}")),
    );
    if let Value::Object(fields) = body.take() {
        typed.extend(fields);
    }
    Value::Object(typed)
}

fn tcp_proxy(stat_prefix: &str, cluster: &str) -> Value {
    json!({
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": typed(
            "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            json!({ "stat_prefix": stat_prefix, "cluster": cluster }),
        ),
    })
}

fn traffic_listener(settings: &BootstrapSettings, direction: Direction) -> Value {
    let port = direction.port(settings.ports);
    let prefix = direction.prefix();
    let (address, additional) = listener_addresses(settings, port);

    let mut http_inspector = json!({
        "name": "envoy.filters.listener.http_inspector",
        "typed_config": typed(
            "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
            json!({}),
        ),
    });
    // Opaque ports skip protocol detection: the inspector would wait for client bytes that a
    // server-first protocol never sends.
    if let Some(disabled) = opaque_port_predicate(&settings.opaque_ports) {
        http_inspector["filter_disabled"] = disabled;
    }

    let mut chains = vec![json!({
        // A connection dialled straight to this port (not redirected) would make Envoy connect to
        // itself over and over: black-hole it.
        "name": format!("{prefix}-loop-guard"),
        "filter_chain_match": { "destination_port": port },
        "filters": [tcp_proxy(&format!("{prefix}_blackhole"), BLACKHOLE_CLUSTER)],
    })];
    for opaque in &settings.opaque_ports {
        if *opaque == port {
            continue;
        }
        chains.push(json!({
            "name": format!("{prefix}-opaque-{opaque}"),
            "filter_chain_match": { "destination_port": opaque },
            "filters": [tcp_proxy(&format!("{prefix}_opaque"), direction.cluster())],
        }));
    }
    chains.push(json!({
        "name": format!("{prefix}-http"),
        "filter_chain_match": { "application_protocols": ["http/1.0", "http/1.1", "h2c"] },
        "filters": [http_connection_manager(settings, direction)],
    }));

    // No listener stat_prefix: `meshctl stat` reads `listener.0.0.0.0_<port>.*` by address.
    let mut listener = json!({
        "name": direction.listener_name(),
        "address": address,
    });
    if let Some(additional) = additional {
        listener["additional_addresses"] = additional;
    }
    let fields = json!({
        "listener_filters": [
            {
                "name": "envoy.filters.listener.original_dst",
                "typed_config": typed(
                    "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
                    json!({}),
                ),
            },
            http_inspector,
        ],
        // Client bytes that never come (a server-first protocol on a port nobody marked opaque):
        // give up detection after 1 s and carry the connection as TCP instead of dropping it.
        "listener_filters_timeout": "1s",
        "continue_on_listener_filters_timeout": true,
        "filter_chains": chains,
        "default_filter_chain": {
            "name": format!("{prefix}-tcp"),
            "filters": [tcp_proxy(&format!("{prefix}_tcp"), direction.cluster())],
        },
    });
    merge(&mut listener, fields);
    listener
}

/// `ListenerFilterChainMatchPredicate` matching any of the opaque ports.
fn opaque_port_predicate(ports: &BTreeSet<u16>) -> Option<Value> {
    let rules: Vec<Value> = ports
        .iter()
        .map(|p| json!({ "destination_port_range": { "start": p, "end": u32::from(*p) + 1 } }))
        .collect();
    match rules.len() {
        0 => None,
        1 => rules.into_iter().next(),
        _ => Some(json!({ "or_match": { "rules": rules } })),
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

fn http_connection_manager(settings: &BootstrapSettings, direction: Direction) -> Value {
    let prefix = direction.prefix();
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": typed(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            json!({
                "stat_prefix": prefix,
                "codec_type": "AUTO",
                // Apps see their own Server header, not "envoy".
                "server_header_transformation": "PASS_THROUGH",
                // Don't invent an x-request-id: requests reach the app as they were sent.
                "generate_request_id": false,
                // HTTP/1.0 is accepted (Envoy would answer 426), also without a Host header
                // (Envoy would answer 400), as the app would have.
                "http_protocol_options": {
                    "accept_http_10": true,
                    "default_host_for_http_10": "localhost",
                },
                "upgrade_configs": [{ "upgrade_type": "websocket" }],
                // GOAWAY grace on shutdown follows the drain time.
                "drain_timeout": envoy_duration(settings.drain_time),
                "route_config": {
                    "name": prefix,
                    "virtual_hosts": [{
                        "name": prefix,
                        "domains": ["*"],
                        "routes": routes(settings, direction),
                    }],
                },
                "http_filters": [
                    {
                        "name": "envoy.filters.http.tap",
                        "typed_config": typed(
                            "envoy.extensions.filters.http.tap.v3.Tap",
                            json!({
                                "common_config": { "admin_config": { "config_id": prefix } },
                                "record_headers_received_time": true,
                                "record_downstream_connection": true,
                                "record_upstream_connection": true,
                            }),
                        ),
                    },
                    {
                        "name": "envoy.filters.http.router",
                        "typed_config": typed(
                            "envoy.extensions.filters.http.router.v3.Router",
                            json!({ "suppress_envoy_headers": true }),
                        ),
                    },
                ],
            }),
        ),
    })
}

/// Idempotent methods (RFC 9110 §9.2.2): only these are retried on a 503.
const IDEMPOTENT_METHODS: &str = "GET|HEAD|OPTIONS|TRACE|PUT|DELETE";

fn routes(settings: &BootstrapSettings, direction: Direction) -> Vec<Value> {
    let cluster = direction.cluster();
    // Envoy's default route timeout (15 s) would cut long requests apps never expected to be cut.
    let timeout = match direction {
        Direction::Inbound => Duration::ZERO,
        Direction::Outbound => settings.request_timeout.unwrap_or(Duration::ZERO),
    };
    let retries = settings.retries;
    if direction == Direction::Inbound || retries.attempts == 0 {
        return vec![json!({
            "name": direction.prefix(),
            "match": { "prefix": "/" },
            "route": { "cluster": cluster, "timeout": envoy_duration(timeout) },
        })];
    }
    let policy = |retry_on: &str, codes: Option<[u16; 1]>| {
        let mut policy = json!({ "retry_on": retry_on, "num_retries": retries.attempts });
        if let Some(codes) = codes {
            policy["retriable_status_codes"] = json!(codes);
        }
        if let Some(per_try) = retries.per_try_timeout.filter(|d| !d.is_zero()) {
            policy["per_try_timeout"] = json!(envoy_duration(per_try));
        }
        policy
    };
    vec![
        json!({
            "name": "outbound-idempotent",
            "match": {
                "prefix": "/",
                "headers": [{
                    "name": ":method",
                    "string_match": { "safe_regex": { "regex": IDEMPOTENT_METHODS } },
                }],
            },
            "route": {
                "cluster": cluster,
                "timeout": envoy_duration(timeout),
                "retry_policy": policy(
                    "connect-failure,refused-stream,retriable-status-codes",
                    Some([503]),
                ),
            },
        }),
        json!({
            "name": "outbound",
            "match": { "prefix": "/" },
            "route": {
                "cluster": cluster,
                "timeout": envoy_duration(timeout),
                "retry_policy": policy("connect-failure,refused-stream", None),
            },
        }),
    ]
}

fn metrics_listener(settings: &BootstrapSettings) -> Value {
    let (address, additional) = listener_addresses(settings, settings.ports.metrics);
    let get = |path: &str| {
        json!({
            "match": {
                "path": path,
                "headers": [{ "name": ":method", "string_match": { "exact": "GET" } }],
            },
            "route": { "cluster": ADMIN_CLUSTER },
        })
    };
    let mut listener = json!({
        "name": "metrics",
        "address": address,
    });
    if let Some(additional) = additional {
        listener["additional_addresses"] = additional;
    }
    merge(
        &mut listener,
        json!({
            "filter_chains": [{
                "filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": typed(
                        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        json!({
                            "stat_prefix": "metrics",
                            "codec_type": "AUTO",
                            "route_config": {
                                "name": "metrics",
                                "virtual_hosts": [{
                                    "name": "metrics",
                                    "domains": ["*"],
                                    // Only these two paths of the admin API are reachable from
                                    // outside the pod; the admin itself stays on 127.0.0.1.
                                    "routes": [
                                        get("/stats/prometheus"),
                                        get("/ready"),
                                        {
                                            "match": { "prefix": "/" },
                                            "direct_response": {
                                                "status": 404,
                                                "body": { "inline_string": "not found\n" },
                                            },
                                        },
                                    ],
                                }],
                            },
                            "http_filters": [{
                                "name": "envoy.filters.http.router",
                                "typed_config": typed(
                                    "envoy.extensions.filters.http.router.v3.Router",
                                    json!({}),
                                ),
                            }],
                        }),
                    ),
                }],
            }],
        }),
    );
    listener
}

fn clusters(settings: &BootstrapSettings) -> Vec<Value> {
    let passthrough = |name: &str| {
        json!({
            "name": name,
            "type": "ORIGINAL_DST",
            "lb_policy": "CLUSTER_PROVIDED",
            "connect_timeout": "10s",
            "cleanup_interval": "60s",
            // h2c in, h2c out (gRPC without TLS); HTTP/1.x in, HTTP/1.x out.
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": typed(
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    json!({
                        "use_downstream_protocol_config": {
                            "http_protocol_options": {},
                            "http2_protocol_options": {},
                        },
                    }),
                ),
            },
        })
    };
    vec![
        passthrough(INBOUND_CLUSTER),
        passthrough(OUTBOUND_CLUSTER),
        json!({ "name": BLACKHOLE_CLUSTER, "type": "STATIC", "connect_timeout": "1s" }),
        json!({
            "name": ADMIN_CLUSTER,
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": {
                "cluster_name": ADMIN_CLUSTER,
                "endpoints": [{
                    "lb_endpoints": [{
                        "endpoint": { "address": socket_address("127.0.0.1", settings.ports.admin) },
                    }],
                }],
            },
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BootstrapSettings {
        BootstrapSettings {
            identity: PodIdentity {
                pod_name: "web-7d9f".into(),
                namespace: "shop".into(),
                pod_ips: vec!["10.1.2.3".parse().unwrap()],
                workload_kind: "Deployment".into(),
                workload_name: "web".into(),
            },
            opaque_ports: [25, 3306].into_iter().collect(),
            retries: RetrySettings {
                attempts: 2,
                per_try_timeout: Some(Duration::from_millis(500)),
            },
            ..BootstrapSettings::default()
        }
    }

    #[test]
    fn rendering_is_deterministic_and_yaml_matches_json() {
        let s = sample();
        assert_eq!(render(&s), render(&s));
        let from_yaml: Value = serde_saphyr::from_str(&render(&s)).unwrap();
        let from_json: Value = serde_json::from_str(&render_json(&s)).unwrap();
        assert_eq!(from_yaml, from_json);
    }

    #[test]
    fn durations_in_envoy_form() {
        assert_eq!(envoy_duration(Duration::from_secs(5)), "5s");
        assert_eq!(envoy_duration(Duration::from_millis(250)), "0.25s");
        assert_eq!(envoy_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn opaque_ports_skip_the_inspector_and_get_their_own_chain() {
        let b = bootstrap(&sample());
        let inbound = &b["static_resources"]["listeners"][0];
        let inspector = &inbound["listener_filters"][1];
        let rules = &inspector["filter_disabled"]["or_match"]["rules"];
        assert_eq!(rules[0]["destination_port_range"]["start"], 25);
        assert_eq!(rules[1]["destination_port_range"]["end"], 3307);
        let names: Vec<&str> = inbound["filter_chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"inbound-opaque-3306"), "{names:?}");
    }

    #[test]
    fn no_retries_means_no_retry_policy() {
        let b = bootstrap(&BootstrapSettings::default());
        let text = b.to_string();
        assert!(!text.contains("retry_policy"));
        assert!(!text.contains("filter_disabled"));
        assert!(!text.contains("additional_addresses"));
    }

    #[test]
    fn ipv6_pods_also_listen_on_v6() {
        let mut s = sample();
        s.identity.pod_ips.push("fd00::3".parse().unwrap());
        let b = bootstrap(&s);
        for listener in b["static_resources"]["listeners"].as_array().unwrap() {
            assert_eq!(
                listener["additional_addresses"][0]["address"]["socket_address"]["address"],
                "::"
            );
        }
    }

    #[test]
    fn envoy_args_carry_command_line_only_settings() {
        let mut s = sample();
        s.concurrency = 1;
        s.log_level = LogLevel::Debug;
        let args = envoy_args(&s, "/etc/meshctl/envoy.yaml").join(" ");
        assert!(args.contains("--concurrency 1"), "{args}");
        assert!(args.contains("--log-level debug"), "{args}");
        assert!(args.contains("--drain-time-s 5"), "{args}");
    }
}
