//! control-plane: the mesh namespace and config, the injector's rollout and pods, and the
//! MutatingWebhookConfiguration: its caBundle verifies the certificate the webhook really serves,
//! which is not about to expire, and the webhook answers a dry-run AdmissionReview.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;
use kube::api::ListParams;
use serde_json::json;

use super::admin;
use super::certs::{self, CertVerdict};
use super::cluster::REACHABLE;
use super::{CONTROL_PLANE, Check, Context, Verdict, describe_kube_error, is_not_found};
use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, MeshConfig};

pub const NAMESPACE: &str = "control-plane.namespace";
pub const CONFIG: &str = "control-plane.config";
pub const VERSION: &str = "control-plane.version";
pub const INJECTOR_ROLLOUT: &str = "control-plane.injector-rollout";
pub const INJECTOR_PODS: &str = "control-plane.injector-pods";
pub const WEBHOOK_CONFIG: &str = "control-plane.webhook-config";
pub const WEBHOOK_CERT: &str = "control-plane.webhook-certificate";
pub const WEBHOOK_ADMISSION: &str = "control-plane.webhook-admission";

/// Names `meshctl install` gives the injector's objects.
pub const INJECTOR: &str = crate::render::names::INJECTOR;

const INSTALL_HINT: &str = "install the control plane: meshctl install --apply --wait";

/// Where the API server sends AdmissionReviews, from the MutatingWebhookConfiguration.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub service_namespace: String,
    pub service_name: String,
    pub service_port: i32,
    pub path: String,
    pub ca_bundle: Vec<u8>,
}

impl WebhookTarget {
    /// The name the API server checks the serving certificate against.
    pub fn server_name(&self) -> String {
        format!("{}.{}.svc", self.service_name, self.service_namespace)
    }
}

pub fn checks(mesh_namespace: &str) -> Vec<Check> {
    let install_hint = INSTALL_HINT;
    vec![
        Check::new(CONTROL_PLANE, NAMESPACE, "mesh namespace exists", namespace)
            .requires(REACHABLE)
            .retryable()
            .hint(install_hint),
        Check::new(CONTROL_PLANE, CONFIG, "mesh config exists and parses", config)
            .requires(NAMESPACE)
            .retryable()
            .hint("re-apply the control plane (meshctl install --apply) to restore meshctl-config"),
        Check::new(CONTROL_PLANE, VERSION, "control plane version matches the CLI", version)
            .requires(CONFIG)
            .hint("upgrade the control plane with this CLI (meshctl install --apply), or use the matching CLI"),
        Check::new(CONTROL_PLANE, INJECTOR_ROLLOUT, "injector deployment rolled out", rollout)
            .requires(NAMESPACE)
            .retryable()
            .hint(format!("kubectl -n {mesh_namespace} rollout status deployment/{INJECTOR}; kubectl -n {mesh_namespace} describe deployment/{INJECTOR} for events")),
        Check::new(CONTROL_PLANE, INJECTOR_PODS, "injector pods ready", injector_pods)
            .requires(NAMESPACE)
            .retryable()
            .hint(format!("kubectl -n {mesh_namespace} describe pods -l app.kubernetes.io/name={INJECTOR}; kubectl -n {mesh_namespace} logs deployment/{INJECTOR}")),
        Check::new(
            CONTROL_PLANE,
            WEBHOOK_CONFIG,
            "injector webhook configuration present with a caBundle",
            webhook_config,
        )
        .requires(REACHABLE)
        .retryable()
        .hint(format!("the injector patches its caBundle at start-up: kubectl -n {mesh_namespace} logs deployment/{INJECTOR}")),
        Check::new(
            CONTROL_PLANE,
            WEBHOOK_CERT,
            "caBundle verifies the webhook's serving certificate",
            webhook_certificate,
        )
        .requires(WEBHOOK_CONFIG)
        .requires(INJECTOR_PODS)
        .retryable()
        .hint("restart the injector (kubectl rollout restart) so it re-issues its certificate and caBundle; with cert-manager, check the Certificate"),
        Check::new(
            CONTROL_PLANE,
            WEBHOOK_ADMISSION,
            "webhook answers a dry-run AdmissionReview",
            webhook_admission,
        )
        .requires(WEBHOOK_CERT)
        .retryable()
        .hint(format!("kubectl -n {mesh_namespace} logs deployment/{INJECTOR}")),
    ]
}

