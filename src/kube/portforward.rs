//! A byte stream to one port of a pod, through the API server's pods/portforward subresource
//! (WebSocket). Diagnostics speak HTTP to the proxy's admin port over it.

use std::pin::Pin;
use std::task::{Context, Poll};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, Portforwarder};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

#[derive(Debug, Error)]
pub enum PortForwardError {
    #[error("port-forward to {pod}:{port}: {}", super::describe_kube_error(.source))]
    Connect {
        pod: String,
        port: u16,
        #[source]
        source: kube::Error,
    },
    #[error("port-forward to {pod}:{port}: the API server gave no stream")]
    NoStream { pod: String, port: u16 },
}

/// The stream, owning the forwarder so the tunnel lives exactly as long as the stream.
pub struct PodStream {
    stream: DuplexStream,
    forwarder: Portforwarder,
}

/// Opens a stream to `port` of pod `namespace/pod`.
pub async fn open(
    client: &Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<PodStream, PortForwardError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let full_name = format!("{namespace}/{pod}");
    let mut forwarder =
        api.portforward(pod, &[port])
            .await
            .map_err(|source| PortForwardError::Connect {
                pod: full_name.clone(),
                port,
                source,
            })?;
    let stream = forwarder
        .take_stream(port)
        .ok_or(PortForwardError::NoStream {
            pod: full_name,
            port,
        })?;
    Ok(PodStream { stream, forwarder })
}

impl Drop for PodStream {
    fn drop(&mut self) {
        // The forwarder's message loop is a spawned task; end it with the stream.
        self.forwarder.abort();
    }
}

impl AsyncRead for PodStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for PodStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
