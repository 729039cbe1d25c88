//! The sidecar injector webhook (`meshctl webhook`): AdmissionReview v1 over HTTPS, answered
//! with a JSON patch from the same engine `meshctl inject` uses.
//!
//! - [`admission`]: the pure review → response logic.
//! - [`tls`]: certificates (self-made CA and serving certificate, or files from cert-manager).
//! - [`cabundle`]: the cluster side of self-signed mode (shared CA Secret, caBundle patch).
//! - [`server`]: the HTTPS server with health endpoints and graceful shutdown.

pub mod admission;
pub mod cabundle;
pub mod server;
pub mod tls;
