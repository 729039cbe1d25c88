//! TLS and one HTTP/1.1 request over a port-forward stream, for the webhook checks: fetch the
//! serving certificate, POST a dry-run AdmissionReview. (Proxy admin requests use
//! `crate::proxy::admin`.)

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};

#[derive(Debug, Error)]
pub enum AdminError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::certs::{self, CertVerdict};
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use rustls::pki_types::PrivateKeyDer;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const NAME: &str = "meshctl-injector.meshctl-system.svc";

    /// A CA (PEM) and a server config serving a leaf for NAME signed by it.
    fn pki() -> (String, Arc<rustls::ServerConfig>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec![NAME.to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
        )
        .unwrap();
        (ca.pem(), Arc::new(config))
    }

    /// Serves one TLS connection on `server_side`, answering any request with `body`.
    fn serve_once(
        server_side: tokio::io::DuplexStream,
        config: Arc<rustls::ServerConfig>,
        body: &'static str,
    ) -> tokio::task::JoinHandle<String> {
        tokio::spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let Ok(mut tls) = acceptor.accept(server_side).await else {
                return String::new();
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers and a small body arrive together; read until the body is in.
            while let Ok(n) = tls.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if rest.len() >= length {
                        break;
                    }
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes()).await;
            let _ = tls.shutdown().await;
            String::from_utf8_lossy(&request).into_owned()
        })
    }

    #[tokio::test]
    async fn the_handshake_captures_the_served_chain_for_judging() {
        let (ca_pem, config) = pki();
        let (client_side, server_side) = tokio::io::duplex(64 * 1024);
        let server = serve_once(server_side, config, "{}");
        let capture = CaptureChain::new();
        tls_connect(client_side, NAME, capture.clone())
            .await
            .unwrap();
        let chain = capture.captured();
        assert_eq!(chain.len(), 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(matches!(
            certs::judge(ca_pem.as_bytes(), &chain, NAME, now),
            CertVerdict::Valid { .. }
        ));
        server.abort();
    }

    #[tokio::test]
    async fn a_request_over_verified_tls_reaches_the_server() {
        let (ca_pem, config) = pki();
        let (client_side, server_side) = tokio::io::duplex(64 * 1024);
        let server = serve_once(server_side, config, r#"{"ok":true}"#);
        let verifier = certs::verifier(ca_pem.as_bytes()).unwrap();
        let tls = tls_connect(client_side, NAME, verifier).await.unwrap();
        let response = request(
            tls,
            "POST",
            "/inject",
            Some("application/json"),
            b"{\"a\":1}".to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), r#"{"ok":true}"#);
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /inject HTTP/1.1\r\n"), "{seen}");
        assert!(seen.ends_with("{\"a\":1}"), "{seen}");
    }

    #[tokio::test]
    async fn a_bundle_from_another_ca_fails_the_verified_handshake() {
        let (_, config) = pki();
        let (other_ca, _) = pki();
        let (client_side, server_side) = tokio::io::duplex(64 * 1024);
        let server = serve_once(server_side, config, "{}");
        let verifier = certs::verifier(other_ca.as_bytes()).unwrap();
        let err = tls_connect(client_side, NAME, verifier)
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("TLS handshake failed"), "{err}");
        server.abort();
    }
}
