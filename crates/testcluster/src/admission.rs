//! Mutating admission webhooks, called the way kube-apiserver calls them.
//!
//! Every `admissionregistration.k8s.io/v1` MutatingWebhookConfiguration is consulted in name order,
//! its webhooks in order. A webhook whose `rules`, `namespaceSelector` and `objectSelector` match
//! gets a real `admission.k8s.io/v1` AdmissionReview over HTTPS (server certificate verified
//! against `caBundle`), within `timeoutSeconds`; its `JSONPatch` is applied to the object, a denial
//! rejects the request, a failed call is ignored or rejects per `failurePolicy`. Webhooks with
//! `reinvocationPolicy: IfNeeded` are called once more if a later webhook changed the object.
//!
//! Not modelled: `matchConditions` (CEL), `matchPolicy: Equivalent` (requests are matched as
//! sent), AdmissionReview `v1beta1`, webhooks outside loopback (services resolve through the
//! test's resolver, URLs only to IP addresses or `localhost`).

mod client;
mod matching;

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::{Value, json};

use client::Endpoint;
use matching::{
    Labels, NAMESPACE_NAME_LABEL, labels_of, object_selector_matches, rules_match, selector_matches,
};

/// The API server's default `timeoutSeconds`.
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupVersionResource {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    /// Plural, lower case: `pods`.
    pub resource: String,
    /// `""` for the resource itself, else e.g. `status`.
    pub subresource: String,
}

impl GroupVersionResource {
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        Self {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
            subresource: String::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// `authentication.k8s.io/v1` UserInfo of the requester.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// One request as admission sees it.
#[derive(Clone, Debug)]
pub struct AdmissionInput {
    pub operation: Operation,
    pub resource: GroupVersionResource,
    pub kind: GroupVersionKind,
    /// `""` for cluster-scoped objects; a Namespace's own name for namespaces.
    pub namespace: String,
    /// May be empty on CREATE with `generateName`.
    pub name: String,
    /// The new object (`Value::Null` for DELETE).
    pub object: Value,
    /// The stored object on UPDATE and DELETE.
    pub old_object: Option<Value>,
    pub dry_run: bool,
    pub user_info: UserInfo,
}

impl AdmissionInput {
    /// A CREATE of `object`; kind, name and namespace are taken from the object where present.
    pub fn create(resource: GroupVersionResource, namespace: &str, object: Value) -> Self {
        let kind = GroupVersionKind {
            group: resource.group.clone(),
            version: resource.version.clone(),
            kind: object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Self {
            operation: Operation::Create,
            resource,
            kind,
            namespace: namespace.to_string(),
            name,
            object,
            old_object: None,
            dry_run: false,
            user_info: UserInfo {
                username: "kubernetes-admin".to_string(),
                uid: String::new(),
                groups: vec![
                    "kubeadm:cluster-admins".to_string(),
                    "system:authenticated".to_string(),
                ],
            },
        }
    }

    /// An UPDATE from `old_object` to `object`.
    pub fn update(
        resource: GroupVersionResource,
        namespace: &str,
        old_object: Value,
        object: Value,
    ) -> Self {
        Self {
            operation: Operation::Update,
            old_object: Some(old_object),
            ..Self::create(resource, namespace, object)
        }
    }

    fn is_namespace_object(&self) -> bool {
        self.resource.group.is_empty()
            && self.resource.resource == "namespaces"
            && self.resource.subresource.is_empty()
    }
}

type NamespaceLookup = dyn Fn(&str) -> Option<Value> + Send + Sync;
type ServiceResolver = dyn Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync;

/// What admission needs from the server around it.
#[derive(Clone)]
pub struct AdmissionContext {
    namespaces: Arc<NamespaceLookup>,
    services: Arc<ServiceResolver>,
    log: AdmissionLog,
}

impl Default for AdmissionContext {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AdmissionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionContext")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl AdmissionContext {
    /// No namespaces known, no services resolvable, an empty log.
    pub fn new() -> Self {
        Self {
            namespaces: Arc::new(|_| None),
            services: Arc::new(|_, _, _| None),
            log: AdmissionLog::default(),
        }
    }

    /// How to look a Namespace object up by name (for `namespaceSelector`).
    pub fn with_namespaces(
        mut self,
        lookup: impl Fn(&str) -> Option<Value> + Send + Sync + 'static,
    ) -> Self {
        self.namespaces = Arc::new(lookup);
        self
    }

    /// Where `clientConfig.service` (namespace, name, port) really listens.
    pub fn with_service_resolver(
        mut self,
        resolve: impl Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync + 'static,
    ) -> Self {
        self.services = Arc::new(resolve);
        self
    }

    /// Records calls into `log` (share one log between contexts to see all calls in one place).
    pub fn with_log(mut self, log: AdmissionLog) -> Self {
        self.log = log;
        self
    }

    pub fn log(&self) -> &AdmissionLog {
        &self.log
    }

    fn resolve_service(&self, namespace: &str, name: &str, port: u16) -> Option<SocketAddr> {
        (self.services)(namespace, name, port)
    }

    /// A namespace's labels, always including `kubernetes.io/metadata.name` as the server sets it.
    fn namespace_labels(&self, namespace: &str) -> Labels {
        let mut labels = (self.namespaces)(namespace)
            .map(|ns| labels_of(&ns))
            .unwrap_or_default();
        labels
            .entry(NAMESPACE_NAME_LABEL.to_string())
            .or_insert_with(|| namespace.to_string());
        labels
    }
}

/// Every webhook call made through a context, in order.
#[derive(Clone, Debug, Default)]
pub struct AdmissionLog {
    calls: Arc<Mutex<Vec<WebhookCall>>>,
}

impl AdmissionLog {
    pub fn calls(&self) -> Vec<WebhookCall> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn clear(&self) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn push(&self, call: WebhookCall) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }
}

/// One call of one webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookCall {
    /// `metadata.name` of the MutatingWebhookConfiguration.
    pub configuration: String,
    /// `webhooks[].name`.
    pub webhook: String,
    /// 0 for the first pass, 1 for a reinvocation.
    pub round: u8,
    pub url: String,
    /// The AdmissionReview that was sent.
    pub review: Value,
    pub outcome: CallOutcome,
    /// `response.warnings`, for the API server to pass on as `Warning` headers.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CallOutcome {
    Allowed {
        patched: bool,
    },
    Denied {
        message: String,
    },
    /// The call failed; `ignored` when `failurePolicy: Ignore` let the request go on.
    Failed {
        error: String,
        ignored: bool,
    },
}

/// Why admission rejected a request: what the API server answers, as a `Status`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AdmissionError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason` (`InternalError`, `BadRequest`, `Forbidden`, or a webhook's own).
    pub reason: String,
    pub message: String,
}

