//! Glue between the router and the `pods/portforward` bridge ([`crate::portforward`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::portforward::{self, PortTargets};

/// Hands an upgrade request for `pods/{name}/portforward` to the port-forward bridge.
pub async fn handle(req: Request<Incoming>, targets: BTreeMap<u16, SocketAddr>) -> Response<Body> {
    let targets: PortTargets = targets.into_iter().collect();
    portforward::handle(req.map(Body::new), targets).await
}
