//! data-plane (`--proxy`): every meshed pod's sidecar is ready, its admin answers over a
//! port-forward, `/ready` is LIVE, it runs the configured Envoy version, and it was injected by
//! this meshctl version; pods in injection-enabled namespaces without a proxy are flagged.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::ListParams;

use super::cluster::REACHABLE;
use super::control_plane::CONFIG;
use super::pre_install::summarise_list;
use super::{Check, Context, DATA_PLANE, Verdict, describe_kube_error};
use crate::config::{INJECT_LABEL, PROXY_CONTAINER, STATUS_ANNOTATION};
use crate::proxy::admin::{AdminEndpoint, AdminError};

pub const MESHED_PODS: &str = "data-plane.meshed-pods";
pub const INJECTION_COVERAGE: &str = "data-plane.injection-coverage";
pub const SIDECAR_READY: &str = "data-plane.sidecar-ready";
pub const ADMIN_REACHABLE: &str = "data-plane.admin-reachable";
pub const PROXY_LIVE: &str = "data-plane.proxy-live";
pub const PROXY_VERSION: &str = "data-plane.proxy-version";
pub const STATUS_VERSION: &str = "data-plane.injected-version";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(DATA_PLANE, MESHED_PODS, "meshed pods found", meshed_pods)
            .requires(REACHABLE),
        Check::new(
            DATA_PLANE,
            INJECTION_COVERAGE,
            "pods in injection-enabled namespaces carry the proxy",
            coverage,
        )
        .requires(REACHABLE)
        .hint("these pods started while the injector was unavailable (failurePolicy Ignore): restart them, e.g. kubectl rollout restart"),
    ]
}

/// A pod is meshed when it carries the proxy container, as a native sidecar or a plain container.
pub fn is_meshed(pod: &Pod) -> bool {
    pod.spec.as_ref().is_some_and(|spec| {
        spec.containers.iter().any(|c| c.name == PROXY_CONTAINER)
            || spec
                .init_containers
                .iter()
                .flatten()
                .any(|c| c.name == PROXY_CONTAINER)
    })
}