fn mesh_ns(ctx: &Context) -> &str {
    &ctx.options.mesh_namespace
}

async fn namespace(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    match Api::<Namespace>::all(client).get(mesh_ns(&ctx)).await {
        Ok(_) => Verdict::ok(mesh_ns(&ctx).to_string()),
        Err(err) if is_not_found(&err) => {
            Verdict::error(format!("namespace {} not found", mesh_ns(&ctx)))
        }
        Err(err) => Verdict::error(describe_kube_error(&err)),
    }
}

async fn config(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let source = format!("configmap/{CONFIG_MAP_NAME} in {}", mesh_ns(&ctx));
    let map = match Api::<ConfigMap>::namespaced(client, mesh_ns(&ctx))
        .get(CONFIG_MAP_NAME)
        .await
    {
        Ok(map) => map,
        Err(err) if is_not_found(&err) => {
            return Verdict::error(format!("{source} not found")).with_hint(INSTALL_HINT);
        }
        Err(err) => return Verdict::error(describe_kube_error(&err)),
    };
    let Some(text) = map.data.as_ref().and_then(|d| d.get(CONFIG_MAP_KEY)) else {
        return Verdict::error(format!("{source} has no key {CONFIG_MAP_KEY}"));
    };
    match MeshConfig::from_yaml(&format!("{source}, key {CONFIG_MAP_KEY}"), text) {
        Ok(config) => {
            let message = format!("version {}, proxy {}", config.version, config.proxy.image);
            let _ = ctx.mesh_config.set(config);
            Verdict::ok(message)
        }
        Err(err) => Verdict::error(err.to_string()),
    }
}

/// Compares the control plane's version with the CLI's: a warning on any difference.
pub fn judge_version_skew(control_plane: &str, cli: &str) -> Verdict {
    let normalise = |v: &str| v.trim().trim_start_matches('v').to_string();
    if normalise(control_plane) == normalise(cli) {
        Verdict::ok(format!("both {}", normalise(cli)))
    } else {
        Verdict::warning(format!(
            "control plane {}, CLI {}",
            normalise(control_plane),
            normalise(cli)
        ))
    }
}

async fn version(ctx: Arc<Context>) -> Verdict {
    match ctx.mesh_config.get() {
        Some(config) => judge_version_skew(&config.version, crate::VERSION),
        None => Verdict::error("internal error: no mesh config"),
    }
}

/// Whether a Deployment finished rolling out, as `kubectl rollout status` decides it.
pub fn judge_rollout(deployment: &Deployment) -> Verdict {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = &deployment.status else {
        return Verdict::error(format!("deployment/{name} has no status yet"));
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Verdict::error(format!(
            "deployment/{name}: the controller has not seen the latest spec yet"
        ));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        return Verdict::error(format!(
            "deployment/{name}: {updated} of {wanted} replicas updated"
        ));
    }
    if total > updated {
        return Verdict::error(format!(
            "deployment/{name}: {} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return Verdict::error(format!(
            "deployment/{name}: {available} of {updated} updated replicas available"
        ));
    }
    Verdict::ok(format!("{available}/{wanted} replicas available"))
}

async fn injector_deployment(ctx: &Context) -> Result<Deployment, Verdict> {
    let client = ctx.client().map_err(Verdict::error)?;
    match Api::<Deployment>::namespaced(client, mesh_ns(ctx))
        .get(INJECTOR)
        .await
    {
        Ok(d) => Ok(d),
        Err(err) if is_not_found(&err) => Err(Verdict::error(format!(
            "deployment/{INJECTOR} not found in {}",
            mesh_ns(ctx)
        ))
        .with_hint(INSTALL_HINT)),
        Err(err) => Err(Verdict::error(describe_kube_error(&err))),
    }
}

async fn rollout(ctx: Arc<Context>) -> Verdict {
    match injector_deployment(&ctx).await {
        Ok(deployment) => judge_rollout(&deployment),
        Err(verdict) => verdict,
    }
}

