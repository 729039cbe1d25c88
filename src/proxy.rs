//! The proxy diagnostics engine: talks to Envoy's admin API (over TCP or a port-forward stream)
//! and turns what it says into golden metrics (`stats`), live request events (`tap`) and config
//! summaries (`config_dump`). `pods` finds the meshed pods behind a workload; `collect` samples
//! many proxies with bounded concurrency.

pub mod admin;
pub mod collect;
pub mod config_dump;
pub mod pods;
pub mod stats;
pub mod tap;

/// The sidecar container's name: a pod is meshed when it has one.
pub const PROXY_CONTAINER: &str = "meshctl-proxy";
/// The port Envoy's admin API listens on inside the pod (127.0.0.1 only; reached by port-forward).
pub const ADMIN_PORT: u16 = 15000;
