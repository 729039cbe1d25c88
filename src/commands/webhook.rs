//! `meshctl webhook`: the in-cluster sidecar injector.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::cli::{GlobalArgs, WebhookArgs};
use crate::config::{CONFIG_MAP_KEY, CONFIG_MAP_NAME, MeshConfig};
use crate::exit::{Outcome, UsageError};
use crate::inject::InjectOptions;
use crate::kube::{ClusterOptions, connect};
use crate::output::note;
use crate::render;
use crate::webhook::{cabundle, server, tls};

/// How often the caBundle is re-checked once in place (someone may re-create the configuration).
const CA_BUNDLE_RECHECK: Duration = Duration::from_secs(60);
const CA_BUNDLE_MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn run(global: &GlobalArgs, args: &WebhookArgs) -> anyhow::Result<Outcome> {
    let listen: SocketAddr = args.listen.parse().map_err(|_| {
        UsageError::new(format!(
            "--listen '{}' is not an address like 0.0.0.0:8443",
            args.listen
        ))
    })?;
    let namespace = global.mesh_namespace.clone();
    let config = load_config(global, args).await?;
    let options = InjectOptions {
        config,
        native_sidecar: true,
        mesh_namespace: namespace.clone(),
        overrides: Default::default(),
    };

    let mut background = None;
    let tls_config = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => tls::server_config_from_files(cert, key)?,
        _ => {
            let cluster = connect(&ClusterOptions::from_global(global)).await?;
            let ca = cabundle::load_or_create_ca(&cluster.client, &namespace).await?;
            let dns_names = render::service_dns_names(&args.service_name, &namespace);
            let serving = tls::issue_serving_cert(&ca, &dns_names)?;
            let config = tls::server_config(
                "serving certificate",
                serving.cert_pem.as_bytes(),
                serving.key_pem.as_bytes(),
            )?;
            // The configuration may not exist yet (it is applied last): keep trying in the
            // background instead of refusing to start.
            background = Some(tokio::spawn(keep_ca_bundle(
                cluster.client,
                args.webhook_config_name.clone(),
                args.service_name.clone(),
                namespace.clone(),
                ca.cert_pem,
            )));
            config
        }
    };

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    note(format!(
        "meshctl webhook {} serving https://{}/inject (mesh namespace {namespace})",
        crate::VERSION,
        listener.local_addr()?
    ));
    let state = Arc::new(server::WebhookState {
        options,
        ready: AtomicBool::new(false),
        log_reviews: true,
    });
    server::serve(listener, tls_config, state, shutdown_signal()).await;
    if let Some(task) = background {
        task.abort();
    }
    note("meshctl webhook stopped");
    Ok(Outcome::Success)
}

async fn load_config(global: &GlobalArgs, args: &WebhookArgs) -> anyhow::Result<MeshConfig> {
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read mesh config {}", path.display()))?;
        return Ok(MeshConfig::from_file_text(
            &path.display().to_string(),
            &text,
        )?);
    }
    let cluster = connect(&ClusterOptions::from_global(global)).await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client, &global.mesh_namespace);
    let source = format!("configmap {}/{CONFIG_MAP_NAME}", global.mesh_namespace);
    let map = api
        .get(CONFIG_MAP_NAME)
        .await
        .with_context(|| format!("cannot read {source}"))?;
    let text = map
        .data
        .as_ref()
        .and_then(|d| d.get(CONFIG_MAP_KEY))
        .with_context(|| format!("{source} has no key {CONFIG_MAP_KEY}"))?;
    Ok(MeshConfig::from_yaml(&source, text)?)
}

async fn keep_ca_bundle(
    client: kube::Client,
    config_name: String,
    service: String,
    namespace: String,
    ca_pem: String,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match cabundle::patch_ca_bundle(&client, &config_name, &service, &namespace, &ca_pem).await
        {
            Ok(changed) => {
                if changed {
                    note(format!("caBundle of {config_name} set"));
                }
                backoff = Duration::from_secs(1);
                tokio::time::sleep(CA_BUNDLE_RECHECK).await;
            }
            Err(err) => {
                note(format!(
                    "caBundle not set yet (retrying in {backoff:?}): {err}"
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(CA_BUNDLE_MAX_BACKOFF);
            }
        }
    }
}

/// SIGTERM (the kubelet) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    note("shutting down");
}
