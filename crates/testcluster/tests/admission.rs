//! Mutating admission against real HTTPS webhook servers (rcgen CA, tokio-rustls).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use testcluster::admission::{
    AdmissionContext, AdmissionInput, CallOutcome, GroupVersionResource, Operation,
    run_mutating_webhooks,
};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// A CA and an HTTPS webhook server

static NEXT_CA: AtomicUsize = AtomicUsize::new(0);

struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!(
                "webhook test CA {}",
                NEXT_CA.fetch_add(1, Ordering::Relaxed)
            ),
        );
        let key = rcgen::KeyPair::generate().unwrap();
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// `caBundle` as stored in a webhook configuration: base64 of the PEM.
    fn bundle(&self) -> String {
        BASE64.encode(self.issuer.pem())
    }

    fn server_config(&self, names: &[&str]) -> rustls::ServerConfig {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap()
    }
}

type Behaviour = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// An HTTPS AdmissionReview server; records (path, review) of every request.
struct Webhook {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Webhook {
    /// `respond` gets the request's `request` and returns the `response` fields besides `uid`.
    async fn start(
        ca: &Ca,
        names: &[&str],
        delay: Duration,
        respond: impl Fn(&Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(ca.server_config(names)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Behaviour = Arc::new(respond);
        let seen_by_server = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let respond = respond.clone();
                let seen = seen_by_server.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let respond = respond.clone();
                        let seen = seen.clone();
                        async move {
                            let path = req.uri().to_string();
                            let body = req.into_body().collect().await?.to_bytes();
                            let review: Value = serde_json::from_slice(&body).unwrap();
                            seen.lock().unwrap().push((path, review.clone()));
                            tokio::time::sleep(delay).await;
                            let mut response = respond(&review["request"]);
                            response["uid"] = review["request"]["uid"].clone();
                            let answer = json!({
                                "apiVersion": "admission.k8s.io/v1",
                                "kind": "AdmissionReview",
                                "response": response,
                            });
                            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(
                                answer.to_string(),
                            ))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn last(&self) -> (String, Value) {
        self.seen.lock().unwrap().last().unwrap().clone()
    }
}

fn allow() -> impl Fn(&Value) -> Value + Send + Sync + 'static {
    |_| json!({"allowed": true})
}

fn patching(patch: Value) -> impl Fn(&Value) -> Value + Send + Sync + 'static {
    move |_| {
        json!({
            "allowed": true,
            "patchType": "JSONPatch",
            "patch": BASE64.encode(patch.to_string()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const SERVICE_NAME: &str = "injector.mesh-system.svc";

fn pod(labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "demo", "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}
    })
}

fn pod_create(labels: Value) -> AdmissionInput {
    AdmissionInput::create(
        GroupVersionResource::new("", "v1", "pods"),
        "demo",
        pod(labels),
    )
}

/// A MutatingWebhookConfiguration with one webhook for pod CREATE, reaching the injector service.
fn config(name: &str, ca_bundle: &str, extra: Value) -> Value {
    let mut webhook = json!({
        "name": format!("{name}.meshctl.io"),
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "clientConfig": {
            "service": {"namespace": "mesh-system", "name": "injector", "path": "/inject"},
            "caBundle": ca_bundle,
        },
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
    });
    for (key, value) in extra.as_object().unwrap() {
        webhook[key] = value.clone();
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [webhook],
    })
}

/// Namespaces: `demo` labelled `mesh=enabled`, `plain` without labels.
fn context(service: SocketAddr) -> AdmissionContext {
    AdmissionContext::new()
        .with_namespaces(|name| match name {
            "demo" => Some(json!({"metadata": {"name": "demo", "labels": {"mesh": "enabled"}}})),
            "plain" => Some(json!({"metadata": {"name": "plain"}})),
            _ => None,
        })
        .with_service_resolver(move |ns, name, port| {
            (ns == "mesh-system" && name == "injector" && port == 443).then_some(service)
        })
}

async fn dead_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn matching_webhook_gets_a_real_review_and_its_patch_is_applied() {
    let ca = Ca::new();
    let patch = json!([
        {"op": "add", "path": "/metadata/annotations", "value": {"meshctl.io/injected": "true"}},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "envoy", "image": "envoyproxy/envoy"}}
    ]);
    let hook = Webhook::start(&ca, &[SERVICE_NAME], Duration::ZERO, patching(patch)).await;
    let ctx = context(hook.addr);
    let configs = [config(
        "inject",
        &ca.bundle(),
        json!({"namespaceSelector": {"matchLabels": {"mesh": "enabled"}}}),
    )];

    let object = run_mutating_webhooks(&ctx, &configs, pod_create(json!({"app": "web"})))
        .await
        .unwrap();
    assert_eq!(
        object["metadata"]["annotations"]["meshctl.io/injected"],
        "true"
    );
    assert_eq!(object["spec"]["containers"][1]["name"], "envoy");

    let (path, review) = hook.last();
    assert_eq!(path, "/inject?timeout=10s");
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    let request = &review["request"];
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(request["namespace"], "demo");
    assert_eq!(request["name"], "web-0");
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "pods"})
    );
    assert_eq!(request["kind"]["kind"], "Pod");
    assert_eq!(request["object"], pod(json!({"app": "web"})));

    let calls = ctx.log().calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].configuration, "inject");
    assert_eq!(calls[0].webhook, "inject.meshctl.io");
    assert_eq!(calls[0].outcome, CallOutcome::Allowed { patched: true });
    assert_eq!(
        calls[0].url,
        "https://injector.mesh-system.svc:443/inject?timeout=10s"
    );
    assert_eq!(calls[0].review["request"]["uid"], request["uid"]);
}

