//! meshctl: a service mesh for Kubernetes with stock Envoy sidecars, driven by one binary.
//!
//! `commands` parses flags into plain options and calls the engines; the engines (`render`,
//! `inject`, `netfilter`, `bootstrap`, `proxy`, `kube`, `webhook`, `check`) hold the logic, with pure
//! parts kept apart from I/O so they can be tested without a cluster.

pub mod bootstrap;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod exit;
pub mod inject;
pub mod kube;
pub mod netfilter;
pub mod output;
pub mod proxy;
pub mod render;
pub mod webhook;

/// The meshctl version, as stamped into manifests, sidecar status annotations and `version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