fn pod_key(pod: &Pod) -> (String, String) {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

fn pods_api(ctx: &Context, client: kube::Client) -> Api<Pod> {
    match &ctx.options.namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

async fn meshed_pods(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let list = match pods_api(&ctx, client).list(&ListParams::default()).await {
        Ok(l) => l,
        Err(err) => return Verdict::error(describe_kube_error(&err)),
    };
    let mut meshed: Vec<(String, String)> = list
        .items
        .iter()
        .filter(|p| is_meshed(p) && !is_finished(p))
        .map(pod_key)
        .collect();
    meshed.sort();
    let scope = match &ctx.options.namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "in any namespace".to_string(),
    };
    let message = match meshed.len() {
        0 => format!("no meshed pods {scope}"),
        1 => format!("1 meshed pod {scope}"),
        n => format!("{n} meshed pods {scope}"),
    };
    let spawn = meshed
        .iter()
        .flat_map(|(ns, name)| pod_checks(ns, name))
        .collect();
    Verdict::ok(message).with_spawn(spawn)
}

/// Succeeded or Failed pods keep their spec but run nothing: not worth checking.
fn is_finished(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

/// The checks for one meshed pod; keys carry the pod so prerequisites stay per pod.
fn pod_checks(namespace: &str, name: &str) -> Vec<Check> {
    let subject = format!("{namespace}/{name}");
    let key = |id: &str| format!("{id}/{subject}");
    let pod = Arc::new((namespace.to_string(), name.to_string()));
    let p1 = Arc::clone(&pod);
    let p2 = Arc::clone(&pod);
    let p3 = Arc::clone(&pod);
    let p4 = Arc::clone(&pod);
    let p5 = Arc::clone(&pod);
    vec![
        Check::new(
            DATA_PLANE,
            SIDECAR_READY,
            format!("{subject}: sidecar ready"),
            move |ctx| sidecar_ready(ctx, Arc::clone(&p1)),
        )
        .key(key(SIDECAR_READY))
        .requires(MESHED_PODS)
        .retryable()
        .hint(format!("kubectl -n {namespace} describe pod {name}; kubectl -n {namespace} logs {name} -c {PROXY_CONTAINER}")),
        Check::new(
            DATA_PLANE,
            ADMIN_REACHABLE,
            format!("{subject}: proxy admin reachable"),
            move |ctx| admin_reachable(ctx, Arc::clone(&p2)),
        )
        .key(key(ADMIN_REACHABLE))
        .requires(key(SIDECAR_READY))
        .retryable()
        .hint("the admin listens on 127.0.0.1 in the pod; check that port-forward works (kubectl port-forward)"),
        Check::new(
            DATA_PLANE,
            PROXY_LIVE,
            format!("{subject}: proxy /ready is LIVE"),
            move |ctx| proxy_live(ctx, Arc::clone(&p3)),
        )
        .key(key(PROXY_LIVE))
        .requires(key(ADMIN_REACHABLE))
        .retryable()
        .hint(format!("the proxy is draining or not initialised: kubectl -n {namespace} logs {name} -c {PROXY_CONTAINER}")),
        Check::new(
            DATA_PLANE,
            PROXY_VERSION,
            format!("{subject}: proxy version as configured"),
            move |ctx| proxy_version(ctx, Arc::clone(&p4)),
        )
        .key(key(PROXY_VERSION))
        .requires(key(ADMIN_REACHABLE))
        .requires(CONFIG)
        .hint("re-inject the workload (kubectl rollout restart) to pick up the configured proxy image"),
        Check::new(
            DATA_PLANE,
            STATUS_VERSION,
            format!("{subject}: injected by this meshctl version"),
            move |ctx| status_version(ctx, Arc::clone(&p5)),
        )
        .key(key(STATUS_VERSION))
        .requires(MESHED_PODS)
        .hint("restart the workload so the current injector re-injects it"),
    ]
}

type PodRef = Arc<(String, String)>;

async fn get_pod(ctx: &Context, pod: &PodRef) -> Result<Pod, Verdict> {
    let client = ctx.client().map_err(Verdict::error)?;
    Api::<Pod>::namespaced(client, &pod.0)
        .get(&pod.1)
        .await
        .map_err(|e| Verdict::error(describe_kube_error(&e)))
}

/// Whether the proxy container is ready, from the pod's container statuses (native sidecars are
/// reported among the init container statuses).
pub fn judge_sidecar_ready(pod: &Pod) -> Verdict {
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(
            status
                .and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten(),
        );
    let Some(sidecar) = statuses.into_iter().find(|s| s.name == PROXY_CONTAINER) else {
        return Verdict::error(format!("{PROXY_CONTAINER} has no status yet"));
    };
    if sidecar.ready {
        return Verdict::ok(format!("{PROXY_CONTAINER} ready"));
    }
    let waiting = sidecar
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.clone());
    let message = match waiting {
        Some(reason) => format!("{PROXY_CONTAINER} not ready ({reason})"),
        None => format!(
            "{PROXY_CONTAINER} not ready ({} restarts)",
            sidecar.restart_count
        ),
    };
    Verdict::error(message)
}

async fn sidecar_ready(ctx: Arc<Context>, pod: PodRef) -> Verdict {
    match get_pod(&ctx, &pod).await {
        Ok(p) => judge_sidecar_ready(&p),
        Err(v) => v,
    }
}

fn admin_port(ctx: &Context) -> u16 {
    ctx.mesh_config
        .get()
        .map(|c| c.proxy.admin_port)
        .unwrap_or(15000)
}

/// GETs an admin path through a port-forward with the shared proxy admin client; a non-2xx answer
/// comes back as its status and body (`/ready` answers 503 DRAINING).
async fn admin_get(ctx: &Context, pod: &PodRef, path: &str) -> Result<(u16, String), String> {
    let client = ctx.client()?;
    let endpoint = AdminEndpoint::PortForward {
        client,
        namespace: pod.0.clone(),
        pod: pod.1.clone(),
        port: admin_port(ctx),
    };
    match endpoint.get(path).await {
        Ok(body) => Ok((200, String::from_utf8_lossy(&body).into_owned())),
        Err(AdminError::Status { status, body, .. }) => Ok((status.as_u16(), body)),
        Err(e) => Err(e.to_string()),
    }
}

/// `/server_info` as far as the checks care.
#[derive(Debug, serde::Deserialize)]
pub struct ServerInfo {
    pub version: String,
    #[serde(default)]
    pub state: String,
}

/// Envoy's version string is `<sha>/<version>/<status>/<build>/<ssl>`; the second field counts.
pub fn envoy_version(full: &str) -> Option<&str> {
    full.split('/').nth(1).filter(|v| !v.is_empty())
}

/// The version an image reference pins by tag (`envoyproxy/envoy:v1.40.0` → `1.40.0`).
pub fn image_version(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':')
        .map(|(_, tag)| tag.trim_start_matches('v'))
        .filter(|t| !t.is_empty())
}

