//! The all-in-one server: every gRPC service of the product in one process on one port, for the
//! embedded default and small deployments, and the end-to-end demo job that `make run` runs
//! against it through the real gRPC API.

pub mod demo;
pub mod sample;

use std::future::Future;
use std::sync::Arc;

use domain_model::ModelRegistry;
use services_common::server::{ServerSettings, Services, serve};
use services_scoring::Scoring;
use tokio::net::TcpListener;

/// The state every service of the all-in-one server shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The maturity models.
    pub registry: Arc<ModelRegistry>,
}

/// Serves every service of the product on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut services = Services::new();
    services.add(Scoring::new(state.registry).into_service());
    serve(listener, services, settings, shutdown).await
}
