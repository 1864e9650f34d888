//! What every integration suite shares, so that the suites speak one language:
//!
//! - `TestApp`: the all-in-one server (every service, gRPC and JSON over HTTP) in this process on
//!   free ports, over a fresh database of either backend;
//! - `as_tenant`: a request as a tenant (development mode's header);
//! - `answers_at` and `answers_varied`: complete answer sets for a model;
//! - `webhook_receiver`: a receiver written from the Standard Webhooks specification alone.

#![allow(clippy::expect_used, reason = "test support: a failed set-up must stop the test at once")]

pub mod terms;
pub mod webhook_receiver;

use std::sync::Arc;

use configuration::layers::AuthMode;
use domain_anonymity::Policy;
use domain_model::{Model, ModelRegistry, ScaleKind};
use migrations::test_db::{Backend, TestDb};
use services_api::v1 as pb;
use services_api::v1::benchmark_service_client::BenchmarkServiceClient;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_maturity::AppState;
use services_server::server::{Listeners, ServerSettings};
use tonic::transport::Channel;

/// The all-in-one server running in this process. Dropping it shuts the server down (and drops
/// its database, unless another `TestApp` shares it).
#[derive(Debug)]
pub struct TestApp {
    /// A channel to the server.
    pub channel: Channel,
    /// The server's gRPC address.
    pub addr: std::net::SocketAddr,
    /// The JSON-over-HTTP address.
    pub http_addr: std::net::SocketAddr,
    /// The operators' port (metrics, liveness, readiness).
    pub admin_addr: std::net::SocketAddr,
    /// The backend of its database.
    pub backend: Backend,
    /// The database, for setting up tenants and keys.
    pub db: store::DatabaseConnection,
    /// Its URL (a second server may open it).
    pub db_url: String,
    /// The stores' service in this process, for setting up data and for in-process calls.
    pub persistence: services_persistence::Persistence,
    /// Its benchmark engine.
    pub engine: Arc<store::engine::Benchmarks>,
    /// The models it scores with.
    pub registry: Arc<ModelRegistry>,
    /// The server's chapter renderer (it counts the chapters it makes).
    pub renderer: Arc<report_gen::Renderer>,
    _test_db: Option<TestDb>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// How a `TestApp` starts.
#[derive(Debug)]
pub struct Options {
    /// The database's backend.
    pub backend: Backend,
    /// How callers are identified.
    pub auth: AuthMode,
    /// The server's limits and readiness.
    pub settings: ServerSettings,
    /// Whether the background jobs run: the publisher (off: the test publishes with
    /// `TestApp::publish`) and the webhook dispatcher.
    pub background_jobs: bool,
    /// Whether webhook endpoints may be on loopback and private addresses: on, since the tests'
    /// receivers listen on 127.0.0.1 (`webhook_allow_private_networks`; off in production).
    pub allow_private_networks: bool,
    /// The operator token: with one, the operators' port manages tenants and keys.
    pub operator_token: Option<String>,
}

impl Options {
    /// API keys, default limits, the background jobs on, local webhook receivers allowed.
    pub fn new(backend: Backend) -> Options {
        Options {
            backend,
            auth: AuthMode::Keys,
            settings: ServerSettings::default(),
            background_jobs: true,
            allow_private_networks: true,
            operator_token: None,
        }
    }
}

/// Starts every service of the product on free ports (SQLite).
pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Sqlite).await
}

/// Starts every service of the product on free ports, over a fresh database of `backend`.
pub async fn spawn_app_on(backend: Backend) -> TestApp {
    TestApp::start(Options::new(backend)).await
}

/// As `spawn_app_on`, with the server settings given (limits, readiness).
pub async fn spawn_app_with(backend: Backend, settings: ServerSettings) -> TestApp {
    TestApp::start(Options { settings, ..Options::new(backend) }).await
}

impl TestApp {
    /// A server over a fresh database, as `options` say.
    pub async fn start(options: Options) -> TestApp {
        let db = TestDb::empty(options.backend).await;
        let url = db.url.clone();
        TestApp::over(&url, Some(db), options).await
    }

    /// A server over `db`, prepared by the test (for example, rows written before a migration).
    pub async fn start_on(db: TestDb, options: Options) -> TestApp {
        let url = db.url.clone();
        TestApp::over(&url, Some(db), options).await
    }

    /// A second server over the database of `self`, as a second process would be.
    pub async fn second(&self, options: Options) -> TestApp {
        TestApp::over(&self.db_url, None, options).await
    }

