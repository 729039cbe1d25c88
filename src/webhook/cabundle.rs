//! Self-signed mode against the cluster: the CA shared by the injector replicas (one Secret, the
//! first replica creates it, the others read it), and the caBundle patch on our own
//! MutatingWebhookConfiguration. RBAC allows exactly these calls (see manifests/templates/rbac).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use thiserror::Error;

use super::admission::base64;
use super::tls::{self, CaMaterial, TlsError};
use crate::render::names;

const CA_CERT_KEY: &str = "ca.crt";
const CA_KEY_KEY: &str = "ca.key";

#[derive(Debug, Error)]
pub enum CaBundleError {
    #[error("Secret {namespace}/{name}: {action}: {source}")]
    Secret {
        namespace: String,
        name: &'static str,
        action: &'static str,
        source: kube::Error,
    },
    #[error("Secret {namespace}/{name} is not a CA: {message}")]
    BadSecret {
        namespace: String,
        name: &'static str,
        message: String,
    },
    #[error("MutatingWebhookConfiguration {name}: {action}: {source}")]
    WebhookConfig {
        name: String,
        action: &'static str,
        source: kube::Error,
    },
    #[error("MutatingWebhookConfiguration {0} has no webhook pointing at this injector's Service")]
    NoMatchingWebhook(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Reads the shared CA, creating it when this replica is the first.
pub async fn load_or_create_ca(
    client: &Client,
    namespace: &str,
) -> Result<CaMaterial, CaBundleError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret_error = |action, source| CaBundleError::Secret {
        namespace: namespace.to_string(),
        name: names::CA_SECRET,
        action,
        source,
    };
    // Two rounds: if another replica creates the Secret between our get and create, read theirs.
    for _ in 0..2 {
        if let Some(secret) = api
            .get_opt(names::CA_SECRET)
            .await
            .map_err(|e| secret_error("get", e))?
        {
            return ca_from_secret(&secret, namespace);
        }
        let ca = tls::generate_ca()?;
        match api
            .create(&PostParams::default(), &ca_secret(&ca, namespace))
            .await
        {
            Ok(_) => return Ok(ca),
            Err(kube::Error::Api(status)) if status.is_already_exists() => continue,
            Err(e) => return Err(secret_error("create", e)),
        }
    }
    Err(CaBundleError::BadSecret {
        namespace: namespace.to_string(),
        name: names::CA_SECRET,
        message: "created by another replica but not readable".to_string(),
    })
}

fn ca_secret(ca: &CaMaterial, namespace: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(names::CA_SECRET.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([
                (
                    "app.kubernetes.io/part-of".to_string(),
                    "meshctl".to_string(),
                ),
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    "meshctl".to_string(),
                ),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        data: Some(BTreeMap::from([
            (
                CA_CERT_KEY.to_string(),
                ByteString(ca.cert_pem.as_bytes().to_vec()),
            ),
            (
                CA_KEY_KEY.to_string(),
                ByteString(ca.key_pem.as_bytes().to_vec()),
            ),
        ])),
        ..Secret::default()
    }
}

fn ca_from_secret(secret: &Secret, namespace: &str) -> Result<CaMaterial, CaBundleError> {
    let bad = |message: String| CaBundleError::BadSecret {
        namespace: namespace.to_string(),
        name: names::CA_SECRET,
        message,
    };
    let field = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .ok_or_else(|| bad(format!("no data key '{key}'")))
            .and_then(|b| {
                String::from_utf8(b.0.clone()).map_err(|_| bad(format!("'{key}' is not text")))
            })
    };
    let ca = CaMaterial {
        cert_pem: field(CA_CERT_KEY)?,
        key_pem: field(CA_KEY_KEY)?,
    };
    tls::check_ca(&ca).map_err(|e| bad(e.to_string()))?;
    Ok(ca)
}

/// The JSON patch setting `caBundle` on every webhook of `config` that calls our Service; empty
/// when all of them already carry it. Each change is guarded by a `test` of the webhook's name,
/// so a concurrent reordering makes the patch fail instead of touching the wrong entry.
pub fn ca_bundle_patch(
    config: &Value,
    service: &str,
    namespace: &str,
    ca_pem: &str,
) -> Option<Vec<Value>> {
    let bundle = base64(ca_pem.as_bytes());
    let webhooks = config.get("webhooks")?.as_array()?;
    let mut ops = Vec::new();
    let mut matched = false;
    for (i, webhook) in webhooks.iter().enumerate() {
        let svc = webhook.pointer("/clientConfig/service");
        let ours = svc.and_then(|s| s.get("name")).and_then(Value::as_str) == Some(service)
            && svc.and_then(|s| s.get("namespace")).and_then(Value::as_str) == Some(namespace);
        if !ours {
            continue;
        }
        matched = true;
        if webhook
            .pointer("/clientConfig/caBundle")
            .and_then(Value::as_str)
            == Some(&bundle)
        {
            continue;
        }
        ops.push(
            json!({"op": "test", "path": format!("/webhooks/{i}/name"), "value": webhook["name"]}),
        );
        ops.push(json!({"op": "add", "path": format!("/webhooks/{i}/clientConfig/caBundle"), "value": bundle}));
    }
    matched.then_some(ops)
}

/// Makes the API server trust `ca_pem` when calling our Service. Returns whether it changed.
pub async fn patch_ca_bundle(
    client: &Client,
    config_name: &str,
    service: &str,
    namespace: &str,
    ca_pem: &str,
) -> Result<bool, CaBundleError> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let config_error = |action, source| CaBundleError::WebhookConfig {
        name: config_name.to_string(),
        action,
        source,
    };
    let current = api
        .get(config_name)
        .await
        .map_err(|e| config_error("get", e))?;
    let current = serde_json::to_value(&current).unwrap_or(Value::Null);
    let ops = ca_bundle_patch(&current, service, namespace, ca_pem)
        .ok_or_else(|| CaBundleError::NoMatchingWebhook(config_name.to_string()))?;
    if ops.is_empty() {
        return Ok(false);
    }
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops)).map_err(|e| TlsError::Pem {
            what: format!("caBundle patch ({e})"),
            expected: "JSON patch",
        })?;
    let params = PatchParams {
        field_manager: Some("meshctl-injector".to_string()),
        ..PatchParams::default()
    };
    api.patch(config_name, &params, &Patch::Json::<()>(patch))
        .await
        .map_err(|e| config_error("patch", e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ca: Option<&str>) -> Value {
        let mut client = json!({"service": {"name": "meshctl-injector", "namespace": "mesh", "path": "/inject"}});
        if let Some(ca) = ca {
            client["caBundle"] = json!(ca);
        }
        json!({"webhooks": [
            {"name": "other.example.com", "clientConfig": {"service": {"name": "x", "namespace": "mesh"}}},
            {"name": "sidecar-injector.meshctl.io", "clientConfig": client},
        ]})
    }

    #[test]
    fn patch_targets_only_our_webhook_and_is_idempotent() {
        let ops = ca_bundle_patch(&config(None), "meshctl-injector", "mesh", "PEM").unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0]["op"], "test");
        assert_eq!(ops[1]["path"], "/webhooks/1/clientConfig/caBundle");
        assert_eq!(ops[1]["value"], base64(b"PEM"));
        let mut patched = config(None);
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
        json_patch::patch(&mut patched, &patch).unwrap();
        assert_eq!(
            ca_bundle_patch(&patched, "meshctl-injector", "mesh", "PEM").unwrap(),
            Vec::<Value>::new()
        );
        assert!(ca_bundle_patch(&config(None), "nope", "mesh", "PEM").is_none());
    }

    #[test]
    fn secret_round_trips_and_garbage_is_refused() {
        let ca = tls::generate_ca().unwrap();
        let secret = ca_secret(&ca, "mesh");
        assert_eq!(ca_from_secret(&secret, "mesh").unwrap(), ca);
        let mut broken = secret.clone();
        broken.data.as_mut().unwrap().remove(CA_KEY_KEY);
        let err = ca_from_secret(&broken, "mesh").unwrap_err().to_string();
        assert!(err.contains("ca.key"), "{err}");
    }
}