#[tokio::test]
async fn selectors_and_rules_that_do_not_match_skip_the_webhook() {
    let ca = Ca::new();
    let hook = Webhook::start(
        &ca,
        &[SERVICE_NAME],
        Duration::ZERO,
        patching(json!([{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}])),
    )
    .await;
    let ctx = context(hook.addr);
    let bundle = ca.bundle();
    let run = |configs: Vec<Value>, input: AdmissionInput| {
        let ctx = ctx.clone();
        async move { run_mutating_webhooks(&ctx, &configs, input).await.unwrap() }
    };

    // namespaceSelector: `plain` has no mesh label.
    let mut input = pod_create(json!({"app": "web"}));
    input.namespace = "plain".to_string();
    let ns_selector = json!({"namespaceSelector": {"matchLabels": {"mesh": "enabled"}}});
    let out = run(vec![config("a", &bundle, ns_selector.clone())], input).await;
    assert!(out["metadata"].get("annotations").is_none());

    // objectSelector: opted out by label.
    let opt_out = json!({"objectSelector": {"matchExpressions": [
        {"key": "meshctl.io/inject", "operator": "NotIn", "values": ["false"]}]}});
    let out = run(
        vec![config("a", &bundle, opt_out.clone())],
        pod_create(json!({"meshctl.io/inject": "false"})),
    )
    .await;
    assert!(out["metadata"].get("annotations").is_none());

    // rules: UPDATE only, or another resource.
    let update_only = json!({"rules": [{"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
    run(
        vec![config("a", &bundle, update_only)],
        pod_create(json!({})),
    )
    .await;
    let services = json!({"rules": [{"operations": ["*"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"]}]});
    run(vec![config("a", &bundle, services)], pod_create(json!({}))).await;
    assert_eq!(hook.calls(), 0);
    assert!(ctx.log().calls().is_empty());

    // The same selectors match when they should.
    let out = run(
        vec![config("a", &bundle, opt_out)],
        pod_create(json!({"app": "web"})),
    )
    .await;
    assert_eq!(out["metadata"]["annotations"]["x"], "y");
    let out = run(
        vec![config("a", &bundle, ns_selector)],
        pod_create(json!({})),
    )
    .await;
    assert_eq!(out["metadata"]["annotations"]["x"], "y");
    // kubernetes.io/metadata.name is there even for a namespace the lookup does not know.
    let mut input = pod_create(json!({}));
    input.namespace = "unknown".to_string();
    let by_name = json!({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["unknown"]}]}});
    let out = run(vec![config("a", &bundle, by_name)], input).await;
    assert_eq!(out["metadata"]["annotations"]["x"], "y");
    assert_eq!(hook.calls(), 3);
}

#[tokio::test]
async fn denial_rejects_with_the_webhooks_status() {
    let ca = Ca::new();
    let hook = Webhook::start(&ca, &[SERVICE_NAME], Duration::ZERO, |_| {
        json!({"allowed": false, "status": {"code": 403, "message": "pods must not run as root"}})
    })
    .await;
    let ctx = context(hook.addr);
    let err = run_mutating_webhooks(
        &ctx,
        &[config("policy", &ca.bundle(), json!({}))],
        pod_create(json!({})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "admission webhook \"policy.meshctl.io\" denied the request: pods must not run as root"
    );
    assert_eq!(err.status()["kind"], "Status");
    assert_eq!(err.status()["code"], 403);
    assert!(matches!(
        ctx.log().calls()[0].outcome,
        CallOutcome::Denied { .. }
    ));
}

#[tokio::test]
async fn failure_policy_on_a_dead_endpoint() {
    let ca = Ca::new();
    let ctx = context(dead_addr().await);
    let input = pod_create(json!({}));

    let fail = [config(
        "inject",
        &ca.bundle(),
        json!({"failurePolicy": "Fail"}),
    )];
    let err = run_mutating_webhooks(&ctx, &fail, input.clone())
        .await
        .unwrap_err();
    assert_eq!((err.code, err.reason.as_str()), (500, "InternalError"));
    assert!(
        err.message.starts_with(
            "Internal error occurred: failed calling webhook \"inject.meshctl.io\": failed to call webhook: Post \"https://injector.mesh-system.svc:443/inject?timeout=10s\""
        ),
        "{}",
        err.message
    );

    // Default policy is Fail too.
    assert!(
        run_mutating_webhooks(
            &ctx,
            &[config("inject", &ca.bundle(), json!({}))],
            input.clone()
        )
        .await
        .is_err()
    );

    let ignore = [config(
        "inject",
        &ca.bundle(),
        json!({"failurePolicy": "Ignore"}),
    )];
    let object = run_mutating_webhooks(&ctx, &ignore, input.clone())
        .await
        .unwrap();
    assert_eq!(object, input.object);
    let last = ctx.log().calls().pop().unwrap();
    assert!(matches!(
        last.outcome,
        CallOutcome::Failed { ignored: true, .. }
    ));

    // A service nobody registered fails the same way.
    let unresolved = AdmissionContext::new();
    let err = run_mutating_webhooks(&unresolved, &fail, input)
        .await
        .unwrap_err();
    assert!(
        err.message.contains("service \"injector\" not found"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn timeout_seconds_is_honoured() {
    let ca = Ca::new();
    let hook = Webhook::start(&ca, &[SERVICE_NAME], Duration::from_secs(30), allow()).await;
    let ctx = context(hook.addr);
    let input = pod_create(json!({}));

    let fail = [config("slow", &ca.bundle(), json!({"timeoutSeconds": 1}))];
    let err = run_mutating_webhooks(&ctx, &fail, input.clone())
        .await
        .unwrap_err();
    assert!(err.message.contains("timeout=1s"), "{}", err.message);
    assert!(
        err.message.contains("context deadline exceeded"),
        "{}",
        err.message
    );

    let ignore = [config(
        "slow",
        &ca.bundle(),
        json!({"timeoutSeconds": 1, "failurePolicy": "Ignore"}),
    )];
    let object = run_mutating_webhooks(&ctx, &ignore, input.clone())
        .await
        .unwrap();
    assert_eq!(object, input.object);
    assert_eq!(hook.calls(), 2);
}

#[tokio::test]
async fn server_certificate_is_verified_against_ca_bundle() {
    let ca = Ca::new();
    let other_ca = Ca::new();
    let patch = json!([{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}]);
    let hook = Webhook::start(
        &ca,
        &[SERVICE_NAME],
        Duration::ZERO,
        patching(patch.clone()),
    )
    .await;
    let ctx = context(hook.addr);
    let input = pod_create(json!({}));

    // Signed by a CA the bundle does not hold.
    let err = run_mutating_webhooks(
        &ctx,
        &[config("inject", &other_ca.bundle(), json!({}))],
        input.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, 500);
    assert!(err.message.contains("UnknownIssuer"), "{}", err.message);

    // Right CA, wrong name: the certificate is for another service.
    let wrong_name = Webhook::start(
        &ca,
        &["other.mesh-system.svc"],
        Duration::ZERO,
        patching(patch),
    )
    .await;
    let err = run_mutating_webhooks(
        &context(wrong_name.addr),
        &[config("inject", &ca.bundle(), json!({}))],
        input.clone(),
    )
    .await
    .unwrap_err();
    assert!(
        err.message.contains("not valid for name"),
        "{}",
        err.message
    );

    // Garbage and an empty bundle.
    let garbage = BASE64.encode("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n");
    assert!(
        run_mutating_webhooks(
            &ctx,
            &[config("inject", &garbage, json!({}))],
            input.clone()
        )
        .await
        .is_err()
    );
    assert!(
        run_mutating_webhooks(&ctx, &[config("inject", "", json!({}))], input.clone())
            .await
            .is_err()
    );
    assert_eq!(
        hook.calls(),
        0,
        "no request may pass an unverified connection"
    );

    // And the right bundle works.
    let object = run_mutating_webhooks(&ctx, &[config("inject", &ca.bundle(), json!({}))], input)
        .await
        .unwrap();
    assert_eq!(object["metadata"]["annotations"]["x"], "y");
}

#[tokio::test]
async fn url_client_config() {
    let ca = Ca::new();
    let hook = Webhook::start(
        &ca,
        &["127.0.0.1"],
        Duration::ZERO,
        patching(json!([
            {"op": "add", "path": "/metadata/annotations", "value": {"via": "url"}}
        ])),
    )
    .await;
    let url = format!("https://127.0.0.1:{}/mutate", hook.addr.port());
    let configs = [config(
        "by-url",
        &ca.bundle(),
        json!({"clientConfig": {"url": url, "caBundle": ca.bundle()}, "timeoutSeconds": 5}),
    )];
    let object = run_mutating_webhooks(&AdmissionContext::new(), &configs, pod_create(json!({})))
        .await
        .unwrap();
    assert_eq!(object["metadata"]["annotations"]["via"], "url");
    assert_eq!(hook.last().0, "/mutate?timeout=5s");
}

#[tokio::test]
async fn configurations_run_in_name_order_and_if_needed_reinvokes() {
    let ca = Ca::new();
    // "a" records what it saw in an annotation list, "b" adds a label.
    let a = Webhook::start(&ca, &[SERVICE_NAME], Duration::ZERO, |request| {
        let seen_b = request["object"]["metadata"]["labels"].get("b").is_some();
        let annotation = if seen_b { "after-b" } else { "before-b" };
        json!({
            "allowed": true,
            "patchType": "JSONPatch",
            "patch": BASE64.encode(json!([{"op": "add", "path": format!("/metadata/labels/a-{annotation}"), "value": "1"}]).to_string()),
        })
    })
    .await;
    let b = Webhook::start(
        &ca,
        &["b.mesh-system.svc"],
        Duration::ZERO,
        patching(json!([
            {"op": "add", "path": "/metadata/labels/b", "value": "1"}
        ])),
    )
    .await;
    let (a_addr, b_addr) = (a.addr, b.addr);
    let ctx = AdmissionContext::new().with_service_resolver(move |_, name, _| match name {
        "injector" => Some(a_addr),
        "b" => Some(b_addr),
        _ => None,
    });
    let mut config_b = config("b-second", &ca.bundle(), json!({}));
    config_b["webhooks"][0]["clientConfig"]["service"]["name"] = json!("b");
    let config_a = config(
        "a-first",
        &ca.bundle(),
        json!({"reinvocationPolicy": "IfNeeded"}),
    );

    // Passed in reverse order: sorting by name must put a-first first.
    let object = run_mutating_webhooks(&ctx, &[config_b, config_a], pod_create(json!({})))
        .await
        .unwrap();
    let labels = &object["metadata"]["labels"];
    assert_eq!(labels["a-before-b"], "1");
    assert_eq!(labels["b"], "1");
    assert_eq!(
        labels["a-after-b"], "1",
        "a was reinvoked after b changed the object"
    );
    let order: Vec<(String, u8)> = ctx
        .log()
        .calls()
        .into_iter()
        .map(|c| (c.configuration, c.round))
        .collect();
    assert_eq!(
        order,
        vec![
            ("a-first".into(), 0),
            ("b-second".into(), 0),
            ("a-first".into(), 1)
        ]
    );
}

#[tokio::test]
async fn dry_run_needs_side_effect_free_webhooks() {
    let ca = Ca::new();
    let hook = Webhook::start(&ca, &[SERVICE_NAME], Duration::ZERO, allow()).await;
    let ctx = context(hook.addr);
    let mut input = pod_create(json!({}));
    input.dry_run = true;
    let err = run_mutating_webhooks(
        &ctx,
        &[config(
            "inject",
            &ca.bundle(),
            json!({"sideEffects": "Some"}),
        )],
        input.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
    assert!(err.message.contains("does not support dry run"));
    run_mutating_webhooks(&ctx, &[config("inject", &ca.bundle(), json!({}))], input)
        .await
        .unwrap();
    assert_eq!(hook.last().1["request"]["dryRun"], true);
}

#[tokio::test]
async fn update_sends_old_object() {
    let ca = Ca::new();
    let hook = Webhook::start(&ca, &[SERVICE_NAME], Duration::ZERO, allow()).await;
    let ctx = context(hook.addr);
    let rules = json!({"rules": [{"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]});
    let input = AdmissionInput::update(
        GroupVersionResource::new("", "v1", "pods"),
        "demo",
        pod(json!({"v": "1"})),
        pod(json!({"v": "2"})),
    );
    assert_eq!(input.operation, Operation::Update);
    run_mutating_webhooks(&ctx, &[config("inject", &ca.bundle(), rules)], input)
        .await
        .unwrap();
    let request = hook.last().1["request"].clone();
    assert_eq!(request["operation"], "UPDATE");
    assert_eq!(request["oldObject"]["metadata"]["labels"]["v"], "1");
    assert_eq!(request["object"]["metadata"]["labels"]["v"], "2");
    assert_eq!(request["options"]["kind"], "UpdateOptions");
}
