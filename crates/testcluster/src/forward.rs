//! Glue between the router and the `pods/portforward` implementation.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::errors::ApiError;

/// Hands an upgrade request for `pods/{name}/portforward` to the port-forward bridge.
pub async fn handle(req: Request<Incoming>, targets: BTreeMap<u16, SocketAddr>) -> Response<Body> {
    let _ = (req, targets);
    let e = ApiError::new(
        501,
        "NotImplemented",
        "pods/portforward is not available in this build yet",
    );
    let mut r = Response::new(Body::from(e.status().to_string()));
    *r.status_mut() = hyper::StatusCode::NOT_IMPLEMENTED;
    r
}