/// A label selector string from matchLabels (`a=b,c=d`).
fn selector_string(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Why a pod is not ready, from its Ready condition (`ContainersNotReady: ...`), or None if ready.
pub fn pod_unready_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready {
        Some(condition) if condition.status == "True" => None,
        Some(condition) => {
            let mut reason = condition
                .reason
                .clone()
                .unwrap_or_else(|| "NotReady".into());
            if let Some(message) = condition.message.as_ref().filter(|m| !m.is_empty()) {
                reason = format!("{reason}: {message}");
            }
            Some(reason)
        }
        None if phase.is_empty() => Some("no status yet".to_string()),
        None => Some(format!("phase {phase}, no Ready condition")),
    }
}

/// Judges a set of pods: all ready, and at least one.
pub fn judge_pods_ready(pods: &[Pod], what: &str) -> Verdict {
    if pods.is_empty() {
        return Verdict::error(format!("no {what} pods found"));
    }
    let unready: Vec<String> = pods
        .iter()
        .filter_map(|p| {
            pod_unready_reason(p)
                .map(|why| format!("{} ({why})", p.metadata.name.clone().unwrap_or_default()))
        })
        .collect();
    if unready.is_empty() {
        Verdict::ok(format!("{} of {} ready", pods.len(), pods.len()))
    } else {
        Verdict::error(format!(
            "{} of {} ready; not ready: {}",
            pods.len() - unready.len(),
            pods.len(),
            unready.join(", ")
        ))
    }
}

async fn injector_pods(ctx: Arc<Context>) -> Verdict {
    let deployment = match injector_deployment(&ctx).await {
        Ok(d) => d,
        Err(verdict) => return verdict,
    };
    let Some(labels) = deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .filter(|l| !l.is_empty())
    else {
        return Verdict::error(format!("deployment/{INJECTOR} has no matchLabels selector"));
    };
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let params = ListParams::default().labels(&selector_string(labels));
    match Api::<Pod>::namespaced(client, mesh_ns(&ctx))
        .list(&params)
        .await
    {
        Ok(list) => judge_pods_ready(&list.items, "injector"),
        Err(err) => Verdict::error(describe_kube_error(&err)),
    }
}

/// Reads the target of the (first) webhook in the configuration.
pub fn webhook_target(config: &MutatingWebhookConfiguration) -> Result<WebhookTarget, String> {
    let name = config.metadata.name.clone().unwrap_or_default();
    let webhook = config
        .webhooks
        .as_ref()
        .and_then(|w| w.first())
        .ok_or_else(|| format!("mutatingwebhookconfiguration/{name} has no webhooks"))?;
    let service = webhook.client_config.service.as_ref().ok_or_else(|| {
        format!(
            "webhook {} calls a URL, not the injector Service",
            webhook.name
        )
    })?;
    let ca_bundle = webhook
        .client_config
        .ca_bundle
        .as_ref()
        .map(|b| b.0.clone())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("webhook {} has an empty caBundle", webhook.name))?;
    Ok(WebhookTarget {
        service_namespace: service.namespace.clone(),
        service_name: service.name.clone(),
        service_port: service.port.unwrap_or(443),
        path: service.path.clone().unwrap_or_else(|| "/".to_string()),
        ca_bundle,
    })
}

async fn webhook_config(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let config = match Api::<MutatingWebhookConfiguration>::all(client)
        .get(INJECTOR)
        .await
    {
        Ok(c) => c,
        Err(err) if is_not_found(&err) => {
            return Verdict::error(format!("mutatingwebhookconfiguration/{INJECTOR} not found"))
                .with_hint(INSTALL_HINT);
        }
        Err(err) => return Verdict::error(describe_kube_error(&err)),
    };
    let target = match webhook_target(&config) {
        Ok(t) => t,
        Err(e) => return Verdict::error(e),
    };
    if let Err(e) = certs::roots_from_bundle(&target.ca_bundle) {
        return Verdict::error(e);
    }
    let message = format!(
        "calls service {}/{}:{}{}",
        target.service_namespace, target.service_name, target.service_port, target.path
    );
    let _ = ctx.webhook.set(target);
    Verdict::ok(message)
}

