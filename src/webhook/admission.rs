//! AdmissionReview v1 in, AdmissionReview v1 out: the pure part of the webhook. The pod goes
//! through the same engine as `meshctl inject`; the response carries the difference as a base64
//! JSON patch. Anything that goes wrong inside allows the pod unpatched, with a warning:
//! the webhook's failurePolicy is for the webhook being unreachable, not for our bugs.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::config::INJECT_LABEL;
use crate::inject::{InjectError, InjectOptions, PodDecision, inject_pod};

const API_VERSION: &str = "admission.k8s.io/v1";

/// The request could not be read at all: there is no uid to answer to (HTTP 400).
#[derive(Debug, Error)]
pub enum ReviewError {
    #[error("not an AdmissionReview: {0}")]
    Malformed(String),
    #[error("AdmissionReview has no request")]
    NoRequest,
    #[error("unsupported AdmissionReview apiVersion '{0}' (only {API_VERSION})")]
    Version(String),
}

#[derive(Debug, Deserialize)]
struct Review {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    request: Option<Request>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    uid: String,
    #[serde(default)]
    kind: Option<GroupVersionKind>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    object: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct GroupVersionKind {
    #[serde(default)]
    group: String,
    #[serde(default)]
    kind: String,
}

/// What the webhook did with one request (for its log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Patched: the number of JSON patch operations.
    Patched(usize),
    /// Allowed unchanged, with the reason.
    Allowed(String),
    /// Allowed without a sidecar although the namespace asked for one (the engine skipped or
    /// refused the pod, or failed), with the warning sent back to whoever created the pod.
    Warned(String),
}

/// The answer to one review, and a summary for the log.
#[derive(Debug)]
pub struct Reviewed {
    pub response: Value,
    pub outcome: Outcome,
    pub dry_run: bool,
    /// `namespace/name` (or generateName) of the pod, for the log.
    pub subject: String,
}

/// Handles one AdmissionReview body.
pub fn review(body: &[u8], options: &InjectOptions) -> Result<Reviewed, ReviewError> {
    let review: Review =
        serde_json::from_slice(body).map_err(|e| ReviewError::Malformed(e.to_string()))?;
    if !review.api_version.is_empty() && review.api_version != API_VERSION {
        return Err(ReviewError::Version(review.api_version));
    }
    let request = review.request.ok_or(ReviewError::NoRequest)?;
    let dry_run = request.dry_run.unwrap_or(false);
    let subject = subject(&request);
    let (patch, outcome) = decide(&request, options);
    let mut response = json!({ "uid": request.uid, "allowed": true });
    if let Some(patch) = patch {
        response["patchType"] = json!("JSONPatch");
        response["patch"] = json!(base64(&patch));
    }
    if let Outcome::Warned(warning) = &outcome {
        response["warnings"] = json!([warning]);
    }
    Ok(Reviewed {
        response: json!({
            "apiVersion": API_VERSION,
            "kind": "AdmissionReview",
            "response": response,
        }),
        outcome,
        dry_run,
        subject,
    })
}

fn subject(request: &Request) -> String {
    let meta = request.object.as_ref().and_then(|o| o.get("metadata"));
    let name = meta
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    let namespace = request
        .namespace
        .as_deref()
        .or_else(|| {
            meta.and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
        })
        .unwrap_or("<none>");
    format!("{namespace}/{name}")
}

/// The patch to send (serialised JSON patch) and what happened.
fn decide(request: &Request, options: &InjectOptions) -> (Option<Vec<u8>>, Outcome) {
    let is_pod = request
        .kind
        .as_ref()
        .is_some_and(|k| k.group.is_empty() && k.kind == "Pod");
    if !is_pod {
        return (None, Outcome::Allowed("not a pod".to_string()));
    }
    if request
        .operation
        .as_deref()
        .is_some_and(|op| op != "CREATE")
    {
        return (None, Outcome::Allowed("not a CREATE".to_string()));
    }
    let Some(original) = request.object.as_ref() else {
        return (None, failed("the request carries no pod"));
    };
    if opted_out(original) {
        return (None, Outcome::Allowed(format!("{INJECT_LABEL}: disabled")));
    }
    let mut pod = original.clone();
    let namespace = request.namespace.as_deref();
    // The engine is shared code: a panic in it must cost this pod its sidecar, not the webhook
    // its process (and every other pod its admission).
    let result = catch_unwind(AssertUnwindSafe(|| {
        inject_pod(&mut pod, namespace, options)
    }));
    match result {
        Ok(Ok(PodDecision::Injected)) => {
            let patch = json_patch::diff(original, &pod);
            if patch.0.is_empty() {
                return (None, Outcome::Allowed("already injected".to_string()));
            }
            match serde_json::to_vec(&patch) {
                Ok(bytes) => (Some(bytes), Outcome::Patched(patch.0.len())),
                Err(e) => (None, failed(&format!("cannot serialise the patch: {e}"))),
            }
        }
        Ok(Ok(PodDecision::Unchanged | PodDecision::Uninjected)) => {
            (None, Outcome::Allowed("already injected".into()))
        }
        // The namespace asked for injection, so say why this pod has no sidecar.
        Ok(Ok(PodDecision::Skipped(reason))) => (None, failed(&format!("skipped: {reason}"))),
        Ok(Err(InjectError::Refused(reason))) => (None, failed(&format!("not injected: {reason}"))),
        Ok(Err(e)) => (None, failed(&format!("injection failed: {e}"))),
        Err(_) => (None, failed("injection failed: internal error (panic)")),
    }
}

