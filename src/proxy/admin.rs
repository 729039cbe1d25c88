//! A minimal HTTP/1.1 client for Envoy's admin API over any byte stream, so the same code runs over
//! a TCP connection (`--admin-addr`) and over a Kubernetes port-forward stream.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use kube::Client;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

/// Admin answers bigger than this are refused (a config_dump is ~130 KB; stats a few KB).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("{target}: HTTP error: {source}")]
    Http {
        target: String,
        #[source]
        source: hyper::Error,
    },
    #[error("{target}: {method} {path} returned {status}: {body}")]
    Status {
        target: String,
        method: Method,
        path: String,
        status: StatusCode,
        body: String,
    },
    #[error("{target}: answer to {path} is larger than {MAX_BODY} bytes")]
    TooLarge { target: String, path: String },
    #[error("{target}: no answer within {timeout:?}")]
    Timeout { target: String, timeout: Duration },
}

/// Any duplex byte stream an admin request can travel over.
pub trait AdminIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> AdminIo for T {}

/// Where one proxy's admin API is reached.
#[derive(Clone)]
pub enum AdminEndpoint {
    /// A direct TCP address, `HOST:PORT`.
    Tcp(String),
    /// A pod's port, reached through the API server's port-forward.
    PortForward {
        client: Client,
        namespace: String,
        pod: String,
        port: u16,
    },
}

impl std::fmt::Debug for AdminEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl AdminEndpoint {
    /// A short name for messages: the address, or `pod/NAME`.
    pub fn describe(&self) -> String {
        match self {
            AdminEndpoint::Tcp(addr) => addr.clone(),
            AdminEndpoint::PortForward { namespace, pod, .. } => format!("pod/{namespace}/{pod}"),
        }
    }

    /// Opens a fresh stream to the admin API (one per request: the admin API is cheap to reach and
    /// this keeps a stuck request from blocking the next).
    pub async fn connect(&self) -> Result<Box<dyn AdminIo>, AdminError> {
        match self {
            AdminEndpoint::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr.as_str())
                    .await
                    .map_err(|e| AdminError::Connect {
                        target: addr.clone(),
                        message: e.to_string(),
                    })?;
                let _ = stream.set_nodelay(true);
                Ok(Box::new(stream))
            }
            AdminEndpoint::PortForward {
                client,
                namespace,
                pod,
                port,
            } => {
                let stream = crate::kube::portforward::open(client, namespace, pod, *port)
                    .await
                    .map_err(|e| AdminError::Connect {
                        target: format!("pod/{namespace}/{pod} port {port}"),
                        message: e.to_string(),
                    })?;
                Ok(Box::new(stream))
            }
        }
    }

    /// One request, the whole answer read; a non-2xx status is an error carrying Envoy's message.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, AdminError> {
        let target = self.describe();
        let io = self.connect().await?;
        let mut open = send(io, &target, method.clone(), path, body).await?;
        let status = open.status;
        let bytes = read_body(&mut open.body, &target, path).await?;
        if !status.is_success() {
            return Err(AdminError::Status {
                target,
                method,
                path: path.to_string(),
                status,
                body: String::from_utf8_lossy(&bytes).trim().to_string(),
            });
        }
        Ok(bytes)
    }

    /// `request` bounded by a timeout.
    pub async fn request_within(
        &self,
        timeout: Duration,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, AdminError> {
        tokio::time::timeout(timeout, self.request(method, path, body))
            .await
            .map_err(|_| AdminError::Timeout {
                target: self.describe(),
                timeout,
            })?
    }

    pub async fn get(&self, path: &str) -> Result<Vec<u8>, AdminError> {
        self.request(Method::GET, path, None).await
    }

    /// GETs the same path twice on one connection and returns the second answer. With
    /// `stats_flush_on_admin`, Envoy merges histograms *after* answering, so the first query
    /// flushes and the second sees the flushed numbers; with a periodic flush it costs one small
    /// extra request.
    pub async fn get_flushed(&self, path: &str) -> Result<Vec<u8>, AdminError> {
        let target = self.describe();
        let io = self.connect().await?;
        let http_err = |source| AdminError::Http {
            target: target.clone(),
            source,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(http_err)?;
        let connection = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let mut last = Vec::new();
        for _ in 0..2 {
            sender.ready().await.map_err(http_err)?;
            let request = Request::builder()
                .method(Method::GET)
                .uri(path)
                .header(hyper::header::HOST, "localhost")
                .body(Full::new(Bytes::new()))
                .map_err(|e| AdminError::Connect {
                    target: target.clone(),
                    message: format!("bad request: {e}"),
                })?;
            let response = sender.send_request(request).await.map_err(http_err)?;
            let status = response.status();
            let mut body = response.into_body();
            last = read_body(&mut body, &target, path).await?;
            if !status.is_success() {
                return Err(AdminError::Status {
                    target,
                    method: Method::GET,
                    path: path.to_string(),
                    status,
                    body: String::from_utf8_lossy(&last).trim().to_string(),
                });
            }
        }
        drop(connection);
        Ok(last)
    }

    /// Starts a request whose answer streams (tap): returns the status and the body as it comes.
    pub async fn open(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<OpenResponse, AdminError> {
        let target = self.describe();
        let io = self.connect().await?;
        send(io, &target, method, path, body).await
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response whose body is still arriving. Dropping it closes the connection (for tap: detaches).
pub struct OpenResponse {
    pub status: StatusCode,
    pub body: Incoming,
    connection: JoinHandle<()>,
}

impl Drop for OpenResponse {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl OpenResponse {
    /// The next chunk of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, hyper::Error>> {
        loop {
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Some(Ok(data));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

async fn send(
    io: Box<dyn AdminIo>,
    target: &str,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<OpenResponse, AdminError> {
    let http_err = |source| AdminError::Http {
        target: target.to_string(),
        source,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(http_err)?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let has_body = body.is_some();
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "localhost");
    if has_body {
        builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| AdminError::Connect {
            target: target.to_string(),
            message: format!("bad request: {e}"),
        })?;
    let response = match sender.send_request(request).await {
        Ok(response) => response,
        Err(e) => {
            connection.abort();
            return Err(http_err(e));
        }
    };
    let status = response.status();
    Ok(OpenResponse {
        status,
        body: response.into_body(),
        connection,
    })
}

async fn read_body(body: &mut Incoming, target: &str, path: &str) -> Result<Vec<u8>, AdminError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|source| AdminError::Http {
            target: target.to_string(),
            source,
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_BODY {
                return Err(AdminError::TooLarge {
                    target: target.to_string(),
                    path: path.to_string(),
                });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass through).
pub fn encode_query_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_regex_for_query() {
        assert_eq!(
            encode_query_value("^a\\.b(c|d)$"),
            "%5Ea%5C.b%28c%7Cd%29%24"
        );
    }

    #[tokio::test]
    async fn request_over_an_in_memory_stream() {
        // A fake admin on one end of a duplex pipe: proves the client works over any stream.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(4096);
        let server_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let n = server.read(&mut buf).await.unwrap();
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            server
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
                .await
                .unwrap();
            head
        });
        let mut open = send(Box::new(client), "test", Method::GET, "/ready", None)
            .await
            .unwrap();
        assert_eq!(open.status, StatusCode::OK);
        let body = read_body(&mut open.body, "test", "/ready").await.unwrap();
        assert_eq!(body, b"hello");
        let head = server_task.await.unwrap();
        assert!(head.starts_with("GET /ready HTTP/1.1\r\n"), "{head}");
    }
}
