//! Command-line definitions (clap derive). Each command's `run` lives in `commands/<name>.rs`,
//! which turns these arguments into a plain options struct and calls the engine.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Parses durations the way kubectl users write them: `30s`, `2m`, `1h30m`, `500ms`.
/// A bare number is seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(raw).map_err(|e| format!("invalid duration '{raw}': {e}"))
}

#[derive(Debug, Parser)]
#[command(
    name = "meshctl",
    version,
    about = "A service mesh for Kubernetes with stock Envoy sidecars",
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, named as kubectl names them.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// The namespace to act on (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NAME")]
    pub namespace: Option<String>,

    /// The namespace of the mesh control plane
    #[arg(
        long,
        global = true,
        default_value = "meshctl-system",
        value_name = "NAME"
    )]
    pub mesh_namespace: String,

    /// Output format; each command documents the formats it accepts
    #[arg(short = 'o', long, global = true, value_name = "FORMAT")]
    pub output: Option<String>,

    /// How long to wait for the cluster before giving up (e.g. 30s, 2m)
    #[arg(long, global = true, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    pub timeout: Duration,

    /// More detail on stderr (repeat for more)
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the control plane manifests (or apply them with --apply)
    Install(InstallArgs),
    /// Print (or delete with --apply) what install created
    Uninstall(UninstallArgs),
    /// Add the meshctl sidecar to workload manifests or live workloads
    Inject(InjectArgs),
    /// Remove the meshctl sidecar from workload manifests or live workloads
    Uninject(InjectArgs),
    /// Check the cluster, the control plane and the data plane
    Check(CheckArgs),
    /// Golden metrics (success rate, RPS, latency) read from the proxies
    Stat(StatArgs),
    /// Stream live requests from the proxies
    Tap(TapArgs),
    /// Show a proxy's configuration
    #[command(name = "proxy-config", visible_alias = "pc")]
    ProxyConfig(ProxyConfigArgs),
    /// Client, control plane and proxy versions
    Version(VersionArgs),
    /// Shell completion scripts
    Completion(CompletionArgs),
    /// Init container role: write the pod's iptables rules and the Envoy bootstrap
    #[command(name = "proxy-init")]
    ProxyInit(ProxyInitArgs),
    /// In-cluster role: the sidecar injector admission webhook
    Webhook(WebhookArgs),
    /// Write man pages for every command into a directory
    #[command(name = "man", hide = true)]
    Man(ManArgs),
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Output (-o): yaml (default: multi-document), json (one v1 List).

Examples:
  meshctl install | kubectl apply --server-side -f -
  meshctl install --profile ha --set webhook.failurePolicy=Fail
  meshctl install -f prod-values.yaml --output-dir deploy/meshctl
  meshctl install --apply --wait --timeout 2m
  meshctl install --show-values")]
pub struct InstallArgs {
    /// Values profile: default, minimal or ha
    #[arg(long, default_value = "default", value_name = "NAME")]
    pub profile: String,

    /// Set a value (repeatable, typed): --set webhook.replicas=2
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Values file (repeatable; later files win)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,

    /// Print the effective values instead of the manifests
    #[arg(long)]
    pub show_values: bool,

    /// Write one file per component into this directory instead of stdout
    #[arg(long, value_name = "DIR", conflicts_with = "apply")]
    pub output_dir: Option<PathBuf>,

    /// Apply the manifests to the cluster (server-side apply, field manager `meshctl`)
    #[arg(long)]
    pub apply: bool,

    /// With --apply: `server` validates on the server without persisting
    #[arg(long, value_name = "MODE", requires = "apply", num_args = 0..=1, default_missing_value = "server")]
    pub dry_run: Option<DryRun>,

    /// With --apply: wait for the control plane to roll out (bounded by --timeout)
    #[arg(long, requires = "apply")]
    pub wait: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    Server,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Pass the --profile, -f and --set used at install time, so the list matches what exists.

Examples:
  meshctl uninstall | kubectl delete --ignore-not-found -f -
  meshctl uninstall --apply            # refuses while injected pods remain
  meshctl uninstall --apply --force")]
pub struct UninstallArgs {
    /// Delete the control plane from the cluster, in reverse order, and wait
    #[arg(long)]
    pub apply: bool,

    /// Uninstall even while injected pods remain
    #[arg(long)]
    pub force: bool,

    /// The profile install used (decides which objects exist)
    #[arg(long, default_value = "default", value_name = "NAME")]
    pub profile: String,

    /// The --set values install used (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// The values files install used (repeatable)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct InjectArgs {
    /// Files, directories, `-` for stdin; or live workloads: TYPE/NAME, TYPE NAME..., namespace/NAME
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Recurse into directories
    #[arg(short = 'R', long)]
    pub recursive: bool,

    /// Live mode: select workloads by label
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Live mode: every workload in the namespace
    #[arg(long)]
    pub all: bool,