    async fn over(url: &str, test_db: Option<TestDb>, options: Options) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let http_addr = http.local_addr().expect("local address");
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let admin_addr = admin.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let registry = Arc::new(ModelRegistry::builtin().expect("built-in models"));
        let mut state = AppState::open_with(
            url,
            Arc::clone(&registry),
            Policy::default(),
            b"test pseudonym key".to_vec(),
            options.auth,
        )
        .await
        .expect("open the test database");
        state.background_jobs = options.background_jobs;
        state.webhooks.allow_private_networks = options.allow_private_networks;
        state.operator_token = options.operator_token.clone().map(configuration::layers::Secret::new);
        let db = state.persistence.db().clone();
        let persistence = state.persistence.clone();
        let engine = Arc::clone(persistence.benchmarks());
        let renderer = Arc::clone(state.reports.renderer());
        let listeners = Listeners { grpc: listener, http: Some(http), admin: Some(admin) };
        tokio::spawn(services_maturity::run(listeners, state, options.settings, async {
            let _ = stopped.await;
        }));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("valid URL")
            .connect()
            .await
            .expect("connect to the test server");
        TestApp {
            channel,
            addr,
            http_addr,
            admin_addr,
            backend: options.backend,
            db,
            db_url: url.to_string(),
            persistence,
            engine,
            registry,
            renderer,
            _test_db: test_db,
            _stop: stop,
        }
    }

    /// A `PersistenceService` client.
    pub fn persistence_client(&self) -> PersistenceServiceClient<Channel> {
        PersistenceServiceClient::new(self.channel.clone())
    }

    /// A `BenchmarkService` client.
    pub fn benchmark_client(&self) -> BenchmarkServiceClient<Channel> {
        BenchmarkServiceClient::new(self.channel.clone())
    }

    /// Publishes what the submissions so far changed, and reloads the server's figures.
    pub async fn publish(&self) -> store::engine::Round {
        self.engine.sync().await.expect("publish")
    }

    /// The default model.
    pub fn model(&self) -> Arc<Model> {
        self.registry.resolve("", 0).expect("the default model")
    }
}

/// A request as `tenant` (development mode's `x-tenant-id` header).
pub fn as_tenant<T>(tenant: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert(services_auth::TENANT_HEADER, tenant.parse().expect("a valid tenant id"));
    r
}

/// A submission of the firm `(section, size, province)` named `firm_name`, completed at
/// `completed_at` (seconds since the epoch), with `answers` and the default model.
pub fn submission_of(
    request_id: &str,
    external_ref: &str,
    firm_name: &str,
    completed_at: i64,
    firm: (&str, &str, &str),
    answers: Vec<pb::Answer>,
) -> pb::SubmitAssessmentRequest {
    pb::SubmitAssessmentRequest {
        request_id: request_id.into(),
        external_ref: external_ref.into(),
        firm_name: firm_name.into(),
        completed_at: Some(prost_types::Timestamp { seconds: completed_at, nanos: 0 }),
        assessment: Some(pb::ScoreAssessmentRequest {
            model: None,
            firm: Some(pb::FirmAttributes {
                sbi_section: firm.0.into(),
                size_class: firm.1.into(),
                province: firm.2.into(),
            }),
            answers,
            locale: String::new(),
        }),
    }
}

fn answer(model: &Model, item: &domain_model::Item, point: usize) -> pb::Answer {
    let scale = model.scale_of(item);
    let p = &scale.points[point.min(scale.points.len() - 1)];
    let value = match scale.kind {
        ScaleKind::Likert => pb::answer::Value::Likert(p.number.expect("a Likert point has a number")),
        ScaleKind::YesNo => pb::answer::Value::Yes(p.value == "yes"),
        ScaleKind::Choice => pb::answer::Value::Choice(p.value.clone()),
    };
    pb::Answer { item_id: item.id.clone(), value: Some(value) }
}

/// Every item of `model` answered at the level `level_of` gives it (0 the bottom, 1 the top of its
/// scale), from the item and the first target it is evidence for.
pub fn answers_by(
    model: &Model,
    level_of: impl Fn(&domain_model::Item, domain_model::Target) -> f64,
) -> Vec<pb::Answer> {
    model
        .items
        .iter()
        .map(|it| {
            let last = model.scale_of(it).points.len() - 1;
            let level = level_of(it, it.evidence[0].0).clamp(0.0, 1.0);
            answer(model, it, (level * last as f64).round() as usize)
        })
        .collect()
}

/// Every item of `model` answered at `level` (0 the bottom, 1 the top of its scale).
pub fn answers_at(model: &Model, level: f64) -> Vec<pb::Answer> {
    model
        .items
        .iter()
        .map(|it| {
            let last = model.scale_of(it).points.len() - 1;
            answer(model, it, (level * last as f64).round() as usize)
        })
        .collect()
}

/// Every item of `model` answered at a point that varies with the item and `seed`, so that firms
/// made with different seeds differ.
pub fn answers_varied(model: &Model, seed: usize) -> Vec<pb::Answer> {
    model
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| answer(model, it, (seed * 7 + i * 3) % model.scale_of(it).points.len()))
        .collect()
}
