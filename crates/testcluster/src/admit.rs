//! Where writes meet the mutating admission webhooks ([`crate::admission`]). Every create and
//! update through the API, and every pod a controller creates, passes through here.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::admission::{
    AdmissionContext, AdmissionInput, AdmissionLog, GroupVersionResource, run_mutating_webhooks,
};
use crate::errors::ApiError;
use crate::resources::ResourceType;
use crate::server::{ADMIN_USER, Shared};

tokio::task_local! {
    /// Warnings webhooks returned while handling the current API request (sent back as
    /// `Warning` headers); absent for controller writes.
    pub static WARNINGS: Arc<Mutex<Vec<String>>>;
}

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
    // As in kube-apiserver, webhook configurations themselves are never sent to webhooks.
    if t.group == "admissionregistration.k8s.io" || t.is_virtual() {
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
    let ctx = context(shared);
    let gvr = GroupVersionResource::new(&t.group, &t.version, &t.plural);
    let namespace = if t.namespaced {
        ns.to_string()
    } else if t.group.is_empty() && t.plural == "namespaces" {
        obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        String::new()
    };
    let mut input = match (operation, old) {
        ("UPDATE", Some(old)) => AdmissionInput::update(gvr, &namespace, old, obj),
        _ => AdmissionInput::create(gvr, &namespace, obj),
    };
    input.dry_run = dry_run;
    input.user_info.username = ADMIN_USER.to_string();
    input.user_info.groups = vec![
        "system:masters".to_string(),
        "system:authenticated".to_string(),
    ];
    let result = run_mutating_webhooks(&ctx, &configs, input).await;
    let calls = ctx.log().calls();
    let warnings: Vec<String> = calls.iter().flat_map(|c| c.warnings.clone()).collect();
    if !warnings.is_empty() {
        let _ = WARNINGS.try_with(|w| crate::server::lock(w).extend(warnings));
    }
    crate::server::lock(&shared.admission_calls).extend(calls);
    result.map_err(|e| ApiError::new(e.code, e.reason, e.message))
}

/// The admission context over this server: namespaces from the store, services from the
/// test's registrations.
fn context(shared: &Arc<Shared>) -> AdmissionContext {
    let for_namespaces = shared.clone();
    let for_services = shared.clone();
    AdmissionContext::new()
        .with_namespaces(move |name| {
            for_namespaces.read(|s| {
                s.find_type("", "v1", "namespaces")
                    .and_then(|t| s.get(&t, "", name).cloned())
            })
        })
        .with_service_resolver(move |ns, name, port| {
            for_services
                .settings()
                .services
                .get(&(ns.to_string(), name.to_string(), port))
                .copied()
        })
        // A log per request, so this request's warnings can be told apart.
        .with_log(AdmissionLog::default())
}
