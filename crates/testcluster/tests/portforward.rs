//! pods/portforward against real clients: a raw WebSocket client speaking exactly what kube-rs
//! speaks, the real kube-rs `Portforwarder` over HTTPS, and (if installed) the real kubectl.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use futures_util::{SinkExt, StreamExt};
use testcluster::portforward::{PortTargets, handle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Generous bound so a broken implementation fails instead of hanging the suite.
const LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Targets ("pods")

/// Echoes every byte back; half-closes after the client does.
async fn echo_server() -> SocketAddr {
    serve_tcp(|mut stream| async move {
        let (mut r, mut w) = stream.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
        let _ = w.shutdown().await;
    })
    .await
}

/// Writes `greeting` and closes, without reading.
async fn greeter(greeting: &'static [u8]) -> SocketAddr {
    serve_tcp(move |mut stream| async move {
        let _ = stream.write_all(greeting).await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// Reads until EOF and reports how many bytes arrived (proves the client's close became an EOF).
async fn counting_sink() -> (SocketAddr, oneshot::Receiver<usize>) {
    let (tx, rx) = oneshot::channel();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let addr = serve_tcp(move |mut stream| {
        let tx = tx.clone();
        async move {
            let mut total = 0;
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                total += n;
            }
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(total);
            }
        }
    })
    .await;
    (addr, rx)
}

async fn serve_tcp<F, Fut>(on_conn: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(on_conn(stream));
        }
    });
    addr
}

/// A port on loopback where nothing listens.
async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

// ---------------------------------------------------------------------------------------------
// API server stand-ins

fn router(targets: PortTargets) -> Router {
    Router::new().route(
        "/api/v1/namespaces/{ns}/pods/{name}/portforward",
        any(move |req: Request| handle(req, targets.clone())),
    )
}

async fn serve_plain(targets: PortTargets) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(targets)).await });
    addr
}

/// HTTPS with a fresh CA (what the real testcluster server does); returns the CA certificate.
async fn serve_tls(targets: PortTargets) -> (SocketAddr, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = hyper_util::service::TowerToHyperService::new(router(targets));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let service = service.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, ca.der().to_vec())
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket client, speaking what kube-rs 5 speaks

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Connects like kube-rs: one `ports` parameter, comma-separated, and the same subprotocol offer.
async fn ws_connect(server: SocketAddr, ports: &[u16], offer: &str) -> (Ws, Option<String>) {
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    let url = format!(
        "ws://{server}/api/v1/namespaces/demo/pods/web-0/portforward?&ports={}",
        list.join("%2C")
    );
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(offer).unwrap(),
    );
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    let protocol = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().unwrap().to_string());
    (ws, protocol)
}

const KUBE_RS_OFFER: &str = "v5.channel.k8s.io, v4.channel.k8s.io";

