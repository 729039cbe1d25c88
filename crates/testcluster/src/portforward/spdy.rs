//! The SPDY side of `pods/portforward` (kubectl): protocol `portforward.k8s.io` over SPDY/3.1,
//! either on the upgraded HTTP connection or tunnelled through a WebSocket.
//!
//! The client opens two streams per forwarded connection, both with headers `port` and
//! `requestID`: `streamType: error` (which it half-closes at once) and `streamType: data`. When
//! both arrived the server connects to the target and copies bytes; the client's FIN on the data
//! stream becomes a half-close towards the target. When the target closes its side, the server
//! FINs the data stream and then the error stream, after writing any error message to it.
//! One session serves many connections (request IDs).

mod frame;
mod zlib;

use std::collections::HashMap;

use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use frame::{Frame, INVALID_STREAM, PROTOCOL_ERROR};
use zlib::{HeaderDeflater, HeaderInflater};

use super::{PodRef, PortTargets, connect_target, header_tokens, status_response};

pub(crate) const UPGRADE_TOKEN: &str = "SPDY/3.1";
const PROTOCOL_HEADER: &str = "x-stream-protocol-version";
const PORT_FORWARD_V1: &str = "portforward.k8s.io";

/// Chunk size for reads from a target; one chunk becomes one DATA frame.
const READ_CHUNK: usize = 32 * 1024;

/// Answers the plain SPDY upgrade (`Upgrade: SPDY/3.1`) and serves the session.
pub(crate) fn upgrade<B>(mut req: Request<B>, targets: PortTargets, pod: PodRef) -> Response {
    let offered = header_tokens(req.headers(), HeaderName::from_static(PROTOCOL_HEADER));
    // No version header at all is the legacy handshake (no header in the answer either).
    let negotiated = if offered.is_empty() {
        None
    } else if offered.iter().any(|p| p == PORT_FORWARD_V1) {
        Some(PORT_FORWARD_V1)
    } else {
        return status_response(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports [\"{PORT_FORWARD_V1}\"]"
            ),
        );
    };

    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            serve(TokioIo::new(upgraded), targets, pod).await;
        }
    });

    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static(UPGRADE_TOKEN));
    if let Some(protocol) = negotiated {
        headers.insert(PROTOCOL_HEADER, HeaderValue::from_static(protocol));
    }
    response
}