impl AdmissionError {
    fn internal(message: String) -> Self {
        Self {
            code: 500,
            reason: "InternalError".to_string(),
            message: format!("Internal error occurred: {message}"),
        }
    }

    /// The `kind: Status` body to answer with.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        status
    }
}

/// A webhook found in the stored configurations.
struct Hook<'a> {
    configuration: String,
    spec: &'a Value,
    name: String,
}

impl Hook<'_> {
    fn failure_ignored(&self) -> bool {
        self.spec.get("failurePolicy").and_then(Value::as_str) == Some("Ignore")
    }

    fn reinvoke_if_needed(&self) -> bool {
        self.spec.get("reinvocationPolicy").and_then(Value::as_str) == Some("IfNeeded")
    }

    fn timeout_seconds(&self) -> u64 {
        self.spec
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS)
    }
}

/// Runs every matching mutating webhook over `input.object`; returns the (patched) object.
pub async fn run_mutating_webhooks(
    ctx: &AdmissionContext,
    configs: &[Value],
    input: AdmissionInput,
) -> Result<Value, AdmissionError> {
    let hooks = ordered_hooks(configs);
    let mut object = input.object.clone();
    // Namespace labels are looked up once, and only if some webhook has a namespaceSelector.
    let mut namespace_labels: Option<Labels> = None;
    // IfNeeded webhooks that ran, with the object as they left it.
    let mut reinvocation_candidates: Vec<(usize, Value)> = Vec::new();

    for (index, hook) in hooks.iter().enumerate() {
        if !hook_matches(ctx, hook, &input, &object, &mut namespace_labels)? {
            continue;
        }
        call_hook(ctx, hook, &input, &mut object, 0).await?;
        if hook.reinvoke_if_needed() {
            reinvocation_candidates.push((index, object.clone()));
        }
    }

    // Reinvoke (once) the IfNeeded webhooks whose output a later webhook changed.
    for (index, left_behind) in reinvocation_candidates {
        if object == left_behind {
            continue;
        }
        let hook = &hooks[index];
        if hook_matches(ctx, hook, &input, &object, &mut namespace_labels)? {
            call_hook(ctx, hook, &input, &mut object, 1).await?;
        }
    }
    Ok(object)
}