/// A ready pod behind the webhook Service and the pod port its Service port leads to.
async fn webhook_endpoint(ctx: &Context, target: &WebhookTarget) -> Result<(String, u16), String> {
    let client = ctx.client()?;
    let service = Api::<Service>::namespaced(client.clone(), &target.service_namespace)
        .get(&target.service_name)
        .await
        .map_err(|e| {
            format!(
                "service {}/{}: {}",
                target.service_namespace,
                target.service_name,
                describe_kube_error(&e)
            )
        })?;
    let spec = service.spec.unwrap_or_default();
    let port = spec
        .ports
        .iter()
        .flatten()
        .find(|p| p.port == target.service_port)
        .ok_or_else(|| {
            format!(
                "service {} has no port {}",
                target.service_name, target.service_port
            )
        })?;
    let selector = spec
        .selector
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("service {} has no selector", target.service_name))?;
    let pods = Api::<Pod>::namespaced(client, &target.service_namespace)
        .list(&ListParams::default().labels(&selector_string(&selector)))
        .await
        .map_err(|e| describe_kube_error(&e))?;
    let pod = pods
        .items
        .into_iter()
        .find(|p| pod_unready_reason(p).is_none())
        .ok_or_else(|| format!("no ready pod behind service {}", target.service_name))?;
    let pod_port = match &port.target_port {
        None => port.port,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(name)) => pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port)
            .ok_or_else(|| format!("no container port named {name} in the injector pod"))?,
    };
    let pod_port = u16::try_from(pod_port).map_err(|_| format!("bad port {pod_port}"))?;
    Ok((pod.metadata.name.unwrap_or_default(), pod_port))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Turns the certificate judgement into a verdict.
pub fn cert_verdict(verdict: CertVerdict, server_name: &str, now: u64) -> Verdict {
    match verdict {
        CertVerdict::Valid { not_after } => Verdict::ok(match not_after {
            Some(t) => format!(
                "valid for {server_name}, expires {} ({})",
                certs::format_time(t),
                certs::relative_days(t, now)
            ),
            None => format!("valid for {server_name}"),
        }),
        CertVerdict::ExpiringSoon { not_after } => Verdict::warning(format!(
            "expires {} ({}), within 30 days",
            certs::format_time(not_after),
            certs::relative_days(not_after, now)
        )),
        CertVerdict::Expired { not_after } => Verdict::error(match not_after {
            Some(t) => format!(
                "expired {} ({})",
                certs::format_time(t),
                certs::relative_days(t, now)
            ),
            None => "the serving certificate has expired".to_string(),
        }),
        CertVerdict::Untrusted(why) => Verdict::error(format!(
            "the caBundle does not verify the serving certificate for {server_name}: {why}"
        )),
    }
}

async fn webhook_certificate(ctx: Arc<Context>) -> Verdict {
    let Some(target) = ctx.webhook.get().cloned() else {
        return Verdict::error("internal error: no webhook target");
    };
    let (pod, port) = match webhook_endpoint(&ctx, &target).await {
        Ok(e) => e,
        Err(e) => return Verdict::error(e),
    };
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let stream = match crate::kube::portforward::open(
        &client,
        &target.service_namespace,
        &pod,
        port,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return Verdict::error(e.to_string()),
    };
    let capture = admin::CaptureChain::new();
    let server_name = target.server_name();
    if let Err(e) = admin::tls_connect(stream, &server_name, capture.clone()).await {
        return Verdict::error(format!("pod {pod} port {port}: {e}"));
    }
    let now = now_secs();
    let judged = certs::judge(&target.ca_bundle, &capture.captured(), &server_name, now);
    cert_verdict(judged, &server_name, now)
}

/// The AdmissionReview `check` sends: a minimal pod, dry run, so nothing is persisted.
pub fn sample_review(uid: &str) -> serde_json::Value {
    let gvk = json!({"group": "", "version": "v1", "kind": "Pod"});
    let gvr = json!({"group": "", "version": "v1", "resource": "pods"});
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": "meshctl-check",
            "namespace": "default",
            "operation": "CREATE",
            "userInfo": {"username": "meshctl-check"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "meshctl-check", "namespace": "default"},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}
            },
            "oldObject": null,
            "dryRun": true,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