/// What the frame loop sends to the writer task (which owns the header compression context).
enum Out {
    Frame(Vec<u8>),
    SynReply(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamType {
    Data,
    Error,
}

/// One forwarded connection: a data and an error stream with the same request ID.
#[derive(Default)]
struct Pair {
    port: u16,
    data: Option<u32>,
    error: Option<u32>,
    /// `Some` while bytes from the client can go to the target.
    target: Option<OwnedWriteHalf>,
    started: bool,
    /// Client data that arrived before the target was connected.
    pending: Vec<Bytes>,
    client_fin: bool,
    pump: Option<JoinHandle<()>>,
}

/// Serves a SPDY/3.1 port-forward session on `io` until the client goes away.
pub(crate) async fn serve<S>(io: S, targets: PortTargets, pod: PodRef)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(64);
    let writer_task = tokio::spawn(async move {
        let mut deflater = HeaderDeflater::new();
        while let Some(out) = out_rx.recv().await {
            let bytes = match out {
                Out::Frame(bytes) => bytes,
                Out::SynReply(stream_id) => frame::syn_reply(stream_id, &mut deflater),
            };
            // One write per frame: over a WebSocket tunnel that is one message per frame.
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });

    let mut inflater = HeaderInflater::new();
    let mut streams: HashMap<u32, (String, StreamType)> = HashMap::new();
    let mut pairs: HashMap<String, Pair> = HashMap::new();

    loop {
        let frame = match frame::read_frame(&mut reader, &mut inflater).await {
            Ok(Some(frame)) => frame,
            // End of connection, or a session error: nothing sensible can follow.
            Ok(None) | Err(_) => break,
        };
        match frame {
            Frame::SynStream {
                stream_id,
                headers,
                fin,
            } => {
                let Some((request_id, stream_type, port)) = stream_identity(&headers) else {
                    let _ = out_tx
                        .send(Out::Frame(frame::rst_stream(stream_id, PROTOCOL_ERROR)))
                        .await;
                    continue;
                };
                let _ = out_tx.send(Out::SynReply(stream_id)).await;
                forget_finished(&mut pairs, &mut streams);
                streams.insert(stream_id, (request_id.clone(), stream_type));
                let pair = pairs.entry(request_id).or_default();
                pair.port = port;
                match stream_type {
                    StreamType::Data => {
                        pair.data = Some(stream_id);
                        pair.client_fin |= fin;
                    }
                    StreamType::Error => pair.error = Some(stream_id),
                }
                if let (Some(data), Some(error), false) = (pair.data, pair.error, pair.started) {
                    pair.started = true;
                    start_pair(pair, data, error, &targets, &pod, &out_tx).await;
                }
            }
            Frame::Data {
                stream_id,
                fin,
                data,
            } => {
                let Some((request_id, stream_type)) = streams.get(&stream_id) else {
                    let _ = out_tx
                        .send(Out::Frame(frame::rst_stream(stream_id, INVALID_STREAM)))
                        .await;
                    continue;
                };
                // The client only half-closes the error stream; it never writes to it.
                if *stream_type == StreamType::Error {
                    continue;
                }
                let Some(pair) = pairs.get_mut(request_id) else {
                    continue;
                };
                if !pair.started {
                    pair.pending.push(data);
                    pair.client_fin |= fin;
                    continue;
                }
                if let Some(target) = pair.target.as_mut()
                    && !data.is_empty()
                    && target.write_all(&data).await.is_err()
                {
                    pair.target = None;
                }
                if fin && let Some(mut target) = pair.target.take() {
                    let _ = target.shutdown().await;
                }
            }
            Frame::RstStream { stream_id, .. } => {
                if let Some((request_id, _)) = streams.remove(&stream_id)
                    && let Some(pair) = pairs.remove(&request_id)
                {
                    if let Some(pump) = pair.pump {
                        pump.abort();
                    }
                    for id in [pair.data, pair.error].into_iter().flatten() {
                        streams.remove(&id);
                    }
                }
            }
            Frame::Ping { id } => {
                let _ = out_tx.send(Out::Frame(frame::ping(id))).await;
            }
            Frame::GoAway => break,
            Frame::Ignored(_) => {}
        }
    }

    for pair in pairs.into_values() {
        if let Some(pump) = pair.pump {
            pump.abort();
        }
    }
    drop(out_tx);
    let _ = writer_task.await;
}

/// Drops pairs that are done both ways, so a long session does not accumulate them.
fn forget_finished(
    pairs: &mut HashMap<String, Pair>,
    streams: &mut HashMap<u32, (String, StreamType)>,
) {
    pairs.retain(|_, pair| {
        let done = pair.started
            && pair.target.is_none()
            && pair.pump.as_ref().is_none_or(JoinHandle::is_finished);
        if done {
            for id in [pair.data, pair.error].into_iter().flatten() {
                streams.remove(&id);
            }
        }
        !done
    });
}

/// `(requestID, streamType, port)` from a SYN_STREAM's headers.
fn stream_identity(headers: &[(String, String)]) -> Option<(String, StreamType, u16)> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let stream_type = match get("streamtype")? {
        "data" => StreamType::Data,
        "error" => StreamType::Error,
        _ => return None,
    };
    let port: u16 = get("port")?.parse().ok().filter(|p| *p > 0)?;
    let request_id = get("requestid")?.to_string();
    Some((request_id, stream_type, port))
}

/// Connects the pair to its target and starts copying target -> client.
async fn start_pair(
    pair: &mut Pair,
    data: u32,
    error: u32,
    targets: &PortTargets,
    pod: &PodRef,
    out: &mpsc::Sender<Out>,
) {
    match connect_target(targets, pod, pair.port).await {
        Ok(stream) => {
            let (read, mut write) = stream.into_split();
            let mut ok = true;
            for chunk in pair.pending.drain(..) {
                if write.write_all(&chunk).await.is_err() {
                    ok = false;
                    break;
                }
            }
            if pair.client_fin || !ok {
                let _ = write.shutdown().await;
            } else {
                pair.target = Some(write);
            }
            pair.pump = Some(tokio::spawn(pump_from_target(
                read,
                data,
                error,
                pair.port,
                pod.clone(),
                out.clone(),
            )));
        }
        Err(message) => {
            let _ = out
                .send(Out::Frame(frame::data(error, false, message.as_bytes())))
                .await;
            let _ = out.send(Out::Frame(frame::data(data, true, &[]))).await;
            let _ = out.send(Out::Frame(frame::data(error, true, &[]))).await;
        }
    }
}

/// Copies a target's bytes to the data stream; on its end FINs data, then error.
async fn pump_from_target(
    mut read: tokio::net::tcp::OwnedReadHalf,
    data: u32,
    error: u32,
    port: u16,
    pod: PodRef,
    out: mpsc::Sender<Out>,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut failure = None;
    loop {
        match read.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if out
                    .send(Out::Frame(frame::data(data, false, &buf[..n])))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                failure = Some(format!("error forwarding port {port} to pod {pod}: {e}"));
                break;
            }
        }
    }
    let _ = out.send(Out::Frame(frame::data(data, true, &[]))).await;
    if let Some(message) = failure {
        let _ = out
            .send(Out::Frame(frame::data(error, false, message.as_bytes())))
            .await;
    }
    let _ = out.send(Out::Frame(frame::data(error, true, &[]))).await;
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncWriteExt, DuplexStream};
    use tokio::net::TcpListener;

    use super::*;

    fn pod() -> PodRef {
        PodRef {
            namespace: "demo".into(),
            name: "web-0".into(),
        }
    }

    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        addr
    }

    struct Client {
        io: DuplexStream,
        deflater: HeaderDeflater,
        inflater: HeaderInflater,
    }

    impl Client {
        async fn open(&mut self, id: u32, kind: &str, port: &str, request: &str) {
            let frame = frame::syn_stream(
                id,
                &[("streamType", kind), ("port", port), ("requestID", request)],
                &mut self.deflater,
            );
            self.io.write_all(&frame).await.unwrap();
        }

        async fn send(&mut self, bytes: Vec<u8>) {
            self.io.write_all(&bytes).await.unwrap();
        }

        async fn next(&mut self) -> Option<Frame> {
            frame::read_frame(&mut self.io, &mut self.inflater)
                .await
                .unwrap()
        }

        /// Collects DATA per stream until every stream in `streams` got its FIN.
        async fn read_streams(&mut self, streams: &[u32]) -> HashMap<u32, Vec<u8>> {
            let mut got: HashMap<u32, Vec<u8>> = HashMap::new();
            let mut open = streams.to_vec();
            while !open.is_empty() {
                if let Frame::Data {
                    stream_id,
                    fin,
                    data,
                } = self.next().await.expect("frame")
                {
                    got.entry(stream_id).or_default().extend_from_slice(&data);
                    if fin {
                        open.retain(|s| *s != stream_id);
                    }
                }
            }
            got
        }
    }

    fn session(targets: PortTargets) -> Client {
        let (client, server) = tokio::io::duplex(1 << 20);
        tokio::spawn(serve(server, targets, pod()));
        Client {
            io: client,
            deflater: HeaderDeflater::new(),
            inflater: HeaderInflater::new(),
        }
    }

    #[tokio::test]
    async fn echo_with_half_close_like_kubectl() {
        let mut client = session(PortTargets::new().with(80, echo().await));
        client.open(1, "error", "80", "0").await;
        client.send(frame::data(1, true, &[])).await;
        client.open(3, "data", "80", "0").await;
        client.send(frame::data(3, false, b"hello ")).await;
        client.send(frame::data(3, true, b"spdy")).await;
        // Replies for both streams come first (header blocks share one compression context).
        assert!(matches!(client.next().await, Some(Frame::Ignored(2))));
        assert!(matches!(client.next().await, Some(Frame::Ignored(2))));
        let got = client.read_streams(&[1, 3]).await;
        assert_eq!(got[&3], b"hello spdy");
        assert_eq!(got.get(&1).map(Vec::as_slice).unwrap_or_default(), b"");

        // The session carries further connections; pings are answered.
        client.send(frame::ping(9)).await;
        assert_eq!(client.next().await, Some(Frame::Ping { id: 9 }));
        client.open(5, "error", "80", "1").await;
        client.open(7, "data", "80", "1").await;
        client.send(frame::data(7, true, b"again")).await;
        assert_eq!(client.read_streams(&[5, 7]).await[&7], b"again");
        // The finished first connection was forgotten: its stream ids are unknown now.
        client.open(9, "error", "80", "2").await;
        client.send(frame::data(3, false, b"late")).await;
        loop {
            match client.next().await.expect("frame") {
                Frame::RstStream { stream_id, status } => {
                    assert_eq!((stream_id, status), (3, INVALID_STREAM));
                    break;
                }
                Frame::Ignored(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn unknown_port_reports_on_the_error_stream() {
        let mut client = session(PortTargets::new());
        client.open(1, "error", "81", "0").await;
        client.open(3, "data", "81", "0").await;
        let got = client.read_streams(&[1, 3]).await;
        assert_eq!(got[&3], b"");
        let message = String::from_utf8(got[&1].clone()).unwrap();
        assert!(
            message.starts_with("error forwarding port 81 to pod demo/web-0"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn stream_without_request_id_is_reset() {
        let mut client = session(PortTargets::new());
        let frame = frame::syn_stream(1, &[("streamType", "data")], &mut client.deflater);
        client.send(frame).await;
        assert_eq!(
            client.next().await,
            Some(Frame::RstStream {
                stream_id: 1,
                status: PROTOCOL_ERROR
            })
        );
    }
}
