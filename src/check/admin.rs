//! A tiny HTTP client over a kube port-forward, enough for the checks: GET a proxy's admin
//! endpoint, and POST an AdmissionReview to the webhook over TLS. (The full proxy admin client
//! lives in `crate::proxy`; this stays minimal so `check` does not wait on it.)

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use rustls::pki_types::{CertificateDer, ServerName};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("port-forward to {pod}:{port} failed: {message}")]
    PortForward {
        pod: String,
        port: u16,
        message: String,
    },
    #[error("HTTP request to {path} failed: {message}")]
    Http { path: String, message: String },
    #[error("TLS handshake failed: {0}")]
    Tls(String),
}

impl AdminError {
    fn http(path: &str, err: impl std::fmt::Display) -> Self {
        AdminError::Http {
            path: path.to_string(),
            message: err.to_string(),
        }
    }
}

/// A response, body read whole (admin answers are small enough).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An open port-forward: the stream plus the forwarder, aborted on drop so no task outlives it.
pub struct Forward {
    pub stream: tokio::io::DuplexStream,
    forwarder: kube::api::Portforwarder,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

pub async fn forward(
    client: kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<Forward, AdminError> {
    let fail = |message: String| AdminError::PortForward {
        pod: format!("{namespace}/{pod}"),
        port,
        message,
    };
    let api: Api<Pod> = Api::namespaced(client, namespace);
    let mut forwarder = api
        .portforward(pod, &[port])
        .await
        .map_err(|e| fail(super::describe_kube_error(&e)))?;
    let stream = forwarder
        .take_stream(port)
        .ok_or_else(|| fail("no stream for the port".to_string()))?;
    Ok(Forward { stream, forwarder })
}

/// One HTTP/1.1 request over any byte stream.
pub async fn request<S>(
    stream: S,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Response, AdminError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| AdminError::http(path, e))?;
    let driver = tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("connection", "close");
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    let request = builder
        .body(Full::new(hyper::body::Bytes::from(body)))
        .map_err(|e| AdminError::http(path, e))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| AdminError::http(path, e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| AdminError::http(path, e))?
            .to_bytes()
            .to_vec();
        Ok(Response { status, body })
    }
    .await;
    driver.abort();
    result
}

/// GET `path` from `pod:port` through a port-forward.
pub async fn get(
    client: kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
    path: &str,
) -> Result<Response, AdminError> {
    let mut forward = forward(client, namespace, pod, port).await?;
    let stream = std::mem::replace(&mut forward.stream, tokio::io::duplex(1).0);
    request(stream, "GET", path, None, Vec::new()).await
}

/// A TLS handshake over `stream` that records the server's certificate chain whatever its
/// validity, so the caller can judge it (see `certs`). The connection itself is only trusted when
/// `verifier` accepts the chain.
pub async fn tls_connect<S>(
    stream: S,
    server_name: &str,
    verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>,
) -> Result<tokio_rustls::client::TlsStream<S>, AdminError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AdminError::Tls(e.to_string()))?
    .dangerous()
    .with_custom_certificate_verifier(verifier)
    .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| AdminError::Tls(format!("bad server name {server_name}: {e}")))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| AdminError::Tls(e.to_string()))
}

/// A verifier that accepts any chain and remembers it: used to fetch the serving certificate.
#[derive(Debug)]
pub struct CaptureChain {
    pub chain: std::sync::Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl CaptureChain {
    pub fn new() -> Arc<Self> {
        Arc::new(CaptureChain {
            chain: std::sync::Mutex::new(Vec::new()),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    pub fn captured(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl rustls::client::danger::ServerCertVerifier for CaptureChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity)
                .chain(intermediates.iter())
                .map(|c| c.clone().into_owned())
                .collect();
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