/// Judges the webhook's answer to [`sample_review`].
pub fn judge_admission_response(status: u16, body: &[u8], uid: &str) -> Verdict {
    if status != 200 {
        let text = String::from_utf8_lossy(body);
        return Verdict::error(format!("HTTP {status}: {}", text.trim()));
    }
    let review: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Verdict::error(format!("the answer is not JSON: {e}")),
    };
    let Some(response) = review.get("response") else {
        return Verdict::error("the AdmissionReview answer has no response");
    };
    if response.get("uid").and_then(|u| u.as_str()) != Some(uid) {
        return Verdict::error("the response's uid does not match the request's");
    }
    if response.get("allowed").and_then(|a| a.as_bool()) != Some(true) {
        let why = response
            .pointer("/status/message")
            .and_then(|m| m.as_str())
            .unwrap_or("no reason given");
        return Verdict::error(format!("the webhook denied a sample pod: {why}"));
    }
    if response.get("patch").is_some_and(|p| !p.is_null()) {
        Verdict::ok("allowed a sample pod with a patch")
    } else {
        let warnings = response
            .get("warnings")
            .and_then(|w| w.as_array())
            .map(|w| {
                w.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        if warnings.is_empty() {
            Verdict::warning("allowed a sample pod without injecting it")
        } else {
            Verdict::warning(format!(
                "allowed a sample pod without injecting it: {warnings}"
            ))
        }
    }
}

async fn webhook_admission(ctx: Arc<Context>) -> Verdict {
    let Some(target) = ctx.webhook.get().cloned() else {
        return Verdict::error("internal error: no webhook target");
    };
    let (pod, port) = match webhook_endpoint(&ctx, &target).await {
        Ok(e) => e,
        Err(e) => return Verdict::error(e),
    };
    let verifier = match certs::verifier(&target.ca_bundle) {
        Ok(v) => v,
        Err(e) => return Verdict::error(e),
    };
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let stream = match crate::kube::portforward::open(
        &client,
        &target.service_namespace,
        &pod,
        port,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return Verdict::error(e.to_string()),
    };
    let tls = match admin::tls_connect(stream, &target.server_name(), verifier).await {
        Ok(t) => t,
        Err(e) => return Verdict::error(e.to_string()),
    };
    let uid = format!("meshctl-check-{}", now_secs());
    let body = serde_json::to_vec(&sample_review(&uid)).unwrap_or_default();
    let path = format!("{}?timeout=10s", target.path);
    match admin::request(tls, "POST", &path, Some("application/json"), body).await {
        Ok(response) => judge_admission_response(response.status, &response.body, &uid),
        Err(e) => Verdict::error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::CheckResult;
    use serde_json::json;

    fn deployment(value: serde_json::Value) -> Deployment {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn rollout_is_judged_like_kubectl_rollout_status() {
        let done = deployment(json!({
            "metadata": {"name": "meshctl-injector", "generation": 2},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
        }));
        assert_eq!(judge_rollout(&done).result, CheckResult::Ok);

        let stale = deployment(json!({
            "metadata": {"name": "meshctl-injector", "generation": 3},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
        }));
        assert!(
            judge_rollout(&stale)
                .message
                .contains("not seen the latest spec")
        );

        let unavailable = deployment(json!({
            "metadata": {"name": "meshctl-injector", "generation": 1},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}
        }));
        let verdict = judge_rollout(&unavailable);
        assert_eq!(verdict.result, CheckResult::Error);
        assert!(
            verdict
                .message
                .contains("0 of 1 updated replicas available"),
            "{}",
            verdict.message
        );

        let old_left = deployment(json!({
            "metadata": {"name": "meshctl-injector", "generation": 1},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1}
        }));
        assert!(judge_rollout(&old_left).message.contains("old replicas"));
    }

    fn pod(name: &str, ready: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": ready, "reason": if ready == "True" { "" } else { "ContainersNotReady" }}
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn pods_must_all_be_ready_and_exist() {
        assert_eq!(judge_pods_ready(&[], "injector").result, CheckResult::Error);
        assert_eq!(
            judge_pods_ready(&[pod("a", "True"), pod("b", "True")], "injector").message,
            "2 of 2 ready"
        );
        let verdict = judge_pods_ready(&[pod("a", "True"), pod("b", "False")], "injector");
        assert_eq!(verdict.result, CheckResult::Error);
        assert_eq!(
            verdict.message,
            "1 of 2 ready; not ready: b (ContainersNotReady)"
        );
    }

    #[test]
    fn version_skew_is_a_warning() {
        assert_eq!(judge_version_skew("0.1.0", "0.1.0").result, CheckResult::Ok);
        assert_eq!(
            judge_version_skew("v0.1.0", "0.1.0").result,
            CheckResult::Ok
        );
        let skew = judge_version_skew("0.0.9", "0.1.0");
        assert_eq!(skew.result, CheckResult::Warning);
        assert_eq!(skew.message, "control plane 0.0.9, CLI 0.1.0");
    }

    #[test]
    fn webhook_target_needs_a_service_and_a_ca_bundle() {
        let config: MutatingWebhookConfiguration = serde_json::from_value(json!({
            "metadata": {"name": "meshctl-injector"},
            "webhooks": [{
                "name": "inject.meshctl.io",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "clientConfig": {
                    "service": {"namespace": "meshctl-system", "name": "meshctl-injector", "path": "/inject"},
                    "caBundle": "LS0tLS1CRUdJTg=="
                }
            }]
        }))
        .unwrap();
        let target = webhook_target(&config).unwrap();
        assert_eq!(target.service_port, 443);
        assert_eq!(target.path, "/inject");
        assert_eq!(target.server_name(), "meshctl-injector.meshctl-system.svc");
        assert_eq!(target.ca_bundle, b"-----BEGIN");

        let mut empty = config.clone();
        empty.webhooks.as_mut().unwrap()[0].client_config.ca_bundle = None;
        assert!(
            webhook_target(&empty)
                .unwrap_err()
                .contains("empty caBundle")
        );
    }

    #[test]
    fn admission_answers_are_judged() {
        let uid = "u1";
        let injected = json!({"response": {"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": "W10="}});
        assert_eq!(
            judge_admission_response(200, injected.to_string().as_bytes(), uid).result,
            CheckResult::Ok
        );
        let wrong_uid = json!({"response": {"uid": "other", "allowed": true}});
        assert_eq!(
            judge_admission_response(200, wrong_uid.to_string().as_bytes(), uid).result,
            CheckResult::Error
        );
        let denied =
            json!({"response": {"uid": uid, "allowed": false, "status": {"message": "no"}}});
        assert!(
            judge_admission_response(200, denied.to_string().as_bytes(), uid)
                .message
                .contains("denied a sample pod: no")
        );
        let untouched =
            json!({"response": {"uid": uid, "allowed": true, "warnings": ["engine failed"]}});
        let verdict = judge_admission_response(200, untouched.to_string().as_bytes(), uid);
        assert_eq!(verdict.result, CheckResult::Warning);
        assert!(verdict.message.contains("engine failed"));
        assert!(
            judge_admission_response(500, b"boom", uid)
                .message
                .contains("HTTP 500: boom")
        );
        assert_eq!(sample_review(uid)["request"]["dryRun"], true);
    }

    #[test]
    fn certificate_verdicts_read_well() {
        let now = 1_800_000_000;
        let valid = cert_verdict(
            CertVerdict::Valid {
                not_after: Some(now + 90 * 86400),
            },
            "x.svc",
            now,
        );
        assert_eq!(valid.result, CheckResult::Ok);
        assert!(valid.message.contains("in 90 days"), "{}", valid.message);
        let soon = cert_verdict(
            CertVerdict::ExpiringSoon {
                not_after: now + 5 * 86400,
            },
            "x.svc",
            now,
        );
        assert_eq!(soon.result, CheckResult::Warning);
        let expired = cert_verdict(
            CertVerdict::Expired {
                not_after: Some(now - 86400),
            },
            "x.svc",
            now,
        );
        assert_eq!(expired.result, CheckResult::Error);
        assert!(expired.message.contains("1 day ago"));
        let untrusted = cert_verdict(CertVerdict::Untrusted("UnknownIssuer".into()), "x.svc", now);
        assert!(untrusted.message.contains("does not verify"));
    }
}