fn failed(reason: &str) -> Outcome {
    Outcome::Warned(format!("meshctl: pod admitted without a sidecar: {reason}"))
}

/// `meshctl.io/inject: disabled` as a label (the objectSelector normally filters those out) or
/// an annotation.
fn opted_out(pod: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        pod.pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(INJECT_LABEL))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// Kubernetes writes `[]byte` fields as standard padded base64; reading, be lenient about
/// padding, whitespace and trailing bits as the API server's own decoder is.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard base64 with padding (what Kubernetes expects for `[]byte` fields).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes base64 (padding optional, whitespace ignored); None on invalid input.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT_BASE64.decode(compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MeshConfig;

    fn options() -> InjectOptions {
        InjectOptions {
            config: MeshConfig::default(),
            native_sidecar: true,
            mesh_namespace: "meshctl-system".into(),
            overrides: Default::default(),
        }
    }

    fn body(object: Value, extra: Value) -> Vec<u8> {
        let mut request = json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "shop",
            "operation": "CREATE",
            "object": object,
        });
        if let (Value::Object(r), Value::Object(e)) = (&mut request, extra) {
            r.extend(e);
        }
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": request,
        }))
        .unwrap()
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": "web-", "namespace": "shop"},
               "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    }

    #[test]
    fn base64_round_trips() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(base64_decode(&base64(input)).unwrap(), input);
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
    }

    #[test]
    fn uid_is_echoed_and_the_pod_always_allowed() {
        let reviewed = review(&body(pod(), json!({})), &options()).unwrap();
        let response = &reviewed.response["response"];
        assert_eq!(response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(response["allowed"], true);
        assert_eq!(reviewed.response["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(reviewed.response["kind"], "AdmissionReview");
        assert_eq!(reviewed.subject, "shop/web-");
        assert!(
            matches!(reviewed.outcome, Outcome::Patched(_)),
            "{reviewed:?}"
        );
        assert_eq!(response["patchType"], "JSONPatch");
        assert!(response.get("warnings").is_none());
        let patch = base64_decode(response["patch"].as_str().unwrap()).unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
        let mut patched = pod();
        json_patch::patch(&mut patched, &patch).unwrap();
        assert!(patched.to_string().contains(crate::config::PROXY_CONTAINER));
    }

    #[test]
    fn injecting_twice_gives_no_second_patch() {
        let reviewed = review(&body(pod(), json!({})), &options()).unwrap();
        let patch = base64_decode(reviewed.response["response"]["patch"].as_str().unwrap());
        let patch: json_patch::Patch = serde_json::from_slice(&patch.unwrap()).unwrap();
        let mut injected = pod();
        json_patch::patch(&mut injected, &patch).unwrap();
        // Reinvocation (reinvocationPolicy IfNeeded) sends the injected pod again.
        let again = review(&body(injected, json!({})), &options()).unwrap();
        assert!(matches!(again.outcome, Outcome::Allowed(_)), "{again:?}");
        assert!(again.response["response"].get("patch").is_none());
    }

    #[test]
    fn opted_out_pods_are_allowed_untouched() {
        let mut p = pod();
        p["metadata"]["annotations"] = json!({"meshctl.io/inject": "disabled"});
        let reviewed = review(&body(p, json!({"dryRun": true})), &options()).unwrap();
        assert!(reviewed.dry_run);
        assert_eq!(
            reviewed.outcome,
            Outcome::Allowed("meshctl.io/inject: disabled".into())
        );
        assert!(reviewed.response["response"].get("patch").is_none());
        assert!(reviewed.response["response"].get("warnings").is_none());
    }

    #[test]
    fn other_kinds_and_operations_pass() {
        let b = body(pod(), json!({"operation": "UPDATE"}));
        let reviewed = review(&b, &options()).unwrap();
        assert!(matches!(reviewed.outcome, Outcome::Allowed(_)));
        let b = body(
            json!({}),
            json!({"kind": {"group": "apps", "version": "v1", "kind": "Deployment"}}),
        );
        assert!(matches!(
            review(&b, &options()).unwrap().outcome,
            Outcome::Allowed(_)
        ));
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zA-Z0-9:/._-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("metadata".to_string()),
                            Just("spec".to_string()),
                            Just("containers".to_string()),
                            Just("initContainers".to_string()),
                            Just("annotations".to_string()),
                            Just("name".to_string()),
                            "[a-z]{1,8}",
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever pod the API server sends, the answer is a well-formed "allowed" review
        /// (patched, or unpatched with a warning): never a crash, never a denial.
        #[test]
        fn any_pod_gets_an_allowed_answer(spec in arbitrary_json(), meta in arbitrary_json()) {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
            let reviewed = review(&body(pod.clone(), json!({})), &options()).unwrap();
            let response = &reviewed.response["response"];
            proptest::prop_assert_eq!(&response["allowed"], &json!(true));
            if let Some(patch) = response.get("patch") {
                let bytes = base64_decode(patch.as_str().unwrap()).unwrap();
                let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
                let mut patched = pod;
                proptest::prop_assert!(json_patch::patch(&mut patched, &patch).is_ok());
            }
        }
    }

    #[test]
    fn unreadable_reviews_are_errors() {
        assert!(review(b"{", &options()).is_err());
        assert!(review(b"{\"apiVersion\":\"admission.k8s.io/v1\"}", &options()).is_err());
        let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"x"}}"#;
        assert!(matches!(
            review(v1beta1, &options()),
            Err(ReviewError::Version(_))
        ));
    }
}