async fn admin_reachable(ctx: Arc<Context>, pod: PodRef) -> Verdict {
    match admin_get(&ctx, &pod, "/server_info").await {
        Ok((200, body)) => match serde_json::from_str::<ServerInfo>(&body) {
            Ok(info) => Verdict::ok(format!(
                "port {}, state {}",
                admin_port(&ctx),
                if info.state.is_empty() {
                    "?"
                } else {
                    &info.state
                }
            )),
            Err(e) => Verdict::error(format!("/server_info is not Envoy's: {e}")),
        },
        Ok((status, _)) => Verdict::error(format!("/server_info answered HTTP {status}")),
        Err(e) => Verdict::error(e),
    }
}

/// `/ready` must say LIVE with 200; DRAINING (503) and the rest are errors.
pub fn judge_ready(status: u16, body: &str) -> Verdict {
    let state = body.trim();
    if status == 200 && state == "LIVE" {
        Verdict::ok("LIVE")
    } else {
        Verdict::error(format!("/ready is {state} (HTTP {status})"))
    }
}

async fn proxy_live(ctx: Arc<Context>, pod: PodRef) -> Verdict {
    match admin_get(&ctx, &pod, "/ready").await {
        Ok((status, body)) => judge_ready(status, &body),
        Err(e) => Verdict::error(e),
    }
}

/// The running Envoy against the pod's proxy image, and that image against the mesh config.
pub fn judge_proxy_version(
    running: &str,
    pod_image: Option<&str>,
    configured_image: &str,
) -> Verdict {
    let Some(running) = envoy_version(running) else {
        return Verdict::error(format!("cannot read Envoy's version from {running:?}"));
    };
    let expected = pod_image.or(Some(configured_image)).and_then(image_version);
    match expected {
        Some(expected) if expected != running => {
            return Verdict::warning(format!("running Envoy {running}, image says {expected}"));
        }
        _ => {}
    }
    if let Some(pod_image) = pod_image
        && pod_image != configured_image
    {
        return Verdict::warning(format!(
            "Envoy {running} from {pod_image}; the mesh config says {configured_image}"
        ));
    }
    Verdict::ok(format!("Envoy {running}"))
}

fn proxy_image(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == PROXY_CONTAINER)
        .and_then(|c| c.image.clone())
}

async fn proxy_version(ctx: Arc<Context>, pod: PodRef) -> Verdict {
    let Some(configured) = ctx.mesh_config.get().map(|c| c.proxy.image.clone()) else {
        return Verdict::error("internal error: no mesh config");
    };
    let live = match get_pod(&ctx, &pod).await {
        Ok(p) => p,
        Err(v) => return v,
    };
    let info = match admin_get(&ctx, &pod, "/server_info").await {
        Ok((200, body)) => match serde_json::from_str::<ServerInfo>(&body) {
            Ok(info) => info,
            Err(e) => return Verdict::error(format!("/server_info is not Envoy's: {e}")),
        },
        Ok((status, _)) => return Verdict::error(format!("/server_info answered HTTP {status}")),
        Err(e) => return Verdict::error(e),
    };
    judge_proxy_version(&info.version, proxy_image(&live).as_deref(), &configured)
}

