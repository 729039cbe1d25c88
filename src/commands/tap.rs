//! `meshctl tap`: live requests from each matching pod's Envoy (`POST /tap` on its admin).
//!
//! Unlike other commands, tap's result is a stream: each event is written to stdout as one whole
//! line as it arrives (text, or JSON Lines with `-o json`).

use std::time::Duration;

use anyhow::Context;
use hyper::{Method, StatusCode};
use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, TapArgs};
use crate::exit::{Outcome, UsageError};
use crate::output::{note, parse_format, write_stdout};
use crate::proxy::admin::AdminEndpoint;
use crate::proxy::pods;
use crate::proxy::tap::{
    self, Direction, Exchange, TapFilter, TraceDecoder, event_line, events, is_already_attached,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// What a pod's tap task reports to the printer.
enum Message {
    Attached(String),
    Exchange(String, Box<Exchange>),
    /// The pod's session ended or never started; the text says why.
    Ended(String, Result<(), String>),
}

pub async fn run(global: &GlobalArgs, args: &TapArgs) -> anyhow::Result<Outcome> {
    let format = parse_format(
        global.output.as_deref(),
        Format::Text,
        &[("text", Format::Text), ("json", Format::Json)],
    )?;
    let direction = match &args.direction {
        Some(raw) => Direction::parse(raw).map_err(|e| UsageError::new(e.to_string()))?,
        None => Direction::Inbound,
    };
    let filter = TapFilter {
        method: args.method.clone(),
        path_prefix: args.path.clone(),
        authority: args.authority.clone(),
        headers: TapFilter::parse_headers(&args.header)
            .map_err(|e| UsageError::new(e.to_string()))?,
    };

    let proxies: Vec<(String, AdminEndpoint)> = match (&args.admin_addr, &args.resource) {
        (Some(addr), _) => vec![(addr.clone(), AdminEndpoint::Tcp(addr.clone()))],
        (None, None) => {
            return Err(UsageError::new("name a TYPE/NAME to tap, or give --admin-addr").into());
        }
        (None, Some(resource)) => {
            let resources = pods::parse_resources(std::slice::from_ref(resource))
                .map_err(|e| UsageError::new(e.to_string()))?;
            let cluster =
                crate::kube::connect(&crate::kube::ClusterOptions::from_global(global)).await?;
            let targets =
                pods::resolve_targets(&cluster.client, &cluster.namespace, false, None, &resources)
                    .await
                    .context("cannot find the pods to tap")?;
            targets.into_iter().flat_map(|t| t.proxies).collect()
        }
    };
    if proxies.is_empty() {
        note("No meshed running pods found to tap");
        return Ok(Outcome::Failure);
    }

    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let mut tasks = Vec::new();
    for (pod, endpoint) in proxies.iter().cloned() {
        tasks.push(tokio::spawn(tap_one(pod, endpoint, direction, tx.clone())));
    }
    drop(tx);

    let deadline = args
        .duration
        .map(|d| tokio::time::Instant::now() + d)
        .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86_400));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut next_id: u64 = 0;
    let mut attached = 0usize;
    let mut failed = 0usize;
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep_until(deadline) => break,
            message = rx.recv() => {
                let Some(message) = message else { break };
                match message {
                    Message::Attached(pod) => {
                        attached += 1;
                        note(format!("tapping {pod} ({})", direction.config_id()));
                    }
                    Message::Ended(pod, Ok(())) => note(format!("{pod}: tap stream ended")),
                    Message::Ended(pod, Err(why)) => {
                        failed += 1;
                        note(format!("{pod}: {why}"));
                    }
                    Message::Exchange(pod, exchange) => {
                        if !filter.matches(&exchange) {
                            continue;
                        }
                        next_id += 1;
                        let mut out = String::new();
                        for event in events(next_id, &pod, direction, &exchange) {
                            match format {
                                Format::Text => out.push_str(&event_line(&event)),
                                Format::Json => out.push_str(&serde_json::to_string(&event)?),
                            }
                            out.push('\n');
                        }
                        write_stdout(out.as_bytes())?;
                        if args.max.is_some_and(|max| next_id >= max) {
                            break;
                        }
                    }
                }
            }
        }
    }
    // Dropping the sessions closes their connections, which detaches Envoy's taps.
    for task in &tasks {
        task.abort();
    }
    if attached == 0 && failed > 0 {
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

async fn tap_one(
    pod: String,
    endpoint: AdminEndpoint,
    direction: Direction,
    tx: mpsc::Sender<Message>,
) {
    let result = stream(&pod, &endpoint, direction, &tx).await;
    let _ = tx.send(Message::Ended(pod, result)).await;
}

async fn stream(
    pod: &str,
    endpoint: &AdminEndpoint,
    direction: Direction,
    tx: &mpsc::Sender<Message>,
) -> Result<(), String> {
    let body = tap::tap_request_body(direction.config_id());
    let mut response = endpoint
        .open(Method::POST, "/tap", Some(body))
        .await
        .map_err(|e| e.to_string())?;
    if response.status != StatusCode::OK {
        let mut text = Vec::new();
        while let Some(Ok(chunk)) = response.chunk().await {
            text.extend_from_slice(&chunk);
            if text.len() > 4096 {
                break;
            }
        }
        let text = String::from_utf8_lossy(&text).trim().to_string();
        if is_already_attached(&text) {
            return Err(
                "another tap session is attached to this proxy (Envoy allows one at a time); \
                 skipping it"
                    .to_string(),
            );
        }
        if text.contains("Unknown config id") {
            return Err(format!(
                "the proxy has no '{}' tap filter (is it a meshctl sidecar?)",
                direction.config_id()
            ));
        }
        return Err(format!("tap refused ({}): {text}", response.status));
    }
    if tx.send(Message::Attached(pod.to_string())).await.is_err() {
        return Ok(());
    }
    let mut decoder = TraceDecoder::new();
    while let Some(chunk) = response.chunk().await {
        let chunk = chunk.map_err(|e| format!("tap stream broke: {e}"))?;
        for trace in decoder.push(&chunk).map_err(|e| e.to_string())? {
            if let Some(exchange) = tap::exchange_from_trace(&trace)
                && tx
                    .send(Message::Exchange(pod.to_string(), Box::new(exchange)))
                    .await
                    .is_err()
            {
                return Ok(());
            }
        }
    }
    Ok(())
}
