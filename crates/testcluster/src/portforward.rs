//! `pods/portforward`: bridges the port-forward protocols of kube-rs and kubectl to loopback
//! addresses a test registers per pod port.
//!
//! `GET|POST /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=P[,Q][&ports=R]` is an HTTP/1.1
//! upgrade. Which protocol is spoken is chosen the way the kubelet and API server choose it:
//! - WebSocket with subprotocol `v4.channel.k8s.io` (kube-rs), `v4.base64.channel.k8s.io`, or none:
//!   the channel protocol of `k8s.io/apimachinery/pkg/util/httpstream/wsstream`
//!   (see [`websocket`]).
//! - WebSocket with subprotocol `SPDY/3.1+portforward.k8s.io` (kubectl >= 1.30): SPDY/3.1 frames
//!   tunnelled in binary WebSocket messages (see [`spdy`]).
//! - `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: portforward.k8s.io` (kubectl's fallback
//!   and older clients): plain SPDY/3.1 on the upgraded connection.
//!
//! The server hosting [`handle`] must serve connections with HTTP upgrades enabled
//! (`hyper::server::conn::http1::Builder::serve_connection(..).with_upgrades()`).

mod spdy;
mod websocket;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use tokio::net::TcpStream;

/// How long a connection to a registered target may take before the port reports an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for the peer to finish the closing handshake before dropping the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Where each port of a pod really listens: pod port -> loopback address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortTargets {
    targets: BTreeMap<u16, SocketAddr>,
}

impl PortTargets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the address behind `port`; returns the previous one.
    pub fn insert(&mut self, port: u16, target: SocketAddr) -> Option<SocketAddr> {
        self.targets.insert(port, target)
    }

    /// Builder form of [`PortTargets::insert`].
    pub fn with(mut self, port: u16, target: SocketAddr) -> Self {
        self.insert(port, target);
        self
    }

    pub fn get(&self, port: u16) -> Option<SocketAddr> {
        self.targets.get(&port).copied()
    }

    pub fn remove(&mut self, port: u16) -> Option<SocketAddr> {
        self.targets.remove(&port)
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u16, SocketAddr)> + '_ {
        self.targets.iter().map(|(port, addr)| (*port, *addr))
    }
}

impl From<BTreeMap<u16, SocketAddr>> for PortTargets {
    fn from(targets: BTreeMap<u16, SocketAddr>) -> Self {
        Self { targets }
    }
}

impl FromIterator<(u16, SocketAddr)> for PortTargets {
    fn from_iter<I: IntoIterator<Item = (u16, SocketAddr)>>(iter: I) -> Self {
        Self {
            targets: iter.into_iter().collect(),
        }
    }
}

/// The pod a request addresses (used in error messages, like the kubelet's).
#[derive(Clone, Debug)]
pub(crate) struct PodRef {
    namespace: String,
    name: String,
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The handler for `GET|POST /api/v1/namespaces/{ns}/pods/{name}/portforward`.
///
/// The caller has already checked that the pod exists (404 otherwise) and authorised the request.
/// Answers 101 and serves the forwarded streams on the upgraded connection in a background task,
/// or answers a `Status` (400/403) if the request is not a usable upgrade. Any body type works
/// (`axum::extract::Request`, `Request<hyper::body::Incoming>`): only headers, URI and the
/// upgrade are used.
pub async fn handle<B>(req: Request<B>, targets: PortTargets) -> Response {
    let pod = pod_from_path(req.uri().path());
    if header_has_token(req.headers(), header::UPGRADE, "websocket") {
        // Only the channel protocols need `ports`; SPDY names the port in each stream.
        let ports = parse_ports(req.uri().query());
        return websocket::upgrade(req, ports, targets, pod);
    }
    if header_has_token(req.headers(), header::UPGRADE, spdy::UPGRADE_TOKEN) {
        return spdy::upgrade(req, targets, pod);
    }
    status_response(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "Upgrade request required",
    )
}

/// Extracts namespace and name from `/api/v1/namespaces/{ns}/pods/{name}/portforward`.
fn pod_from_path(path: &str) -> PodRef {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let after = |key: &str| {
        segments
            .iter()
            .position(|s| *s == key)
            .and_then(|i| segments.get(i + 1))
            .map(|s| percent_decode(s))
            .unwrap_or_default()
    };
    PodRef {
        namespace: after("namespaces"),
        name: after("pods"),
    }
}

/// Parses every `ports` query parameter; each may hold a comma-separated list (kube-rs sends
/// `ports=80%2C1234`, kubectl one parameter per port). Same rules and messages as the kubelet.
pub(crate) fn parse_ports(query: Option<&str>) -> Result<Vec<u16>, String> {
    let values: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key) == "ports").then(|| percent_decode(value))
        })
        .collect();
    if values.is_empty() {
        return Err("query parameter \"ports\" is required".to_string());
    }
    let mut ports = Vec::new();
    for value in values {
        if value.is_empty() {
            return Err("query parameter \"ports\" cannot be empty".to_string());
        }
        for part in value.split(',') {
            let port: u16 = part
                .trim()
                .parse()
                .map_err(|e| format!("unable to parse {part:?} as a port: {e}"))?;
            if port == 0 {
                return Err(format!("port {part:?} must be > 0"));
            }
            ports.push(port);
        }
    }
    Ok(ports)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True if any value of header `name` contains `token` in its comma-separated list
/// (case-insensitive, as `Connection`/`Upgrade` tokens are).
fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    header_tokens(headers, name)
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token))
}

fn header_tokens(headers: &HeaderMap, name: header::HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// A `kind: Status` failure response, as the API server writes errors.
pub(crate) fn status_response(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Connects to the target of `port`, or explains (in the kubelet's words) why that failed.
pub(crate) async fn connect_target(
    targets: &PortTargets,
    pod: &PodRef,
    port: u16,
) -> Result<TcpStream, String> {
    let fail = |why: String| {
        format!(
            "error forwarding port {port} to pod {pod}: failed to connect to localhost:{port} inside namespace {}: {why}",
            pod.namespace
        )
    };
    let Some(addr) = targets.get(port) else {
        return Err(fail(
            "connection refused (no target registered for this port)".to_string(),
        ));
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            // Small interactive messages (admin API requests) should not wait for Nagle.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(fail(format!("{e} (target {addr})"))),
        Err(_) => Err(fail(format!("connection to {addr} timed out"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_comma_separated_and_repeated() {
        assert_eq!(parse_ports(Some("&ports=80%2C1234")), Ok(vec![80, 1234]));
        assert_eq!(
            parse_ports(Some("ports=80&ports=90,91")),
            Ok(vec![80, 90, 91])
        );
    }

    #[test]
    fn ports_errors() {
        assert!(parse_ports(None).unwrap_err().contains("is required"));
        assert!(parse_ports(Some("ports=")).unwrap_err().contains("empty"));
        assert!(parse_ports(Some("ports=x")).unwrap_err().contains("\"x\""));
        assert!(parse_ports(Some("ports=0")).unwrap_err().contains("> 0"));
        assert!(parse_ports(Some("ports=70000")).is_err());
    }

    #[test]
    fn pod_path() {
        let pod = pod_from_path("/api/v1/namespaces/demo/pods/web-1/portforward");
        assert_eq!(pod.to_string(), "demo/web-1");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Cb%zz%4"), "a,b%zz%4");
    }
}
