//! PersistenceService and BenchmarkService over the real server (port 0), each test on SQLite and
//! on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod assessments;
mod auth;
mod benchmark;
mod engine;
mod percentiles;

use std::sync::Arc;

use domain_anonymity::Policy;
use domain_model::ModelRegistry;
use migrations::test_db::{Backend, TestDb};
use services_api::v1 as pb;
use services_api::v1::benchmark_service_client::BenchmarkServiceClient;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_auth::TENANT_HEADER;
use services_common::config::{AuthMode, Secret};
use services_common::server::{ServerSettings, Services, serve};
use services_persistence::Persistence;
use tonic::transport::Channel;

/// A server over a fresh database of one backend.
#[derive(Debug)]
pub struct TestApp {
    pub conn: store::DatabaseConnection,
    pub authenticator: services_auth::Authenticator,
    pub persistence: PersistenceServiceClient<Channel>,
    pub benchmark: BenchmarkServiceClient<Channel>,
    /// The server's benchmark engine (no background publisher runs: tests publish with `publish`).
    pub engine: Arc<store::engine::Benchmarks>,
    pub backend: Backend,
    /// The database's URL (a second server may open it).
    pub url: String,
    _db: Option<TestDb>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, AuthMode::TenantHeader).await
}

/// A server over a fresh database, identifying callers as `auth` says.
pub async fn spawn_app_with(backend: Backend, auth: AuthMode) -> TestApp {
    let db = TestDb::empty(backend).await;
    let url = db.url.clone();
    spawn_server(backend, &url, auth, Some(db)).await
}

/// A second server over the database of `first` (as a second process would be).
pub async fn spawn_second(first: &TestApp) -> TestApp {
    spawn_server(first.backend, &first.url, AuthMode::TenantHeader, None).await
}

pub async fn spawn_server(backend: Backend, url: &str, auth: AuthMode, db: Option<TestDb>) -> TestApp {
    let conn = store::open(url).await.unwrap();
    let registry = Arc::new(ModelRegistry::builtin().unwrap());
    let persistence = Persistence::new(
        conn.clone(),
        registry,
        Policy::default(),
        Secret::new(b"test key of 16+ bytes".to_vec()),
        auth,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut services = Services::new();
    let authenticator = persistence.authenticator().clone();
    let engine = Arc::clone(persistence.benchmarks());
    engine.refresh().await.unwrap();
    let (p, b) = persistence.into_services();
    services.add(p).add(b);
    tokio::spawn(serve(listener, services, ServerSettings::default(), async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    TestApp {
        conn,
        authenticator,
        persistence: PersistenceServiceClient::new(channel.clone()),
        benchmark: BenchmarkServiceClient::new(channel),
        engine,
        backend,
        url: url.to_string(),
        _db: db,
        _stop: stop,
    }
}

impl TestApp {
    /// Publishes what the submissions so far changed, and reloads the server's figures.
    pub async fn publish(&self) -> store::engine::Round {
        self.engine.sync().await.unwrap()
    }
}

/// A QueryBenchmark of 2024 for `group` (section, size, province; "" for any), in `locale`.
pub fn query_in(group: (&str, &str, &str), locale: &str) -> pb::QueryBenchmarkRequest {
    pb::QueryBenchmarkRequest {
        group: Some(pb::PeerGroup {
            sbi_section: group.0.into(),
            size_class: group.1.into(),
            province: group.2.into(),
        }),
        year: 2024,
        model: None,
        locale: locale.into(),
    }
}

/// A request as `tenant`.
pub fn as_tenant<T>(tenant: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert(TENANT_HEADER, tenant.parse().unwrap());
    r
}

/// Every item answered at `level` (0 bottom, 1 top of its scale).
pub fn answers(level: f64) -> Vec<pb::Answer> {
    let model = ModelRegistry::builtin().unwrap().resolve("", 0).unwrap();
    model
        .items
        .iter()
        .map(|it| {
            let scale = model.scale_of(it);
            let last = scale.points.len() - 1;
            let p = &scale.points[((level * last as f64).round() as usize).min(last)];
            let value = match scale.kind {
                domain_model::ScaleKind::Likert => pb::answer::Value::Likert(p.number.unwrap()),
                domain_model::ScaleKind::YesNo => pb::answer::Value::Yes(p.value == "yes"),
                domain_model::ScaleKind::Choice => pb::answer::Value::Choice(p.value.clone()),
            };
            pb::Answer { item_id: it.id.clone(), value: Some(value) }
        })
        .collect()
}

/// A submission of a firm with `external_ref`, in `section`/`size`/`province`, in 2024.
pub fn submission(
    request_id: &str,
    external_ref: &str,
    firm: (&str, &str, &str),
    level: f64,
) -> pb::SubmitAssessmentRequest {
    pb::SubmitAssessmentRequest {
        request_id: request_id.to_string(),
        external_ref: external_ref.to_string(),
        firm_name: format!("Testbedrijf {external_ref}"),
        // 2024-07-01T00:00:00Z.
        completed_at: Some(prost_types::Timestamp { seconds: 1_719_792_000, nanos: 0 }),
        assessment: Some(pb::ScoreAssessmentRequest {
            model: None,
            firm: Some(pb::FirmAttributes {
                sbi_section: firm.0.into(),
                size_class: firm.1.into(),
                province: firm.2.into(),
            }),
            answers: answers(level),
            locale: String::new(),
        }),
    }
}
