//! The WebSocket side of `pods/portforward`.
//!
//! Channel protocol (`wsstream`, as the kubelet serves port-forward): for the i-th requested port,
//! channel `2i` carries data and `2i+1` errors. Every binary message starts with its channel byte
//! (`v4.base64.channel.k8s.io`: text messages, channel as an ASCII digit, payload base64). The
//! server's first message on each channel is the port number, 2 bytes little-endian. An error is
//! one text message on the error channel. There is no per-channel close in v4: the server closes
//! the WebSocket when every port is finished, and the client closes it when it is done.
//!
//! With subprotocol `SPDY/3.1+portforward.k8s.io` the WebSocket only tunnels a SPDY byte stream
//! (see [`super::spdy`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Buf, Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::{CLOSE_GRACE, PodRef, PortTargets, connect_target, header_tokens, status_response};

pub(crate) const V4_BINARY: &str = "v4.channel.k8s.io";
pub(crate) const V4_BASE64: &str = "v4.base64.channel.k8s.io";
pub(crate) const SPDY_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
const SUPPORTED: [&str; 3] = [SPDY_TUNNEL, V4_BINARY, V4_BASE64];

/// Chunk size for reads from a target; one chunk becomes one WebSocket message.
const READ_CHUNK: usize = 32 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Binary,
    Base64,
    SpdyTunnel,
}

/// Negotiates the subprotocol (the first one the client offers that we support, as `wsstream`
/// does; none offered means binary) and answers 101; the session runs in a background task.
pub(crate) fn upgrade<B>(
    mut req: Request<B>,
    ports: Result<Vec<u16>, String>,
    targets: PortTargets,
    pod: PodRef,
) -> Response {
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return status_response(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "missing Sec-WebSocket-Key header",
        );
    };
    if !version_ok {
        return status_response(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "unsupported Sec-WebSocket-Version, want 13",
        );
    }
    let offered = header_tokens(req.headers(), header::SEC_WEBSOCKET_PROTOCOL);
    let chosen = if offered.is_empty() {
        None
    } else {
        match offered.iter().find(|p| SUPPORTED.contains(&p.as_str())) {
            Some(p) => Some(p.clone()),
            None => {
                return status_response(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "requested protocol(s) are not supported: {offered:?}; supports {SUPPORTED:?}"
                    ),
                );
            }
        }
    };
    let protocol = match chosen.as_deref() {
        Some(SPDY_TUNNEL) => Protocol::SpdyTunnel,
        Some(V4_BASE64) => Protocol::Base64,
        _ => Protocol::Binary,
    };
    let ports = match (protocol, ports) {
        (Protocol::SpdyTunnel, _) => Vec::new(),
        (_, Ok(ports)) => ports,
        (_, Err(message)) => {
            return status_response(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
    };

    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(WebSocketConfig::default()),
        )
        .await;
        match protocol {
            Protocol::SpdyTunnel => super::spdy::serve(WsByteStream::new(ws), targets, pod).await,
            Protocol::Binary | Protocol::Base64 => {
                serve_channels(ws, protocol == Protocol::Base64, ports, targets, pod).await
            }
        }
    });

    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(Ok(chosen)) = chosen.map(|c| HeaderValue::from_str(&c)) {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, chosen);
    }
    response
}

/// Frames one message of the channel protocol.
fn frame(base64: bool, channel: u8, payload: &[u8]) -> Message {
    if base64 {
        let mut text = String::with_capacity(1 + payload.len().div_ceil(3) * 4);
        text.push(char::from(b'0' + channel));
        BASE64.encode_string(payload, &mut text);
        Message::text(text)
    } else {
        let mut bin = Vec::with_capacity(payload.len() + 1);
        bin.push(channel);
        bin.extend_from_slice(payload);
        Message::binary(bin)
    }
}

/// Splits a client message into (channel, payload); `None` for control or malformed messages.
fn unframe(base64: bool, message: Message) -> Option<(u8, Vec<u8>)> {
    match message {
        Message::Binary(bytes) if !base64 && bytes.len() > 1 => {
            Some((bytes[0], bytes[1..].to_vec()))
        }
        Message::Text(text) if base64 && text.len() > 1 => {
            let channel = text.as_bytes()[0].checked_sub(b'0')?;
            let payload = BASE64.decode(&text.as_bytes()[1..]).ok()?;
            Some((channel, payload))
        }
        _ => None,
    }
}

