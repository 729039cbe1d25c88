//! The HTTPS call to a webhook: `clientConfig` -> endpoint, TLS verified against `caBundle`,
//! one AdmissionReview POST over HTTP/1.1.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;

use super::AdmissionContext;

/// Responses larger than this are refused (the API server's limit is 3 MiB as well).
const MAX_RESPONSE: usize = 3 * 1024 * 1024;

/// Where and how to reach one webhook.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The URL as the API server would print it in errors (`https://svc.ns.svc:443/path?timeout=10s`).
    pub url: String,
    connect: Option<SocketAddr>,
    unresolved: String,
    server_name: String,
    host_header: String,
    path_and_query: String,
    ca_bundle: Option<String>,
}

impl Endpoint {
    /// Reads `clientConfig`; `Err` for a configuration the API server would not have accepted.
    pub(crate) fn from_client_config(
        ctx: &AdmissionContext,
        client_config: &Value,
        timeout_seconds: u64,
    ) -> Result<Self, String> {
        let ca_bundle = client_config
            .get("caBundle")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if let Some(service) = client_config.get("service") {
            let field = |name: &str| service.get(name).and_then(Value::as_str).unwrap_or("");
            let (namespace, name) = (field("namespace"), field("name"));
            if namespace.is_empty() || name.is_empty() {
                return Err("clientConfig.service needs namespace and name".to_string());
            }
            let port = match service.get("port") {
                None | Some(Value::Null) => 443,
                Some(port) => port
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("clientConfig.service.port {port} is not a port"))?,
            };
            let path = match field("path") {
                "" => "/",
                path => path,
            };
            let host = format!("{name}.{namespace}.svc");
            let path_and_query = with_timeout_query(path, timeout_seconds);
            Ok(Self {
                url: format!("https://{host}:{port}{path_and_query}"),
                connect: ctx.resolve_service(namespace, name, port),
                unresolved: format!("service \"{name}\" not found"),
                server_name: host.clone(),
                host_header: format!("{host}:{port}"),
                path_and_query,
                ca_bundle,
            })
        } else if let Some(url) = client_config.get("url").and_then(Value::as_str) {
            let rest = url
                .strip_prefix("https://")
                .ok_or_else(|| format!("clientConfig.url {url:?}: only https is allowed"))?;
            let (authority, path) = match rest.find(['/', '?']) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let (host, port) = split_host_port(authority)
                .ok_or_else(|| format!("clientConfig.url {url:?}: bad host or port"))?;
            let path = if path.starts_with('?') {
                format!("/{path}")
            } else {
                path.to_string()
            };
            let path_and_query = with_timeout_query(&path, timeout_seconds);
            let connect = match host.parse::<IpAddr>() {
                Ok(ip) => Some(SocketAddr::new(ip, port)),
                // Tests only reach loopback; `localhost` is the one name worth knowing.
                Err(_) if host == "localhost" => Some(SocketAddr::from(([127, 0, 0, 1], port))),
                Err(_) => None,
            };
            Ok(Self {
                url: format!("https://{authority}{path_and_query}"),
                connect,
                unresolved: format!("dial tcp: lookup {host}: no such host"),
                server_name: host.to_string(),
                host_header: authority.to_string(),
                path_and_query,
                ca_bundle,
            })
        } else {
            Err("clientConfig needs service or url".to_string())
        }
    }

    /// POSTs `body`; returns the HTTP status and body. Errors read like the API server's.
    pub(crate) async fn post(&self, body: Vec<u8>) -> Result<(u16, Bytes), String> {
        let addr = self.connect.ok_or_else(|| self.unresolved.clone())?;
        let tls = self.tls_config()?;
        let server_name = ServerName::try_from(self.server_name.clone())
            .map_err(|e| format!("invalid server name {:?}: {e}", self.server_name))?;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("dial tcp {addr}: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::post(&self.path_and_query)
            .header(hyper::header::HOST, &self.host_header)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json, */*")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let result = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| format!("reading the response: {e}"))?
                .to_bytes();
            Ok((status, body))
        }
        .await;
        driver.abort();
        result
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(bundle) = &self.ca_bundle {
            let pem = BASE64
                .decode(bundle.trim())
                .map_err(|e| format!("caBundle is not base64: {e}"))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("caBundle: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("caBundle: unusable certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err("caBundle holds no PEM certificate".to_string());
            }
        }
        // An explicit provider, so no process-wide default has to be installed.
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn with_timeout_query(path: &str, timeout_seconds: u64) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}timeout={timeout_seconds}s")
}

/// `host[:port]` or `[v6]:port`; the port defaults to 443.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 443,
            None => return None,
        };
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None if !authority.is_empty() => Some((authority, 443)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn service_endpoint_defaults() {
        let ctx = AdmissionContext::new().with_service_resolver(|ns, name, port| {
            (ns == "mesh" && name == "injector" && port == 443)
                .then(|| SocketAddr::from(([127, 0, 0, 1], 9443)))
        });
        let endpoint = Endpoint::from_client_config(
            &ctx,
            &json!({"service": {"namespace": "mesh", "name": "injector"}}),
            10,
        )
        .unwrap();
        assert_eq!(endpoint.url, "https://injector.mesh.svc:443/?timeout=10s");
        assert_eq!(endpoint.server_name, "injector.mesh.svc");
        assert_eq!(
            endpoint.connect,
            Some(SocketAddr::from(([127, 0, 0, 1], 9443)))
        );
    }

    #[test]
    fn url_endpoint() {
        let ctx = AdmissionContext::new();
        let endpoint = Endpoint::from_client_config(
            &ctx,
            &json!({"url": "https://127.0.0.1:8443/mutate?x=1"}),
            3,
        )
        .unwrap();
        assert_eq!(endpoint.url, "https://127.0.0.1:8443/mutate?x=1&timeout=3s");
        assert_eq!(
            endpoint.connect,
            Some(SocketAddr::from(([127, 0, 0, 1], 8443)))
        );
        assert!(
            Endpoint::from_client_config(&ctx, &json!({"url": "http://127.0.0.1/"}), 3).is_err()
        );
        assert_eq!(split_host_port("[::1]:8443"), Some(("::1", 8443)));
        assert_eq!(split_host_port("example.com"), Some(("example.com", 443)));
    }
}