fn ordered_hooks(configs: &[Value]) -> Vec<Hook<'_>> {
    let mut configs: Vec<(&str, &Value)> = configs
        .iter()
        .map(|c| {
            let name = c
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (name, c)
        })
        .collect();
    configs.sort_by(|a, b| a.0.cmp(b.0));
    configs
        .into_iter()
        .flat_map(|(configuration, config)| {
            config
                .get("webhooks")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(move |spec| Hook {
                    configuration: configuration.to_string(),
                    spec,
                    name: spec
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
        })
        .collect()
}

fn hook_matches(
    ctx: &AdmissionContext,
    hook: &Hook<'_>,
    input: &AdmissionInput,
    object: &Value,
    namespace_labels: &mut Option<Labels>,
) -> Result<bool, AdmissionError> {
    if !rules_match(hook.spec, input) {
        return Ok(false);
    }
    let invalid = |what: &str, e: String| {
        AdmissionError::internal(format!("webhook {:?}: invalid {what}: {e}", hook.name))
    };
    let namespace_selector = hook.spec.get("namespaceSelector");
    let namespace_ok = if input.is_namespace_object() {
        // A Namespace is matched on its own labels.
        let own = if object.is_null() {
            input.old_object.as_ref().unwrap_or(object)
        } else {
            object
        };
        let mut labels = labels_of(own);
        labels
            .entry(NAMESPACE_NAME_LABEL.to_string())
            .or_insert_with(|| input.name.clone());
        selector_matches(namespace_selector, &labels)
    } else if input.namespace.is_empty() {
        // Other cluster-scoped objects are never skipped by a namespaceSelector.
        Ok(true)
    } else {
        let labels = namespace_labels.get_or_insert_with(|| ctx.namespace_labels(&input.namespace));
        selector_matches(namespace_selector, labels)
    }
    .map_err(|e| invalid("namespaceSelector", e))?;
    if !namespace_ok {
        return Ok(false);
    }
    object_selector_matches(hook.spec, object, input).map_err(|e| invalid("objectSelector", e))
}

/// Calls one webhook and applies its answer to `object`.
async fn call_hook(
    ctx: &AdmissionContext,
    hook: &Hook<'_>,
    input: &AdmissionInput,
    object: &mut Value,
    round: u8,
) -> Result<(), AdmissionError> {
    if input.dry_run && !supports_dry_run(hook.spec) {
        return Err(AdmissionError {
            code: 400,
            reason: "BadRequest".to_string(),
            message: format!("admission webhook {:?} does not support dry run", hook.name),
        });
    }
    let uid = request_uid();
    let review = admission_review(input, object, &uid);
    let timeout_seconds = hook.timeout_seconds();
    let mut call = WebhookCall {
        configuration: hook.configuration.clone(),
        webhook: hook.name.clone(),
        round,
        url: String::new(),
        review: review.clone(),
        outcome: CallOutcome::Allowed { patched: false },
        warnings: Vec::new(),
    };

    let answer = async {
        if !accepts_v1_review(hook.spec) {
            return Err(
                "webhook does not accept v1 AdmissionReview (admissionReviewVersions)".to_string(),
            );
        }
        let client_config = hook.spec.get("clientConfig").unwrap_or(&Value::Null);
        let endpoint = Endpoint::from_client_config(ctx, client_config, timeout_seconds)?;
        call.url = endpoint.url.clone();
        let body = serde_json::to_vec(&review).map_err(|e| e.to_string())?;
        let sent =
            tokio::time::timeout(Duration::from_secs(timeout_seconds), endpoint.post(body)).await;
        let post_error = |e: String| format!("Post {:?}: {e}", endpoint.url);
        let (status, body) = match sent {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return Err(post_error(e)),
            Err(_) => return Err(post_error("context deadline exceeded".to_string())),
        };
        if status != 200 {
            return Err(format!(
                "expected 200 from {:?}, got {status}: {}",
                endpoint.url,
                String::from_utf8_lossy(&body)
            ));
        }
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("received invalid webhook response: {e}"))?;
        read_response(&answer, &uid)
    }
    .await;

    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            let ignored = hook.failure_ignored();
            call.outcome = CallOutcome::Failed {
                error: error.clone(),
                ignored,
            };
            ctx.log.push(call);
            if ignored {
                return Ok(());
            }
            return Err(AdmissionError::internal(format!(
                "failed calling webhook {:?}: failed to call webhook: {error}",
                hook.name
            )));
        }
    };
    call.warnings = response.warnings;

    if !response.allowed {
        let error = denial(&hook.name, response.status.as_ref());
        call.outcome = CallOutcome::Denied {
            message: error.message.clone(),
        };
        ctx.log.push(call);
        return Err(error);
    }

    let patched = match response.patch {
        None => false,
        Some(patch) => {
            let patched = apply_patch(object, patch).map_err(|e| {
                AdmissionError::internal(format!(
                    "admission webhook {:?} returned a patch that cannot be applied: {e}",
                    hook.name
                ))
            });
            match patched {
                Ok(()) => true,
                Err(error) => {
                    call.outcome = CallOutcome::Failed {
                        error: error.message.clone(),
                        ignored: false,
                    };
                    ctx.log.push(call);
                    return Err(error);
                }
            }
        }
    };
    call.outcome = CallOutcome::Allowed { patched };
    ctx.log.push(call);
    Ok(())
}