/// Serves the channel protocol (v4 binary or base64) until every port is finished or the client
/// closes.
async fn serve_channels<S>(
    ws: WebSocketStream<S>,
    base64: bool,
    ports: Vec<u16>,
    targets: PortTargets,
    pod: PodRef,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut incoming) = ws.split();
    // One writer owns the sink; ports send to it through a bounded queue (backpressure).
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(32);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let closing = message.is_close();
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });

    let (done_tx, mut done_rx) = mpsc::channel::<usize>(ports.len().max(1));
    let mut writers = Vec::with_capacity(ports.len());
    let mut readers = Vec::with_capacity(ports.len());
    let mut finished = 0;
    // Data channel of each port; `None` when it and its error channel do not fit in a byte.
    let channels: Vec<Option<u8>> = (0..ports.len())
        .map(|index| u8::try_from(2 * index).ok().filter(|c| *c < u8::MAX))
        .collect();
    // The whole preamble first, as the kubelet writes it, then the connections.
    for (port, channel) in ports.iter().zip(&channels) {
        if let Some(channel) = *channel {
            let port_bytes = port.to_le_bytes();
            let _ = out_tx.send(frame(base64, channel, &port_bytes)).await;
            let _ = out_tx.send(frame(base64, channel + 1, &port_bytes)).await;
        }
    }
    for (index, (port, channel)) in ports.iter().copied().zip(channels).enumerate() {
        // More ports than channel numbers: the client cannot address them anyway.
        let Some(channel) = channel else {
            writers.push(None);
            finished += 1;
            continue;
        };
        match connect_target(&targets, &pod, port).await {
            Ok(stream) => {
                let (read, write) = stream.into_split();
                writers.push(Some(write));
                readers.push(tokio::spawn(pump_from_target(
                    read,
                    base64,
                    channel,
                    port,
                    pod.clone(),
                    out_tx.clone(),
                    done_tx.clone(),
                    index,
                )));
            }
            Err(message) => {
                let _ = out_tx
                    .send(frame(base64, channel + 1, message.as_bytes()))
                    .await;
                writers.push(None);
                finished += 1;
            }
        }
    }
    drop(done_tx);

    let mut server_closed = false;
    if finished == ports.len() {
        let _ = out_tx.send(normal_close()).await;
        server_closed = true;
    }
    while !server_closed {
        tokio::select! {
            Some(_) = done_rx.recv() => {
                finished += 1;
                if finished == ports.len() {
                    let _ = out_tx.send(normal_close()).await;
                    server_closed = true;
                }
            }
            message = incoming.next() => match message {
                Some(Ok(message)) if message.is_close() => break,
                Some(Ok(message)) => {
                    let Some((channel, payload)) = unframe(base64, message) else { continue };
                    // Odd channels are the server's error channels; clients never write them.
                    if channel % 2 != 0 {
                        continue;
                    }
                    let index = usize::from(channel / 2);
                    if let Some(slot) = writers.get_mut(index)
                        && let Some(target) = slot
                        && target.write_all(&payload).await.is_err()
                    {
                        *slot = None;
                    }
                }
                None | Some(Err(_)) => break,
            }
        }
    }

    // Half-close towards every target: it sees EOF after all the data the client sent.
    for target in writers.iter_mut().flatten() {
        let _ = target.shutdown().await;
    }
    // Finish the closing handshake (reading also flushes tungstenite's automatic Close reply).
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = incoming.next().await {}
    })
    .await;
    for reader in readers {
        reader.abort();
    }
    drop(out_tx);
    let _ = tokio::time::timeout(CLOSE_GRACE, writer).await;
}

fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// Copies a target's bytes to the client until the target closes its side.
#[allow(clippy::too_many_arguments)]
async fn pump_from_target(
    mut read: tokio::net::tcp::OwnedReadHalf,
    base64: bool,
    channel: u8,
    port: u16,
    pod: PodRef,
    out: mpsc::Sender<Message>,
    done: mpsc::Sender<usize>,
    index: usize,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match read.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if out.send(frame(base64, channel, &buf[..n])).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                let message = format!("error forwarding port {port} to pod {pod}: {e}");
                let _ = out
                    .send(frame(base64, channel + 1, message.as_bytes()))
                    .await;
                break;
            }
        }
    }
    let _ = done.send(index).await;
}

/// A WebSocket seen as a byte stream: each binary message carries the next bytes
/// (how `SPDY/3.1+portforward.k8s.io` tunnels SPDY, like client-go's `TunnelingConnection`).
pub(crate) struct WsByteStream<S> {
    ws: WebSocketStream<S>,
    pending: Bytes,
    read_closed: bool,
}

impl<S> WsByteStream<S> {
    fn new(ws: WebSocketStream<S>) -> Self {
        Self {
            ws,
            pending: Bytes::new(),
            read_closed: false,
        }
    }
}

impl<S> AsyncRead for WsByteStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.remaining());
                buf.put_slice(&self.pending[..n]);
                self.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            if self.read_closed {
                return Poll::Ready(Ok(()));
            }
            match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(Message::Binary(data)))) => self.pending = data,
                Poll::Ready(Some(Ok(Message::Close(_)))) | Poll::Ready(None) => {
                    self.read_closed = true;
                }
                // Pings are answered by tungstenite; text has no meaning in the tunnel.
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(std::io::Error::other(e)));
                }
            }
        }
    }
}

impl<S> AsyncWrite for WsByteStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let ws = Pin::new(&mut self.ws);
        match ws.poll_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(std::io::Error::other(e))),
            Poll::Ready(Ok(())) => {}
        }
        match Pin::new(&mut self.ws).start_send(Message::binary(buf.to_vec())) {
            Ok(()) => Poll::Ready(Ok(buf.len())),
            Err(e) => Poll::Ready(Err(std::io::Error::other(e))),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.ws)
            .poll_flush(cx)
            .map_err(std::io::Error::other)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.ws)
            .poll_close(cx)
            .map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for base64 in [false, true] {
            let message = frame(base64, 3, b"hello");
            assert_eq!(unframe(base64, message), Some((3, b"hello".to_vec())));
        }
        assert_eq!(frame(true, 1, &[80, 0]), Message::text("1UAA="));
        assert_eq!(unframe(false, Message::binary(vec![0u8])), None);
    }
}
