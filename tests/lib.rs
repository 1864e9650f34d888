//! Shared vocabulary of the cross-service end-to-end tests: start the all-in-one server in
//! process on port 0 and connect to it.

#![allow(clippy::expect_used, reason = "test support: a failed set-up must stop the test at once")]

use std::sync::Arc;

use domain_anonymity::Policy;
use domain_model::ModelRegistry;
use migrations::test_db::{Backend, TestDb};
use services_common::server::ServerSettings;
use services_maturity::AppState;
use tonic::transport::Channel;

/// The all-in-one server running in this process. Dropping it shuts the server down.
#[derive(Debug)]
pub struct TestApp {
    /// A channel to the server.
    pub channel: Channel,
    /// The server's address.
    pub addr: std::net::SocketAddr,
    /// The JSON-over-HTTP address.
    pub http_addr: std::net::SocketAddr,
    /// The database, for setting up tenants and keys.
    pub db: store::DatabaseConnection,
    /// Its URL.
    pub db_url: String,
    /// The stores, for setting up data.
    pub persistence: services_persistence::Persistence,
    _test_db: TestDb,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts every service of the product on free ports (SQLite).
pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Sqlite).await
}

/// Starts every service of the product on free ports, over a fresh database of `backend`.
pub async fn spawn_app_on(backend: Backend) -> TestApp {
    spawn_app_with(backend, ServerSettings::default()).await
}

/// As `spawn_app_on`, with the server settings given (limits, readiness).
pub async fn spawn_app_with(backend: Backend, settings: ServerSettings) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local address");
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let http_addr = http.local_addr().expect("local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let db = TestDb::empty(backend).await;
    let registry = Arc::new(ModelRegistry::builtin().expect("built-in models"));
    let state = AppState::open_with(
        &db.url,
        registry,
        Policy::default(),
        b"e2e pseudonym key".to_vec(),
        services_common::config::AuthMode::Keys,
    )
    .await
    .expect("open the test database");
    let conn = state.persistence.db().clone();
    let persistence = state.persistence.clone();
    tokio::spawn(services_maturity::run(listener, Some(http), state, settings, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("valid URL")
        .connect()
        .await
        .expect("connect to the test server");
    TestApp { channel, addr, http_addr, db: conn, db_url: db.url.clone(), persistence, _test_db: db, _stop: stop }
}