/// Reads the next data message as (channel, payload); `None` once the server closed.
async fn next_frame(ws: &mut Ws) -> Option<(u8, Vec<u8>)> {
    loop {
        match ws.next().await? {
            Ok(Message::Binary(b)) => return Some((b[0], b[1..].to_vec())),
            Ok(Message::Close(_)) => return None,
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// Checks the port-number preamble kube-rs insists on: data and error channel of every port.
async fn expect_preamble(ws: &mut Ws, ports: &[u16]) {
    let mut seen = Vec::new();
    for _ in 0..2 * ports.len() {
        seen.push(next_frame(ws).await.expect("preamble"));
    }
    for (i, port) in ports.iter().enumerate() {
        let ch = 2 * i as u8;
        assert!(
            seen.contains(&(ch, port.to_le_bytes().to_vec())),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(ch + 1, port.to_le_bytes().to_vec())),
            "{seen:?}"
        );
    }
}

async fn send(ws: &mut Ws, channel: u8, data: &[u8]) {
    let mut message = vec![channel];
    message.extend_from_slice(data);
    ws.send(Message::binary(message)).await.unwrap();
}

/// Reads data frames of `channel` until `len` bytes arrived.
async fn read_channel(ws: &mut Ws, channel: u8, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        let (ch, data) = next_frame(ws).await.expect("stream ended early");
        assert_eq!(ch, channel, "unexpected channel, payload {data:?}");
        got.extend_from_slice(&data);
    }
    got
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests: channel protocol

#[tokio::test]
async fn negotiates_v4_like_the_kubelet_and_forwards_two_ports() {
    let echo = echo_server().await;
    let greet = greeter(b"hello from 9901").await;
    let server = serve_plain(PortTargets::new().with(8080, echo).with(9901, greet)).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, protocol) = ws_connect(server, &[8080, 9901], KUBE_RS_OFFER).await;
        assert_eq!(protocol.as_deref(), Some("v4.channel.k8s.io"));
        expect_preamble(&mut ws, &[8080, 9901]).await;

        send(&mut ws, 0, b"ping").await;
        // Frames of both ports interleave; sort them out by channel.
        let mut echo_got = Vec::new();
        let mut greet_got = Vec::new();
        while echo_got.len() < 4 || greet_got.len() < 15 {
            let (ch, data) = next_frame(&mut ws).await.expect("frame");
            match ch {
                0 => echo_got.extend(data),
                2 => greet_got.extend(data),
                other => panic!("channel {other}: {}", String::from_utf8_lossy(&data)),
            }
        }
        assert_eq!(echo_got, b"ping");
        assert_eq!(greet_got, b"hello from 9901");
        ws.close(None).await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn large_transfer_both_ways_is_byte_exact() {
    let echo = echo_server().await;
    let server = serve_plain(PortTargets::new().with(15000, echo)).await;
    tokio::time::timeout(LIMIT, async {
        let (ws, _) = ws_connect(server, &[15000], KUBE_RS_OFFER).await;
        let (mut tx, mut rx) = ws.split();
        let data = pattern(8 * 1024 * 1024 + 17, 5);
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for chunk in sent.chunks(4096) {
                let mut message = vec![0u8];
                message.extend_from_slice(chunk);
                tx.send(Message::binary(message)).await.unwrap();
            }
            tx
        });
        let mut got = Vec::with_capacity(data.len());
        let mut preamble = 0;
        while got.len() < data.len() {
            match rx.next().await.unwrap().unwrap() {
                Message::Binary(b) if preamble < 2 => {
                    assert_eq!(&b[1..], &15000u16.to_le_bytes());
                    preamble += 1;
                }
                Message::Binary(b) => {
                    assert_eq!(b[0], 0);
                    got.extend_from_slice(&b[1..]);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(got == data, "echoed bytes differ");
        let mut tx = writer.await.unwrap();
        tx.close().await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn client_close_reaches_the_target_as_eof_after_all_data() {
    let (sink, total) = counting_sink().await;
    let server = serve_plain(PortTargets::new().with(7000, sink)).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, _) = ws_connect(server, &[7000], KUBE_RS_OFFER).await;
        expect_preamble(&mut ws, &[7000]).await;
        for _ in 0..100 {
            send(&mut ws, 0, &[7u8; 1000]).await;
        }
        ws.close(None).await.unwrap();
        assert_eq!(total.await.unwrap(), 100_000);
        // The server completes the closing handshake.
        assert!(next_frame(&mut ws).await.is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn target_closing_ends_the_session_after_its_data() {
    let greet = greeter(b"bye").await;
    let server = serve_plain(PortTargets::new().with(80, greet)).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, _) = ws_connect(server, &[80], KUBE_RS_OFFER).await;
        expect_preamble(&mut ws, &[80]).await;
        assert_eq!(read_channel(&mut ws, 0, 3).await, b"bye");
        // Every port is finished, so the server closes the WebSocket (kube-rs then reports EOF).
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
            other => panic!("expected a normal close, got {other:?}"),
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn unknown_and_dead_ports_report_on_their_error_channel() {
    let echo = echo_server().await;
    let dead = dead_addr().await;
    let server = serve_plain(PortTargets::new().with(8080, echo).with(8081, dead)).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, _) = ws_connect(server, &[9999, 8080, 8081], KUBE_RS_OFFER).await;
        expect_preamble(&mut ws, &[9999, 8080, 8081]).await;
        let mut errors = std::collections::BTreeMap::new();
        while errors.len() < 2 {
            let (ch, data) = next_frame(&mut ws).await.expect("error frame");
            errors.insert(ch, String::from_utf8(data).unwrap());
        }
        let unknown = &errors[&1];
        assert!(
            unknown.starts_with("error forwarding port 9999 to pod demo/web-0")
                && unknown.contains("no target registered"),
            "{unknown}"
        );
        assert!(
            errors[&5].contains("port 8081") && errors[&5].contains("refused"),
            "{}",
            errors[&5]
        );
        // The healthy port still works.
        send(&mut ws, 2, b"still here").await;
        assert_eq!(read_channel(&mut ws, 2, 10).await, b"still here");
        ws.close(None).await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn only_unknown_ports_means_error_then_close() {
    let server = serve_plain(PortTargets::new()).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, _) = ws_connect(server, &[1234], KUBE_RS_OFFER).await;
        expect_preamble(&mut ws, &[1234]).await;
        let (ch, data) = next_frame(&mut ws).await.expect("error");
        assert_eq!(ch, 1);
        assert!(String::from_utf8(data).unwrap().contains("port 1234"));
        assert!(next_frame(&mut ws).await.is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn base64_subprotocol() {
    let echo = echo_server().await;
    let server = serve_plain(PortTargets::new().with(80, echo)).await;
    tokio::time::timeout(LIMIT, async {
        let (mut ws, protocol) = ws_connect(server, &[80], "v4.base64.channel.k8s.io").await;
        assert_eq!(protocol.as_deref(), Some("v4.base64.channel.k8s.io"));
        let mut texts = Vec::new();
        for _ in 0..2 {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => texts.push(t.to_string()),
                other => panic!("{other:?}"),
            }
        }
        // Port 80 = [0x50, 0x00] = "UAA=" in base64.
        assert_eq!(texts, vec!["0UAA=", "1UAA="]);
        ws.send(Message::text("0aGk=")).await.unwrap(); // "hi"
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => assert_eq!(t.as_str(), "0aGk="),
            other => panic!("{other:?}"),
        }
        ws.close(None).await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn unsupported_subprotocol_and_bad_requests_get_a_status() {
    let server = serve_plain(PortTargets::new()).await;
    let url = format!("ws://{server}/api/v1/namespaces/demo/pods/web-0/portforward?ports=80");
    let mut request = url.clone().into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("v5.channel.k8s.io"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("\"kind\":\"Status\""), "{body}");
            assert!(body.contains("not supported"), "{body}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    // A channel-protocol WebSocket without `ports`.
    let url = format!("ws://{server}/api/v1/namespaces/demo/pods/web-0/portforward");
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            assert!(
                body.contains("query parameter \\\"ports\\\" is required"),
                "{body}"
            );
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    // Plain HTTP, no upgrade.
    let mut tcp = TcpStream::connect(server).await.unwrap();
    let request = "GET /api/v1/namespaces/demo/pods/web-0/portforward?ports=80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("Upgrade request required"), "{response}");
    assert!(response.contains("\"reason\":\"BadRequest\""), "{response}");

    // SPDY with a protocol version we do not speak.
    let mut tcp = TcpStream::connect(server).await.unwrap();
    let request = "POST /api/v1/namespaces/demo/pods/web-0/portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io.v9\r\nContent-Length: 0\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 4096];
    let n = tcp.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(
        response.contains("unable to negotiate protocol"),
        "{response}"
    );
}

// ---------------------------------------------------------------------------------------------
// The real kube-rs client over HTTPS

async fn kube_client(server: SocketAddr, ca_der: Vec<u8>) -> kube::Client {
    let mut config = kube::Config::new(format!("https://{server}").parse().unwrap());
    config.root_cert = Some(vec![ca_der]);
    config.default_namespace = "demo".to_string();
    kube::Client::try_from(config).unwrap()
}

/// How meshctl talks to an Envoy admin port: HTTP/1.1 with keep-alive over the forwarded stream.
#[tokio::test]
async fn kube_rs_http_requests_over_a_forwarded_port() {
    use axum::routing::get;
    use http_body_util::{BodyExt, Empty};
    use k8s_openapi::api::core::v1::Pod;
    let admin = Router::new()
        .route("/ready", get(|| async { "LIVE" }))
        .route("/stats", get(|| async { "cluster.a.upstream_rq_total: 7" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, admin).await });
    let (server, ca) = serve_tls(PortTargets::new().with(15000, admin_addr)).await;
    tokio::time::timeout(LIMIT, async {
        let pods: kube::Api<Pod> = kube::Api::namespaced(kube_client(server, ca).await, "demo");
        let mut forwarder = pods.portforward("web-0", &[15000]).await.unwrap();
        let stream = forwarder.take_stream(15000).unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        let driver = tokio::spawn(connection);
        for (path, expected) in [
            ("/ready", "LIVE"),
            ("/stats", "cluster.a.upstream_rq_total: 7"),
            ("/ready", "LIVE"),
        ] {
            let request = hyper::Request::get(path)
                .header("host", "localhost")
                .body(Empty::<bytes::Bytes>::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, expected);
        }
        drop(sender);
        driver.await.unwrap().unwrap();
        forwarder.join().await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn kube_rs_portforwarder_two_ports_large_and_errors() {
    use k8s_openapi::api::core::v1::Pod;
    let echo = echo_server().await;
    let greet = greeter(b"admin ready").await;
    let (server, ca) = serve_tls(PortTargets::new().with(15000, echo).with(9901, greet)).await;
    tokio::time::timeout(LIMIT, async {
        let client = kube_client(server, ca).await;
        let pods: kube::Api<Pod> = kube::Api::namespaced(client, "demo");

        let mut forwarder = pods.portforward("web-0", &[15000, 9901]).await.unwrap();
        let mut greet_stream = forwarder.take_stream(9901).unwrap();
        // (v4 has no per-port EOF: the stream ends when the whole session does.)
        let mut greeting = [0u8; 11];
        greet_stream.read_exact(&mut greeting).await.unwrap();
        assert_eq!(&greeting, b"admin ready");

        let echo_stream = forwarder.take_stream(15000).unwrap();
        let (mut r, mut w) = tokio::io::split(echo_stream);
        let data = pattern(3 * 1024 * 1024, 9);
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            w.write_all(&sent).await.unwrap();
            w
        });
        let mut got = vec![0u8; data.len()];
        r.read_exact(&mut got).await.unwrap();
        assert!(got == data, "echoed bytes differ");
        drop(writer.await.unwrap());
        drop(r);
        drop(greet_stream);
        forwarder.join().await.unwrap();

        // A port without a target: kube-rs surfaces the server's message on the error future.
        let mut forwarder = pods.portforward("web-0", &[4444]).await.unwrap();
        let error = forwarder.take_error(4444).unwrap().await;
        let error = error.expect("an error message");
        assert!(error.contains("error forwarding port 4444"), "{error}");
        let _ = forwarder.join().await;
    })
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The real kubectl (WebSocket-tunnelled SPDY first, plain SPDY when told so)

fn kubectl_binary() -> Option<std::path::PathBuf> {
    let from_env = std::env::var_os("MESHCTL_KUBECTL").map(std::path::PathBuf::from);
    let fallback = std::path::PathBuf::from("../../.venv/bin/kubectl");
    if let Some(path) = from_env.into_iter().chain([fallback]).find(|p| p.exists()) {
        return Some(path);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !in_ci,
        "kubectl not found (set MESHCTL_KUBECTL; scripts/test.sh does)"
    );
    eprintln!("skipping: kubectl not found (set MESHCTL_KUBECTL)");
    None
}

/// Just enough API server for `kubectl port-forward pod/web-0`: discovery, the pod, and the
/// subresource. Records the `Upgrade` header of every port-forward request.
async fn serve_for_kubectl(
    targets: PortTargets,
) -> (SocketAddr, Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::routing::get;
    use serde_json::json;
    let upgrades = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = upgrades.clone();
    let router = Router::new()
        .route(
            "/api",
            get(|| async { axum::Json(json!({"kind": "APIVersions", "versions": ["v1"]})) }),
        )
        .route(
            "/apis",
            get(|| async {
                axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}))
            }),
        )
        .route(
            "/api/v1",
            get(|| async {
                axum::Json(json!({
                    "kind": "APIResourceList", "groupVersion": "v1",
                    "resources": [
                        {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
                         "verbs": ["get", "list"], "shortNames": ["po"]},
                        {"name": "pods/portforward", "singularName": "", "namespaced": true,
                         "kind": "PodPortForwardOptions", "verbs": ["create", "get"]}
                    ]
                }))
            }),
        )
        .route(
            "/api/v1/namespaces/demo/pods/web-0",
            get(|| async {
                axum::Json(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "web-0", "namespace": "demo", "uid": "5f0c4c8e-0000-4000-8000-000000000001"},
                    "spec": {"containers": [{"name": "app", "image": "app", "ports": [{"containerPort": 80}]}]},
                    "status": {"phase": "Running"}
                }))
            }),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/portforward",
            any(move |req: Request| {
                let upgrade = req
                    .headers()
                    .get("upgrade")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push(upgrade);
                handle(req, targets.clone())
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, upgrades)
}

/// A running `kubectl port-forward`, killed on drop.
struct PortForward {
    child: std::process::Child,
    /// Local ports in the order of the remote ports asked for.
    local_ports: Vec<u16>,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl_port_forward(
    kubectl: &std::path::Path,
    server: SocketAddr,
    remotes: &[u16],
    websockets: bool,
) -> PortForward {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let cache = std::env::temp_dir().join(format!(
        "testcluster-kubectl-cache-{}-{}",
        std::process::id(),
        server.port()
    ));
    let mut child = Command::new(kubectl)
        .args([
            "--server",
            &format!("http://{server}"),
            "--cache-dir",
            &cache.to_string_lossy(),
            "-n",
            "demo",
            "port-forward",
            "--address",
            "127.0.0.1",
            "pod/web-0",
        ])
        .args(remotes.iter().map(|r| format!(":{r}")))
        .env("KUBECONFIG", cache.join("no-kubeconfig"))
        .env(
            "KUBECTL_PORT_FORWARD_WEBSOCKETS",
            if websockets { "true" } else { "false" },
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr.clone();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // "Forwarding from 127.0.0.1:NNNNN -> 80", one line per port.
    let mut local_ports = Vec::new();
    for remote in remotes {
        let line = rx.recv_timeout(LIMIT).unwrap_or_else(|_| {
            panic!(
                "kubectl did not start forwarding: {}",
                stderr.lock().unwrap()
            )
        });
        let (local, to) = line
            .strip_prefix("Forwarding from 127.0.0.1:")
            .and_then(|rest| rest.split_once(" -> "))
            .unwrap_or_else(|| panic!("unexpected kubectl output {line:?}"));
        assert_eq!(to, remote.to_string());
        local_ports.push(local.parse().unwrap());
    }
    PortForward {
        child,
        local_ports,
        stderr,
    }
}

/// Sends `data`, half-closes, reads everything back.
async fn round_trip(port: u16, data: &[u8]) -> Vec<u8> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let data = data.to_vec();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
    });
    let mut got = Vec::new();
    r.read_to_end(&mut got).await.unwrap();
    writer.await.unwrap();
    got
}

async fn kubectl_forwards(websockets: bool) {
    let Some(kubectl) = kubectl_binary() else {
        return;
    };
    let echo = echo_server().await;
    let greet = greeter(b"envoy admin").await;
    let targets = PortTargets::new().with(80, echo).with(9901, greet);
    let (server, upgrades) = serve_for_kubectl(targets).await;
    tokio::time::timeout(LIMIT, async {
        let forward = tokio::task::spawn_blocking(move || {
            kubectl_port_forward(&kubectl, server, &[80, 9901], websockets)
        })
        .await
        .unwrap();
        let (echo_port, greet_port) = (forward.local_ports[0], forward.local_ports[1]);
        assert_eq!(
            round_trip(echo_port, b"hello kubectl").await,
            b"hello kubectl"
        );
        // Both ports at once, one of them a large transfer, over the one session.
        let big = pattern(2 * 1024 * 1024 + 3, 11);
        let (echoed, greeting) =
            tokio::join!(round_trip(echo_port, &big), round_trip(greet_port, b""));
        assert!(echoed == big, "large echo differs");
        assert_eq!(greeting, b"envoy admin");
        let expected = if websockets { "websocket" } else { "SPDY/3.1" };
        let upgrades = upgrades.lock().unwrap().clone();
        assert!(
            upgrades.iter().all(|u| u.eq_ignore_ascii_case(expected)) && !upgrades.is_empty(),
            "{upgrades:?}; kubectl said: {}",
            forward.stderr.lock().unwrap()
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn kubectl_port_forward_over_websocket_tunnel() {
    kubectl_forwards(true).await;
}

#[tokio::test]
async fn kubectl_port_forward_over_spdy() {
    kubectl_forwards(false).await;
}

#[tokio::test]
async fn kubectl_reports_a_port_without_target() {
    let Some(kubectl) = kubectl_binary() else {
        return;
    };
    let (server, _) = serve_for_kubectl(PortTargets::new()).await;
    tokio::time::timeout(LIMIT, async {
        let forward = tokio::task::spawn_blocking(move || {
            kubectl_port_forward(&kubectl, server, &[81], true)
        })
        .await
        .unwrap();
        // The local connection is closed without data...
        assert_eq!(round_trip(forward.local_ports[0], b"anyone?").await, b"");
        // ...and kubectl shows the server's message.
        loop {
            let stderr = forward.stderr.lock().unwrap().clone();
            if stderr.contains("error forwarding port 81 to pod demo/web-0") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
}