    /// Live mode: print the patch instead of applying it
    #[arg(long)]
    pub dry_run: bool,

    /// Report format on stderr: text or json
    #[arg(long, default_value = "text", value_name = "FORMAT")]
    pub report: String,

    /// Mesh config file (the `meshctl-config` ConfigMap install renders); offline only
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Run the proxy as a native sidecar (an init container with restartPolicy Always)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub native_sidecar: bool,

    #[arg(long, value_name = "IMAGE")]
    pub proxy_image: Option<String>,
    #[arg(long, value_name = "QUANTITY")]
    pub proxy_cpu_request: Option<String>,
    #[arg(long, value_name = "QUANTITY")]
    pub proxy_cpu_limit: Option<String>,
    #[arg(long, value_name = "QUANTITY")]
    pub proxy_memory_request: Option<String>,
    #[arg(long, value_name = "QUANTITY")]
    pub proxy_memory_limit: Option<String>,
    #[arg(long, value_name = "LEVEL")]
    pub proxy_log_level: Option<String>,
    /// Comma-separated inbound ports the proxy does not capture
    #[arg(long, value_name = "PORTS")]
    pub skip_inbound_ports: Option<String>,
    /// Comma-separated outbound ports the proxy does not capture
    #[arg(long, value_name = "PORTS")]
    pub skip_outbound_ports: Option<String>,
    /// Comma-separated outbound CIDRs the proxy does not capture
    #[arg(long, value_name = "CIDRS")]
    pub skip_outbound_cidrs: Option<String>,
    /// Comma-separated ports proxied as opaque TCP (no protocol detection)
    #[arg(long, value_name = "PORTS")]
    pub opaque_ports: Option<String>,
    /// Outbound retries for idempotent requests
    #[arg(long, value_name = "N")]
    pub retries: Option<String>,
    /// Outbound request timeout (0s: none)
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Output (-o): table (default), short (warnings and errors only), json (one document; schema in docs/check-schema.json).\nExit codes: 0 no check is an error, 1 a check is an error (or a warning with --fail-on-warning), 2 usage error."
)]
pub struct CheckArgs {
    /// Pre-install checks
    #[arg(long)]
    pub pre: bool,

    /// Data-plane checks for meshed pods (with -n, or every namespace)
    #[arg(long)]
    pub proxy: bool,

    /// Retry retryable checks until this deadline (e.g. 2m)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub wait: Option<Duration>,