/// The `meshctl.io/status` annotation's version against the CLI's.
pub fn judge_status_annotation(annotation: Option<&str>, cli: &str) -> Verdict {
    let Some(text) = annotation else {
        return Verdict::warning(format!(
            "no {STATUS_ANNOTATION} annotation: the proxy was not added by meshctl inject"
        ));
    };
    let version = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    match version {
        None => Verdict::warning(format!("{STATUS_ANNOTATION} has no version")),
        Some(v) if v.trim_start_matches('v') == cli.trim_start_matches('v') => {
            Verdict::ok(format!("meshctl {v}"))
        }
        Some(v) => Verdict::warning(format!("injected by meshctl {v}, CLI is {cli}")),
    }
}

async fn status_version(ctx: Arc<Context>, pod: PodRef) -> Verdict {
    match get_pod(&ctx, &pod).await {
        Ok(p) => {
            let annotation = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(STATUS_ANNOTATION))
                .map(String::as_str);
            judge_status_annotation(annotation, crate::VERSION)
        }
        Err(v) => v,
    }
}

/// Pods that should have been injected but were not: in an injection-enabled namespace, running,
/// without the proxy, not opted out, not on the host network.
pub fn uninjected(pods: &[Pod], enabled_namespaces: &[String]) -> Vec<String> {
    let mut found: Vec<String> = pods
        .iter()
        .filter(|p| {
            let ns = p.metadata.namespace.as_deref().unwrap_or_default();
            let opted_out = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(INJECT_LABEL))
                .is_some_and(|v| v == "disabled");
            let host_network = p
                .spec
                .as_ref()
                .and_then(|s| s.host_network)
                .unwrap_or(false);
            enabled_namespaces.iter().any(|e| e == ns)
                && !is_meshed(p)
                && !is_finished(p)
                && !opted_out
                && !host_network
        })
        .map(|p| {
            let (ns, name) = pod_key(p);
            format!("{ns}/{name}")
        })
        .collect();
    found.sort();
    found
}