fn supports_dry_run(spec: &Value) -> bool {
    matches!(
        spec.get("sideEffects").and_then(Value::as_str),
        Some("None") | Some("NoneOnDryRun")
    )
}

fn accepts_v1_review(spec: &Value) -> bool {
    spec.get("admissionReviewVersions")
        .and_then(Value::as_array)
        .is_some_and(|versions| versions.iter().any(|v| v.as_str() == Some("v1")))
}

/// The `admission.k8s.io/v1` AdmissionReview for one call.
fn admission_review(input: &AdmissionInput, object: &Value, uid: &str) -> Value {
    let kind = json!({
        "group": input.kind.group,
        "version": input.kind.version,
        "kind": input.kind.kind,
    });
    let resource = json!({
        "group": input.resource.group,
        "version": input.resource.version,
        "resource": input.resource.resource,
    });
    let options_kind = match input.operation {
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
        Operation::Delete => "DeleteOptions",
        Operation::Connect => "",
    };
    let mut request = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": input.name,
        "operation": input.operation.as_str(),
        "userInfo": input.user_info,
        "object": object,
        "oldObject": input.old_object.clone().unwrap_or(Value::Null),
        "dryRun": input.dry_run,
    });
    if !input.resource.subresource.is_empty() {
        request["subResource"] = json!(input.resource.subresource);
        request["requestSubResource"] = json!(input.resource.subresource);
    }
    if !input.namespace.is_empty() {
        request["namespace"] = json!(input.namespace);
    }
    if !options_kind.is_empty() {
        let mut options = json!({"apiVersion": "meta.k8s.io/v1", "kind": options_kind});
        if input.dry_run {
            options["dryRun"] = json!(["All"]);
        }
        request["options"] = options;
    }
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": request,
    })
}

#[derive(Debug)]
struct ReviewResponse {
    allowed: bool,
    status: Option<Value>,
    patch: Option<json_patch::Patch>,
    warnings: Vec<String>,
}