    /// Warnings fail the command too
    #[arg(long)]
    pub fail_on_warning: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatArgs {
    /// TYPE[/NAME]... (deploy, sts, ds, job, rs, rc, pod, ns)
    #[arg(value_name = "RESOURCE", required = true)]
    pub resources: Vec<String>,

    /// Every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Sampling window for rates and percentiles
    #[arg(short = 't', long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub window: Duration,

    /// Outbound traffic instead of inbound
    #[arg(long)]
    pub outbound: bool,

    /// Read one proxy's admin API directly at HOST:PORT instead of port-forwarding
    #[arg(long, value_name = "HOST:PORT")]
    pub admin_addr: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TapArgs {
    /// TYPE/NAME of the workload or pod
    #[arg(value_name = "RESOURCE")]
    pub resource: Option<String>,

    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Path prefix
    #[arg(long, value_name = "PREFIX")]
    pub path: Option<String>,
    #[arg(long, value_name = "HOST")]
    pub authority: Option<String>,
    /// Header match, repeatable: --header k=v
    #[arg(long, value_name = "K=V")]
    pub header: Vec<String>,
    /// inbound or outbound (default: inbound; Envoy allows one tap session per proxy)
    #[arg(long, value_name = "DIRECTION")]
    pub direction: Option<String>,
    /// Stop after N requests
    #[arg(long, value_name = "N")]
    pub max: Option<u64>,
    /// Stop after this long
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Tap one proxy's admin API directly at HOST:PORT instead of port-forwarding
    #[arg(long, value_name = "HOST:PORT")]
    pub admin_addr: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ProxyConfigArgs {
    /// listeners, clusters, routes, endpoints, bootstrap or log
    #[arg(value_name = "SECTION")]
    pub section: String,

    /// The pod whose proxy to ask
    #[arg(value_name = "POD")]
    pub pod: Option<String>,

    /// Read a saved config_dump.json instead of asking a proxy
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// With `log`: set this level (all loggers, or logger:level,...)
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<String>,

    #[arg(long, value_name = "HOST:PORT")]
    pub admin_addr: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Only the client version; do not contact the cluster
    #[arg(long)]
    pub client: bool,

    /// Also count the proxy versions in use
    #[arg(long)]
    pub proxy: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Directory to write the man pages into
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ProxyInitArgs {
    /// Print the rules and the bootstrap instead of applying them
    #[arg(long)]
    pub dry_run: bool,

    /// iptables backend: nft, legacy or auto (detect)
    #[arg(long, default_value = "auto", value_name = "BACKEND")]
    pub iptables_backend: String,

    /// Where to write the Envoy bootstrap
    #[arg(long, default_value = "/etc/meshctl/envoy.yaml", value_name = "PATH")]
    pub bootstrap_out: PathBuf,

    /// The proxy's uid: its own traffic is never captured (must match the sidecar's runAsUser)
    #[arg(long, default_value_t = 1337, value_name = "UID")]
    pub proxy_uid: u32,
    /// The proxy's gid: its traffic is never captured either
    #[arg(long, default_value_t = 1337, value_name = "GID")]
    pub proxy_gid: u32,
    /// Envoy's outbound listener; outgoing TCP is redirected here
    #[arg(long, default_value_t = 15001, value_name = "PORT")]
    pub outbound_port: u16,
    /// Envoy's inbound listener; incoming TCP is redirected here
    #[arg(long, default_value_t = 15006, value_name = "PORT")]
    pub inbound_port: u16,
    /// Envoy's admin API, bound to 127.0.0.1 only
    #[arg(long, default_value_t = 15000, value_name = "PORT")]
    pub admin_port: u16,
    /// Metrics and readiness (GET /stats/prometheus, GET /ready only); never captured
    #[arg(long, default_value_t = 15090, value_name = "PORT")]
    pub metrics_port: u16,
    /// Inbound ports not captured, comma-separated; ranges as 8000-8100
    #[arg(long, default_value = "", value_name = "PORTS")]
    pub skip_inbound_ports: String,
    /// Outbound destination ports not captured, comma-separated; ranges as 8000-8100
    #[arg(long, default_value = "", value_name = "PORTS")]
    pub skip_outbound_ports: String,
    /// Outbound destinations not captured, comma-separated CIDRs (IPv4 and IPv6)
    #[arg(long, default_value = "", value_name = "CIDRS")]
    pub skip_outbound_cidrs: String,
    /// Ports proxied as plain TCP without protocol detection (server-first protocols: SMTP, MySQL)
    #[arg(long, default_value = "", value_name = "PORTS")]
    pub opaque_ports: String,
    /// Envoy log level: trace, debug, info, warning, error, critical, off
    #[arg(long, default_value = "warning", value_name = "LEVEL")]
    pub log_level: String,
    /// Envoy worker threads
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub concurrency: u32,
    /// Outbound retries: after connect failures for any request, after a 503 for idempotent
    /// methods only (0 disables)
    #[arg(long, default_value = "0", value_name = "N")]
    pub retries: String,
    /// Timeout of each outbound retry attempt (0s: only --request-timeout applies)
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub per_try_timeout: String,
    /// Outbound request timeout (0s: none)
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub request_timeout: String,
    /// How long the proxy drains connections when shutting down
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub drain_time: String,

    // Pod identity, from the downward API.
    /// The pod's name
    #[arg(long, env = "POD_NAME", default_value = "", value_name = "NAME")]
    pub pod_name: String,
    /// The pod's namespace
    #[arg(long, env = "POD_NAMESPACE", default_value = "", value_name = "NAME")]
    pub pod_namespace: String,
    /// The pod's primary IP
    #[arg(long, env = "POD_IP", default_value = "", value_name = "IP")]
    pub pod_ip: String,
    /// Comma-separated pod IPs (both families on dual-stack pods)
    #[arg(long, env = "POD_IPS", default_value = "", value_name = "IPS")]
    pub pod_ips: String,
    /// Kind of the workload that owns the pod (Deployment, StatefulSet, Job...)
    #[arg(
        long,
        env = "MESHCTL_WORKLOAD_KIND",
        default_value = "",
        value_name = "KIND"
    )]
    pub workload_kind: String,
    /// Name of the workload that owns the pod
    #[arg(
        long,
        env = "MESHCTL_WORKLOAD_NAME",
        default_value = "",
        value_name = "NAME"
    )]
    pub workload_name: String,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Runs in the cluster (Deployment meshctl-injector, rendered by `meshctl install`). Serves
POST /inject (AdmissionReview v1), GET /healthz and GET /readyz over HTTPS; stops gracefully on
SIGTERM.")]
pub struct WebhookArgs {
    /// Address to serve AdmissionReview on
    #[arg(long, default_value = "0.0.0.0:8443", value_name = "ADDR")]
    pub listen: String,

    /// Serving certificate and key (cert-manager mode); without them the webhook makes its own
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The MutatingWebhookConfiguration whose caBundle to patch with the self-made certificate
    #[arg(long, default_value = "meshctl-injector", value_name = "NAME")]
    pub webhook_config_name: String,

    /// The webhook's Service name (the certificate's DNS names derive from it)
    #[arg(long, default_value = "meshctl-injector", value_name = "NAME")]
    pub service_name: String,

    /// Mesh config file (default: read the `meshctl-config` ConfigMap)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
