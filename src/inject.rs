//! The injection engine, shared by `meshctl inject` (files and live workloads) and the webhook.
//!
//! Interface the webhook relies on (keep it stable): [`inject_pod`] mutates one Pod object, given as
//! JSON, in place, and says what it did. The webhook diffs before/after into a JSON patch.

use serde_json::Value;
use thiserror::Error;

use crate::config::MeshConfig;

#[derive(Debug, Error)]
pub enum InjectError {
    /// The pod cannot be injected and must not be: hostNetwork, another mesh's sidecar, the mesh
    /// namespace. The message names the reason.
    #[error("{0}")]
    Refused(String),
    #[error("invalid pod: {0}")]
    Invalid(String),
}

/// Settings for one injection: the mesh config, then CLI flag overrides (annotations on the
/// workload override the mesh config too, and CLI flags override annotations).
#[derive(Debug, Clone)]
pub struct InjectOptions {
    pub config: MeshConfig,
    pub native_sidecar: bool,
    /// The mesh namespace; workloads there are refused.
    pub mesh_namespace: String,
    /// `config.meshctl.io/<setting>` values given as CLI flags (setting name without the prefix).
    pub overrides: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodDecision {
    Injected,
    /// Already injected with the same settings: nothing changed.
    Unchanged,
    /// Not injected, with the reason (e.g. `meshctl.io/inject: disabled`).
    Skipped(String),
}

/// Injects the sidecar into a whole Pod object (`{"apiVersion":"v1","kind":"Pod","metadata":…,"spec":…}`)
/// in place. `namespace` is the pod's namespace when the object itself does not say.
pub fn inject_pod(
    _pod: &mut Value,
    _namespace: Option<&str>,
    _options: &InjectOptions,
) -> Result<PodDecision, InjectError> {
    Err(InjectError::Invalid(
        "injection engine not built yet".to_string(),
    ))
}