/// Validates a webhook's AdmissionReview answer as the API server does.
fn read_response(answer: &Value, uid: &str) -> Result<ReviewResponse, String> {
    if answer.get("apiVersion").and_then(Value::as_str) != Some("admission.k8s.io/v1")
        || answer.get("kind").and_then(Value::as_str) != Some("AdmissionReview")
    {
        return Err(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview".to_string(),
        );
    }
    let response = answer
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("webhook response was absent")?;
    let got_uid = response.get("uid").and_then(Value::as_str).unwrap_or("");
    if got_uid != uid {
        return Err(format!("expected response.uid={uid:?}, got {got_uid:?}"));
    }
    let allowed = response
        .get("allowed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let patch_type = response.get("patchType").and_then(Value::as_str);
    let patch = match response.get("patch").and_then(Value::as_str) {
        None | Some("") => None,
        Some(encoded) => {
            if patch_type != Some("JSONPatch") {
                return Err(format!(
                    "expected patchType JSONPatch, got {:?}",
                    patch_type.unwrap_or("")
                ));
            }
            let bytes = BASE64
                .decode(encoded)
                .map_err(|e| format!("patch is not base64: {e}"))?;
            Some(serde_json::from_slice(&bytes).map_err(|e| format!("invalid JSONPatch: {e}"))?)
        }
    };
    let warnings = response
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(ReviewResponse {
        allowed,
        status: response.get("status").cloned(),
        patch,
        warnings,
    })
}

fn apply_patch(object: &mut Value, patch: json_patch::Patch) -> Result<(), String> {
    // Patch a copy: a failing operation must leave the object as it was.
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &patch).map_err(|e| e.to_string())?;
    *object = patched;
    Ok(())
}

/// The error for `allowed: false` (`webhookerrors.ToStatusErr`).
fn denial(webhook: &str, status: Option<&Value>) -> AdmissionError {
    let field = |name: &str| {
        status
            .and_then(|s| s.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let code = status
        .and_then(|s| s.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(400);
    let (message, reason) = (field("message"), field("reason"));
    let denied_by = format!("admission webhook {webhook:?} denied the request");
    let message = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    AdmissionError {
        code,
        reason,
        message,
    }
}

/// A random RFC 4122 version-4 style UID.
fn request_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = std::collections::hash_map::RandomState::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let a = state.hash_one(n);
    let b = state.hash_one(a ^ 0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_messages_follow_the_api_server() {
        let e = denial(
            "inject.meshctl.io",
            Some(&json!({"message": "no", "code": 403})),
        );
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "admission webhook \"inject.meshctl.io\" denied the request: no"
        );
        let e = denial("w", None);
        assert_eq!(e.code, 400);
        assert!(e.message.ends_with("without explanation"));
        let e = denial("w", Some(&json!({"code": 200, "reason": "Nope"})));
        assert_eq!((e.code, e.reason.as_str()), (400, "Nope"));
    }

    #[test]
    fn uids_look_like_uuids_and_differ() {
        let (a, b) = (request_uid(), request_uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn response_validation() {
        let ok = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u", "allowed": true}});
        assert!(read_response(&ok, "u").unwrap().allowed);
        assert!(read_response(&ok, "other").unwrap_err().contains("uid"));
        let mut bad_patch = ok.clone();
        bad_patch["response"]["patch"] = json!(BASE64.encode("[]"));
        bad_patch["response"]["patchType"] = json!("Merge");
        assert!(
            read_response(&bad_patch, "u")
                .unwrap_err()
                .contains("patchType")
        );
        let v1beta1 = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
            "response": {"uid": "u", "allowed": true}});
        assert!(read_response(&v1beta1, "u").is_err());
    }

    #[test]
    fn review_shape() {
        let mut input = AdmissionInput::create(
            GroupVersionResource::new("", "v1", "pods"),
            "demo",
            json!({"kind": "Pod", "metadata": {"name": "p"}}),
        );
        input.dry_run = true;
        let review = admission_review(&input, &input.object, "uid-1");
        let request = &review["request"];
        assert_eq!(request["uid"], "uid-1");
        assert_eq!(
            request["kind"],
            json!({"group": "", "version": "v1", "kind": "Pod"})
        );
        assert_eq!(request["namespace"], "demo");
        assert_eq!(request["operation"], "CREATE");
        assert_eq!(request["options"]["kind"], "CreateOptions");
        assert_eq!(request["options"]["dryRun"], json!(["All"]));
        assert_eq!(request["oldObject"], Value::Null);
    }
}
