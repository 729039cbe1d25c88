//! The HTTPS server: `POST /inject` (AdmissionReview), `GET /healthz`, `GET /readyz`. Each TLS
//! connection is served by hyper; on shutdown the listener closes, idle keep-alive connections
//! are told to finish, and in-flight reviews get a bounded time to complete.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::admission::{self, Outcome};
use crate::inject::InjectOptions;
use crate::output::note;

/// AdmissionReviews carry whole pods; the API server caps requests at 3 MiB.
const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// A client that opens a connection and never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may take to finish after shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Shared by the handlers.
pub struct WebhookState {
    pub options: InjectOptions,
    /// Set once the server is accepting connections with its certificate in place.
    pub ready: AtomicBool,
    /// Log one line per review (the production default); tests turn it off.
    pub log_reviews: bool,
}

pub fn router(state: Arc<WebhookState>) -> Router {
    Router::new()
        .route("/inject", post(inject))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn inject(State(state): State<Arc<WebhookState>>, body: Bytes) -> Response {
    // The engine is CPU work; keep it off the async workers' hot path.
    let worker_state = state.clone();
    let result =
        tokio::task::spawn_blocking(move || admission::review(&body, &worker_state.options)).await;
    match result {
        Ok(Ok(reviewed)) => {
            if state.log_reviews {
                let dry = if reviewed.dry_run { " (dry run)" } else { "" };
                let what = match &reviewed.outcome {
                    Outcome::Patched(n) => format!("injected ({n} patch operations)"),
                    Outcome::Allowed(reason) => format!("allowed unchanged: {reason}"),
                    Outcome::Warned(warning) => format!("warning: {warning}"),
                };
                note(format!("pod {}{dry}: {what}", reviewed.subject));
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                reviewed.response.to_string(),
            )
                .into_response()
        }
        Ok(Err(err)) => {
            note(format!("rejected a request: {err}"));
            (StatusCode::BAD_REQUEST, err.to_string()).into_response()
        }
        Err(err) => {
            note(format!("review task failed: {err}"));
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<WebhookState>>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Serves HTTPS on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<WebhookState>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let app = router(state.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    state.ready.store(true, Ordering::Release);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (tcp, _peer) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // Out of file descriptors and the like: back off rather than spin.
                        note(format!("accept failed: {err}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                let stop = stop_rx.clone();
                connections.spawn(serve_connection(acceptor, tcp, app, stop));
            }
        }
        while connections.try_join_next().is_some() {}
    }
    state.ready.store(false, Ordering::Release);
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        note("shutdown: some connections did not finish in time");
        connections.abort_all();
    }
}

async fn serve_connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        // Probes and scanners that hang up mid-handshake are not worth a log line each.
        _ => return,
    };
    let service = TowerToHyperService::new(app);
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
