//! `ScoringService` over gRPC: the versioned maturity model and stateless scoring.
//!
//! The adapter between `maturity.v1` and the domain crates (the conversions are
//! `services_api::convert`). `run` is what the
//! stand-alone binary and the tests call; the all-in-one `maturity` binary adds `Scoring` to its
//! own server.

mod service;

use std::future::Future;
use std::sync::Arc;

use domain_model::ModelRegistry;
pub use service::{Scored, Scoring};
use services_server::server::{Listeners, ServerSettings, Services, serve_with_http};

/// Serves `ScoringService` (with health, reflection and the echo) on `listeners` until `shutdown`.
pub async fn run(
    listeners: Listeners,
    registry: Arc<ModelRegistry>,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut services = Services::new();
    services.add(Scoring::new(registry).into_service());
    serve_with_http(listeners, services, settings, shutdown).await
}