async fn coverage(ctx: Arc<Context>) -> Verdict {
    let client = match ctx.client() {
        Ok(c) => c,
        Err(e) => return Verdict::error(e),
    };
    let selector = format!("{INJECT_LABEL}=enabled");
    let namespaces = match Api::<Namespace>::all(client.clone())
        .list(&ListParams::default().labels(&selector))
        .await
    {
        Ok(l) => l,
        Err(err) => return Verdict::error(describe_kube_error(&err)),
    };
    let mut enabled: Vec<String> = namespaces
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    if let Some(only) = &ctx.options.namespace {
        enabled.retain(|n| n == only);
    }
    if enabled.is_empty() {
        return Verdict::ok("no namespace in scope is labelled for injection");
    }
    let mut pods = Vec::new();
    for ns in &enabled {
        match Api::<Pod>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await
        {
            Ok(list) => pods.extend(list.items),
            Err(err) => return Verdict::error(describe_kube_error(&err)),
        }
    }
    let missing = uninjected(&pods, &enabled);
    if missing.is_empty() {
        Verdict::ok(format!(
            "every pod in {} carries the proxy",
            enabled.join(", ")
        ))
    } else {
        Verdict::warning(format!(
            "{} without the proxy: {}",
            if missing.len() == 1 { "1 pod" } else { "pods" },
            summarise_list(&missing, 5)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::model::CheckResult;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn meshed_means_the_proxy_container_anywhere() {
        let native = pod(
            json!({"spec": {"initContainers": [{"name": "meshctl-proxy"}], "containers": [{"name": "app"}]}}),
        );
        let classic =
            pod(json!({"spec": {"containers": [{"name": "app"}, {"name": "meshctl-proxy"}]}}));
        let plain = pod(json!({"spec": {"containers": [{"name": "app"}]}}));
        assert!(is_meshed(&native));
        assert!(is_meshed(&classic));
        assert!(!is_meshed(&plain));
    }

    #[test]
    fn sidecar_readiness_comes_from_init_or_container_statuses() {
        let ready = pod(json!({"status": {"initContainerStatuses": [
            {"name": "meshctl-proxy", "ready": true, "restartCount": 0, "image": "", "imageID": ""}
        ]}}));
        assert_eq!(judge_sidecar_ready(&ready).result, CheckResult::Ok);
        let waiting = pod(json!({"status": {"containerStatuses": [
            {"name": "meshctl-proxy", "ready": false, "restartCount": 3, "image": "", "imageID": "",
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}}));
        let verdict = judge_sidecar_ready(&waiting);
        assert_eq!(verdict.result, CheckResult::Error);
        assert!(verdict.message.contains("CrashLoopBackOff"));
        assert_eq!(
            judge_sidecar_ready(&pod(json!({}))).result,
            CheckResult::Error
        );
    }

    #[test]
    fn ready_must_be_live() {
        assert_eq!(judge_ready(200, "LIVE\n").result, CheckResult::Ok);
        let draining = judge_ready(503, "DRAINING\n");
        assert_eq!(draining.result, CheckResult::Error);
        assert_eq!(draining.message, "/ready is DRAINING (HTTP 503)");
    }

    #[test]
    fn versions_come_from_envoy_and_image_tags() {
        let full = "6f2bd2a1/1.40.0/Clean/RELEASE/BoringSSL";
        assert_eq!(envoy_version(full), Some("1.40.0"));
        assert_eq!(image_version("envoyproxy/envoy:v1.40.0"), Some("1.40.0"));
        assert_eq!(
            image_version("registry:5000/envoy:1.39.1@sha256:abc"),
            Some("1.39.1")
        );
        assert_eq!(image_version("registry:5000/envoy"), None);
        let configured = "envoyproxy/envoy:v1.40.0";
        assert_eq!(
            judge_proxy_version(full, Some(configured), configured).result,
            CheckResult::Ok
        );
        let old_image = judge_proxy_version(full, Some("envoyproxy/envoy:v1.39.0"), configured);
        assert_eq!(old_image.result, CheckResult::Warning);
        assert!(old_image.message.contains("1.39.0"));
        let overridden = judge_proxy_version(
            "x/1.41.0/Clean/RELEASE/BoringSSL",
            Some("envoyproxy/envoy:v1.41.0"),
            configured,
        );
        assert_eq!(overridden.result, CheckResult::Warning);
        assert!(overridden.message.contains("the mesh config says"));
        assert_eq!(
            judge_proxy_version("garbage", None, configured).result,
            CheckResult::Error
        );
    }

    #[test]
    fn status_annotation_version_skew_is_a_warning() {
        assert_eq!(
            judge_status_annotation(
                Some(r#"{"version":"0.1.0","initContainers":["meshctl-init"]}"#),
                "0.1.0"
            )
            .result,
            CheckResult::Ok
        );
        let skew = judge_status_annotation(Some(r#"{"version":"0.0.9"}"#), "0.1.0");
        assert_eq!(skew.result, CheckResult::Warning);
        assert_eq!(skew.message, "injected by meshctl 0.0.9, CLI is 0.1.0");
        assert_eq!(
            judge_status_annotation(None, "0.1.0").result,
            CheckResult::Warning
        );
        assert_eq!(
            judge_status_annotation(Some("not json"), "0.1.0").result,
            CheckResult::Warning
        );
    }

    #[test]
    fn uninjected_pods_exclude_opt_outs_host_network_and_finished_pods() {
        let pods: Vec<Pod> = vec![
            pod(
                json!({"metadata": {"name": "bare", "namespace": "shop"}, "spec": {"containers": [{"name": "app"}]}}),
            ),
            pod(
                json!({"metadata": {"name": "meshed", "namespace": "shop"}, "spec": {"containers": [{"name": "app"}, {"name": "meshctl-proxy"}]}}),
            ),
            pod(
                json!({"metadata": {"name": "optout", "namespace": "shop", "annotations": {"meshctl.io/inject": "disabled"}}, "spec": {"containers": [{"name": "app"}]}}),
            ),
            pod(
                json!({"metadata": {"name": "host", "namespace": "shop"}, "spec": {"hostNetwork": true, "containers": [{"name": "app"}]}}),
            ),
            pod(
                json!({"metadata": {"name": "done", "namespace": "shop"}, "spec": {"containers": [{"name": "app"}]}, "status": {"phase": "Succeeded"}}),
            ),
            pod(
                json!({"metadata": {"name": "elsewhere", "namespace": "other"}, "spec": {"containers": [{"name": "app"}]}}),
            ),
        ];
        assert_eq!(
            uninjected(&pods, &["shop".to_string()]),
            vec!["shop/bare".to_string()]
        );
    }
}
