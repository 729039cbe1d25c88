//! SPDY/3.1 port-forward (kubectl). Not implemented yet.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{PodRef, PortTargets, status_response};

pub(crate) const UPGRADE_TOKEN: &str = "SPDY/3.1";

pub(crate) fn upgrade(
    _req: Request,
    _ports: Vec<u16>,
    _targets: PortTargets,
    _pod: PodRef,
) -> Response {
    status_response(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "SPDY is not supported",
    )
}

pub(crate) async fn serve<S>(_io: S, _ports: Vec<u16>, _targets: PortTargets, _pod: PodRef)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
}
